/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "proxy/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_s5_req req;
	int g = px_s5_parse_greeting(data, size);

	if (g > 0 && (size_t)g > size)
		__builtin_trap();
	if (px_s5_parse_request(data, size, &req) == 1 && req.len > size)
		__builtin_trap();
	if (g > 0 && px_s5_parse_request(data + g, size - (size_t)g, &req) == 1 &&
	    req.len > size - (size_t)g)
		__builtin_trap();
	return 0;
}
