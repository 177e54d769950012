/* SPDX-License-Identifier: MIT */
#ifndef CORDON_TESTS_TAP_H
#define CORDON_TESTS_TAP_H

/*
 * Minimal TAP producer. A test function returns 0 (pass), -1 (fail) or 77
 * (skip). Use CHECK() inside tests to fail with a location.
 */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);          \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *tap_a_ = (a), *tap_b_ = (b);                                           \
		if (tap_a_ == NULL || tap_b_ == NULL || strcmp(tap_a_, tap_b_) != 0) {             \
			printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                  \
			       tap_a_ ? tap_a_ : "(null)", tap_b_ ? tap_b_ : "(null)");            \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static inline void
tap_run(const char *name, int (*fn)(void))
{
	int r = fn();

	tap_n++;
	if (r == 77)
		printf("ok %d - %s # SKIP\n", tap_n, name);
	else if (r == 0)
		printf("ok %d - %s\n", tap_n, name);
	else {
		printf("not ok %d - %s\n", tap_n, name);
		tap_failed++;
	}
	fflush(stdout);
}

#define TAP_RUN(fn) tap_run(#fn, fn)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
