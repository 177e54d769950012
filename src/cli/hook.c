/* SPDX-License-Identifier: MIT */
/*
 * cordon hook claude                      answer one PreToolUse call (stdin -> stdout)
 * cordon hook install claude [--settings FILE] [--command CMD]
 * cordon hook uninstall claude [--settings FILE]
 *
 * The hook itself fails closed: any error (bad input, unknown agent, bad
 * option) exits 2, which Claude Code treats as "block this tool call" and
 * shows our stderr to the model. Exit 1 would let the call through.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "hook/hook.h"
#include "sandbox/sandbox.h"

#define HOOK_EXIT_BLOCK 2 /* Claude Code: block the tool call, stderr to the model */

static const char hook_usage[] =
    "Usage: cordon hook claude [--log FILE]\n"
    "       cordon hook install claude [--settings FILE] [--command CMD]\n"
    "       cordon hook uninstall claude [--settings FILE]\n"
    "\n"
    "`cordon hook claude` is a Claude Code PreToolUse hook: it reads the tool call\n"
    "as JSON on stdin and answers allow, deny or ask with the reason on stdout.\n"
    "Bash commands are checked against cordon's command policy (deletion of / or\n"
    "home, download-and-run, sandbox escapes, credential reads, writes to agent\n"
    "settings, git hooks and shell start-up files). Inside cordon the default is\n"
    "allow; outside, calls no rule covers are left to Claude Code's own prompt.\n"
    "Any error blocks the call (exit 2).\n"
    "\n"
    "`install` adds the hook for the Bash tool to ~/.claude/settings.json (or\n"
    "FILE), keeping every other setting and a copy of the old file in FILE.bak.\n"
    "Running it twice changes nothing. `uninstall` removes it again.\n"
    "\n"
    "Options:\n"
    "      --log FILE       append one JSON line per decision to FILE\n"
    "                       (default: $CORDON_HOOK_LOG when set)\n"
    "      --settings FILE  settings file to edit (default ~/.claude/settings.json)\n"
    "      --command CMD    hook command to write (default: this cordon binary)\n"
    "  -h, --help           this text\n";

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

/* Read all of fd, at most max bytes (+1 to detect overflow). */
static void
audit(const char *path, const struct hook_request *req, const struct hook_verdict *v)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *rec = NULL;
	char ts[64];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 now.tv_nsec / 1000000);
	rec = hook_audit_record(req, v, "claude", ts);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* One write per record, O_APPEND: concurrent hooks do not interleave. */
	if (fd < 0 || fd_write_all(fd, rec, strlen(rec)) < 0)
		fprintf(stderr, "cordon: hook log %s: %s\n", path, strerror(errno));
}

