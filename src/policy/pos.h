/* SPDX-License-Identifier: MIT */
#ifndef CORDON_POLICY_POS_H
#define CORDON_POLICY_POS_H

#include <stddef.h>

/*
 * Source positions of JSON values. The JSON library reports line and
 * column for syntax errors only; for a value of valid JSON that has the
 * wrong type or content, this small tokenizer walks the source text along
 * a path of object keys and array indices and returns where the value (or
 * the member's key) starts. Pure, bounded by the text length and a depth
 * limit.
 */
struct policy_jpath {
	const char *key; /* object member name, or NULL for an array index */
	size_t index;
};

#define POLICY_POS_MAX_DEPTH 64

/*
 * Find path[0..depth) in text. On success returns 0 and sets *line, *col
 * (1-based, columns in bytes) of the value, or of the member's key when
 * want_key and the last step is a key. When some step is missing, returns
 * -1 with the position of the deepest value found.
 */
int policy_pos_find(const char *text, size_t len, const struct policy_jpath *path, size_t depth,
		    int want_key, unsigned *line, unsigned *col);

/*
 * Positions of the first max elements of the array at path (one pass).
 * Fills lines[] and cols[] and returns how many elements were found.
 */
size_t policy_pos_elements(const char *text, size_t len, const struct policy_jpath *path,
			   size_t depth, unsigned *lines, unsigned *cols, size_t max);

#endif
