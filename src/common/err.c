/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

int
cordon_err_set(struct cordon_err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	if (err == NULL)
		return -1;
	err->code = code;
	err->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (code > 0 && n + 2 < sizeof(err->msg)) {
		const char *s = strerror(code);
		size_t m = strlen(s), room = sizeof(err->msg) - n - 3;

		if (m > room)
			m = room;
		memcpy(err->msg + n, ": ", 2);
		memcpy(err->msg + n + 2, s, m);
		err->msg[n + 2 + m] = '\0';
	}
	errno = saved;
	return -1;
}

int
cordon_err_wrap(struct cordon_err *err, const char *fmt, ...)
{
	int saved = errno;
	char prefix[sizeof(err->msg)], old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	{
		size_t a = strlen(prefix), b = strlen(old), cap = sizeof(err->msg) - 1;

		if (a > cap)
			a = cap;
		memcpy(err->msg, prefix, a);
		if (a + 2 <= cap) {
			memcpy(err->msg + a, ": ", 2);
			a += 2;
		}
		if (b > cap - a)
			b = cap - a;
		memcpy(err->msg + a, old, b);
		err->msg[a + b] = '\0';
	}
	errno = saved;
	return -1;
}

int
cordon_err_hint(struct cordon_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return -1;
}

void
cordon_err_clear(struct cordon_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
	err->hint[0] = '\0';
}
