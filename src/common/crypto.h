/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_CRYPTO_H
#define CORDON_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-256, the one digest cordon needs (the audit hash chain, quarantine
 * fingerprints), from OpenSSL's libcrypto.
 *
 * These use libcrypto's SHA256_Init/Update/Final, not EVP: the first EVP
 * fetch builds OpenSSL 3's provider name map, about 0.5 ms of CPU on every
 * `cordon run` before the sandbox can start, and SHA256() itself goes
 * through EVP and reads openssl.cnf. The low-level functions are the same
 * implementation (SHA-NI/AVX2 assembly where the CPU has it) with none of
 * that. They are marked deprecated in OpenSSL 3 but are part of its 3.x
 * ABI; only src/common/crypto.c calls them.
 */
struct cordon_sha256 {
	/* room for OpenSSL's SHA256_CTX (112 bytes), checked in crypto.c */
	uint64_t opaque[16];
};

void cordon_sha256_init(struct cordon_sha256 *c);
void cordon_sha256_update(struct cordon_sha256 *c, const void *buf, size_t len);
void cordon_sha256_final(struct cordon_sha256 *c, unsigned char md[32]);

/* One call: md = SHA-256(buf). */
void cordon_sha256(const void *buf, size_t len, unsigned char md[32]);

#endif
