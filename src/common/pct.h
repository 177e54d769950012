/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_PCT_H
#define CORDON_COMMON_PCT_H

#include <stddef.h>

/*
 * Percent-encoding for one-line text records (session records, the
 * quarantine snapshot): every byte outside '!'..'~', and '%' itself,
 * becomes %XX, so any byte string (paths, git config text) fits in one
 * space-free token; the empty string is "%" alone. Pure; the results are malloc'd (xmalloc: setup code
 * only, not safe after fork).
 */

/* Encode len bytes of s. Never NULL. */
char *pct_encode(const char *s, size_t len);

/*
 * Decode a token made by pct_encode. Returns the bytes (NUL-terminated)
 * with *len set, or NULL when the token is malformed (a bad escape, a raw
 * byte pct_encode never leaves, or an encoded NUL).
 */
char *pct_decode(const char *s, size_t *len);

#endif
