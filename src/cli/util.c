/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

void
cli_print_err(const struct cordon_err *err)
{
	fprintf(stderr, "cordon: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (err->hint[0])
		fprintf(stderr, "Hint: %s\n", err->hint);
}

int
cli_usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;

	fputs("cordon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nHint: see `cordon %s%s--help`\n", sub ? sub : "", sub ? " " : "");
	return 125;
}
