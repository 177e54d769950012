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

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/policy_run.h"
#include "cli/walls.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "proxy/proxy.h"
#include "sandbox/sandbox.h"
#include "supervisor/execaudit.h"
#include "supervisor/supervisor.h"

extern char **environ;

#define MAX_PATH_RULES (POLICY_MAX_MOUNTS + 64)

static const char run_usage[] =
    "Usage: cordon run [OPTIONS] [--] CMD [ARG...]\n"
    "\n"
    "Run CMD in a fresh sandbox: the host read-only, the workspace read-write,\n"
    "private /tmp, own pid/net/ipc/uts/cgroup/user namespaces, no capabilities,\n"
    "seccomp and Landlock. Nothing leaves but through cordon's egress proxy,\n"
    "which lets through only the domains the policy allows. Every program\n"
    "started and every network decision goes to the audit log.\n"
    "\n"
    "Options:\n"
    "  -w, --workspace DIR  read-write workspace and working directory (default: .)\n"
    "      --rw PATH        also bind PATH read-write (repeatable)\n"
    "      --ro PATH        bind PATH read-only, even inside the workspace (repeatable)\n"
    "      --mask PATH      hide PATH: empty file or directory in its place "
    "(repeatable)\n" CLI_RUN_POLICY_USAGE "      --audit-log PATH audit log file (default:\n"
    "                       ~/.local/state/cordon/audit/audit.jsonl)\n"
    "      --no-exec-audit  do not record each program started inside\n"
    "      --otlp-endpoint URL  also send audit records to an OTLP/HTTP collector\n"
    "      --syslog         also send audit records to syslog\n"
    "      --allow-domain PAT  let the command reach PAT through cordon's proxy:\n"
    "                       example.com, *.example.com (subdomains, not the apex),\n"
    "                       192.0.2.0/24, each optionally :PORT (repeatable);\n"
    "                       nothing else leaves the sandbox\n"
    "      --deny-domain PAT  refuse PAT even if allowed (repeatable)\n"
    "      --resolve HOST:ADDR  resolve HOST to ADDR in the proxy. Test-only:\n"
    "                       honoured only with CORDON_TEST_HOOKS=1\n" CLI_WALLS_USAGE
    "  -v, --verbose        say what is being set up, explain proxy denials\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: CMD's own; 128+N if it died of signal N; 125 cordon error\n"
    "(nothing ran); 126 CMD cannot be executed; 127 CMD not found.\n";

enum { OPT_RW = 256, OPT_RO, OPT_MASK, OPT_BIND_SELF };

/* Where `--bind-self` (used by `cordon check`) puts this binary inside. */
#define SELF_INSIDE "/run/cordon/cordon"

enum { OPT_AUDIT_LOG = 512, OPT_NO_EXEC_AUDIT, OPT_OTLP, OPT_SYSLOG };

enum { OPT_ALLOW_DOMAIN = 768, OPT_DENY_DOMAIN, OPT_RESOLVE };

/* The egress proxy's port on 127.0.0.1 inside the sandbox (own netns). */
#define RUN_PROXY_PORT 3128

/* The network side of one run: rules for the proxy, in command-line order. */
struct run_net {
	const char *pattern[512];
	int deny[512];
	size_t n;
	const char *resolve[64];
	size_t n_resolve;
	int verbose;
};

static int
run_net_option(struct run_net *rn, int opt, const char *arg)
{
	if (opt == OPT_RESOLVE) {
		if (rn->n_resolve == ARRAY_SIZE(rn->resolve))
			return cli_usage_error("run", "too many --resolve");
		if (!cli_test_hooks())
			return cli_usage_error("run", "--resolve is a test-only option");
		rn->resolve[rn->n_resolve++] = arg;
		return 0;
	}
	if (rn->n == ARRAY_SIZE(rn->pattern))
		return cli_usage_error("run", "too many --allow-domain/--deny-domain");
	rn->deny[rn->n] = opt == OPT_DENY_DOMAIN;
	rn->pattern[rn->n++] = arg;
	return 0;
}

