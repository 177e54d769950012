/* SPDX-License-Identifier: MIT */
/*
 * cordon claude|codex|gemini [OPTIONS --] [AGENT ARGS...]
 *
 * Runs the agent through `cordon run` with its preset (src/presets): its
 * state directory writable, its own settings and hooks read-only, its API
 * hosts and the toolchains' registries allowed, its API key passed through
 * the secret scrub, its own sandbox off. Options for cordon come before a
 * `--`; without one, every argument belongs to the agent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "presets/presets.h"

#define SHIM_TAG "cordon-shim" /* marks a wrapper written by `cordon shim install` */

static const char agent_usage[] =
    "Usage: cordon AGENT [OPTIONS --] [AGENT ARGS...]     AGENT: claude, codex, gemini\n"
    "\n"
    "Run the agent in a cordon sandbox with its preset: its model API hosts\n"
    "allowed, its state directory writable (e.g. ~/.claude) while its own\n"
    "settings and hook files stay read-only, IS_SANDBOX=1, its own sandbox off\n"
    "(cordon is the boundary), its API key variable passed through while every\n"
    "other secret stays scrubbed. For Claude Code, `cordon hook claude` is\n"
    "added as a PreToolUse hook on its command line.\n"
    "\n"
    "Options (only before a `--`; without one, all arguments go to the agent;\n"
    "`cordon AGENT -- --help` shows the agent's own help):\n"
    "      --with PRESET    add a toolchain preset: node, python, rust, go, java\n"
    "                       (caches writable, registries read from your own\n"
    "                       configuration allowed) (repeatable)\n"
    "      --bin PATH       the agent's binary (default: first in PATH that is\n"
    "                       not a cordon shim)\n"
    "      --rw PATH, --ro PATH, --allow-domain PAT   passed to `cordon run`\n"
    "      --dry-run        print the `cordon run` command and exit\n"
    "  -v, --verbose        say what the preset resolved to\n"
    "  -h, --help           this text\n"
    "\n"
    "Examples:\n"
    "  cordon claude\n"
    "  cordon claude -- --version\n"
    "  cordon codex --with node --allow-domain api.github.com -- exec 'fix the tests'\n";

struct argvec {
	char **v;
	size_t n;
};

static void
push(struct argvec *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
argvec_free(struct argvec *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* Is path a wrapper written by `cordon shim install`? */
static bool
is_shim(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[512];
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, SHIM_TAG) != NULL;
}

/* First executable called name in PATH that is not a cordon shim. */
static char *
find_program(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");

	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = NULL;
		struct stat st;

		if (dir[0] != '/')
			continue; /* a relative PATH entry depends on the cwd: skip */
		cand = xasprintf("%s/%s", dir, name);
		if (stat(cand, &st) < 0 || !S_ISREG(st.st_mode) || access(cand, X_OK) < 0)
			continue;
		if (is_shim(cand))
			continue;
		return steal_ptr(cand);
	}
	return NULL;
}

static bool
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * Create a missing state or protected path so that it can be bound: JSON
 * files as {}, TOML files empty, names without a dot as directories. Modes
 * follow the umask, as the agent's own files would. Returns 0 when the
 * path exists afterwards.
 */
