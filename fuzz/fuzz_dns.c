/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "proxy/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_query(const uint8_t *data, size_t size);

/*
 * Parse any bytes as a query, and as a stream of TCP-framed queries;
 * whatever parses must answer within bounds, and an answer must parse
 * back as a response (dropped: -1) with the name.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t off = 0, mlen, used;

	one_query(data, size);
	while (px_dns_tcp_frame(data + off, size - off, &msg, &mlen, &used) == 1) {
		if (used != mlen + 2 || mlen == 0 || mlen > PX_DNS_TCP_MAX || used > size - off ||
		    msg != data + off + 2)
			__builtin_trap();
		one_query(msg, mlen);
		off += used;
	}
	return 0;
}

static void
one_query(const uint8_t *data, size_t size)
{
	static const uint8_t a4[4] = { 198, 18, 0, 1 };
	struct px_dns_query q;
	uint8_t out[PX_DNS_MSG_MAX];
	size_t n;
	int r = px_dns_parse_query(data, size, &q);

	if (r < 0)
		return;
	if (strlen(q.name) >= PX_DNS_NAME_MAX)
		__builtin_trap();
	n = px_dns_build_answer(&q, r == 1 ? PX_DNS_RCODE_OK : PX_DNS_RCODE_FORMERR, a4, 4, 60, out,
				sizeof(out));
	if (n > sizeof(out) || (r == 1 && n == 0))
		__builtin_trap();
	if (n > 0 && px_dns_parse_query(out, n, &q) != -1)
		__builtin_trap();
}
