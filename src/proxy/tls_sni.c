/* SPDX-License-Identifier: MIT */
/*
 * server_name from a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3), without
 * terminating TLS. Handshake messages may span records; they are joined in
 * a bounded stack buffer. Fuzzed by fuzz/fuzz_sni.c.
 */
#include <string.h>

#include "proxy/tls_sni.h"

static unsigned
u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

enum px_sni_result
px_tls_sni(const uint8_t *buf, size_t len, char *host, size_t hostlen)
{
	uint8_t hs[PX_SNI_PEEK_MAX];
	size_t hs_len = 0, off = 0, msg_len, p, end;

	if (hostlen > 0)
		host[0] = '\0';
	if (len >= 1 && buf[0] != 0x16)
		return PX_SNI_NOT_TLS;
	/* join handshake records until the ClientHello is whole */
	for (;;) {
		size_t rl;

		if (len - off < 5)
			return len >= PX_SNI_PEEK_MAX ? PX_SNI_BAD : PX_SNI_NEED_MORE;
		if (buf[off] != 0x16)
			return off == 0 ? PX_SNI_NOT_TLS : PX_SNI_BAD;
		if (buf[off + 1] != 3)
			return off == 0 ? PX_SNI_NOT_TLS : PX_SNI_BAD;
		rl = u16(buf + off + 3);
		if (rl == 0 || rl > 16384 + 2048)
			return PX_SNI_BAD;
		if (len - off - 5 < rl)
			return len >= PX_SNI_PEEK_MAX ? PX_SNI_BAD : PX_SNI_NEED_MORE;
		if (hs_len + rl > sizeof(hs))
			return PX_SNI_BAD;
		memcpy(hs + hs_len, buf + off + 5, rl);
		hs_len += rl;
		off += 5 + rl;
		if (hs_len >= 4) {
			if (hs[0] != 1)
				return PX_SNI_BAD;
			msg_len = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
			if (msg_len + 4 > sizeof(hs))
				return PX_SNI_BAD;
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
			size_t q = p, qend;

			if (elen < 2 || u16(hs + q) + 2 != elen)
				return PX_SNI_BAD;
			qend = p + elen;
			q += 2;
			while (q < qend) {
				unsigned nlen;

				if (qend - q < 3)
					return PX_SNI_BAD;
				nlen = u16(hs + q + 1);
				if (qend - q - 3 < nlen)
					return PX_SNI_BAD;
				if (hs[q] == 0) {
					if (nlen == 0 || nlen >= hostlen)
						return PX_SNI_BAD;
					for (unsigned i = 0; i < nlen; i++) {
						uint8_t c = hs[q + 3 + i];

						if (c <= 0x20 || c >= 0x7f)
							return PX_SNI_BAD;
						host[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
					}
					host[nlen] = '\0';
					return PX_SNI_FOUND;
				}
				q += 3 + nlen;
			}
			return PX_SNI_BAD;
		}
		p += elen;
	}
	return PX_SNI_NONE;
}
