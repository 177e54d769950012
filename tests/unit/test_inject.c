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

int
main(void)
{
	TAP_RUN(test_rewrite);
	TAP_RUN(test_select);
	TAP_RUN(test_refusals);
	TAP_RUN(test_too_large);
	return tap_done();
}
