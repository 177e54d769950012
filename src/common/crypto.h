/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_CRYPTO_H
#define CORDON_COMMON_CRYPTO_H

/*
 * Initialise OpenSSL for what cordon uses it for (SHA-256 through EVP),
 * without its default work: no openssl.cnf, no registration of every
 * legacy cipher and digest, no teardown at exit. That default costs more
 * CPU than the rest of `cordon run`'s start. Call before the first EVP
 * call; idempotent; not safe after fork.
 */
void cordon_crypto_init(void);

#endif
