/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "proxy/http.h"
#include "tap.h"

static int
parse(const char *s, struct px_http_req *req, const char **why)
{
	return px_http_parse_request(s, strlen(s), req, why);
}

static int
test_connect(void)
{
	struct px_http_req req;
	const char *why;

	CHECK(parse("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", &req,
		    &why) == 1);
	CHECK(req.is_connect);
	CHECK_STR(req.host, "example.test");
	CHECK(req.port == 443);
	CHECK(parse("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n", &req,
		    &why) == 1);
	CHECK_STR(req.host, "2001:db8::1");
	CHECK(req.port == 8443);
	CHECK(parse("CONNECT example.test HTTP/1.1\r\nHost: example.test\r\n\r\n", &req, &why) ==
	      -1);
	CHECK(req.status == 400);
	return 0;
}

static int
test_incomplete(void)
{
	struct px_http_req req;
	const char *why;

	CHECK(parse("CONNECT example.test:443 HTTP/1.1\r\nHost: exa", &req, &why) == 0);
	CHECK(parse("", &req, &why) == 0);
	return 0;
}

static int
test_absolute_form(void)
{
	static const char r[] = "GET http://Example.test:8080/a/b?c=d HTTP/1.1\r\n"
				"Host: example.test:8080\r\nProxy-Connection: keep-alive\r\n"
				"Proxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n";
	struct px_http_req req;
	const char *why;
	char out[512];
	ssize_t n;

	CHECK(parse(r, &req, &why) == 1);
	CHECK(!req.is_connect);
	CHECK_STR(req.host, "Example.test");
	CHECK(req.port == 8080);
	CHECK(req.hdr_len == strlen(r));
	n = px_http_rewrite_request(r, &req, out, sizeof(out));
	CHECK(n > 0);
	out[n] = '\0';
	CHECK_STR(out, "GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\nAccept: */*\r\n\r\n");
	CHECK(parse("GET http://example.test HTTP/1.0\r\n\r\n", &req, &why) == 1);
	CHECK(req.port == 80 && req.close);
	n = px_http_rewrite_request("GET http://example.test HTTP/1.0\r\n\r\n", &req, out,
				    sizeof(out));
	out[n] = '\0';
	CHECK_STR(out, "GET / HTTP/1.0\r\n\r\n");
	return 0;
}

static int
test_refusals(void)
{
	static const struct {
		const char *req;
		int status;
	} bad[] = {
		{ "GET /local HTTP/1.1\r\nHost: a.test\r\n\r\n", 400 },
		{ "GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: a.test:81\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n", 400 },
		{ "GET http://u@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400 },
		{ "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  400 },
		{ "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n"
		  "Content-Length: 4\r\n\r\n",
		  400 },
		{ "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, "
		  "chunked\r\n\r\n",
		  501 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\r\n folded\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nBad Name: a\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\rb\r\n\r\n", 400 },
		{ "GET http://a.test/ HTTP/2.0\r\nHost: a.test\r\n\r\n", 505 },
		{ "GET http://a.test/ HTTP/1.1\nHost: a.test\r\n\r\n", 400 },
		{ "CONNECT a.test:0 HTTP/1.1\r\nHost: a.test:0\r\n\r\n", 400 },
		{ "CONNECT a.test:99999 HTTP/1.1\r\nHost: a.test:99999\r\n\r\n", 400 },
	};
	struct px_http_req req;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].req, &req, &why);

		if (r != -1 || req.status != bad[i].status) {
			printf("# case %zu: r=%d status=%d\n", i, r, req.status);
			return -1;
		}
	}
	return 0;
}

static int
test_header_limit(void)
{
	static char big[PX_HDR_MAX + 100];
	struct px_http_req req;
	const char *why;

	strcpy(big, "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: ");
	memset(big + strlen(big), 'a', PX_HDR_MAX);
	CHECK(px_http_parse_request(big, PX_HDR_MAX + 10, &req, &why) == -1);
	CHECK(req.status == 431);
	return 0;
}

