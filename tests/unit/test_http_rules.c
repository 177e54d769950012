/* SPDX-License-Identifier: MIT */
/* network.rules: host patterns, path normalisation and matching, decisions. */
#include <string.h>

#include "proxy/http_rules.h"
#include "tap.h"

static const char *
norm(const char *target)
{
	static char out[PX_HTTP_PATH_MAX];
	const char *why;

	if (px_http_path_normalize(target, strlen(target), out, sizeof(out), &why) < 0)
		return NULL;
	return out;
}

static enum px_http_verdict
check(const struct px_http_rules *r, const char *host, uint16_t port, const char *method,
      const char *target, struct px_http_decision *d)
{
	return px_http_rules_check(r, host, port, method, target, strlen(target), d);
}

static int
test_host_patterns(void)
{
	struct px_host_pat p;

	CHECK(px_host_pat_parse("GitHub.com.", &p) == 0);
	CHECK(px_host_pat_match(&p, "github.com", 443));
	CHECK(!px_host_pat_match(&p, "api.github.com", 443));
	CHECK(!px_host_pat_match(&p, "evilgithub.com", 443));
	CHECK(px_host_pat_parse("*.github.com", &p) == 0);
	CHECK(px_host_pat_match(&p, "api.github.com", 443));
	CHECK(px_host_pat_match(&p, "a.b.github.com", 80));
	CHECK(!px_host_pat_match(&p, "github.com", 443));
	CHECK(!px_host_pat_match(&p, "xgithub.com", 443));
	CHECK(px_host_pat_parse("api.test:8443", &p) == 0);
	CHECK(px_host_pat_match(&p, "api.test", 8443));
	CHECK(!px_host_pat_match(&p, "api.test", 443));
	CHECK(px_host_pat_parse("[2001:db8::1]:443", &p) == 0);
	CHECK(px_host_pat_match(&p, "2001:db8::1", 443));
	CHECK(px_host_pat_parse("0xc0.0.2.1", &p) == 0); /* any IPv4 spelling */
	CHECK(px_host_pat_match(&p, "192.0.2.1", 80));
	CHECK(px_host_pat_parse("192.0.2.0/24", &p) < 0);
	CHECK(px_host_pat_parse("*.192.0.2.1", &p) < 0);
	CHECK(px_host_pat_parse("", &p) < 0);
	CHECK(px_host_pat_parse("a.test:0", &p) < 0);
	CHECK(px_host_pat_parse("a.test:65536", &p) < 0);
	return 0;
}

static int
test_path_normalize(void)
{
	CHECK_STR(norm("/a/b?x=1"), "/a/b");
	CHECK_STR(norm("/a//b///c"), "/a/b/c");
	CHECK_STR(norm("/my%6Frg/%7Euser"), "/myorg/~user");
	CHECK_STR(norm("/a%2Fb"), "/a/b");
	CHECK_STR(norm("/"), "/");
	CHECK_STR(norm("/a.b/.c/..d"), "/a.b/.c/..d");
	CHECK(norm("/a/../b") == NULL);
	CHECK(norm("/a/./b") == NULL);
	CHECK(norm("/a/..") == NULL);
	CHECK(norm("/a/%2e%2E/b") == NULL);
	CHECK(norm("/a%2F..%2Fb") == NULL);
	CHECK(norm("/a\\b") == NULL);
	CHECK(norm("/a%5cb") == NULL);
	CHECK(norm("/a%00b") == NULL);
	CHECK(norm("/a%0ab") == NULL);
	CHECK(norm("/a%zz") == NULL);
	CHECK(norm("/a%2") == NULL);
	CHECK(norm("/a%252e%252e/b") == NULL); /* decoded twice by some servers */
	CHECK(norm("*") == NULL);
	CHECK(norm("a/b") == NULL);
	return 0;
}

static int
test_path_match(void)
{
	CHECK(px_http_path_match("/myorg/*", "/myorg/repo"));
	CHECK(px_http_path_match("/myorg/*", "/myorg/repo/info/refs"));
	CHECK(px_http_path_match("/myorg/*", "/myorg/"));
	CHECK(!px_http_path_match("/myorg/*", "/myorg"));
	CHECK(!px_http_path_match("/myorg/*", "/myorgx/repo"));
	CHECK(!px_http_path_match("/myorg/*", "/other/myorg/x"));
	CHECK(px_http_path_match("/v1/*/items", "/v1/a/items"));
	CHECK(!px_http_path_match("/v1/*/items", "/v1/a/items/x"));
	CHECK(px_http_path_match("/exact", "/exact"));
	CHECK(!px_http_path_match("/exact", "/exact/"));
	CHECK(px_http_path_match("*", "/anything"));
	CHECK(px_http_path_match("/a*b*c", "/a-b-b-c"));
	return 0;
}

