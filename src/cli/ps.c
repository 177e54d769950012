/* SPDX-License-Identifier: MIT */
/*
 * `cordon ps`: the running sessions. `cordon allow`: widen one of them.
 * Both read the session records (supervisor/registry.h); `cordon ps` also
 * finishes the clean-up of sessions whose cordon was killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "session/guard.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "supervisor/control.h"
#include "supervisor/registry.h"

static const char ps_usage[] =
    "Usage: cordon ps [OPTIONS]\n"
    "\n"
    "List the running `cordon run` sessions: id, pid of cordon, start time,\n"
    "workspace, command. Wherever a session id is asked for (cordon allow\n"
    "--session, cordon log --session), a unique prefix of it is enough.\n"
    "Sessions whose cordon was killed before its clean-up are cleaned up\n"
    "first (quarantine of what they planted, their end in the audit log),\n"
    "and that is said on stderr.\n"
    "\n"
    "Options:\n"
    "      --no-trunc   full session ids\n"
    "  -q, --quiet      session ids only\n"
    "  -h, --help       this text\n";

static const char allow_usage[] =
    "Usage: cordon allow [--session ID] [--save] PATTERN...\n"
    "\n"
    "Allow each PATTERN (a host, *.suffix, or CIDR: ports 80 and 443;\n"
    "PATTERN:PORT for that port, PATTERN:* for every port) in a running\n"
    "`cordon run` session, from now until it ends. With --save, also (or, when\n"
    "no session runs here, only) for every later session: it is added to\n"
    "sandbox.network.allowedDomains of your own settings file\n"
    "(~/.config/cordon/settings.json), never to the project's.\n"
    "\n"
    "Without --session, the session is the one running in this directory (its\n"
    "workspace is the current directory or holds it). When no session or\n"
    "more than one runs here, nothing is widened: the sessions are listed and\n"
    "you choose one with --session. `cordon ps` lists the running sessions;\n"
    "`cordon run -v` prints its session's id.\n"
    "\n"
    "Options:\n"
    "  -s, --session ID   the session: its id, or a unique prefix of it\n"
    "      --save         also write PATTERN into your settings file\n"
    "  -h, --help         this text\n";

/* The command as one line, control characters shown as '?', cut at max. */
static void
command_line(char *const *argv, char *out, size_t max)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; argv != NULL && argv[i] != NULL && o + 1 < max; i++) {
		int n = snprintf(out + o, max - o, "%s%s", i ? " " : "", argv[i]);

		o += n > 0 ? (size_t)n : 0;
	}
	if (o >= max && max > 4)
		memcpy(out + max - 4, "...", 4);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void
print_row(FILE *out, const struct sv_reg_info *s, int idlen)
{
	char when[32] = "?", cmd[256];
	time_t t = (time_t)s->started;
	struct tm tm;

	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	command_line(s->argv, cmd, sizeof(cmd));
	fprintf(out, "%-*.*s  %-7d  %-19s  %s  %s\n", idlen, idlen, s->id, (int)s->pid, when,
		s->workspace, cmd);
}

