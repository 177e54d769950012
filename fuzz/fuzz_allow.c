/* SPDX-License-Identifier: MIT */
/*
 * Input: "pattern\nhost" — the pattern is added as a rule, the host is
 * normalised and matched. Also every line is tried as a host on its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/allow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct px_rules r;
	struct cordon_err err;
	struct px_match m;
	struct px_addr a;
	char *buf, *nl, norm[PX_HOST_MAX];
	int is_ip;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	px_rules_init(&r);
	nl = strchr(buf, '\n');
	if (nl != NULL) {
		*nl = '\0';
		px_rules_add(&r, buf, 0, &err);
		px_rules_add(&r, buf, 1, &err);
		px_rules_match(&r, nl + 1, 443, &m);
		if (px_host_normalize(nl + 1, norm, sizeof(norm), &is_ip, &a) == 0) {
			if (strlen(norm) >= PX_HOST_MAX)
				__builtin_trap();
			if (is_ip)
				px_rules_check_addr(&r, &a, 80, &m);
		}
	}
	px_rules_add(&r, buf, 0, &err);
	px_rules_match(&r, buf, 80, &m);
	px_host_normalize(buf, norm, sizeof(norm), &is_ip, &a);
	px_rules_fini(&r);
	free(buf);
	return 0;
}
