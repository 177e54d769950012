/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int log_verbosity = LOG_LEVEL_WARN;

static int log_crlf;

void
log_setlevel(int level)
{
	log_verbosity = level;
}

void
log_set_crlf(int on)
{
	log_crlf = on;
}

static void log_vmsg(int with_errno, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vmsg(int with_errno, int code, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno)
		fprintf(stderr, "cordon: %s: %s%s", buf, strerror(code), log_crlf ? "\r\n" : "\n");
	else
		fprintf(stderr, "cordon: %s%s", buf, log_crlf ? "\r\n" : "\n");
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
