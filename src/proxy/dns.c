/* SPDX-License-Identifier: MIT */
/*
 * DNS query parsing and answer building for the sandbox's stub resolver
 * (dns.h). Bounds are checked before every read; the parser never follows
 * a compression pointer, so it reads each byte at most once.
 */
#include <string.h>

#include "proxy/dns.h"

#define HDR_LEN 12

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Host-name characters a stub needs to see; anything else is refused. */
static int
name_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int
px_dns_parse_query(const uint8_t *msg, size_t len, struct px_dns_query *q)
{
	size_t off = HDR_LEN, out = 0;

	memset(q, 0, sizeof(*q));
	if (msg == NULL || len < HDR_LEN)
		return -1;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	if (q->flags & 0x8000) /* a response */
		return -1;
	if (((q->flags >> 11) & 0xf) != 0 || get16(msg + 4) != 1)
		return 0;
	for (;;) {
		uint8_t l;

		if (off >= len)
			return 0;
		l = msg[off++];
		if (l == 0)
			break;
		if (l > 63 || len - off < l) /* a pointer (0xc0) or a reserved label type */
			return 0;
		if (out + (out ? 1 : 0) + l > PX_DNS_NAME_MAX - 1)
			return 0;
		if (out)
			q->name[out++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			if (!name_byte_ok(msg[off + i]))
				return 0;
			q->name[out++] = (char)msg[off + i];
		}
		off += l;
	}
	q->name[out] = '\0';
	if (out == 0 || len - off < 4) {
		q->name[0] = '\0';
		return 0;
	}
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	q->qlen = off + 4 - HDR_LEN;
	return 1;
}

/* Encode q->name as wire labels into out; the length, 0 if it does not fit. */
static size_t
put_name(const char *name, uint8_t *out, size_t cap)
{
	size_t o = 0;
	const char *s = name;

	while (*s != '\0') {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		if (l == 0 || l > 63 || o + 1 + l >= cap)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l + (dot ? 1 : 0);
	}
	if (o >= cap)
		return 0;
	out[o++] = 0;
	return o;
}

size_t
px_dns_build_answer(const struct px_dns_query *q, int rcode, const uint8_t *addr, size_t addr_len,
		    uint32_t ttl, uint8_t *out, size_t cap)
{
	int answer = addr != NULL && rcode == PX_DNS_RCODE_OK && q->name[0] != '\0' &&
		     ((q->qtype == PX_DNS_TYPE_A && addr_len == 4) ||
		      (q->qtype == PX_DNS_TYPE_AAAA && addr_len == 16));
	size_t o = HDR_LEN, n;

	if (cap < HDR_LEN)
		return 0;
	memset(out, 0, HDR_LEN);
	put16(out, q->id);
	/* QR, opcode QUERY, AA, RD copied, RA, rcode */
	put16(out + 2, (uint16_t)(0x8000 | 0x0400 | (q->flags & 0x0100) | 0x0080 | (rcode & 0xf)));
	if (q->name[0] == '\0')
		return HDR_LEN;
	n = put_name(q->name, out + o, cap - o);
	if (n == 0 || cap - o - n < 4)
		return 0;
	o += n;
	put16(out + o, q->qtype);
	put16(out + o + 2, q->qclass);
	o += 4;
	put16(out + 4, 1); /* QDCOUNT */
	if (!answer)
		return o;
	if (cap - o < 12 + addr_len)
		return 0;
	put16(out + o, 0xc000 | HDR_LEN); /* the question's name */
	put16(out + o + 2, q->qtype);
	put16(out + o + 4, PX_DNS_CLASS_IN);
	put16(out + o + 6, (uint16_t)(ttl >> 16));
	put16(out + o + 8, (uint16_t)ttl);
	put16(out + o + 10, (uint16_t)addr_len);
	memcpy(out + o + 12, addr, addr_len);
	o += 12 + addr_len;
	put16(out + 6, 1); /* ANCOUNT */
	return o;
}

int
px_dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len, size_t *used)
{
	size_t n;

	*msg = NULL;
	*msg_len = *used = 0;
	if (len < 2)
		return 0;
	n = get16(buf);
	if (n == 0 || n > PX_DNS_TCP_MAX)
		return -1;
	if (len - 2 < n)
		return 0;
	*msg = buf + 2;
	*msg_len = n;
	*used = 2 + n;
	return 1;
}
