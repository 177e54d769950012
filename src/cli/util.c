/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

const char *cli_argv0;

/* path names the same file as st (stat follows links). */
static int
same_file(const char *path, const struct stat *st)
{
	struct stat o;

	return stat(path, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

int
cli_self_path(char *out, size_t len, struct cordon_err *err)
{
	const char *path = getenv("PATH");
	char exe[PATH_MAX], cand[PATH_MAX * 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (n < 0 || stat("/proc/self/exe", &st) < 0) {
		cordon_err_set(err, errno, "cannot find the cordon binary");
		return cordon_err_hint(err, "is /proc mounted?");
	}
	exe[n] = '\0';
	snprintf(out, len, "%s", exe);
	if (cli_argv0 == NULL || cli_argv0[0] == '\0')
		return 0;
	if (strchr(cli_argv0, '/') != NULL) {
		char cwd[PATH_MAX];

		if (cli_argv0[0] == '/')
			snprintf(cand, sizeof(cand), "%s", cli_argv0);
		else if (getcwd(cwd, sizeof(cwd)) != NULL) {
			const char *rel = cli_argv0;

			while (strncmp(rel, "./", 2) == 0)
				rel += 2;
			snprintf(cand, sizeof(cand), "%s/%s", cwd, rel);
		} else
			return 0;
		if (same_file(cand, &st) && strlen(cand) < len)
			snprintf(out, len, "%s", cand);
		return 0;
	}
	/* Called by name: the PATH entry it was found in, as installed. */
	for (const char *p = path ? path : ""; *p;) {
		const char *end = strchrnul(p, ':');

		if (*p == '/' &&
		    snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - p), p, cli_argv0) <
			(int)sizeof(cand) &&
		    access(cand, X_OK) == 0) {
			if (same_file(cand, &st) && strlen(cand) < len)
				snprintf(out, len, "%s", cand);
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}
