/* SPDX-License-Identifier: MIT */
/* See crypto.h for why the low-level interface. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "common/crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(struct cordon_sha256),
	       "struct cordon_sha256 too small for SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(struct cordon_sha256),
	       "struct cordon_sha256 under-aligned for SHA256_CTX");

void
cordon_sha256_init(struct cordon_sha256 *c)
{
	SHA256_Init((SHA256_CTX *)(void *)c);
}

void
cordon_sha256_update(struct cordon_sha256 *c, const void *buf, size_t len)
{
	SHA256_Update((SHA256_CTX *)(void *)c, buf, len);
}

void
cordon_sha256_final(struct cordon_sha256 *c, unsigned char md[32])
{
	SHA256_Final(md, (SHA256_CTX *)(void *)c);
}

void
cordon_sha256(const void *buf, size_t len, unsigned char md[32])
{
	struct cordon_sha256 c;

	cordon_sha256_init(&c);
	cordon_sha256_update(&c, buf, len);
	cordon_sha256_final(&c, md);
}