static int
test_decisions(void)
{
	struct px_http_rules r = { 0 };
	struct px_http_decision d;
	struct cordon_err err;
	const char *get_head[] = { "GET", "HEAD", NULL };
	const char *org[] = { "/myorg/*", NULL };
	const char *post[] = { "POST", NULL };
	const char *msgs[] = { "/v1/messages", NULL };
	char body[2048];

	CHECK(px_http_rules_add(&r, "github.com", get_head, org, "user settings.json:3:5", &err) ==
	      0);
	CHECK(px_http_rules_add(&r, "api.example.test", post, msgs, NULL, &err) == 0);
	CHECK(px_http_rules_add(&r, "any.example.test", NULL, NULL, NULL, &err) == 0);
	CHECK(px_http_rules_cover(&r, "github.com", 443));
	CHECK(!px_http_rules_cover(&r, "gitlab.com", 443));
	/* a host no rule names is not narrowed */
	CHECK(check(&r, "gitlab.com", 443, "DELETE", "/x", &d) == PX_HTTP_PASS);
	CHECK(check(&r, "github.com", 443, "GET", "/myorg/repo.git/info/refs?service=x", &d) ==
	      PX_HTTP_ALLOW);
	CHECK(d.rule == &r.v[0]);
	CHECK(check(&r, "github.com", 443, "HEAD", "/myorg/x", &d) == PX_HTTP_ALLOW);
	CHECK(check(&r, "github.com", 443, "POST", "/myorg/x", &d) == PX_HTTP_DENY);
	CHECK(strstr(d.why, "method POST") != NULL);
	CHECK(d.rule == &r.v[0]);
	CHECK(check(&r, "github.com", 443, "GET", "/otherorg/x", &d) == PX_HTTP_DENY);
	CHECK(strstr(d.why, "/otherorg/x") != NULL);
	/* dot segments and encodings do not walk out of the allowed prefix */
	CHECK(check(&r, "github.com", 443, "GET", "/myorg/../otherorg/x", &d) == PX_HTTP_DENY);
	CHECK(check(&r, "github.com", 443, "GET", "/myorg/%2e%2e/otherorg/x", &d) == PX_HTTP_DENY);
	CHECK(check(&r, "github.com", 443, "GET", "//myorg/x", &d) == PX_HTTP_ALLOW);
	CHECK(check(&r, "api.example.test", 443, "POST", "/v1/messages", &d) == PX_HTTP_ALLOW);
	CHECK(check(&r, "api.example.test", 443, "POST", "/v1/messages/x", &d) == PX_HTTP_DENY);
	CHECK(check(&r, "api.example.test", 443, "GET", "/v1/messages", &d) == PX_HTTP_DENY);
	/* a rule with no methods and no paths lets anything through, odd paths too */
	CHECK(check(&r, "any.example.test", 80, "PUT", "/a/../b", &d) == PX_HTTP_ALLOW);
	CHECK(check(&r, "any.example.test", 80, "OPTIONS", "*", &d) == PX_HTTP_ALLOW);
	check(&r, "github.com", 443, "POST", "/myorg/x", &d);
	px_http_deny_body(&r, &d, "https", "github.com", 443, "POST", body, sizeof(body));
	CHECK(strstr(body, "cordon: POST https://github.com/myorg/x denied by network.rules") ==
	      body);
	CHECK(strstr(body, "github.com: methods GET, HEAD; paths /myorg/* (user "
			   "settings.json:3:5)") != NULL);
	check(&r, "api.example.test", 8443, "GET", "/v1/messages", &d);
	px_http_deny_body(&r, &d, "http", "api.example.test", 8443, "GET", body, sizeof(body));
	CHECK(strstr(body, "GET http://api.example.test:8443/v1/messages denied") != NULL);
	CHECK(strstr(body, "methods POST; paths /v1/messages") != NULL);
	px_http_rules_fini(&r);
	return 0;
}

static int
test_limits(void)
{
	struct px_http_rules r = { 0 };
	struct cordon_err err;
	const char *bad[] = { "no-slash", NULL };
	int ok = 0;

	CHECK(px_http_rules_add(&r, "192.0.2.0/24", NULL, NULL, NULL, &err) < 0);
	CHECK(px_http_rules_add(&r, "a.test", NULL, bad, NULL, &err) < 0);
	for (int i = 0; i < PX_HTTP_RULES_MAX; i++)
		ok += px_http_rules_add(&r, "a.test", NULL, NULL, NULL, &err) == 0;
	CHECK(ok == PX_HTTP_RULES_MAX);
	CHECK(px_http_rules_add(&r, "a.test", NULL, NULL, NULL, &err) < 0);
	CHECK(strstr(err.msg, "more than 256") != NULL);
	px_http_rules_fini(&r);
	CHECK(r.n == 0 && r.v == NULL);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_host_patterns);
	TAP_RUN(test_path_normalize);
	TAP_RUN(test_path_match);
	TAP_RUN(test_decisions);
	TAP_RUN(test_limits);
	return tap_done();
}
