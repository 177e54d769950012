/* SPDX-License-Identifier: MIT */
/* credentials.inject: the table and the header rewrite. */
#include <string.h>

#include "proxy/http.h"
#include "proxy/inject.h"
#include "tap.h"

static const char *
rewrite(const struct px_injects *in, const char *host, uint16_t port, const char *head)
{
	static char out[PX_HDR_MAX];
	const struct px_inject *sel[PX_INJECT_MAX];
	size_t n = px_injects_select(in, host, port, sel, PX_INJECT_MAX);
	ssize_t len = px_http_head_set(head, strlen(head), sel, n, out, sizeof(out) - 1);

	if (len < 0)
		return NULL;
	out[len] = '\0';
	return out;
}

static int
test_rewrite(void)
{
	struct px_injects in = { 0 };
	struct cordon_err err;
	const char *r;

	CHECK(px_injects_add(&in, "api.example.test", "x-api-key", "API_KEY", NULL, "s3cret",
			     &err) == 0);
	CHECK(px_injects_add(&in, "*.gh.test", "Authorization", "GH_TOKEN", "Bearer ", "ghp_x",
			     &err) == 0);
	/* the placeholder is replaced, whatever the case of the field name */
	r = rewrite(&in, "api.example.test", 443,
		    "POST /v1/messages HTTP/1.1\r\nHost: api.example.test\r\nX-API-Key: "
		    "cordon-injected-API_KEY\r\nContent-Length: 2\r\n\r\n");
	CHECK_STR(r, "POST /v1/messages HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: "
		     "2\r\nx-api-key: s3cret\r\n\r\n");
	/* set when the client sent none; proxy fields dropped */
	r = rewrite(&in, "api.gh.test", 443,
		    "GET / HTTP/1.1\r\nHost: api.gh.test\r\nProxy-Authorization: x\r\n"
		    "Proxy-Connection: keep-alive\r\n\r\n");
	CHECK_STR(r, "GET / HTTP/1.1\r\nHost: api.gh.test\r\nAuthorization: Bearer ghp_x\r\n\r\n");
	/* every Authorization the client sent goes, the injected one stays alone */
	r = rewrite(&in, "x.gh.test", 443,
		    "GET / HTTP/1.1\r\nauthorization: a\r\nHost: x.gh.test\r\nAUTHORIZATION: "
		    "b\r\n\r\n");
	CHECK_STR(r, "GET / HTTP/1.1\r\nHost: x.gh.test\r\nAuthorization: Bearer ghp_x\r\n\r\n");
	/* another host gets nothing, and its own header is left alone */
	r = rewrite(&in, "other.test", 443,
		    "GET / HTTP/1.1\r\nHost: other.test\r\nX-Api-Key: mine\r\n\r\n");
	CHECK_STR(r, "GET / HTTP/1.1\r\nHost: other.test\r\nX-Api-Key: mine\r\n\r\n");
	CHECK(!px_injects_cover(&in, "gh.test", 443)); /* *.gh.test is not the apex */
	CHECK(px_injects_cover(&in, "a.b.gh.test", 443));
	/* a field name that merely starts like the header stays */
	r = rewrite(&in, "api.example.test", 443,
		    "GET / HTTP/1.1\r\nHost: api.example.test\r\nX-Api-Key-Id: 7\r\n\r\n");
	CHECK(r != NULL && strstr(r, "X-Api-Key-Id: 7\r\n") != NULL);
	px_injects_fini(&in);
	CHECK(in.n == 0 && in.v == NULL);
	return 0;
}

static int
test_select(void)
{
	struct px_injects in = { 0 };
	const struct px_inject *sel[PX_INJECT_MAX];
	struct cordon_err err;
	size_t n;

	CHECK(px_injects_add(&in, "a.test", "Authorization", "ONE", NULL, "1", &err) == 0);
	CHECK(px_injects_add(&in, "a.test:8443", "X-Other", "TWO", NULL, "2", &err) == 0);
	CHECK(px_injects_add(&in, "a.test", "authorization", "THREE", NULL, "3", &err) == 0);
	n = px_injects_select(&in, "a.test", 443, sel, PX_INJECT_MAX);
	CHECK(n == 1 && strcmp(sel[0]->name, "THREE") == 0); /* the later entry wins */
	n = px_injects_select(&in, "a.test", 8443, sel, PX_INJECT_MAX);
	CHECK(n == 2);
	px_injects_fini(&in);
	return 0;
}

