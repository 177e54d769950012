/* SPDX-License-Identifier: MIT */
#include <openssl/crypto.h>

#include "common/crypto.h"

void
cordon_crypto_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
				OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_ATEXIT,
			    NULL);
}
