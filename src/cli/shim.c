/* SPDX-License-Identifier: MIT */
/*
 * cordon shim install|uninstall AGENT [--dir DIR]
 *
 * A wrapper script called AGENT in DIR (default ~/.local/bin), meant to sit
 * earlier in PATH than the real agent, that runs the agent through
 * `cordon AGENT`. A `.sandbox-required` file in a repository (searched
 * from the current directory up to the git root) makes the wrapper refuse
 * to run the agent unsandboxed: when cordon is missing, when the sandbox
 * fails its preflight, or when CORDON_SHIM_BYPASS=1 asks for no sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/policy_run.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "presets/presets.h"
#include "sandbox/sandbox.h"

#define SHIM_TAG "cordon-shim"

static const char shim_usage[] =
    "Usage: cordon shim install AGENT [--dir DIR]\n"
    "       cordon shim uninstall AGENT [--dir DIR]\n"
    "\n"
    "Install a wrapper called AGENT (claude, codex, gemini) in DIR that runs the\n"
    "agent through `cordon AGENT`. DIR (default ~/.local/bin) must come before\n"
    "the real agent in PATH; the wrapper finds the real binary by searching\n"
    "PATH while skipping its own directory.\n"
    "\n"
    "A file named .sandbox-required in a repository (looked for from the\n"
    "current directory up to the git root) makes the wrapper refuse to run the\n"
    "agent without a sandbox: if cordon is missing, if the sandbox cannot be\n"
    "built here (preflight `cordon run -- true`), or if CORDON_SHIM_BYPASS=1.\n"
    "Elsewhere CORDON_SHIM_BYPASS=1 runs the agent directly, and a missing\n"
    "cordon gives a warning and an unsandboxed run.\n"
    "\n"
    "Options:\n"
    "      --dir DIR   where the wrapper goes (default ~/.local/bin)\n"
    "  -h, --help      this text\n";

/* The wrapper; @AGENT@, @CORDON@ and @DIR@ are replaced by sh-quoted values. */
static const char shim_script[] =
    "#!/bin/sh\n"
    "# " SHIM_TAG ": runs @AGENT@ through cordon. Written by `cordon shim install @AGENT@`;\n"
    "# remove with `cordon shim uninstall @AGENT@`.\n"
    "agent=@AGENT@\n"
    "cordon=@CORDON@\n"
    "self_dir=@DIR@\n"
    "\n"
    "# The real agent: the first in PATH outside this wrapper's directory that\n"
    "# is not itself a cordon wrapper.\n"
    "find_real() {\n"
    "\told_ifs=$IFS\n"
    "\tIFS=:\n"
    "\tfor d in $PATH; do\n"
    "\t\tcase $d in \"\" | \"$self_dir\" | \"$self_dir/\") continue ;; esac\n"
    "\t\tf=$d/$agent\n"
    "\t\tif [ -f \"$f\" ] && [ -x \"$f\" ] &&\n"
    "\t\t   ! head -c 512 \"$f\" 2>/dev/null | grep -q " SHIM_TAG "; then\n"
    "\t\t\tIFS=$old_ifs\n"
    "\t\t\tprintf '%s\\n' \"$f\"\n"
    "\t\t\treturn 0\n"
    "\t\tfi\n"
    "\tdone\n"
    "\tIFS=$old_ifs\n"
    "\techo \"cordon shim: $agent not found in PATH (outside $self_dir)\" >&2\n"
    "\treturn 1\n"
    "}\n"
    "\n"
    "# Does this repository require a sandbox? From $PWD up to the git root.\n"
    "required() {\n"
    "\td=$PWD\n"
    "\twhile :; do\n"
    "\t\t[ -e \"$d/.sandbox-required\" ] && return 0\n"
    "\t\t[ -e \"$d/.git\" ] && return 1\n"
    "\t\t[ \"$d\" = / ] && return 1\n"
    "\t\td=$(dirname \"$d\")\n"
    "\tdone\n"
    "}\n"
    "\n"
    "refuse() {\n"
    "\techo \"cordon shim: refusing to run $agent without a sandbox: $1\" >&2\n"
    "\techo \"Hint: this repository has a .sandbox-required file; $2\" >&2\n"
    "\texit 125\n"
    "}\n"
    "\n"
    "c=$cordon\n"
    "[ -x \"$c\" ] || c=$(command -v cordon 2>/dev/null) || c=\n"
    "[ -n \"$c\" ] || [ ! -x /run/cordon/cordon ] || c=/run/cordon/cordon\n"
    "# Already inside cordon: run the agent itself, no sandbox in a sandbox.\n"
    "# cordon decides by what no environment can fake (CORDON_SANDBOX=1 can be\n"
    "# set anywhere, so it does not count).\n"
    "if [ -n \"$c\" ] && \"$c\" __inside; then\n"
    "\treal=$(find_real) || exit 127\n"
    "\texec \"$real\" \"$@\"\n"
    "fi\n"
    "if [ -z \"$c\" ] || [ \"${CORDON_SHIM_BYPASS:-}\" = 1 ]; then\n"
    "\tif required; then\n"
    "\t\tif [ -z \"$c\" ]; then\n"
    "\t\t\trefuse \"cordon is not installed ($cordon is missing)\" \"install cordon again\"\n"
    "\t\tfi\n"
    "\t\trefuse \"CORDON_SHIM_BYPASS=1 is set\" \"unset CORDON_SHIM_BYPASS\"\n"
    "\tfi\n"
    "\treal=$(find_real) || exit 127\n"
    "\t[ -n \"$c\" ] || echo \"cordon shim: warning: cordon not found; running $agent WITHOUT a "
    "sandbox\" >&2\n"
    "\texec \"$real\" \"$@\"\n"
    "fi\n"
    "if required && ! \"$c\" run -- true >/dev/null 2>&1; then\n"
    "\trefuse \"the sandbox cannot be built here\" \"run \\`$c run -- true\\` to see why\"\n"
    "fi\n"
    "real=$(find_real) || exit 127\n"
    "exec \"$c\" \"$agent\" --bin \"$real\" -- \"$@\"\n";