static int
hook_answer(const char *log_path)
{
	struct cordon_err err = { 0 };
	struct hook_request req;
	struct hook_verdict v;
	struct hook_ctx ctx;
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *out = NULL;
	char cwd[PATH_MAX];
	size_t len = 0;

	buf = fd_read_whole(STDIN_FILENO, HOOK_MAX_INPUT, &len);
	if (buf == NULL) {
		fprintf(stderr, "cordon: hook: reading stdin: %s\n", strerror(errno));
		return HOOK_EXIT_BLOCK;
	}
	if (hook_parse(buf, len, &req, &err) < 0) {
		cli_print_err(&err);
		return HOOK_EXIT_BLOCK;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.home = home_dir();
	ctx.cwd = req.cwd != NULL ? req.cwd : getcwd(cwd, sizeof(cwd));
	/* Not CORDON_SANDBOX: any environment can carry it. */
	ctx.sandboxed = sb_inside_cordon();
	if (strcmp(req.event, "PreToolUse") != 0) {
		/* Other events carry no decision; audit them and stay silent. */
		memset(&v, 0, sizeof(v));
		v.rule = "not-pre-tool-use";
	} else {
		hook_decide(&req, &ctx, &v);
	}
	if (log_path != NULL && log_path[0] != '\0')
		audit(log_path, &req, &v);
	hook_request_free(&req);
	out = hook_format_output(&v);
	if (out != NULL && fd_write_all(STDOUT_FILENO, out, strlen(out)) < 0) {
		fprintf(stderr, "cordon: hook: writing the answer: %s\n", strerror(errno));
		return HOOK_EXIT_BLOCK;
	}
	return 0;
}

static int
mkdir_parent(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return fd_mkdir_p(dir, 0777);
}

static int
hook_edit(bool install, const char *settings, const char *command)
{
	struct cordon_err err = { 0 };
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char *out = NULL;
	_cleanup_free_ char *cmd = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	mode_t mode = 0600;
	size_t len = 0;
	bool changed = false;

	if (settings != NULL) {
		path = xstrdup(settings);
	} else {
		const char *home = home_dir();

		if (home == NULL) {
			cordon_err_set(&err, 0, "cannot tell your home directory");
			cordon_err_hint(&err, "set HOME or pass --settings FILE");
			cli_print_err(&err);
			return 125;
		}
		path = xasprintf("%s/.claude/settings.json", home);
	}
	/*
	 * A settings file kept elsewhere (dotfiles) and linked in: write the
	 * file the link points to, and keep the link.
	 */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		char *real = realpath(path, NULL);

		if (real == NULL) {
			cordon_err_set(&err, errno, "%s is a symbolic link to a missing file",
				       path);
			cordon_err_hint(&err, "create the file it points to, or pass --settings "
					      "FILE");
			cli_print_err(&err);
			return 125;
		}
		free(path);
		path = real;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		cordon_err_set(&err, errno, "open %s", path);
		cordon_err_hint(&err, "check the file's permissions");
		cli_print_err(&err);
		return 125;
	}
	if (fd >= 0) {
		if (fstat(fd, &st) == 0)
			mode = st.st_mode & 07777;
		buf = fd_read_whole(fd, 16 * 1024 * 1024, &len);
		if (buf == NULL) {
			cordon_err_set(&err, errno, "read %s", path);
			cli_print_err(&err);
			return 125;
		}
	} else if (!install) {
		printf("cordon: %s does not exist; nothing to remove\n", path);
		return 0;
	}
	if (install) {
		if (command != NULL) {
			cmd = xstrdup(command);
		} else {
			char self[PATH_MAX];

			if (cli_self_path(self, sizeof(self), &err) < 0) {
				cordon_err_hint(&err,
						"pass --command '/path/to/cordon hook claude'");
				cli_print_err(&err);
				return 125;
			}
			cmd = xasprintf("%s hook claude", self);
		}
		out = hook_settings_install(buf ? buf : "", len, cmd, &changed, &err);
	} else {
		out = hook_settings_uninstall(buf ? buf : "", len, &changed, &err);
	}
	if (out == NULL) {
		cordon_err_wrap(&err, "%s", path);
		cli_print_err(&err);
		return 125;
	}
	if (!changed) {
		printf("cordon: %s already %s the cordon hook; nothing changed\n", path,
		       install ? "has" : "lacks");
		return 0;
	}
	if (buf != NULL) {
		_cleanup_free_ char *bak = xasprintf("%s.bak", path);

		if (fd_replace_file(bak, buf, strlen(buf), mode) < 0) {
			cordon_err_set(&err, errno, "write %s", bak);
			cordon_err_hint(&err, "the settings were left unchanged");
			cli_print_err(&err);
			return 125;
		}
	} else if (mkdir_parent(path) < 0) {
		cordon_err_set(&err, errno, "create the directory of %s", path);
		cordon_err_hint(&err, "check that you may write there, or pass --settings FILE");
		cli_print_err(&err);
		return 125;
	}
	if (fd_replace_file(path, out, strlen(out), mode) < 0) {
		cordon_err_set(&err, errno, "write %s", path);
		cordon_err_hint(&err, "the settings were left unchanged");
		cli_print_err(&err);
		return 125;
	}
	if (install)
		printf("cordon: added the PreToolUse hook for Bash to %s%s\n"
		       "  command: %s\n",
		       path, buf ? " (old file kept as .bak)" : "", cmd);
	else
		printf("cordon: removed the cordon hook from %s (old file kept as .bak)\n", path);
	return 0;
}

int
cli_hook(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "settings", required_argument, NULL, 's' },
		{ "command", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *log_path = getenv("CORDON_HOOK_LOG");
	const char *settings = NULL, *command = NULL;
	const char *verb = NULL, *agent = NULL;
	bool edit_opts = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			log_path = optarg;
			break;
		case 's':
			settings = optarg;
			edit_opts = true;
			break;
		case 'c':
			command = optarg;
			edit_opts = true;
			break;
		case 'h':
			fputs(hook_usage, stdout);
			return 0;
		default:
			cli_usage_error("hook", "unknown option");
			return HOOK_EXIT_BLOCK;
		}
	}
	if (optind < argc &&
	    (strcmp(argv[optind], "install") == 0 || strcmp(argv[optind], "uninstall") == 0))
		verb = argv[optind++];
	if (optind < argc)
		agent = argv[optind++];
	if (agent == NULL) {
		cli_usage_error("hook", "which agent? (claude)");
		return verb ? 125 : HOOK_EXIT_BLOCK;
	}
	if (optind < argc) {
		cli_usage_error("hook", "unexpected argument '%s'", argv[optind]);
		return verb ? 125 : HOOK_EXIT_BLOCK;
	}
	if (strcmp(agent, "claude") != 0) {
		fprintf(stderr,
			"cordon: no hook for agent '%s'\n"
			"Hint: only Claude Code's PreToolUse protocol is implemented (`cordon hook "
			"claude`); run other agents under `cordon %s` for the sandbox\n",
			agent, agent);
		return verb ? 125 : HOOK_EXIT_BLOCK;
	}
	if (verb == NULL) {
		if (edit_opts) {
			cli_usage_error("hook",
					"--settings and --command belong to `hook install`");
			return HOOK_EXIT_BLOCK;
		}
		return hook_answer(log_path);
	}
	if (command != NULL && strcmp(verb, "uninstall") == 0)
		return cli_usage_error("hook", "--command belongs to `hook install`");
	return hook_edit(strcmp(verb, "install") == 0, settings, command);
}
