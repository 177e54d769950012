/* SPDX-License-Identifier: MIT */
/*
 * Request heads (CONNECT and absolute-form), the rewrite for upstream,
 * response heads and the chunked body framer, on arbitrary bytes.
 */
#include <stdint.h>
#include <string.h>

#include "proxy/http.h"

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

	if (px_http_parse_request(s, size, &req, &why) == 1) {
		if (!req.is_connect)
			px_http_rewrite_request(s, &req, out, sizeof(out));
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