/* Is a equal to b or an ancestor of it? */
static bool
covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (strcmp(a, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

int
cli_ps(int argc, char **argv)
{
	enum { OPT_NO_TRUNC = 256 };
	static const struct option opts[] = {
		{ "no-trunc", no_argument, NULL, OPT_NO_TRUNC },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_closer by = { .command = "ps", .pid = getpid() };
	struct cordon_err err = { 0 };
	struct sv_reg_info *v = NULL;
	bool quiet = false;
	int c, idlen = 12;
	size_t n = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NO_TRUNC:
			idlen = AUDIT_SESSION_ID_LEN;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(ps_usage, stdout);
			return 0;
		default:
			return cli_usage_error("ps", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("ps", "unexpected argument '%s'", argv[optind]);
	sv_reg_recover(&by, session_guard_say, NULL);
	if (sv_reg_list(&v, &n, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (!quiet)
		printf("%-*s  %-7s  %-19s  %s  %s\n", idlen, "SESSION", "PID", "STARTED",
		       "WORKSPACE", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		if (!v[i].alive)
			continue;
		if (quiet)
			printf("%.*s\n", idlen, v[i].id);
		else
			print_row(stdout, &v[i], idlen);
	}
	sv_reg_list_free(v, n);
	return 0;
}

static void
list_to_stderr(const struct sv_reg_info *v, size_t n, const char *only_under)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].alive && (only_under == NULL || covers(v[i].workspace, only_under)))
			print_row(stderr, &v[i], AUDIT_SESSION_ID_LEN);
}

/*
 * The session `cordon allow` means: the one whose id starts with want, or
 * without want the one running in cwd. Index into v, -1 when the id given
 * matches no running session (tried as it is), -2 when refused (printed).
 */
static int
pick(const char *want, const struct sv_reg_info *v, size_t n, const char *cwd)
{
	size_t here = 0, alive = 0, found = 0;
	struct cordon_err err = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (!v[i].alive)
			continue;
		alive++;
		if (want != NULL ? strncmp(v[i].id, want, strlen(want)) == 0
				 : covers(v[i].workspace, cwd)) {
			here++;
			found = i;
		}
	}
	if (here == 1)
		return (int)found;
	if (want != NULL && here == 0)
		return -1;
	if (want != NULL) {
		cordon_err_set(&err, 0, "%zu running sessions have ids starting with '%s'", here,
			       want);
		cordon_err_hint(&err, "give more of the id with --session; the candidates:");
		cli_print_err(&err);
		for (size_t i = 0; i < n; i++)
			if (v[i].alive && strncmp(v[i].id, want, strlen(want)) == 0)
				print_row(stderr, &v[i], AUDIT_SESSION_ID_LEN);
		return -2;
	}
	if (alive == 0) {
		cordon_err_set(&err, 0, "no running cordon session");
		cordon_err_hint(&err, "start one with `cordon run ...`; `cordon allow` widens a "
				      "running session");
		cli_print_err(&err);
		return -2;
	}
	if (here == 0) {
		cordon_err_set(&err, 0,
			       "no running cordon session in %s; not widening a session of "
			       "another workspace",
			       cwd);
		cordon_err_hint(&err, "run cordon allow in that session's workspace, or name it "
				      "with --session ID; running elsewhere:");
		cli_print_err(&err);
		list_to_stderr(v, n, NULL);
		return -2;
	}
	cordon_err_set(&err, 0,
		       "%zu cordon sessions run in %s; refusing to guess which one to widen", here,
		       cwd);
	cordon_err_hint(&err, "choose one with --session ID (a unique prefix is enough):");
	cli_print_err(&err);
	list_to_stderr(v, n, NULL);
	return -2;
}

/*
 * --save: pattern into sandbox.network.allowedDomains of the user's settings
 * file, written where a symlinked one points, and only when the result
 * parses as cordon will read it. 0, or 125 (printed).
 */
static int
save_allow(const char *pattern)
{
	struct cordon_err err = { 0 };
	struct cordon_policy pol;
	char home[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ char *path = NULL, *target = NULL, *text = NULL, *out = NULL;
	struct stat st;
	mode_t mode = 0600;
	size_t len = 0;
	bool added = false;
	int r;

	if (policy_home(home, sizeof(home)) < 0 || policy_config_dir(home, dir, sizeof(dir)) < 0) {
		cordon_err_set(&err, 0, "cannot tell where your settings file is");
		cordon_err_hint(&err, "set HOME (or XDG_CONFIG_HOME) to your home directory");
		goto fail;
	}
	if (fd_mkdir_p(dir, 0700) < 0) {
		cordon_err_set(&err, errno, "create %s", dir);
		cordon_err_hint(&err, "check the permissions of its parent directories");
		goto fail;
	}
	path = xasprintf("%s/settings.json", dir);
	/* A settings file kept elsewhere (a dotfiles repository) is written there. */
	target = lstat(path, &st) == 0 ? fd_realpath(path) : xstrdup(path);
	if (target == NULL) {
		cordon_err_set(&err, errno, "resolve %s", path);
		cordon_err_hint(&err, "a symlinked settings file must point at an existing file");
		goto fail;
	}
	if (policy_read_file(target, &text, &len, &err) < 0)
		goto fail;
	if (stat(target, &st) == 0)
		mode = st.st_mode & 0777;
	out = policy_edit_allow_domain(text, len, target, pattern, &added, &err);
	if (out == NULL)
		goto fail;
	policy_init(&pol);
	r = policy_parse(&pol, out, strlen(out), target, POLICY_LAYER_USER, 0, &err);
	policy_free(&pol);
	if (r < 0)
		goto fail;
	if (!added) {
		printf("cordon: %s is already allowed in %s\n", pattern, target);
		return 0;
	}
	if (fd_replace_file(target, out, strlen(out), mode) < 0) {
		cordon_err_set(&err, errno, "write %s", target);
		cordon_err_hint(&err, "check that its directory is writable");
		goto fail;
	}
	printf("cordon: saved %s in %s: later sessions allow it\n", pattern, target);
	return 0;
fail:
	cli_print_err(&err);
	return 125;
}

/* Each pattern as --allow-domain takes it: the same checks and hints. */
static int
patterns_ok(char *const *v, int n)
{
	struct cordon_err err = { 0 };
	struct cordon_policy pol;
	int r = 0;

	policy_init(&pol);
	for (int i = 0; i < n && r == 0; i++)
		r = policy_add_rule(&pol, POLICY_NET_ALLOWED_DOMAINS, v[i], POLICY_LAYER_CLI, &err);
	policy_free(&pol);
	if (r < 0)
		cli_print_err(&err);
	return r;
}

/* Running sessions whose workspace holds cwd. */
static size_t
sessions_here(const struct sv_reg_info *v, size_t n, const char *cwd)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += v[i].alive && covers(v[i].workspace, cwd);
	return k;
}

int
cli_allow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "save", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	struct sv_reg_info *v = NULL;
	_cleanup_free_ char *cwd = NULL;
	const char *want = NULL, *id;
	char reply[600];
	size_t n = 0;
	int c, k, status = 125;
	bool save = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			want = optarg;
			break;
		case 'S':
			save = true;
			break;
		case 'h':
			fputs(allow_usage, stdout);
			return 0;
		default:
			return cli_usage_error("allow", "unknown option");
		}
	}
	if (optind == argc)
		return cli_usage_error("allow",
				       "give the PATTERN to allow (a host, *.suffix or CIDR)");
	if (want != NULL && want[0] == '\0')
		return cli_usage_error("allow", "--session needs an id");
	if (want == NULL) {
		cwd = fd_realpath(".");
		if (cwd == NULL) {
			cordon_err_set(&err, errno, "the current directory");
			cordon_err_hint(&err, "run cordon allow in the session's workspace, or "
					      "pass --session ID");
			cli_print_err(&err);
			return 125;
		}
	}
	if (patterns_ok(argv + optind, argc - optind) < 0)
		return 125;
	for (int i = optind; save && i < argc; i++)
		if (save_allow(argv[i]) != 0)
			return 125;
	if (sv_reg_list(&v, &n, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	/* Saved, and no session to widen here: that is all that was asked. */
	if (save && want == NULL && sessions_here(v, n, cwd) == 0) {
		status = 0;
		goto out;
	}
	k = pick(want, v, n, cwd);
	if (k == -2)
		goto out;
	/* An id no record names: try it as given (the connect error explains). */
	id = k >= 0 ? v[k].id : want;
	for (int i = optind; i < argc; i++) {
		if (sv_control_allow(id, argv[i], reply, sizeof(reply), &err) < 0) {
			cli_print_err(&err);
			goto out;
		}
		printf("cordon: session %.12s: %s\n", id, reply);
	}
	status = 0;
out:
	sv_reg_list_free(v, n);
	return status;
}