static const char *const proxy_env_names[] = {
	"HTTP_PROXY",         "HTTPS_PROXY",
	"ALL_PROXY",          "NO_PROXY",
	"http_proxy",         "https_proxy",
	"all_proxy",          "no_proxy",
	"NODE_USE_ENV_PROXY", "JAVA_TOOL_OPTIONS",
	"npm_config_proxy",   "npm_config_https_proxy",
	"NPM_CONFIG_PROXY",   "NPM_CONFIG_HTTPS_PROXY",
};

/*
 * env plus the proxy variables (the host's own proxy settings would point
 * at nothing reachable from inside, so they are replaced). Returns the new
 * array (env is freed); the strings are static.
 */
static char **
add_proxy_env(char **env, uint16_t port)
{
	static char vars[ARRAY_SIZE(proxy_env_names)][256];
	size_t n = 0, k = 0;
	char **out;

	while (env[n] != NULL)
		n++;
	out = xcalloc(n + ARRAY_SIZE(proxy_env_names) + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		for (size_t j = 0; j < ARRAY_SIZE(proxy_env_names); j++) {
			size_t l = strlen(proxy_env_names[j]);

			if (strncmp(env[i], proxy_env_names[j], l) == 0 && env[i][l] == '=')
				ours = true;
		}
		if (!ours)
			out[k++] = env[i];
	}
	for (size_t j = 0; j < ARRAY_SIZE(proxy_env_names); j++) {
		const char *name = proxy_env_names[j];

		if (strcasecmp(name, "NO_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=localhost,127.0.0.1,::1", name);
		else if (strcmp(name, "NODE_USE_ENV_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=1", name);
		else if (strcmp(name, "JAVA_TOOL_OPTIONS") == 0)
			snprintf(vars[j], sizeof(vars[j]),
				 "%s=-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%u "
				 "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%u "
				 "-Dhttp.nonProxyHosts=localhost|127.0.0.1",
				 name, port, port);
		else if (strcasecmp(name, "ALL_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=socks5h://127.0.0.1:%u", name, port);
		else
			snprintf(vars[j], sizeof(vars[j]), "%s=http://127.0.0.1:%u", name, port);
		out[k++] = vars[j];
	}
	out[k] = NULL;
	free(env);
	return out;
}

static void
run_net_event(void *arg, const struct px_event *ev)
{
	static const char *const proto[] = { "http-connect", "http", "socks5", "unknown" };
	struct sv_supervisor *sv = arg;
	struct audit_net_event a = {
		.host = ev->host,
		.port = ev->port,
		.address = ev->addr[0] ? ev->addr : NULL,
		.protocol = proto[ev->proto],
		.decision = ev->allowed ? "allow" : "deny",
		.rule = ev->rule[0] ? ev->rule : NULL,
		.reason = ev->allowed ? NULL : ev->reason,
		.bytes_up = ev->bytes_up,
		.bytes_down = ev->bytes_down,
		.duration_ms = ev->duration_ms,
	};
	struct cordon_err err = { 0 };

	if (sv->audit != NULL && audit_net(sv->audit, &a, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

/* Start the proxy on the supervisor's loop with the command line's rules. */
static int
run_net_start(struct run_net *rn, struct sv_supervisor *sv, struct cordon_err *err)
{
	struct px_config cfg = {
		.on_decision = run_net_event,
		.on_decision_arg = sv,
		.verbose = rn->verbose,
	};

	if (cli_test_hooks()) {
		const char *lo = getenv("CORDON_TEST_PROXY_LOOPBACK");

		cfg.test_allow_loopback = lo != NULL && strcmp(lo, "1") == 0;
	}
	if (sv_proxy_start(sv, &cfg, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < rn->n; i++)
		if (px_proxy_add_rule(sv->proxy, rn->pattern[i], rn->deny[i], err) < 0)
			return -1;
	for (size_t i = 0; i < rn->n_resolve; i++)
		if (px_proxy_add_resolve(sv->proxy, rn->resolve[i], err) < 0)
			return -1;
	return 0;
}

/* Canonical absolute path of an existing file or directory, or NULL (err). */
static char *
canonical(const char *path, const char *what, struct cordon_err *err)
{
	char *p = fd_realpath(path);

	if (p == NULL)
		cordon_err_set(err, errno, "%s %s", what, path);
	return p;
}

/*
 * Invoked by root, the command runs as an unprivileged uid to which root's
 * home (0700) is closed. Give it an empty private home instead: a tmpfs,
 * writable, gone at exit, in which the policy's binds (~/.claude, caches)
 * and the workspace, if it lies there, still appear. Nothing of root's own
 * home becomes visible. NULL when not needed.
 */
static const char *
private_home_for(const char *home, const char *workspace)
{
	struct stat st;

	if (home == NULL || home[0] != '/' || strcmp(home, "/") == 0 || !sb_invoker_is_root() ||
	    stat(home, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH))
		return NULL;
	/* A workspace that is the home itself keeps its own content. */
	if (strcmp(home, workspace) == 0)
		return NULL;
	return home;
}

/*
 * TMPDIR from the host points at a directory that is read-only inside, or
 * not there at all (the host's /tmp is replaced). Keep it when it lies in
 * the workspace; otherwise the sandbox's private /tmp. env is changed in
 * place; the new string is static.
 */
static char **
fix_tmpdir(char **env, const char *workspace)
{
	size_t wl = strlen(workspace);

	for (size_t i = 0; env[i] != NULL; i++) {
		const char *v;

		if (strncmp(env[i], "TMPDIR=", 7) != 0)
			continue;
		v = env[i] + 7;
		if (strncmp(v, workspace, wl) == 0 && (v[wl] == '\0' || v[wl] == '/'))
			continue;
		env[i] = (char *)"TMPDIR=/tmp";
	}
	return env;
}

/*
 * In a private home (root invoker) nothing of the real home is visible, so
 * the read-only paths a --profile asks for (a toolchain under ~: ~/.rustup,
 * ~/.cargo/bin) are bound in read-only. Only the profile's: the built-in
 * protected files (~/.gitconfig, rc files) stay out of sight. 0, or -1 when
 * mounts is full.
 */
static int
add_profile_binds(const struct cordon_policy *pol, const char *home, struct sb_mount *mounts,
		  size_t *n, size_t max)
{
	const struct policy_rules *l = &pol->lists[POLICY_FS_DENY_WRITE];
	size_t hl = strlen(home);

	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->v[i].value;
		char *real;

		if (l->v[i].origin.layer != POLICY_LAYER_PROFILE || strncmp(p, home, hl) != 0 ||
		    p[hl] != '/')
			continue;
		real = fd_realpath(p);
		if (real == NULL)
			continue; /* not there: nothing to show */
		if (strncmp(real, home, hl) != 0 || real[hl] != '/') {
			free(real); /* a symlink out of the home: not ours to bind */
			continue;
		}
		if (*n == max) {
			free(real);
			return -1;
		}
		mounts[*n] = (struct sb_mount){ .kind = SB_MOUNT_RO,
						.path = real,
						.origin = (char *)"profile (private home)" };
		(*n)++;
	}
	return 0;
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
		cordon_err_set(err, 0,
			       "refusing / as the workspace: the whole host would be "
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

/*
 * This binary, read-only at SELF_INSIDE (a path in the sandbox's private
 * /run): the host path may be unreachable for the sandbox uid (a checkout
 * under /root when root runs cordon).
 */
static int
add_self_mount(struct sb_mount *mounts, size_t *n, size_t max)
{
	char *self = fd_realpath("/proc/self/exe");

	if (self == NULL || *n == max) {
		free(self);
		return -1;
	}
	mounts[*n].kind = SB_MOUNT_RO;
	mounts[*n].path = self;
	mounts[*n].origin = (char *)"cordon check";
	mounts[*n].target = (char *)SELF_INSIDE;
	(*n)++;
	return 0;
}

/* The audit trail of one run (docs/audit-schema.md). */
struct run_audit {
	struct audit_options opts;
	bool exec; /* exec audit (seccomp notification on execve) */
	struct cordon_audit *log;
	const struct sb_spec *spec; /* the command and walls, for the records */
	bool started;               /* the start record is written */
};

static void
run_audit_option(struct run_audit *ra, int opt, const char *arg)
{
	switch (opt) {
	case OPT_AUDIT_LOG:
		ra->opts.path = arg;
		break;
	case OPT_NO_EXEC_AUDIT:
		ra->exec = false;
		break;
	case OPT_OTLP:
		ra->opts.otlp_endpoint = arg;
		break;
	case OPT_SYSLOG:
		ra->opts.syslog = true;
		break;
	default:
		break;
	}
}

/* audit.path, audit.otlpEndpoint, audit.failClosed; flags given win. */
static void
run_audit_from_policy(struct run_audit *ra, const struct cordon_policy *pol)
{
	const struct policy_value *v;

	if (pol == NULL)
		return;
	v = &pol->scalars[POLICY_AUDIT_PATH];
	if (ra->opts.path == NULL && v->set && v->s != NULL)
		ra->opts.path = v->s;
	v = &pol->scalars[POLICY_AUDIT_OTLP];
	if (ra->opts.otlp_endpoint == NULL && v->set && v->s != NULL)
		ra->opts.otlp_endpoint = v->s;
	v = &pol->scalars[POLICY_AUDIT_FAIL_CLOSED];
	if (v->set)
		ra->opts.fail_closed = v->b;
	v = &pol->scalars[POLICY_AUDIT_SYSLOG];
	if (v->set && v->b)
		ra->opts.syslog = true;
}

/*
 * Open the log, mask it inside the sandbox (one more entry in mounts),
 * turn on the exec notification. Nothing may run when this fails; the
 * session start is written by run_audit_record_start, while the sandbox
 * builds itself.
 */
static int
run_audit_begin(struct run_audit *ra, struct sb_spec *spec, struct sb_mount *mounts,
		size_t *n_mounts, size_t max, struct cordon_err *err)
{
	char *mask;

	ra->log = audit_open(&ra->opts, err);
	if (ra->log == NULL)
		return -1;
	mask = *n_mounts < max ? audit_mask_path(ra->log, spec) : NULL;
	if (mask == NULL) {
		audit_close(ra->log);
		ra->log = NULL;
		cordon_err_set(err, *n_mounts < max ? ENOMEM : 0, "audit log mask");
		return cordon_err_hint(err,
				       "the audit log needs one path rule of its own (at "
				       "most %zu)",
				       max - 1);
	}
	memset(&mounts[*n_mounts], 0, sizeof(mounts[*n_mounts]));
	mounts[*n_mounts].kind = SB_MOUNT_MASK;
	mounts[*n_mounts].path = mask;
	mounts[*n_mounts].origin = (char *)"audit log";
	(*n_mounts)++;
	spec->n_mounts = *n_mounts;
	if (ra->exec)
		spec->notify |= SB_NOTIFY_EXEC;
	ra->spec = spec;
	log_debug("audit log %s, masked inside at %s", audit_path(ra->log), mask);
	return 0;
}

/* The session's start record: before the command runs, beside the mounts. */
static int
run_audit_record_start(struct run_audit *ra, struct cordon_err *err)
{
	if (audit_run_start(ra->log, ra->spec, ra->exec, err) < 0) {
		audit_close(ra->log);
		ra->log = NULL;
		return cordon_err_wrap(err, "cannot start the audit trail");
	}
	ra->started = true;
	return 0;
}

static int
run_audit_attach(struct run_audit *ra, struct sv_supervisor *sv, struct cordon_err *err)
{
	sv->audit = ra->log;
	audit_on_failure(ra->log, sv_audit_stop_sandbox, sv);
	if (ra->exec && sv_execaudit_register(sv, ra->spec->argv) < 0)
		return cordon_err_set(err, errno, "exec audit");
	/* Threads only once the sandbox is cloned (see audit_start_export). */
	return audit_start_export(ra->log, err);
}

/*
 * Write the session end and close the log (once; later calls return status
 * unchanged). Returns the exit status to use: status, or 125 when a record
 * could not be written under failClosed.
 */
static int
run_audit_end(struct run_audit *ra, int status, const char *reason)
{
	struct cordon_err err = { 0 };
	const struct cordon_err *failed;
	struct audit_session_end end = { .status = status, .reason = reason };

	if (ra->log == NULL)
		return status;
	/* Setup failed before the sandbox was cloned: the attempt is on record too. */
	if (!ra->started && run_audit_record_start(ra, &err) < 0) {
		cli_print_err(&err);
		return status;
	}
	/* The sandbox is gone (or never came): the exporter may run now. */
	audit_on_failure(ra->log, NULL, NULL);
	audit_start_export(ra->log, &err);
	failed = audit_failed(ra->log);
	if (failed != NULL && audit_fail_closed(ra->log)) {
		end.status = 125;
		end.reason = "audit-failure";
	}
	audit_session_end(ra->log, &end, &err);
	failed = audit_failed(ra->log);
	if (failed != NULL && audit_fail_closed(ra->log)) {
		struct cordon_err e = *failed;

		cordon_err_wrap(&e, "the session was stopped because a record could not be "
				    "written (audit.failClosed)");
		cli_print_err(&e);
		status = 125;
	}
	audit_close(ra->log);
	ra->log = NULL;
	return status;
}

/* What the supervisor does while the sandbox builds itself (sb_spec). */
struct run_start {
	struct run_audit *ra;
	struct run_net *rn;
	struct sv_supervisor *sv;
};

static int
run_while_building(void *arg, struct cordon_err *err)
{
	struct run_start *rs = arg;

	if (sv_block_signals(rs->sv, err) < 0 || run_audit_record_start(rs->ra, err) < 0)
		return -1;
	return run_net_start(rs->rn, rs->sv, err);
}

int
cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, 'w' },
		{ "rw", required_argument, NULL, OPT_RW },
		{ "ro", required_argument, NULL, OPT_RO },
		{ "mask", required_argument, NULL, OPT_MASK },
		{ "bind-self", no_argument, NULL, OPT_BIND_SELF },
		{ "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
		{ "no-exec-audit", no_argument, NULL, OPT_NO_EXEC_AUDIT },
		{ "otlp-endpoint", required_argument, NULL, OPT_OTLP },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "allow-domain", required_argument, NULL, OPT_ALLOW_DOMAIN },
		{ "deny-domain", required_argument, NULL, OPT_DENY_DOMAIN },
		{ "resolve", required_argument, NULL, OPT_RESOLVE },
		CLI_WALLS_LONGOPTS,
		CLI_RUN_POLICY_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sb_mount mounts[MAX_PATH_RULES];
	struct cordon_err err = { 0 };
	struct sb_session sess;
	struct sv_supervisor sv;
	struct run_start rs;
	struct sb_spec spec;
	struct run_audit ra = { .opts = { .fail_closed = true }, .exec = true };
	static struct run_net rn;
	static struct cli_run_policy rp;
	_cleanup_free_ char *workspace = NULL;
	_cleanup_free_ char **env = NULL;
	const char *ws_arg = ".", *private_home = NULL;
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
			rn.verbose = 1;
			continue;
		case OPT_ALLOW_DOMAIN:
		case OPT_DENY_DOMAIN:
			/* Through the policy's command-line layer: managed locks apply. */
			if (cli_run_policy_add_domain(&rp, optarg, c == OPT_DENY_DOMAIN, &err) <
			    0) {
				cli_print_err(&err);
				goto out;
			}
			continue;
		case OPT_RESOLVE:
			if (run_net_option(&rn, c, optarg) < 0)
				goto out;
			continue;
		case OPT_AUDIT_LOG:
		case OPT_NO_EXEC_AUDIT:
		case OPT_OTLP:
		case OPT_SYSLOG:
			run_audit_option(&ra, c, optarg);
			continue;
		case CLI_OPT_PROFILE:
		case CLI_OPT_CLAUDE_SETTINGS:
		case CLI_OPT_ALLOW_DEGRADED:
		case CLI_OPT_POLICY:
			cli_run_policy_option(&rp, c, optarg);
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
		case OPT_BIND_SELF:
			if (add_self_mount(mounts, &n_mounts, ARRAY_SIZE(mounts)) < 0) {
				status = cli_usage_error("run", "cannot bind cordon itself");
				goto out;
			}
			continue;
		default:
			if (cli_walls_option(c, optarg, &err) > 0)
				continue;
			if (err.msg[0]) {
				cli_print_err(&err);
				goto out;
			}
			status = cli_usage_error("run", "unknown option");
			goto out;
		}
		if (n_mounts == ARRAY_SIZE(mounts)) {
			status =
			    cli_usage_error("run", "more than %zu path rules", ARRAY_SIZE(mounts));
			goto out;
		}
		mounts[n_mounts].kind = kind;
		mounts[n_mounts].origin = (char *)"command line";
		mounts[n_mounts].target = NULL;
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

	if (cli_run_policy_apply(&rp, workspace, mounts, &n_mounts, ARRAY_SIZE(mounts), &err) < 0) {
		cli_print_err(&err);
		goto out;
	}
	/* The effective domain lists, from every layer, are the proxy's rules. */
	for (int deny = 0; deny < 2; deny++) {
		const struct policy_rules *l =
		    &rp.pol.lists[deny ? POLICY_NET_DENIED_DOMAINS : POLICY_NET_ALLOWED_DOMAINS];

		for (size_t i = 0; i < l->n; i++)
			if (run_net_option(&rn, deny ? OPT_DENY_DOMAIN : OPT_ALLOW_DOMAIN,
					   l->v[i].value) < 0)
				goto out;
	}
	private_home = private_home_for(rp.have_home ? rp.home : getenv("HOME"), workspace);
	if (private_home != NULL &&
	    add_profile_binds(&rp.pol, private_home, mounts, &n_mounts, ARRAY_SIZE(mounts)) < 0) {
		cordon_err_set(&err, E2BIG, "more than %zu path rules", ARRAY_SIZE(mounts));
		cli_print_err(&err);
		goto out;
	}
	env =
	    fix_tmpdir(add_proxy_env(cli_run_policy_env(&rp, environ), RUN_PROXY_PORT), workspace);
	memset(&spec, 0, sizeof(spec));
	spec.workspace = workspace;
	spec.argv = argv + optind;
	spec.envp = env;
	spec.mounts = mounts;
	spec.n_mounts = n_mounts;
	spec.hostname = "cordon";
	spec.private_home = private_home;
	spec.proxy_port = RUN_PROXY_PORT;
	{
		const char *t = getenv("CORDON_TEST_HOOKS");
		const char *rw_root = getenv("CORDON_TEST_NO_RO_ROOT");

		if (t != NULL && strcmp(t, "1") == 0 && rw_root != NULL)
			spec.test_flags |= SB_TEST_NO_RO_ROOT;
	}
	cli_walls_apply(&spec, rp.loaded ? &rp.pol : NULL, rp.allow_degraded);
	spec.tty_fds = sv_pty_wanted();

	run_audit_from_policy(&ra, rp.loaded ? &rp.pol : NULL);
	if (run_audit_begin(&ra, &spec, mounts, &n_mounts, ARRAY_SIZE(mounts), &err) < 0) {
		cli_print_err(&err);
		goto out;
	}
	log_debug("workspace %s, %zu path rules", workspace, n_mounts);
	if (sv_init(&sv, &err) < 0) {
		cli_print_err(&err);
		sv_fini(&sv);
		status = run_audit_end(&ra, status, "setup-error");
		goto out;
	}
	rs.ra = &ra;
	rs.rn = &rn;
	rs.sv = &sv;
	spec.while_building = run_while_building;
	spec.while_building_arg = &rs;
	if (sb_spawn(&spec, &sess, &status, &err) < 0) {
		cli_print_err(&err);
		sv_fini(&sv);
		status = run_audit_end(&ra, status, "setup-error");
		goto out;
	}
	if (sv_attach(&sv, &sess, &err) < 0 || run_audit_attach(&ra, &sv, &err) < 0 ||
	    sv_proxy_listen(&sv, &err) < 0 || cli_walls_attach(&sv, &spec, &err) < 0 ||
	    sv_terminal_start(&sv, policy_terminal_allow_clipboard(rp.loaded ? &rp.pol : NULL),
			      &err) < 0 ||
	    sb_release(&sv.sess, &err) < 0) {
		cli_print_err(&err);
		kill(sess.pid, SIGKILL);
		sv_fini(&sv);
		sb_resources_release(&sess);
		status = run_audit_end(&ra, 125, "setup-error");
		goto out;
	}
	status = sv_run(&sv);
	if (sv.start_state < 0)
		cli_print_err(&sv.start_err);
	sv_fini(&sv);
	cli_walls_end(&sess, status);
	status = run_audit_end(&ra, status, sv.start_state < 0 ? "not-started" : "exit");
out:
	run_audit_end(&ra, status, "setup-error");
	/* After the last process inside is gone: quarantine what it planted. */
	cli_run_policy_finish(&rp);
	cli_run_policy_free(&rp);
	for (size_t i = 0; i < n_mounts; i++)
		free(mounts[i].path);
	return status;
}
