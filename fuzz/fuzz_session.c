/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the session record and quarantine snapshot parsers (what a later
 * cordon reads to finish a killed session's clean-up) and the
 * percent-decoder under them. Whatever parses must format back to text
 * that parses to the same text again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pct.h"
#include "supervisor/quarantine.h"
#include "supervisor/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *d;
	struct sv_reg_info info;
	struct qr_snapshot snap;
	size_t len;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* the readers see C strings: a NUL ends the text */
	d = pct_decode(text, &len);
	if (d != NULL) {
		char *e = pct_encode(d, len), *d2;
		size_t len2;

		d2 = pct_decode(e, &len2);
		if (d2 == NULL || len2 != len || memcmp(d, d2, len) != 0)
			abort();
		free(d2);
		free(e);
		free(d);
	}
	if (sv_reg_parse(text, &info, NULL) == 0) {
		char *again = sv_reg_format(&info), *third;
		struct sv_reg_info info2;

		if (sv_reg_parse(again, &info2, NULL) < 0)
			abort();
		third = sv_reg_format(&info2);
		if (strcmp(again, third) != 0)
			abort();
		free(third);
		free(again);
		sv_reg_info_free(&info2);
		sv_reg_info_free(&info);
	}
	if (qr_snapshot_load(&snap, text, NULL) == 0) {
		char *again = qr_snapshot_save(&snap), *third;
		struct qr_snapshot snap2;

		if (qr_snapshot_load(&snap2, again, NULL) < 0)
			abort();
		third = qr_snapshot_save(&snap2);
		if (strcmp(again, third) != 0)
			abort();
		free(third);
		free(again);
		qr_snapshot_free(&snap2);
	}
	qr_snapshot_free(&snap);
	free(text);
	return 0;
}
