/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "proxy/tls_sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[256];

	if (px_tls_sni(data, size, host, sizeof(host)) == PX_SNI_FOUND && strlen(host) >= 256)
		__builtin_trap();
	return 0;
}
