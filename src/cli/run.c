/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/sandbox.h"
#include "supervisor/supervisor.h"

extern char **environ;

#define MAX_PATH_RULES 256

static const char run_usage[] =
	"Usage: cordon run [OPTIONS] [--] CMD [ARG...]\n"
	"\n"
	"Run CMD in a fresh sandbox: the host read-only, the workspace read-write,\n"
	"private /tmp, own pid/net/ipc/uts/cgroup/user namespaces, no capabilities,\n"
	"no network but loopback.\n"
	"\n"
	"Options:\n"
	"  -w, --workspace DIR  read-write workspace and working directory (default: .)\n"
	"      --rw PATH        also bind PATH read-write (repeatable)\n"
	"      --ro PATH        bind PATH read-only, even inside the workspace (repeatable)\n"
	"      --mask PATH      hide PATH: empty file or directory in its place (repeatable)\n"
	"  -v, --verbose        say what is being set up\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: CMD's own; 128+N if it died of signal N; 125 cordon error\n"
	"(nothing ran); 126 CMD cannot be executed; 127 CMD not found.\n";

enum { OPT_RW = 256, OPT_RO, OPT_MASK };

/* Canonical absolute path of an existing file or directory, or NULL (err). */
static char *
canonical(const char *path, const char *what, struct cordon_err *err)
{
	char *p = realpath(path, NULL);

	if (p == NULL)
		cordon_err_set(err, errno, "%s %s", what, path);
	return p;
}

static int
workspace_ok(const char *ws, struct cordon_err *err)
{
	static const char *const forbidden[] = { "/proc", "/sys", "/dev" };
	struct stat st;

	if (stat(ws, &st) < 0)
		return cordon_err_set(err, errno, "workspace %s", ws);
	if (!S_ISDIR(st.st_mode))
		return cordon_err_set(err, ENOTDIR, "workspace %s", ws);
	if (strcmp(ws, "/") == 0) {
		cordon_err_set(err, 0, "refusing / as the workspace: the whole host would be "
				       "writable");
		return cordon_err_hint(err, "run cordon from your project directory, or pass "
					    "--workspace DIR");
	}
	for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
		size_t n = strlen(forbidden[i]);

		if (strncmp(ws, forbidden[i], n) == 0 && (ws[n] == '\0' || ws[n] == '/')) {
			cordon_err_set(err, 0, "refusing %s as the workspace", ws);
			return cordon_err_hint(err, "the sandbox has its own %s", forbidden[i]);
		}
	}
	return 0;
}

/* Copy of environ for the command, with cordon's own variables set. */
static char **
command_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "CORDON_SANDBOX=", 15) == 0)
			continue;
		env[k++] = environ[i];
	}
	env[k++] = (char *)"CORDON_SANDBOX=1";
	env[k] = NULL;
	return env;
}

int
cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, 'w' },
		{ "rw", required_argument, NULL, OPT_RW },
		{ "ro", required_argument, NULL, OPT_RO },
		{ "mask", required_argument, NULL, OPT_MASK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sb_mount mounts[MAX_PATH_RULES];
	struct cordon_err err = { 0 };
	struct sb_session sess;
	struct sv_supervisor sv;
	struct sb_spec spec;
	_cleanup_free_ char *workspace = NULL;
	_cleanup_free_ char **env = NULL;
	const char *ws_arg = ".";
	size_t n_mounts = 0;
	int c, status = 125;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+w:vh", opts, NULL)) != -1) {
		enum sb_mount_kind kind;

		switch (c) {
		case 'w':
			ws_arg = optarg;
			continue;
		case 'v':
			log_setlevel(LOG_LEVEL_DEBUG);
			continue;
		case 'h':
			fputs(run_usage, stdout);
			status = 0;
			goto out;
		case OPT_RW:
			kind = SB_MOUNT_RW;
			break;
		case OPT_RO:
			kind = SB_MOUNT_RO;
			break;
		case OPT_MASK:
			kind = SB_MOUNT_MASK;
			break;
		default:
			status = cli_usage_error("run", "unknown option");
			goto out;
		}
		if (n_mounts == ARRAY_SIZE(mounts)) {
			status = cli_usage_error("run", "more than %zu path rules", ARRAY_SIZE(mounts));
			goto out;
		}
		mounts[n_mounts].kind = kind;
		mounts[n_mounts].origin = (char *)"command line";
		mounts[n_mounts].path = canonical(optarg, "path", &err);
		if (mounts[n_mounts].path == NULL) {
			cordon_err_hint(&err, "paths given to --rw, --ro and --mask must exist");
			cli_print_err(&err);
			goto out;
		}
		if (strcmp(mounts[n_mounts].path, "/") == 0) {
			cordon_err_set(&err, 0, "refusing a rule on / itself");
			cordon_err_hint(&err, "name the directory you mean");
			cli_print_err(&err);
			free(mounts[n_mounts].path);
			goto out;
		}
		n_mounts++;
	}
	if (optind >= argc) {
		status = cli_usage_error("run", "no command given");
		goto out;
	}
	workspace = canonical(ws_arg, "workspace", &err);
	if (workspace == NULL || workspace_ok(workspace, &err) < 0) {
		if (!err.hint[0])
			cordon_err_hint(&err, "the workspace must be an existing directory");
		cli_print_err(&err);
		goto out;
	}

	env = command_env();
	memset(&spec, 0, sizeof(spec));
	spec.workspace = workspace;
	spec.argv = argv + optind;
	spec.envp = env;
	spec.mounts = mounts;
	spec.n_mounts = n_mounts;
	spec.hostname = "cordon";
	{
		const char *t = getenv("CORDON_TEST_HOOKS");
		const char *rw_root = getenv("CORDON_TEST_NO_RO_ROOT");

		if (t != NULL && strcmp(t, "1") == 0 && rw_root != NULL)
			spec.test_flags |= SB_TEST_NO_RO_ROOT;
	}

	log_debug("workspace %s, %zu path rules", workspace, n_mounts);
	if (sb_spawn(&spec, &sess, &status, &err) < 0) {
		cli_print_err(&err);
		goto out;
	}
	if (sv_init(&sv, &sess, &err) < 0) {
		cli_print_err(&err);
		kill(sess.pid, SIGKILL);
		sv_fini(&sv);
		status = 125;
		goto out;
	}
	status = sv_run(&sv);
	if (sv.start_state < 0)
		cli_print_err(&sv.start_err);
	sv_fini(&sv);
out:
	for (size_t i = 0; i < n_mounts; i++)
		free(mounts[i].path);
	return status;
}
