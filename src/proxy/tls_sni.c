/* SPDX-License-Identifier: MIT */
/*
 * server_name from a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3), without
 * terminating TLS. Handshake messages may span records; they are joined in
 * a bounded stack buffer. Fuzzed by fuzz/fuzz_sni.c.
 */
#include <string.h>

#include "proxy/tls_sni.h"

#define TLS_CT_FIRST     20 /* change_cipher_spec */
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_LAST      24 /* heartbeat */
#define TLS_RECORD_MAX   (16384 + 2048)

static unsigned
u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * Is this the start of a TLS stream? 1 yes, 0 no, -1 cannot tell yet.
 * An SSLv2-format ClientHello (still accepted by some servers for TLS 1.0
 * to 1.2) is a 2-byte length with the top bit set, message type 1, then the
 * version 3.x.
 */
static int
starts_tls(const uint8_t *buf, size_t len, int *v2)
{
	*v2 = 0;
	if (len == 0)
		return -1;
	if (buf[0] >= TLS_CT_FIRST && buf[0] <= TLS_CT_LAST) {
		if (len < 2)
			return -1;
		return buf[1] == 3;
	}
	if (buf[0] & 0x80) {
		if (len >= 3 && buf[2] != 1)
			return 0;
		if (len >= 4 && buf[3] != 3)
			return 0;
		if (len < 4)
			return -1;
		*v2 = 1;
		return 1;
	}
	return 0;
}

/* The server_name extension body at ext[0..len): exactly one host_name. */
static enum px_sni_result
server_name(const uint8_t *ext, size_t len, char *host, size_t hostlen)
{
	size_t nlen;

	if (len < 2 || u16(ext) + 2 != len || len < 5)
		return PX_SNI_BAD;
	nlen = u16(ext + 3);
	if (ext[2] != 0 || nlen + 5 != len)
		return PX_SNI_BAD; /* not one host_name: servers differ on which they take */
	if (nlen == 0 || nlen >= hostlen)
		return PX_SNI_BAD;
	for (size_t i = 0; i < nlen; i++) {
		uint8_t c = ext[5 + i];

		if (c <= 0x20 || c >= 0x7f)
			return PX_SNI_BAD;
		host[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	host[nlen] = '\0';
	return PX_SNI_FOUND;
}

enum px_sni_result
px_tls_sni(const uint8_t *buf, size_t len, char *host, size_t hostlen)
{
	uint8_t hs[PX_SNI_PEEK_MAX];
	size_t hs_len = 0, off = 0, msg_len = 0, p, end;
	enum px_sni_result found = PX_SNI_NONE;
	int v2;

	if (hostlen > 0)
		host[0] = '\0';
	switch (starts_tls(buf, len, &v2)) {
	case -1:
		return PX_SNI_NEED_MORE;
	case 0:
		return PX_SNI_NOT_TLS;
	default:
		break;
	}
	if (v2)
		return PX_SNI_NONE; /* SSLv2 format: no extensions, so no name */
	if (buf[0] != TLS_CT_HANDSHAKE)
		return PX_SNI_BAD; /* an alert or data before the ClientHello */
	/* join handshake records until the ClientHello is whole */
	for (;;) {
		size_t rl;

		if (len - off < 5)
			return len >= PX_SNI_PEEK_MAX ? PX_SNI_TOO_LARGE : PX_SNI_NEED_MORE;
		if (buf[off] != TLS_CT_HANDSHAKE || buf[off + 1] != 3)
			return PX_SNI_BAD;
		rl = u16(buf + off + 3);
		if (rl == 0 || rl > TLS_RECORD_MAX)
			return PX_SNI_BAD;
		if (len - off - 5 < rl)
			return len >= PX_SNI_PEEK_MAX ? PX_SNI_TOO_LARGE : PX_SNI_NEED_MORE;
		if (hs_len + rl > sizeof(hs))
			return PX_SNI_TOO_LARGE;
		memcpy(hs + hs_len, buf + off + 5, rl);
		hs_len += rl;
		off += 5 + rl;
		if (hs_len >= 4) {
			if (hs[0] != 1)
				return PX_SNI_BAD;
			msg_len = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
			if (msg_len + 4 > sizeof(hs))
				return PX_SNI_TOO_LARGE;
			if (hs_len >= msg_len + 4)
				break;
		}
	}
	end = 4 + msg_len;
	p = 4;
	/* legacy_version, random */
	if (end - p < 2 + 32)
		return PX_SNI_BAD;
	p += 34;
	/* session id */
	if (end - p < 1 || end - p - 1 < hs[p])
		return PX_SNI_BAD;
	p += 1 + hs[p];
	/* cipher suites */
	if (end - p < 2 || end - p - 2 < u16(hs + p))
		return PX_SNI_BAD;
	p += 2 + u16(hs + p);
	/* compression methods */
	if (end - p < 1 || end - p - 1 < hs[p])
		return PX_SNI_BAD;
	p += 1 + hs[p];
	if (p == end)
		return PX_SNI_NONE; /* no extensions at all */
	if (end - p < 2 || end - p - 2 < u16(hs + p))
		return PX_SNI_BAD;
	end = p + 2 + u16(hs + p);
	p += 2;
	while (p < end) {
		unsigned type, elen;

		if (end - p < 4)
			return PX_SNI_BAD;
		type = u16(hs + p);
		elen = u16(hs + p + 2);
		p += 4;
		if (end - p < elen)
			return PX_SNI_BAD;
		if (type == 0) {
			if (found == PX_SNI_FOUND)
				return PX_SNI_BAD; /* a second server_name */
			found = server_name(hs + p, elen, host, hostlen);
			if (found != PX_SNI_FOUND)
				return found;
		}
		p += elen;
	}
	return found;
}
