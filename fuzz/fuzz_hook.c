/* SPDX-License-Identifier: MIT */
/*
 * Hook payloads: JSON parse, command policy (shell tokenizer included) and
 * the answer's JSON. The payload's command is also fed to the policy raw,
 * so the tokenizer sees arbitrary bytes, not only valid JSON strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook/hook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hook_ctx ctx = { .home = "/home/u",
					     .cwd = "/home/u/p",
					     .sandboxed = true };
	struct hook_request req;
	struct hook_verdict v;
	struct cordon_err err;
	char *s, *out;

	if (hook_parse((const char *)data, size, &req, &err) == 0) {
		hook_decide(&req, &ctx, &v);
		out = hook_format_output(&v);
		free(out);
		hook_request_free(&req);
	}
	if (size > HOOK_MAX_COMMAND)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	hook_decide_bash(s, &ctx, &v);
	out = hook_format_output(&v);
	free(out);
	free(s);
	return 0;
}
