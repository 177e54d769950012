/* SPDX-License-Identifier: MIT */
/*
 * The JKS key store format, read only as far as a trust store needs it.
 * Everything is big-endian:
 *
 *   u32 magic 0xFEEDFEED, u32 version (1, 2), u32 count, then count entries:
 *     u32 tag (1 private key, 2 trusted certificate), UTF alias, u64 date,
 *     tag 1: u32 len, key[len], u32 n, n certificates
 *     tag 2: one certificate
 *   certificate: (version 2: UTF type, "X.509"), u32 len, der[len]
 *   UTF: u16 len, bytes[len] (Java's modified UTF-8)
 *   then a 20-byte SHA-1 over a password and everything before it.
 *
 * Debian's ca-certificates-java (up to bookworm) writes /etc/ssl/certs/java/cacerts
 * in this format.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "session/jks.h"

#define JKS_MAGIC   0xFEEDFEEDu
#define JKS_TRAILER 20 /* the SHA-1 */

struct jks_rd {
	const unsigned char *p;
	size_t left;
};

static int
rd_bytes(struct jks_rd *r, size_t n, const unsigned char **out)
{
	if (n > r->left)
		return -1;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_u32(struct jks_rd *r, uint32_t *v)
{
	const unsigned char *b;

	if (rd_bytes(r, 4, &b) < 0)
		return -1;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

static int
rd_utf(struct jks_rd *r, const unsigned char **s, size_t *n)
{
	const unsigned char *b;

	if (rd_bytes(r, 2, &b) < 0)
		return -1;
	*n = (size_t)b[0] << 8 | b[1];
	return rd_bytes(r, *n, s);
}

/* One certificate: its type (version 2) and DER. */
static int
rd_cert(struct jks_rd *r, uint32_t version, const unsigned char **der, size_t *n)
{
	const unsigned char *type;
	size_t tl;
	uint32_t l;

	if (version == 2 && (rd_utf(r, &type, &tl) < 0 || tl != 5 || memcmp(type, "X.509", 5) != 0))
		return -1;
	if (rd_u32(r, &l) < 0)
		return -1;
	*n = l;
	return rd_bytes(r, l, der);
}

bool
jks_is(const unsigned char *buf, size_t len)
{
	return len >= 4 && buf[0] == 0xfe && buf[1] == 0xed && buf[2] == 0xfe && buf[3] == 0xed;
}

int
jks_each_cert(const unsigned char *buf, size_t len, jks_cert_fn fn, void *arg,
	      struct cordon_err *err)
{
	struct jks_rd r = { buf, len };
	uint32_t magic, version, count;
	int certs = 0;

	if (len < JKS_TRAILER)
		return cordon_err_set(err, EINVAL, "not a JKS key store (%zu bytes)", len);
	r.left -= JKS_TRAILER;
	if (rd_u32(&r, &magic) < 0 || magic != JKS_MAGIC || rd_u32(&r, &version) < 0 ||
	    rd_u32(&r, &count) < 0)
		return cordon_err_set(err, EINVAL, "not a JKS key store");
	if (version != 1 && version != 2)
		return cordon_err_set(err, EINVAL, "JKS version %u (1 and 2 are known)", version);
	if (count > JKS_MAX_ENTRIES)
		return cordon_err_set(err, E2BIG, "a JKS store of %u entries (at most %u)", count,
				      JKS_MAX_ENTRIES);
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *alias, *date, *der;
		size_t al, dl;
		uint32_t tag, l, n;

		if (rd_u32(&r, &tag) < 0 || rd_utf(&r, &alias, &al) < 0 ||
		    rd_bytes(&r, 8, &date) < 0)
			return cordon_err_set(err, EINVAL, "JKS entry %u: truncated", i);
		switch (tag) {
		case 1: /* private key: step over the key and its chain */
			if (rd_u32(&r, &l) < 0 || rd_bytes(&r, l, &der) < 0 || rd_u32(&r, &n) < 0 ||
			    n > JKS_MAX_ENTRIES)
				return cordon_err_set(err, EINVAL, "JKS entry %u: bad key entry",
						      i);
			for (uint32_t k = 0; k < n; k++)
				if (rd_cert(&r, version, &der, &dl) < 0)
					return cordon_err_set(
					    err, EINVAL, "JKS entry %u: bad certificate chain", i);
			break;
		case 2:
			if (rd_cert(&r, version, &der, &dl) < 0)
				return cordon_err_set(err, EINVAL, "JKS entry %u: bad certificate",
						      i);
			if (fn(arg, (const char *)alias, al, der, dl, err) < 0)
				return -1;
			certs++;
			break;
		default:
			return cordon_err_set(err, EINVAL,
					      "JKS entry %u: tag %u is not a key or a "
					      "certificate (a JCEKS store?)",
					      i, tag);
		}
	}
	if (r.left != 0)
		return cordon_err_set(err, EINVAL, "JKS store: %zu bytes after the last entry",
				      r.left);
	return certs;
}
