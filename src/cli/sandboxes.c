/* SPDX-License-Identifier: MIT */
/* `cordon ls`, `cordon stop NAME`, `cordon rm NAME`: named sandboxes (session/named.h). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "session/named.h"

static const char ls_usage[] =
    "Usage: cordon ls [--json]\n"
    "\n"
    "List the named sandboxes (`cordon run --name NAME`): name, state (running\n"
    "or stopped), workspace of the last run, disk used by its layers, when it\n"
    "was created and last used, the branch of a branch sandbox (--branch). They live in "
    "$XDG_DATA_HOME/cordon/sandboxes\n"
    "(default ~/.local/share/cordon/sandboxes).\n"
    "\n"
    "Options:\n"
    "      --json   one JSON array\n"
    "  -h, --help   this text\n";

static const char stop_usage[] =
    "Usage: cordon stop NAME\n"
    "\n"
    "End the running session of the named sandbox NAME: its cordon gets\n"
    "SIGTERM, passes it on to the command and kills the sandbox after its grace\n"
    "period (--stop-timeout). What the sandbox installed stays. Exit 0 when\n"
    "it ended or was not running.\n";

static const char rm_usage[] =
    "Usage: cordon rm [--force] [--yes] NAME...\n"
    "\n"
    "Remove the named sandbox NAME: everything it installed or changed is\n"
    "gone. A running sandbox is refused unless --force, which stops it first.\n"
    "A branch sandbox (--branch) has a git worktree: cordon asks before it\n"
    "removes it (`git worktree remove --force`, so uncommitted changes in it\n"
    "are lost); without a terminal to ask on, only --yes removes it. The\n"
    "branch and its commits stay in the repository.\n"
    "\n"
    "Options:\n"
    "  -f, --force  stop it first when it runs\n"
    "  -y, --yes    remove a branch sandbox's worktree without asking\n"
    "  -h, --help   this text\n";

static void
when(time_t t, char *out, size_t len)
{
	struct tm tm;

	snprintf(out, len, "-");
	if (t > 0 && localtime_r(&t, &tm) != NULL)
		strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static void
human(uint64_t bytes, char *out, size_t len)
{
	static const char units[] = "BKMGT";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* A JSON string for s (escaped by the audit's formatter). malloc'd. */
static char *
json_str(const char *s)
{
	size_t n = strlen(s);
	char *a = audit_format_argv(&s, &n, 1), *r;

	/* ["..."] -> "..." */
	if (a == NULL || (n = strlen(a)) < 4)
		return a;
	r = strndup(a + 1, n - 2);
	free(a);
	return r;
}

int
cli_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	struct named_info *v = NULL;
	bool json = false;
	size_t n = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(ls_usage, stdout);
			return 0;
		default:
			return cli_usage_error("ls", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("ls", "unexpected argument '%s'", argv[optind]);
	if (named_list(&v, &n, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (!json && n > 0)
		printf("%-20s  %-8s  %-8s  %-16s  %-16s  %-16s  %s\n", "NAME", "STATE", "SIZE",
		       "CREATED", "LAST USED", "BRANCH", "WORKSPACES");
	if (json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		char c1[32], c2[32], sz[16];

		when(v[i].created, c1, sizeof(c1));
		when(v[i].last_used, c2, sizeof(c2));
		human(v[i].bytes, sz, sizeof(sz));
		if (json) {
			_cleanup_free_ char *ws = json_str(v[i].workspace ? v[i].workspace : "");
			_cleanup_free_ char *br = v[i].branch ? json_str(v[i].branch) : NULL;

			printf("%s{\"name\":\"%s\",\"state\":\"%s\",\"pid\":%d,\"bytes\":%llu,"
			       "\"created\":%lld,\"last_used\":%lld,\"workspaces\":[%s",
			       i ? "," : "", v[i].name, v[i].running ? "running" : "stopped",
			       (int)v[i].pid, (unsigned long long)v[i].bytes,
			       (long long)v[i].created, (long long)v[i].last_used,
			       v[i].workspace ? ws : "");
			/* The further workspaces after the primary: "rw:PATH" / "ro:PATH". */
			for (size_t k = 0; v[i].workspace != NULL && k < v[i].n_more; k++) {
				_cleanup_free_ char *m = json_str(v[i].more[k] + 3);

				printf(",%s", m);
			}
			printf("],\"session\":\"%s\",\"branch\":%s}", v[i].session,
			       br ? br : "null");
		} else {
			char more[32] = "";

			if (v[i].n_more > 0)
				snprintf(more, sizeof(more), " (+%zu)", v[i].n_more);
			printf("%-20s  %-8s  %-8s  %-16s  %-16s  %-16s  %s%s\n", v[i].name,
			       v[i].running ? "running" : "stopped", sz, c1, c2,
			       v[i].branch ? v[i].branch : "-",
			       v[i].workspace ? v[i].workspace : "-", more);
		}
	}
	if (json)
		puts("]");
	named_list_free(v, n);
	return 0;
}

int
cli_stop(int argc, char **argv)
{
	struct cordon_err err = { 0 };
	int r;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(stop_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error("stop", "name one sandbox");
	r = named_stop(argv[1], 60 * 1000, &err);
	if (r < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (r == 0)
		fprintf(stderr, "cordon: sandbox '%s' was not running\n", argv[1]);
	return 0;
}

/* Ask on the terminal; true for y or yes. */
static bool __attribute__((format(printf, 1, 2))) ask(const char *fmt, ...)
{
	char line[64];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	line[strcspn(line, "\n")] = '\0';
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

int
cli_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	bool force = false, yes = false;
	int c, status = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fyh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'h':
			fputs(rm_usage, stdout);
			return 0;
		default:
			return cli_usage_error("rm", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("rm", "name the sandbox to remove");
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *branch = NULL, *worktree = NULL;
		bool ok = yes;

		cordon_err_clear(&err);
		if (named_branch(argv[i], &branch, &worktree, &err) == 0 && branch != NULL && !ok &&
		    isatty(STDIN_FILENO)) {
			ok = ask("remove worktree %s (branch %s stays)? [y/N] ", worktree, branch);
			if (!ok) {
				fprintf(stderr, "cordon: sandbox '%s' kept\n", argv[i]);
				status = status ? status : 1;
				continue;
			}
		}
		if (named_remove(argv[i], force, ok, &err) < 0) {
			cli_print_err(&err);
			status = 125;
		} else if (branch != NULL) {
			fprintf(stderr,
				"cordon: removed the worktree %s; branch %s kept (`git branch -D "
				"%s` deletes it)\n",
				worktree, branch, branch);
		}
	}
	return status;
}
