/* SPDX-License-Identifier: MIT */
/* `cordon run`: argv into a session (session/session.h), then session_run. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/policy_run.h"
#include "cli/walls.h"
#include "common/log.h"
#include "session/session.h"

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
    "  -w, --workspace DIR[:ro]  read-write workspace and working directory\n"
    "                       (default: .); again for more workspaces, each at its\n"
    "                       own path with the same protections (at most 16);\n"
    "                       :ro read-only. A directory whose name ends in :ro or\n"
    "                       :rw takes an explicit mode after it (a:ro:rw)\n"
    "      --name NAME      a named sandbox, made on first use and kept: what the\n"
    "                       command installs in /usr/local and /opt (and changes\n"
    "                       elsewhere in /usr, /etc, /var where it may) stays\n"
    "                       for its next run, until `cordon rm NAME`. State in\n"
    "                       $XDG_DATA_HOME/cordon/sandboxes/NAME (default\n"
    "                       ~/.local/share/...); one run at a time per name\n"
    "      --review         with --name: the workspace too is copy-on-write; the\n"
    "                       command's changes wait in the sandbox for `cordon\n"
    "                       diff`, `cordon apply` or `cordon discard`\n"
    "      --branch B       with --name: work in a git worktree of the workspace's\n"
    "                       repository on branch B (made from HEAD when new), kept\n"
    "                       in $XDG_DATA_HOME/cordon/worktrees/NAME: the work\n"
    "                       arrives as commits on B; the main checkout stays\n"
    "                       read-only, hooks and config protected as always.\n"
    "                       `cordon rm NAME` removes the worktree, not B\n"
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
    "                       192.0.2.0/24, on ports 80 and 443; PAT:PORT for that\n"
    "                       port only (example.com:22), PAT:* for every port\n"
    "                       (repeatable); nothing else leaves the sandbox.\n"
    "                       127.0.0.1:PORT (or localhost:PORT): a service on this\n"
    "                       machine's loopback, as --allow-loopback PORT\n"
    "      --deny-domain PAT  refuse PAT even if allowed, on every port unless\n"
    "                       :PORT (repeatable)\n"
    "      --resolve HOST:ADDR  resolve HOST to ADDR in the proxy. Test-only:\n"
    "                       honoured only with CORDON_TEST_HOOKS=1\n" CLI_WALLS_USAGE
	SESSION_GUARD_USAGE
    "  -v, --verbose        say what is being set up, the session id, explain proxy\n"
    "                       denials\n"
    "  -q, --quiet          no notes on stderr (which secret variables were kept\n"
    "                       out, which hosts were refused); warnings and errors\n"
    "                       still appear\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: CMD's own; 128+N if it died of signal N; 125 cordon error\n"
    "(nothing ran); 126 CMD cannot be executed; 127 CMD not found; 122 CMD ran\n"
    "and was stopped: an audit record could not be written (audit.failClosed).\n";

enum { OPT_RW = 256, OPT_RO, OPT_MASK, OPT_BIND_SELF };

enum { OPT_AUDIT_LOG = 512, OPT_NO_EXEC_AUDIT, OPT_OTLP, OPT_SYSLOG };

enum { OPT_ALLOW_DOMAIN = 768, OPT_DENY_DOMAIN, OPT_RESOLVE, OPT_NAME, OPT_REVIEW, OPT_BRANCH };

static void
print_report(const struct cordon_err *err)
{
	cli_print_err(err);
}

/* One option into s. 0, 1 for --help (printed), or -1 (err set or printed). */
static int
run_option(struct cordon_session *s, int c, const char *arg, struct cordon_err *err)
{
	switch (c) {
	case 'w':
		return session_add_workspace(s, arg, err);
	case 'v':
		/* -vv: each line also names its function (for bug reports) */
		log_setlevel(log_verbosity >= LOG_LEVEL_DEBUG ? LOG_LEVEL_TRACE : LOG_LEVEL_DEBUG);
		s->verbose = true;
		return 0;
	case 'q':
		s->policy.quiet = true;
		return 0;
	case OPT_ALLOW_DOMAIN:
		/*
		 * A service on the host's loopback: clients that honour NO_PROXY
		 * (which names 127.0.0.1) connect to the sandbox's own loopback,
		 * so it takes the relay of --allow-loopback, not a proxy rule.
		 */
		if (cli_loopback_port(arg) != NULL) {
			cli_run_policy_option(&s->policy, CLI_OPT_ALLOW_LOOPBACK,
					      cli_loopback_port(arg));
			return 0;
		}
		return session_add_domain(s, arg, false, err);
	case OPT_DENY_DOMAIN:
		/* Through the policy's command-line layer: managed locks apply. */
		return session_add_domain(s, arg, c == OPT_DENY_DOMAIN, err);
	case OPT_RESOLVE:
		if (!cli_test_hooks()) {
			cli_usage_error("run", "--resolve is a test-only option");
			return -1;
		}
		return session_add_resolve(s, arg, err);
	case OPT_NAME:
		if (named_valid(arg, err) < 0)
			return -1;
		s->named.name = arg;
		return 0;
	case OPT_REVIEW:
		s->named.review = true;
		return 0;
	case OPT_BRANCH:
		s->named.branch_arg = arg;
		return 0;
	case OPT_AUDIT_LOG:
		s->audit.opts.path = arg;
		return 0;
	case OPT_NO_EXEC_AUDIT:
		s->audit.exec = false;
		return 0;
	case OPT_OTLP:
		s->audit.opts.otlp_endpoint = arg;
		return 0;
	case OPT_SYSLOG:
		s->audit.opts.syslog = true;
		return 0;
	case CLI_OPT_PROFILE:
	case CLI_OPT_CLAUDE_SETTINGS:
	case CLI_OPT_ALLOW_DEGRADED:
	case CLI_OPT_POLICY:
	case CLI_OPT_ALLOW_LOOPBACK:
	case CLI_OPT_AS_AGENT:
		cli_run_policy_option(&s->policy, c, arg);
		return 0;
	case 'h':
		fputs(run_usage, stdout);
		return 1;
	case OPT_RW:
		return session_add_path(s, SB_MOUNT_RW, arg, err);
	case OPT_RO:
		return session_add_path(s, SB_MOUNT_RO, arg, err);
	case OPT_MASK:
		return session_add_path(s, SB_MOUNT_MASK, arg, err);
	case OPT_BIND_SELF:
		return session_bind_self(s, err);
	default:
		if (session_guard_option(&s->guard, c, arg, err) > 0 ||
		    cli_walls_option(&s->walls, c, arg, err) > 0)
			return 0;
		if (!err->msg[0])
			cli_usage_error("run", "unknown option");
		return -1;
	}
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
		{ "name", required_argument, NULL, OPT_NAME },
		{ "review", no_argument, NULL, OPT_REVIEW },
		{ "branch", required_argument, NULL, OPT_BRANCH },
		CLI_WALLS_LONGOPTS,
		CLI_RUN_POLICY_OPTIONS,
		SESSION_GUARD_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_session *s = session_new();
	struct cordon_err err = { 0 };
	int c, r, status = 125;

	s->report = print_report;
	optind = 1;
	opterr = 0; /* our own messages, with the option's name and a hint */
	while ((c = getopt_long(argc, argv, "+:w:vqh", opts, NULL)) != -1) {
		if (c == ':' || c == '?') {
			const char *word = argv[optind - 1];

			if (c == ':')
				cli_usage_error("run", "%s needs a value, as in %s VALUE", word,
						word);
			else
				cli_usage_error("run", "unknown option '%s'", word);
			goto out;
		}
		r = run_option(s, c, optarg, &err);
		if (r != 0) {
			if (r > 0)
				status = 0;
			else if (err.msg[0])
				cli_print_err(&err);
			goto out;
		}
	}
	if (optind >= argc) {
		status = cli_usage_error("run", "no command given");
		goto out;
	}
	s->argv = argv + optind;
	s->test_no_ro_root = true;
	status = session_run(s, &err);
	if (err.msg[0])
		cli_print_err(&err);
out:
	session_free(s);
	return status;
}
