/* SPDX-License-Identifier: MIT */
/*
 * The clipboard filter on terminal output (supervisor/osc_filter.c):
 * whatever the bytes and however they are split across reads, the output
 * is the same, fits the documented bound, and a model terminal reading it
 * never starts OSC 52 or 5522.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/osc_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A terminal's parser reduced to what decides an OSC number (vt100.net's
 * DEC ANSI parser; C1 controls taken raw, as 8-bit terminals do, which
 * also covers U+009D in UTF-8). Written apart from the filter on purpose.
 * Returns true when an OSC 52 or 5522 would run.
 */
static bool
model_sees_clipboard(const uint8_t *s, size_t n)
{
	enum { GROUND, ESCAPE, ESC_INTER, OSC_NUM, OSC_STRING } st = GROUND;
	unsigned long num = 0;
	bool digits_only = true;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = s[i];

		if (b == 0x18 || b == 0x1a) {
			st = GROUND;
			continue;
		}
		if (b == 0x9d) {
			st = OSC_NUM;
			num = 0;
			digits_only = true;
			continue;
		}
		if (b == 0x1b) {
			if (st == OSC_NUM && digits_only && (num == 52 || num == 5522))
				return true;
			st = ESCAPE;
			continue;
		}
		switch (st) {
		case GROUND:
			break;
		case ESCAPE:
			if (b == ']') {
				st = OSC_NUM;
				num = 0;
				digits_only = true;
			} else if (b >= 0x20 && b <= 0x2f) {
				st = ESC_INTER;
			} else if (b >= 0x30 && b != 0x7f) {
				st = GROUND;
			}
			break;
		case ESC_INTER:
			if (b >= 0x30 && b != 0x7f)
				st = GROUND;
			break;
		case OSC_NUM:
			if (b >= '0' && b <= '9') {
				if (num < 1000000)
					num = num * 10 + (b - '0');
			} else if (b < 0x20 && b != 0x07) {
				/* ignored */
			} else if (b == 0x7f) {
				/* ignored */
			} else {
				if (digits_only && (num == 52 || num == 5522))
					return true;
				digits_only = false;
				st = b == 0x07 || b == 0x9c ? GROUND : OSC_STRING;
			}
			break;
		case OSC_STRING:
			if (b == 0x07 || b == 0x9c)
				st = GROUND;
			break;
		default:
			break;
		}
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sv_osc_filter f;
	uint8_t *one, *split;
	size_t n1, n2, cut;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	one = malloc(size + SV_OSC_HOLD_MAX);
	split = malloc(size + 2 * SV_OSC_HOLD_MAX);
	if (one == NULL || split == NULL)
		abort();
	sv_osc_filter_init(&f);
	n1 = sv_osc_filter_run(&f, data, size, one);
	if (n1 > size + SV_OSC_HOLD_MAX)
		__builtin_trap();
	sv_osc_filter_init(&f);
	n2 = sv_osc_filter_run(&f, data, cut, split);
	if (n2 > cut + SV_OSC_HOLD_MAX)
		__builtin_trap();
	n2 += sv_osc_filter_run(&f, data + cut, size - cut, split + n2);
	if (n1 != n2 || memcmp(one, split, n1) != 0)
		__builtin_trap();
	if (model_sees_clipboard(one, n1))
		__builtin_trap();
	free(one);
	free(split);
	return 0;
}
