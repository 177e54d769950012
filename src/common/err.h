/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_ERR_H
#define CORDON_COMMON_ERR_H

#include <stdarg.h>

/*
 * Error object filled by library code (everything but main.c and cli/).
 * Library functions return 0 / -1 (or a pointer / NULL) and describe the
 * failure here; cli/ prints it exactly once. No allocation: safe after fork
 * as long as the caller does not use stdio (vsnprintf is async-signal-unsafe
 * in theory, so the sandbox child reports {step, errno} instead).
 */
struct cordon_err {
	int code;       /* errno-style code, 0 when not errno-related */
	char msg[256];  /* "open /x: No such file or directory" */
	char hint[256]; /* optional "Hint: ..." text, without the prefix */
};

/*
 * Set err to "<fmt>: strerror(code)" (or just fmt when code is 0) and return
 * -1 so that callers can write `return cordon_err_set(err, errno, ...)`.
 * err may be NULL. Preserves errno.
 */
int cordon_err_set(struct cordon_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "<fmt>: " to err->msg. Returns -1. Preserves errno. */
int cordon_err_wrap(struct cordon_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set err->hint (shown as "Hint: ..." by the CLI). Returns -1. */
int cordon_err_hint(struct cordon_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to "no error". */
void cordon_err_clear(struct cordon_err *err);

#endif
