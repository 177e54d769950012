/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_DNS_H
#define CORDON_PROXY_DNS_H

#include <stddef.h>
#include <stdint.h>

/*
 * DNS messages for the sandbox's stub resolver (capture.c): read one
 * query, write its answer. Pure code: no syscalls, no allocation.
 *
 * Accepted queries (RFC 1035 §4.1): QR = 0, opcode QUERY, exactly one
 * question, no compression in the question (a query has nothing to point
 * at), labels of 1..63 bytes, a name of at most 253 characters in dotted
 * form. Answer, authority and additional sections (an EDNS OPT record) are
 * ignored. The name is returned in dotted form, without the trailing dot,
 * with its bytes as sent (a label with '.' or a byte outside printable
 * ASCII is refused, so the name is a plain host name or nothing).
 */

#define PX_DNS_NAME_MAX 254  /* dotted name plus NUL */
#define PX_DNS_MSG_MAX  512  /* UDP answers never exceed this (no EDNS) */
#define PX_DNS_TCP_MAX  1024 /* longest query taken over TCP (one is ~50 bytes) */

enum {
	PX_DNS_TYPE_A = 1,
	PX_DNS_TYPE_AAAA = 28,
	PX_DNS_CLASS_IN = 1,
};

enum {
	PX_DNS_RCODE_OK = 0,
	PX_DNS_RCODE_FORMERR = 1,
	PX_DNS_RCODE_SERVFAIL = 2,
	PX_DNS_RCODE_NXDOMAIN = 3,
	PX_DNS_RCODE_NOTIMP = 4,
	PX_DNS_RCODE_REFUSED = 5,
};

struct px_dns_query {
	uint16_t id;
	uint16_t flags; /* as received */
	uint16_t qtype, qclass;
	char name[PX_DNS_NAME_MAX];
	size_t qlen; /* bytes of the question section (name, type, class) */
};

/*
 * Parse the query in msg[0, len). Returns 1 and fills q; 0 when the
 * message is a query that is malformed but has a header (q->id is set;
 * answer FORMERR); -1 when nothing can be answered (shorter than a
 * header, or a response: drop it).
 */
int px_dns_parse_query(const uint8_t *msg, size_t len, struct px_dns_query *q);

/*
 * Write the answer to q into out[0, cap): rcode, and, when addr is not
 * NULL and rcode is PX_DNS_RCODE_OK, one record of q's type (addr_len 4
 * for A, 16 for AAAA) with ttl seconds. With q NULL-named (a FORMERR for
 * a query parse returned 0 for), only the header is written. Returns the
 * length, or 0 when cap is too small.
 */
size_t px_dns_build_answer(const struct px_dns_query *q, int rcode, const uint8_t *addr,
			   size_t addr_len, uint32_t ttl, uint8_t *out, size_t cap);

/*
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message is preceded by
 * its length, two bytes in network order, and a client may send several
 * on one connection. Find the first whole message in buf[0, len): 1 with
 * *msg and *msg_len set to it and *used to the bytes it takes with its
 * prefix; 0 when more bytes are needed; -1 when the declared length is 0
 * or above PX_DNS_TCP_MAX (no query is: close the connection).
 */
int px_dns_tcp_frame(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
		     size_t *used);

#endif