static int
test_chunked_body(void)
{
	static const char body[] = "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				   "0\r\nTrailer: x\r\n\r\nGET next";
	struct px_body b;
	size_t total = 0;

	/* byte by byte, to exercise every state boundary */
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	while (!b.done) {
		ssize_t n = px_body_feed(&b, body + total, 1);

		CHECK(n >= 0);
		total += (size_t)n;
		CHECK(total <= strlen(body));
	}
	CHECK(total == strlen(body) - strlen("GET next"));
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	CHECK(px_body_feed(&b, body, strlen(body)) == (ssize_t)total);
	CHECK(b.done);
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	CHECK(px_body_feed(&b, "zz\r\n", 4) == -1);
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	CHECK(px_body_feed(&b, "3\r\nabcX", 7) == -1);
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	CHECK(px_body_feed(&b, "ffffffffffffffff\r\n", 18) == -1);
	return 0;
}

static int
test_length_body(void)
{
	struct px_body b;

	px_body_init(&b, PX_BODY_LENGTH, 5);
	CHECK(px_body_feed(&b, "abc", 3) == 3 && !b.done);
	CHECK(px_body_feed(&b, "deGET", 5) == 2 && b.done);
	px_body_init(&b, PX_BODY_NONE, 0);
	CHECK(b.done);
	return 0;
}

static int
test_response(void)
{
	struct px_http_resp r;
	const char *why;
	const char *s;

	s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	CHECK(px_http_parse_response(s, strlen(s), 0, &r, &why) == 1);
	CHECK(r.status == 200 && r.content_length == 5 && !r.close);
	CHECK(px_http_parse_response(s, strlen(s), 1, &r, &why) == 1);
	CHECK(r.content_length == 0);
	s = "HTTP/1.0 204 No Content\r\n\r\n";
	CHECK(px_http_parse_response(s, strlen(s), 0, &r, &why) == 1);
	CHECK(r.close && r.content_length == 0);
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
	CHECK(px_http_parse_response(s, strlen(s), 0, &r, &why) == -1);
	s = "HTTP/1.1 2000 OK\r\n\r\n";
	CHECK(px_http_parse_response(s, strlen(s), 0, &r, &why) == -1);
	s = "HTTP/1.1 200\r\n\r\n";
	CHECK(px_http_parse_response(s, strlen(s), 0, &r, &why) == 1);
	return 0;
}

static int
test_origin_form(void)
{
	struct px_http_req req;
	const char *why;
	const char *s = "GET /v1/x?y=1 HTTP/1.1\r\nHost: api.test:8443\r\n\r\n";

	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == 1);
	CHECK_STR(req.host, "api.test");
	CHECK(req.port == 8443);
	CHECK(req.path_len == strlen("/v1/x?y=1") &&
	      strncmp(s + req.path_off, "/v1/x?y=1", 9) == 0);
	s = "HEAD / HTTP/1.0\r\n\r\n";
	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == 1);
	CHECK_STR(req.host, "");
	CHECK(req.port == 443 && req.close);
	s = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n";
	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == -1);
	s = "CONNECT /x HTTP/1.1\r\nHost: a.test\r\n\r\n";
	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == -1);
	s = "GET / HTTP/1.1\r\n\r\n";
	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == -1);
	s = "GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n";
	CHECK(px_http_parse_origin_request(s, strlen(s), 443, &req, &why) == -1);
	return 0;
}

/* A body sent in the same read as its head may hold NUL bytes. */
static int
test_binary_body_after_head(void)
{
	struct px_http_req req;
	const char *why;
	char buf[128];
	const char *h =
	    "POST http://a.test/up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\n";
	size_t n = strlen(h);

	memcpy(buf, h, n);
	memcpy(buf + n, "\0\1\0\2", 4);
	CHECK(px_http_parse_request(buf, n + 4, &req, &why) == 1);
	CHECK(req.hdr_len == n && req.content_length == 4);
	buf[10] = '\0'; /* in the head itself: refused */
	CHECK(px_http_parse_request(buf, n + 4, &req, &why) == -1);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_connect);
	TAP_RUN(test_incomplete);
	TAP_RUN(test_absolute_form);
	TAP_RUN(test_refusals);
	TAP_RUN(test_header_limit);
	TAP_RUN(test_chunked_body);
	TAP_RUN(test_length_body);
	TAP_RUN(test_response);
	TAP_RUN(test_origin_form);
	TAP_RUN(test_binary_body_after_head);
	return tap_done();
}