/* Single-quoted for sh. Caller frees. */
static char *
sh_quote(const char *s)
{
	size_t n = 2;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = o = xmalloc(n + 1);
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* shim_script with its three placeholders replaced. Caller frees. */
static char *
fill_template(const char *t, const char *agent, const char *cordon, const char *dir)
{
	static const char *const keys[] = { "@AGENT@", "@CORDON@", "@DIR@" };
	const char *vals[] = { agent, cordon, dir };
	size_t cap = strlen(t) + 1, n = 0;
	char *out;

	for (const char *p = t; *p; p++)
		if (*p == '@')
			cap += strlen(agent) + strlen(cordon) + strlen(dir);
	out = xmalloc(cap);
	while (*t) {
		size_t k;

		for (k = 0; k < ARRAY_SIZE(keys); k++)
			if (strncmp(t, keys[k], strlen(keys[k])) == 0)
				break;
		if (k < ARRAY_SIZE(keys)) {
			memcpy(out + n, vals[k], strlen(vals[k]));
			n += strlen(vals[k]);
			t += strlen(keys[k]);
		} else {
			out[n++] = *t++;
		}
	}
	out[n] = '\0';
	return out;
}

/* Position of dir in PATH (0-based), or -1. */
static int
path_index(const char *dir)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "");
	int i = 0;

	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save), i++) {
		char real[PATH_MAX];

		if (strcmp(d, dir) == 0 || (realpath(d, real) != NULL && strcmp(real, dir) == 0))
			return i;
	}
	return -1;
}

/* Index in PATH of the first real (non-shim) agent outside dir, or -1. */
static int
real_agent_index(const char *agent, const char *dir)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "");
	int i = 0;

	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save), i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", d, agent);

		if (strcmp(d, dir) == 0)
			continue;
		if (access(f, X_OK) == 0 && !cli_is_shim(f, false))
			return i;
	}
	return -1;
}

