/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "proxy/dns.h"
#include "tap.h"

/* A query for name (dotted) of qtype, with RD set. */
static size_t
query(uint8_t *out, const char *name, uint16_t qtype)
{
	static const uint8_t hdr[12] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t o = sizeof(hdr);
	const char *s = name;

	memcpy(out, hdr, sizeof(hdr));
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	out[o++] = (uint8_t)(qtype >> 8);
	out[o++] = (uint8_t)qtype;
	out[o++] = 0;
	out[o++] = 1;
	return o;
}

static int
test_parse(void)
{
	uint8_t m[512];
	struct px_dns_query q;
	size_t n = query(m, "Api.Example.com", PX_DNS_TYPE_A);

	CHECK(px_dns_parse_query(m, n, &q) == 1);
	CHECK_STR(q.name, "Api.Example.com");
	CHECK(q.id == 0xabcd && q.qtype == PX_DNS_TYPE_A && q.qclass == PX_DNS_CLASS_IN);
	CHECK(q.qlen == n - 12);
	return 0;
}

static int
test_refused_shapes(void)
{
	uint8_t m[512];
	struct px_dns_query q;
	size_t n = query(m, "x.test", PX_DNS_TYPE_A);

	CHECK(px_dns_parse_query(m, 11, &q) == -1); /* no header */
	m[2] |= 0x80;                               /* a response */
	CHECK(px_dns_parse_query(m, n, &q) == -1);
	m[2] &= 0x7f;
	CHECK(px_dns_parse_query(m, n - 1, &q) == 0); /* class cut off */
	CHECK(q.id == 0xabcd);
	m[5] = 2; /* two questions */
	CHECK(px_dns_parse_query(m, n, &q) == 0);
	m[5] = 1;
	m[12] = 0xc0; /* a compression pointer */
	CHECK(px_dns_parse_query(m, n, &q) == 0);
	n = query(m, "a b.test", PX_DNS_TYPE_A);
	CHECK(px_dns_parse_query(m, n, &q) == 0);
	return 0;
}

static int
test_answers(void)
{
	static const uint8_t a[4] = { 198, 18, 0, 7 };
	uint8_t m[512], out[PX_DNS_MSG_MAX];
	struct px_dns_query q;
	size_t n = query(m, "x.test", PX_DNS_TYPE_A), o;

	CHECK(px_dns_parse_query(m, n, &q) == 1);
	o = px_dns_build_answer(&q, PX_DNS_RCODE_OK, a, 4, 60, out, sizeof(out));
	CHECK(o == n + 16);
	CHECK(out[0] == 0xab && out[1] == 0xcd);
	CHECK(out[2] == 0x85 && out[3] == 0x80);      /* QR AA RD, RA, NOERROR */
	CHECK(out[5] == 1 && out[7] == 1);            /* one question, one answer */
	CHECK(memcmp(out + 12, m + 12, n - 12) == 0); /* the question echoed */
	CHECK(out[n] == 0xc0 && out[n + 1] == 12);
	CHECK(out[n + 9] == 60 && out[n + 11] == 4);
	CHECK(memcmp(out + n + 12, a, 4) == 0);
	/* NXDOMAIN: the question, no answer */
	o = px_dns_build_answer(&q, PX_DNS_RCODE_NXDOMAIN, NULL, 0, 0, out, sizeof(out));
	CHECK(o == n && (out[3] & 0xf) == 3 && out[7] == 0);
	/* an A address for an AAAA question is not written */
	n = query(m, "x.test", PX_DNS_TYPE_AAAA);
	CHECK(px_dns_parse_query(m, n, &q) == 1);
	o = px_dns_build_answer(&q, PX_DNS_RCODE_OK, a, 4, 60, out, sizeof(out));
	CHECK(o == n && out[7] == 0);
	/* too small a buffer */
	CHECK(px_dns_build_answer(&q, PX_DNS_RCODE_OK, NULL, 0, 0, out, 11) == 0);
	return 0;
}

static int
test_tcp_frames(void)
{
	uint8_t m[3 * 600], big[4] = { 0x04, 0x01, 0, 0 }, zero[4] = { 0, 0, 0, 0 };
	const uint8_t *msg;
	size_t n1, n2, len, used;

	n1 = query(m + 2, "a.test", PX_DNS_TYPE_A);
	m[0] = 0;
	m[1] = (uint8_t)n1;
	n2 = query(m + 2 + n1 + 2, "b.test", PX_DNS_TYPE_AAAA);
	m[2 + n1] = 0;
	m[2 + n1 + 1] = (uint8_t)n2;
	/* two pipelined queries: one at a time, each whole */
	CHECK(px_dns_tcp_frame(m, 2 + n1 + 2 + n2, &msg, &len, &used) == 1);
	CHECK(msg == m + 2 && len == n1 && used == 2 + n1);
	CHECK(px_dns_tcp_frame(m + used, n2 + 2, &msg, &len, &used) == 1);
	CHECK(len == n2 && used == 2 + n2);
	/* a prefix, or part of the message: wait for more */
	CHECK(px_dns_tcp_frame(m, 1, &msg, &len, &used) == 0);
	CHECK(px_dns_tcp_frame(m, 2 + n1 - 1, &msg, &len, &used) == 0 && msg == NULL);
	/* a length no query has: refused */
	CHECK(px_dns_tcp_frame(big, sizeof(big), &msg, &len, &used) == -1);
	CHECK(px_dns_tcp_frame(zero, sizeof(zero), &msg, &len, &used) == -1);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_parse);
	TAP_RUN(test_refused_shapes);
	TAP_RUN(test_answers);
	TAP_RUN(test_tcp_frames);
	return tap_done();
}
