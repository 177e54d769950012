/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "proxy/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Parse any bytes as a query; whatever parses must answer within bounds,
 * and an answer must parse back as a response (dropped: -1) with the name.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a4[4] = { 198, 18, 0, 1 };
	struct px_dns_query q;
	uint8_t out[PX_DNS_MSG_MAX];
	size_t n;
	int r = px_dns_parse_query(data, size, &q);

	if (r < 0)
		return 0;
	if (strlen(q.name) >= PX_DNS_NAME_MAX)
		__builtin_trap();
	n = px_dns_build_answer(&q, r == 1 ? PX_DNS_RCODE_OK : PX_DNS_RCODE_FORMERR, a4, 4, 60, out,
				sizeof(out));
	if (n > sizeof(out) || (r == 1 && n == 0))
		__builtin_trap();
	if (n > 0 && px_dns_parse_query(out, n, &q) != -1)
		__builtin_trap();
	return 0;
}
