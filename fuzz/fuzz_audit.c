/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the audit record escaping and the verifier.
 *
 * The input is split at NUL bytes into argv entries (any bytes: newlines,
 * invalid UTF-8, quotes, huge). What an exec record would hold must be one
 * line of printable ASCII that parses back to an array of the same length
 * whose entries are the sanitised inputs. Then the whole input is fed to the
 * chain verifier, which must not crash whatever it reads.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_ARGS];
	size_t len[MAX_ARGS], argc = 0, start = 0;
	struct audit_verify_report rep;
	char *text;
	json_t *arr;

	for (size_t i = 0; i <= size && argc < MAX_ARGS; i++)
		if (i == size || data[i] == '\0') {
			argv[argc] = (const char *)data + start;
			len[argc] = i - start;
			argc++;
			start = i + 1;
		}
	text = audit_format_argv(argv, len, argc);
	if (text == NULL)
		abort();
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	arr = json_loads(text, 0, NULL);
	if (arr == NULL || json_array_size(arr) != argc)
		abort();
	for (size_t i = 0; i < argc; i++) {
		size_t cap = len[i] * 3 + 1;
		char *want = malloc(cap);
		size_t n = audit_utf8_sanitize(argv[i], len[i], want, cap);
		json_t *v = json_array_get(arr, i);

		if (json_string_length(v) != n || memcmp(json_string_value(v), want, n) != 0)
			abort();
		free(want);
	}
	json_decref(arr);
	free(text);
	audit_verify_buf((const char *)data, size, &rep);
	return 0;
}