static int
shim_install(const char *agent, const char *dir)
{
	struct cordon_err err = { 0 };
	_cleanup_free_ char *target = xasprintf("%s/%s", dir, agent);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.cordon-tmp.%d", dir, agent, (int)getpid());
	_cleanup_free_ char *q_agent = sh_quote(agent);
	_cleanup_free_ char *q_cordon = NULL;
	_cleanup_free_ char *q_dir = sh_quote(dir);
	_cleanup_free_ char *script = NULL;
	_cleanup_close_ int fd = -1;
	char self[PATH_MAX];
	struct stat st;
	int pi, ri;

	if (cli_self_path(self, sizeof(self), &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	q_cordon = sh_quote(self);
	if (lstat(target, &st) == 0 && !cli_is_shim(target, false)) {
		cordon_err_set(&err, EEXIST, "%s exists and is not a cordon wrapper", target);
		cordon_err_hint(&err,
				"it may be the real %s; pick another directory that comes "
				"earlier in PATH with --dir DIR",
				agent);
		cli_print_err(&err);
		return 125;
	}
	if (fd_mkdir_p(dir, 0755) < 0) {
		cordon_err_set(&err, errno, "create %s", dir);
		cordon_err_hint(&err, "pass a writable directory with --dir DIR");
		cli_print_err(&err);
		return 125;
	}
	script = fill_template(shim_script, q_agent, q_cordon, q_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0755);
	if (fd < 0 || fd_write_all(fd, script, strlen(script)) < 0 || fchmod(fd, 0755) < 0 ||
	    rename(tmp, target) < 0) {
		cordon_err_set(&err, errno, "write %s", target);
		cordon_err_hint(&err, "check that %s is writable", dir);
		cli_print_err(&err);
		unlink(tmp);
		return 125;
	}
	printf("cordon: installed %s: `%s` now runs through `cordon %s`\n", target, agent, agent);
	pi = path_index(dir);
	ri = real_agent_index(agent, dir);
	if (pi < 0)
		printf("cordon: warning: %s is not in PATH; add it before the real %s\n", dir,
		       agent);
	else if (ri >= 0 && ri < pi)
		printf("cordon: warning: the real %s comes earlier in PATH than %s; move %s "
		       "first\n",
		       agent, dir, dir);
	else if (ri < 0)
		printf("cordon: note: no real %s found in PATH yet\n", agent);
	return 0;
}

static int
shim_uninstall(const char *agent, const char *dir)
{
	struct cordon_err err = { 0 };
	_cleanup_free_ char *target = xasprintf("%s/%s", dir, agent);
	struct stat st;

	if (lstat(target, &st) < 0) {
		printf("cordon: no wrapper %s; nothing to remove\n", target);
		return 0;
	}
	if (!cli_is_shim(target, false)) {
		cordon_err_set(&err, 0, "%s is not a cordon wrapper; left alone", target);
		cordon_err_hint(&err, "it may be the real %s", agent);
		cli_print_err(&err);
		return 125;
	}
	if (unlink(target) < 0) {
		cordon_err_set(&err, errno, "remove %s", target);
		cli_print_err(&err);
		return 125;
	}
	printf("cordon: removed %s\n", target);
	return 0;
}

int
cli_inside(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sb_inside_cordon() ? 0 : 1;
}

int
cli_shim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cordon_preset *p;
	_cleanup_free_ char *dir = NULL;
	const char *verb, *agent, *home = getenv("HOME");
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			free(dir);
			dir = xstrdup(optarg);
			break;
		case 'h':
			fputs(shim_usage, stdout);
			return 0;
		default:
			return cli_usage_error("shim", "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("shim", "expected `install AGENT` or `uninstall AGENT`");
	verb = argv[optind];
	agent = argv[optind + 1];
	p = preset_lookup(agent);
	if (p == NULL || p->kind != PRESET_AGENT || strcmp(p->name, agent) != 0)
		return cli_usage_error("shim", "no agent called '%s' (claude, codex, gemini)",
				       agent);
	if (dir == NULL) {
		if (home == NULL || home[0] != '/')
			return cli_usage_error("shim", "HOME is not set; pass --dir DIR");
		dir = xasprintf("%s/.local/bin", home);
	} else if (dir[0] != '/') {
		char *abs = realpath(dir, NULL);

		if (abs == NULL)
			return cli_usage_error("shim", "--dir %s: %s", dir, strerror(errno));
		free(dir);
		dir = abs;
	}
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	if (strcmp(verb, "install") == 0)
		return shim_install(agent, dir);
	if (strcmp(verb, "uninstall") == 0)
		return shim_uninstall(agent, dir);
	return cli_usage_error("shim", "unknown action '%s' (install, uninstall)", verb);
}
