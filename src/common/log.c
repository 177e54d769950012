/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int log_verbosity = LOG_LEVEL_WARN;

void
log_setlevel(int level)
{
	log_verbosity = level;
}

static void log_vmsg(int with_errno, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vmsg(int with_errno, int code, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno)
		fprintf(stderr, "cordon: %s: %s\n", buf, strerror(code));
	else
		fprintf(stderr, "cordon: %s\n", buf);
}

void
log_msg(int level, int with_errno, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level > log_verbosity)
		return;
	va_start(ap, fmt);
	log_vmsg(with_errno, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_fatal(int with_errno, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(with_errno, saved, fmt, ap);
	va_end(ap);
	exit(125);
}