static int
test_refusals(void)
{
	struct px_injects in = { 0 };
	struct cordon_err err;

	CHECK(px_injects_add(&in, "a.test", "X-Key", "K", NULL, "line\r\nX-Evil: 1", &err) < 0);
	CHECK(strstr(err.msg, "line\r\n") == NULL && strstr(err.msg, "X-Evil") == NULL);
	CHECK(strstr(err.msg, "K") != NULL);
	CHECK(px_injects_add(&in, "a.test", "X-Key", "K", "Bearer\n", "v", &err) < 0);
	CHECK(px_injects_add(&in, "a.test", "Bad Header", "K", NULL, "v", &err) < 0);
	CHECK(px_injects_add(&in, "10.0.0.0/8", "X-Key", "K", NULL, "v", &err) < 0);
	for (int i = 0; i < PX_INJECT_MAX; i++)
		CHECK(px_injects_add(&in, "a.test", "X-Key", "K", NULL, "v", &err) == 0);
	CHECK(px_injects_add(&in, "a.test", "X-Key", "K", NULL, "v", &err) < 0);
	px_injects_fini(&in);
	return 0;
}

static int
test_too_large(void)
{
	struct px_injects in = { 0 };
	const struct px_inject *sel[1];
	struct cordon_err err;
	char out[64];
	const char *head = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";

	CHECK(px_injects_add(&in, "a.test", "Authorization", "K", "Bearer ",
			     "a-long-secret-value-that-does-not-fit", &err) == 0);
	CHECK(px_injects_select(&in, "a.test", 443, sel, 1) == 1);
	CHECK(px_http_head_set(head, strlen(head), sel, 1, out, sizeof(out)) == -1);
	CHECK(px_http_head_set(head, strlen(head), sel, 0, out, sizeof(out)) ==
	      (ssize_t)strlen(head));
	px_injects_fini(&in);
	return 0;
}

static int
test_basic(void)
{
	struct px_injects in = { 0 };
	struct cordon_err err;
	const char *r;

	/* RFC 7617's example: Aladdin / open sesame */
	CHECK(px_injects_add_basic(&in, "git.test", "GIT_TOKEN", "Aladdin", "open sesame", &err) ==
	      0);
	CHECK_STR(in.v[0].header, "Authorization");
	CHECK_STR(in.v[0].name, "GIT_TOKEN");
	CHECK_STR(in.v[0].value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	/* every padding length: 1, 2 and 0 bytes over a multiple of 3 */
	CHECK(px_injects_add_basic(&in, "p1.test", "K", "u", "p", &err) == 0);
	CHECK_STR(in.v[1].value, "Basic dTpw");
	CHECK(px_injects_add_basic(&in, "p2.test", "K", "u", "pw", &err) == 0);
	CHECK_STR(in.v[2].value, "Basic dTpwdw==");
	CHECK(px_injects_add_basic(&in, "p3.test", "K", "x-access-token", "ghp_0123", &err) == 0);
	CHECK_STR(in.v[3].value, "Basic eC1hY2Nlc3MtdG9rZW46Z2hwXzAxMjM=");
	/* the client's Authorization (a placeholder, or its own) is replaced */
	r = rewrite(&in, "git.test", 443,
		    "GET /r.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: git.test\r\n"
		    "Authorization: Basic eDpjb3Jkb24taW5qZWN0ZWQtR0lUX1RPS0VO\r\nAccept: */*\r\n"
		    "authorization: Bearer mine\r\n\r\n");
	CHECK_STR(r, "GET /r.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: git.test\r\n"
		     "Accept: */*\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	/* another host keeps what it sent */
	r = rewrite(&in, "other.test", 443,
		    "GET / HTTP/1.1\r\nHost: other.test\r\nAuthorization: Basic eDp5\r\n\r\n");
	CHECK_STR(r, "GET / HTTP/1.1\r\nHost: other.test\r\nAuthorization: Basic eDp5\r\n\r\n");
	/* a password may hold what a header could not: it is encoded */
	CHECK(px_injects_add_basic(&in, "p4.test", "K", "u", "a\r\nb", &err) == 0);
	CHECK_STR(in.v[4].value, "Basic dTphDQpi");
	/* refused: a user with `:` or a control character, an empty user, a bad host */
	CHECK(px_injects_add_basic(&in, "a.test", "K", "a:b", "s3cret", &err) < 0);
	CHECK(strstr(err.msg, "s3cret") == NULL && strstr(err.msg, "K") != NULL);
	CHECK(px_injects_add_basic(&in, "a.test", "K", "a\nb", "v", &err) < 0);
	CHECK(px_injects_add_basic(&in, "a.test", "K", "", "v", &err) < 0);
	CHECK(px_injects_add_basic(&in, "10.0.0.0/8", "K", "u", "v", &err) < 0);
	CHECK(in.n == 5);
	px_injects_fini(&in);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_rewrite);
	TAP_RUN(test_select);
	TAP_RUN(test_refusals);
	TAP_RUN(test_too_large);
	TAP_RUN(test_basic);
	return tap_done();
}
