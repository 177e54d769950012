/* SPDX-License-Identifier: MIT */
/*
 * The settings parser, the untrusted-project merge, both renderings, the
 * position scanner on arbitrary text (the git config reader has its own
 * target, fuzz_gitconfig). Every input must be handled without a crash or
 * a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/pos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_jpath path[] = {
		{ "sandbox", 0 }, { "filesystem", 0 }, { "denyRead", 0 }, { NULL, 1 }
	};
	struct cordon_policy layer, eff;
	struct cordon_err err;
	unsigned line, col, lines[8], cols[8];

	policy_init(&layer);
	policy_init(&eff);
	policy_builtin(&eff);
	if (policy_parse(&layer, (const char *)data, size, "fuzz.json", POLICY_LAYER_PROJECT,
			 size > 0 && (data[0] & 1) ? POLICY_PARSE_MANAGED : 0, &err) == 0) {
		policy_merge(&eff, &layer, POLICY_LAYER_PROJECT, false, &layer, &err);
		policy_merge(&eff, &layer, POLICY_LAYER_CLI, true, &layer, &err);
		free(policy_render_text(&eff));
		free(policy_render_json(&eff));
	}
	policy_free(&layer);
	policy_free(&eff);
	policy_pos_find((const char *)data, size, path, 4, 1, &line, &col);
	policy_pos_elements((const char *)data, size, path, 3, lines, cols, 8);

	return 0;
}
