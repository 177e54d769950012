/* SPDX-License-Identifier: MIT */
/*
 * The git config reader and stripper of the quarantine
 * (supervisor/gitconfig.c). The input is split at its first 0xff byte:
 * the text at the end of the session, then the text at its start. Every
 * input must be handled without a crash or a leak, and a stripped text
 * must read again as exactly the keys that were kept, none of them one
 * that runs a command (unless it was there before).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/gitconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cut = memchr(data, 0xff, size);
	size_t now_len = cut != NULL ? (size_t)(cut - data) : size;
	const char *before = cut != NULL ? (const char *)cut + 1 : NULL;
	size_t before_len = cut != NULL ? size - now_len - 1 : 0;
	struct gitcfg_strip out;
	struct gitcfg cfg, old;

	if (gitcfg_parse((const char *)data, now_len, &cfg) == 0) {
		for (size_t i = 0; i < cfg.n; i++) {
			gitcfg_allowed(&cfg.v[i]);
			gitcfg_is_include(&cfg.v[i]);
		}
		gitcfg_last(&cfg, "core.hookspath");
	}
	gitcfg_free(&cfg);
	if (gitcfg_strip((const char *)data, now_len, before, before_len, &out) == 0) {
		/* What is left reads again, and is allowlisted or was there before. */
		if (gitcfg_parse(out.text, out.len, &cfg) < 0)
			abort();
		memset(&old, 0, sizeof(old));
		if (before != NULL)
			gitcfg_parse(before, before_len, &old);
		for (size_t i = 0; i < cfg.n; i++) {
			bool was = false;

			for (size_t k = 0; k < old.n && !was; k++)
				was = strcmp(old.v[k].var, cfg.v[i].var) == 0;
			if (!gitcfg_allowed(&cfg.v[i]) && !was)
				abort();
		}
		gitcfg_free(&old);
		gitcfg_free(&cfg);
	}
	gitcfg_strip_free(&out);
	return 0;
}
