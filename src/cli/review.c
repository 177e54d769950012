/* SPDX-License-Identifier: MIT */
/* `cordon diff`, `cordon apply`, `cordon discard`: a review sandbox's changes (session/review.h). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "session/review.h"

static const char diff_usage[] =
    "Usage: cordon diff [--stat] NAME\n"
    "\n"
    "Show what the command of the review sandbox NAME (`cordon run --name NAME\n"
    "--review`) changed in its workspace and what waits to be applied: one line\n"
    "per change (added, modified, deleted, mode), then a unified diff of each\n"
    "changed text file (the host's `diff -u`); binary files are summarised.\n"
    "\n"
    "Options:\n"
    "      --stat   the list of changes only\n"
    "  -h, --help   this text\n";

static const char apply_usage[] =
    "Usage: cordon apply NAME [PATH...]\n"
    "\n"
    "Copy the pending changes of the review sandbox NAME into the real workspace:\n"
    "all of them, or those at or below each PATH (relative to the workspace).\n"
    "Each file is written beside its place and renamed into it; an applied\n"
    "change leaves the sandbox. Refused, and said: protected paths (.git/hooks,\n"
    ".git/config, .envrc...), symlinks pointing outside the workspace, and\n"
    "paths that changed on the host since the session (conflicts). Exit 0 when\n"
    "all was applied, 1 when something was refused, 125 on error.\n";

static const char discard_usage[] =
    "Usage: cordon discard NAME\n"
    "\n"
    "Drop every pending workspace change of the review sandbox NAME: its next\n"
    "run sees the workspace as the host has it. Refused while it runs.\n";

static bool
wants_help(int argc, char **argv)
{
	return argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
}

int
cli_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stat", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	bool stat = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			stat = true;
			break;
		case 'h':
			fputs(diff_usage, stdout);
			return 0;
		default:
			return cli_usage_error("diff", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("diff", "name one sandbox");
	if (review_diff(argv[optind], stat, stdout, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	return 0;
}

int
cli_apply(int argc, char **argv)
{
	struct cordon_err err = { 0 };
	int r;

	if (wants_help(argc, argv)) {
		fputs(apply_usage, stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error("apply", "name one sandbox");
	for (int i = 2; i < argc; i++) {
		char *p = argv[i];
		size_t n;

		while (strncmp(p, "./", 2) == 0)
			p += 2;
		n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
		if (p[0] == '/' || p[0] == '\0' || strcmp(p, "..") == 0 ||
		    strncmp(p, "../", 3) == 0)
			return cli_usage_error("apply",
					       "'%s' is not a path inside the workspace "
					       "(paths are relative to it)",
					       argv[i]);
		argv[i] = p;
	}
	r = review_apply(argv[1], argv + 2, (size_t)(argc - 2), &err);
	if (r < 0) {
		cli_print_err(&err);
		return 125;
	}
	return r;
}

int
cli_discard(int argc, char **argv)
{
	struct cordon_err err = { 0 };

	if (wants_help(argc, argv)) {
		fputs(discard_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("discard", "name one sandbox");
	if (review_discard(argv[1], &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	return 0;
}