static int
create_path(const char *path, bool allow_any_file)
{
	const char *base = strrchr(path, '/');
	_cleanup_free_ char *parent = xstrdup(path);
	_cleanup_close_ int fd = -1;
	const char *content = NULL;

	base = base ? base + 1 : path;
	if (ends_with(base, ".json"))
		content = "{}\n";
	else if (ends_with(base, ".toml"))
		content = "";
	else if (strchr(base + 1, '.') == NULL)
		return fd_mkdir_p(path, 0777);
	else if (!allow_any_file)
		return -1;
	else
		content = "";
	*strrchr(parent, '/') = '\0';
	if (parent[0] != '\0' && fd_mkdir_p(parent, 0777) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	return fd_write_all(fd, content, strlen(content));
}

/*
 * Make sure p exists (creating it when may_create), or in a dry run say
 * what would be created. Returns whether p can be bound.
 */
static bool
ensure(const char *p, bool may_create, bool dry, struct preset_strv *notes, const char *name,
       const char *what)
{
	char *s = NULL;

	if (exists(p))
		return true;
	if (may_create && dry) {
		s = xasprintf("%s: %s would be created, then %s", name, p, what);
		preset_strv_add(notes, s);
		free(s);
		return true;
	}
	if (may_create && create_path(p, false) == 0 && exists(p))
		return true;
	s = xasprintf("%s: %s does not exist; not %s", name, p, what);
	preset_strv_add(notes, s);
	free(s);
	return false;
}

static bool
under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* Shell-quote for --dry-run output. */
static void
print_quoted(const char *s)
{
	if (s[0] != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789-_./=:,@+%") == strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	putchar('\'');
}

/*
 * The env pass-through as a policy file the run reads from a memfd:
 * {"sandbox":{"credentials":{"envVars":[{"name":N,"mode":"allow"},...]}}}.
 * Names are [A-Za-z0-9_] only (from the table), so no JSON escaping.
 * Returns the fd (CLOEXEC; read by this process) or -1.
 */
static int
env_pass_policy(const struct preset_strv *names)
{
	int fd = memfd_create("cordon-preset-env", MFD_CLOEXEC);
	char buf[4096];
	size_t o = 0;

	if (fd < 0)
		return -1;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			      "{\"sandbox\":{\"credentials\":{\"envVars\":[");
	for (size_t i = 0; i < names->n && o < sizeof(buf) - 128; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s{\"name\":\"%s\",\"mode\":\"allow\"}", i ? "," : "",
				      names->v[i]);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]}}}\n");
	if (o >= sizeof(buf) || fd_write_all(fd, buf, o) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cli_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "with", required_argument, NULL, 'W' },
		{ "bin", required_argument, NULL, 'b' },
		{ "rw", required_argument, NULL, 'R' },
		{ "ro", required_argument, NULL, 'O' },
		{ "allow-domain", required_argument, NULL, 'D' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = argv[0];
	const struct cordon_preset *agent = preset_lookup(name);
	struct preset_resolved res = { 0 };
	struct preset_env penv = { 0 };
	struct cordon_err err = { 0 };
	struct argvec run = { 0 }, extra = { 0 };
	_cleanup_free_ char *bin = NULL;
	_cleanup_free_ char *workspace = NULL;
	_cleanup_close_ int policy_fd = -1;
	const char *home = getenv("HOME");
	char self[PATH_MAX];
	const char *withs[16];
	size_t n_with = 0, n_agent_writable = 0;
	int dashdash = -1, c, status = 125;
	bool dry = false, verbose = false;
	ssize_t sn;

	if (agent == NULL || agent->kind != PRESET_AGENT)
		return cli_usage_error(NULL, "no agent preset called '%s'", name);
	/* `cordon claude --help` is ours; `cordon claude -- --help` is the agent's. */
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(agent_usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	if (dashdash > 0) {
		optind = 1;
		while ((c = getopt_long(dashdash, argv, "+vh", opts, NULL)) != -1) {
			switch (c) {
			case 'W':
				if (n_with == ARRAY_SIZE(withs))
					return cli_usage_error(name, "too many --with");
				withs[n_with++] = optarg;
				break;
			case 'b':
				free(bin);
				bin = xstrdup(optarg);
				break;
			case 'R':
				push(&extra, "--rw");
				push(&extra, optarg);
				break;
			case 'O':
				push(&extra, "--ro");
				push(&extra, optarg);
				break;
			case 'D':
				push(&extra, "--allow-domain");
				push(&extra, optarg);
				break;
			case 'n':
				dry = true;
				break;
			case 'v':
				verbose = true;
				break;
			case 'h':
				fputs(agent_usage, stdout);
				argvec_free(&extra);
				return 0;
			default:
				argvec_free(&extra);
				return cli_usage_error(name, "unknown option");
			}
		}
		if (optind != dashdash) {
			argvec_free(&extra);
			return cli_usage_error(name, "unexpected '%s' before `--`", argv[optind]);
		}
	}

	if (home == NULL || home[0] != '/') {
		cordon_err_set(&err, 0, "HOME is not set to an absolute path");
		cordon_err_hint(&err, "the %s preset needs your home directory for its state",
				name);
		cli_print_err(&err);
		goto out;
	}
	workspace = realpath(".", NULL);
	if (workspace == NULL) {
		cordon_err_set(&err, errno, "the current directory");
		cordon_err_hint(&err, "run cordon %s from your project directory", name);
		cli_print_err(&err);
		goto out;
	}
	sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[sn > 0 ? sn : 0] = '\0';
	penv.home = home;
	penv.workspace = workspace;
	penv.self = sn > 0 ? self : NULL;
	penv.run_tools = true;
	if (preset_resolve(agent, &penv, &res, &err) < 0) {
		cli_print_err(&err);
		goto out;
	}
	n_agent_writable = res.writable.n;
	for (size_t i = 0; i < n_with; i++) {
		const struct cordon_preset *t = preset_lookup(withs[i]);

		if (t == NULL || t->kind != PRESET_TOOLCHAIN) {
			status = cli_usage_error(name,
						 "no toolchain preset called '%s' (node, python, "
						 "rust, go, java)",
						 withs[i]);
			goto out;
		}
		if (preset_resolve(t, &penv, &res, &err) < 0) {
			cli_print_err(&err);
			goto out;
		}
	}
	if (bin == NULL)
		bin = find_program(agent->program);
	if (bin == NULL) {
		cordon_err_set(&err, ENOENT, "%s (%s) not found in PATH", agent->program,
			       agent->summary);
		cordon_err_hint(&err, "install it, or pass --bin PATH before `--`");
		cli_print_err(&err);
		status = 127;
		goto out;
	}

	push(&run, "run");
	if (verbose)
		push(&run, "--verbose");
	for (size_t i = 0; i < res.writable.n; i++) {
		const char *p = res.writable.v[i];
		_cleanup_free_ char *parent = xstrdup(p);

		/* Agent state is created; a toolchain cache only under an existing parent. */
		*strrchr(parent, '/') = '\0';
		if (!ensure(p, i < n_agent_writable || exists(parent), dry, &res.notes, name,
			    "made writable"))
			continue;
		push(&run, "--rw");
		push(&run, p);
	}
	for (size_t i = 0; i < res.readonly.n; i++) {
		const char *p = res.readonly.v[i];

		/*
		 * A protected file that does not exist could be planted by the
		 * agent: create it first (home only; the workspace is the user's
		 * repository, covered by the policy's deny-write and quarantine).
		 */
		if (!ensure(p, under(p, home) && !under(p, workspace), dry, &res.notes, name,
			    "bound read-only"))
			continue;
		push(&run, "--ro");
		push(&run, p);
	}
	for (size_t i = 0; i < res.domains.n; i++) {
		push(&run, "--allow-domain");
		push(&run, res.domains.v[i]);
	}
	for (size_t i = 0; i < extra.n; i++)
		push(&run, extra.v[i]);
	if (res.env_pass.n > 0) {
		policy_fd = env_pass_policy(&res.env_pass);
		if (policy_fd >= 0) {
			char *p = xasprintf("/proc/self/fd/%d", policy_fd);

			push(&run, "--policy");
			push(&run, p);
			free(p);
		}
	}
	push(&run, "--");
	push(&run, bin);
	for (size_t i = 0; i < res.agent_args.n; i++)
		push(&run, res.agent_args.v[i]);
	for (int i = dashdash > 0 ? dashdash + 1 : 1; i < argc; i++)
		push(&run, argv[i]);

	if (verbose || dry)
		for (size_t i = 0; i < res.notes.n; i++)
			fprintf(stderr, "cordon: %s\n", res.notes.v[i]);
	if (dry) {
		for (size_t i = 0; i < res.env_set.n; i++) {
			print_quoted(res.env_set.v[i]);
			putchar(' ');
		}
		fputs("cordon", stdout);
		for (size_t i = 0; i < run.n; i++) {
			putchar(' ');
			print_quoted(run.v[i]);
		}
		putchar('\n');
		for (size_t i = 0; i < res.env_pass.n; i++)
			printf("# passed through the secret scrub: %s\n", res.env_pass.v[i]);
		status = 0;
		goto out;
	}
	for (size_t i = 0; i < res.env_set.n; i++) {
		char *eq = strchr(res.env_set.v[i], '=');

		*eq = '\0';
		setenv(res.env_set.v[i], eq + 1, 1);
		*eq = '=';
	}
	fflush(stdout);
	status = cli_run((int)run.n, run.v);
out:
	argvec_free(&run);
	argvec_free(&extra);
	preset_resolved_free(&res);
	return status;
}
