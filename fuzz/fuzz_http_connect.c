/* SPDX-License-Identifier: MIT */
/*
 * Request heads (CONNECT, absolute-form and, as read inside a tunnel,
 * origin-form), the rewrites for upstream (proxy fields, injected
 * headers), the path rules, response heads and the chunked body framer,
 * on arbitrary bytes.
 */
#include <stdint.h>
#include <string.h>

#include "proxy/http.h"
#include "proxy/http_rules.h"
#include "proxy/inject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_http_req req;
	struct px_http_resp resp;
	struct px_body b;
	const char *why;
	static char out[PX_HDR_MAX + 512];
	const char *s = (const char *)data;

	static struct px_http_rules rules;
	static struct px_injects inj;
	static struct px_http_decision d;

	if (rules.n == 0) {
		static const char *const m[] = { "GET", NULL }, *const p[] = { "/a/*", NULL };
		struct cordon_err err;

		px_http_rules_add(&rules, "*.test", m, p, NULL, &err);
		px_injects_add(&inj, "*.test", "Authorization", "K", "Bearer ", "v", &err);
	}
	if (px_http_parse_request(s, size, &req, &why) == 1) {
		if (!req.is_connect)
			px_http_rewrite_request(s, &req, out, sizeof(out));
	}
	if (px_http_parse_origin_request(s, size, 443, &req, &why) == 1) {
		const struct px_inject *sel[PX_INJECT_MAX];
		size_t n = px_injects_select(&inj, "a.test", 443, sel, PX_INJECT_MAX);

		if (px_http_head_set(s, req.hdr_len, sel, n, out, sizeof(out)) >
		    (ssize_t)sizeof(out))
			__builtin_trap();
		px_http_rules_check(&rules, "a.test", 443, req.method, s + req.path_off,
				    req.path_len, &d);
	}
	px_http_parse_response(s, size, 0, &resp, &why);
	px_http_parse_response(s, size, 1, &resp, &why);
	/* framer: whole, then in three pieces */
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	px_body_feed(&b, s, size);
	px_body_init(&b, PX_BODY_CHUNKED, 0);
	for (size_t off = 0, step = size / 3 + 1; off < size && !b.done; off += step) {
		size_t n = size - off < step ? size - off : step;
		ssize_t r = px_body_feed(&b, s + off, n);

		if (r < 0)
			break;
		if ((size_t)r > n)
			__builtin_trap();
	}
	return 0;
}
