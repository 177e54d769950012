/* SPDX-License-Identifier: MIT */
/*
 * `cordon policy show|validate`, `cordon trust|untrust`, and the policy's
 * options of `cordon run` (policy_run.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/policy_run.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "policy/internal.h"
#include "policy/load.h"
#include "policy/plan.h"
#include "policy/policy.h"

extern char **environ;

static const char policy_usage[] =
    "Usage: cordon policy show [OPTIONS]\n"
    "       cordon policy validate [--managed | --claude] [FILE...]\n"
    "\n"
    "show      print the effective policy for a workspace, each rule with the\n"
    "          layer (and file:line:col) it came from\n"
    "validate  check settings files; print the first error as FILE:LINE:COL\n"
    "\n"
    "Options of show:\n"
    "  -w, --workspace DIR[:ro]  the workspace (default: .); again for more\n"
    "                       workspaces, as `cordon run` takes them\n"
    "      --json           JSON instead of text\n"
    "      --mounts         also print the mounts the policy gives on this machine\n"
    "      --profile NAMES  presets, comma-separated: claude, codex, gemini,\n"
    "                       node, python, rust, go, java, strict\n"
    "      --allow-loopback PORT  as `cordon run` would (repeatable)\n"
    "      --claude-settings  also read the sandbox block of ~/.claude/settings.json\n"
    "      --policy FILE    also read FILE (command-line layer)\n"
    "      --allow-degraded plan even when the policy cannot be enforced exactly\n"
    "      --allow-domain PAT, --deny-domain PAT  as `cordon run` would (repeatable)\n"
    "\n"
    "validate with no FILE checks the settings `cordon run` would read here\n"
    "(user, claude, project, managed), as run does.\n"
    "\n"
    "Layers, lowest first: built-in, profile, user (~/.config/cordon/settings.json),\n"
    "claude, project (WORKSPACE/.cordon/settings.json: tighten-only unless\n"
    "`cordon trust`ed), command line, managed (/etc/cordon/managed-settings.json).\n"
    "See cordon-policy(5).\n"
    "\n"
    "Exit status: 0 valid; 125 invalid policy or usage error.\n";

static const char trust_usage[] =
    "Usage: cordon trust [DIR]         trust DIR's .cordon/settings.json, as it is now,\n"
    "                                  to widen the policy\n"
    "       cordon trust --show [DIR]  what that file allows, and whether it is trusted\n"
    "       cordon untrust [DIR]       tighten-only again\n"
    "       cordon trust --list        list trusted workspaces\n"
    "\n"
    "A workspace's project settings come from its repository, which may be hostile:\n"
    "untrusted, they may only add restrictions. Trust names the file's content (its\n"
    "SHA-256): once the file changes (a `git pull`), the workspace is untrusted again\n"
    "until `cordon trust` is run once more. The record lives outside every\n"
    "workspace, in ~/.config/cordon/trusted.json.\n";

static void
print_plan(const struct policy_plan *plan)
{
	static const char *const kinds[] = { "read-write", "read-only", "masked" };

	printf("Mounts on this machine (%zu; %zu directory entries read for globs):\n",
	       plan->n_mounts, plan->walked);
	for (size_t i = 0; i < plan->n_mounts; i++)
		printf("  %-10s %s  (%s)\n", kinds[plan->mounts[i].kind], plan->mounts[i].path,
		       plan->mounts[i].origin);
	for (size_t i = 0; i < plan->n_watch; i++)
		printf("  %-10s %s  (absent now; quarantined at the end if created)\n", "watched",
		       plan->watch[i]);
	for (size_t i = 0; i < plan->n_notes; i++)
		printf("  note: %s\n", plan->notes[i]);
}

static int
policy_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "mounts", no_argument, NULL, 'm' },
		{ "validate-only", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "allow-domain", required_argument, NULL, 'A' },
		{ "deny-domain", required_argument, NULL, 'D' },
		CLI_RUN_POLICY_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct session_policy rp;
	struct cordon_err err = { 0 };
	struct policy_load_opts lo;
	struct cordon_policy cli;
	_cleanup_free_ char *ws = NULL, *out = NULL;
	const char *ws_arg = ".", *more[SESSION_MAX_WORKSPACES];
	size_t n_more = 0;
	bool json = false, mounts = false, validate = false, ws_given = false;
	int c;

	memset(&rp, 0, sizeof(rp));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			/* As `cordon run` takes them: the first is the primary. */
			if (ws_given && n_more == ARRAY_SIZE(more))
				return cli_usage_error("policy show", "more than %d workspaces",
						       SESSION_MAX_WORKSPACES);
			if (ws_given)
				more[n_more++] = optarg;
			else
				ws_arg = optarg;
			ws_given = true;
			break;
		case 'j':
			json = true;
			break;
		case 'm':
			mounts = true;
			break;
		case 'V':
			validate = true;
			break;
		case 'h':
			fputs(policy_usage, stdout);
			return 0;
		case 'A':
		case 'D':
			/* As `cordon run` takes them: a loopback port is a relay. */
			if (c == 'A' && cli_loopback_port(optarg) != NULL) {
				cli_run_policy_option(&rp, CLI_OPT_ALLOW_LOOPBACK,
						      cli_loopback_port(optarg));
				break;
			}
			if (rp.n_domains == ARRAY_SIZE(rp.domains))
				return cli_usage_error("policy show", "too many --allow-domain");
			rp.domains[rp.n_domains].pattern = optarg;
			rp.domains[rp.n_domains++].deny = c == 'D';
			break;
		case CLI_OPT_PROFILE:
		case CLI_OPT_CLAUDE_SETTINGS:
		case CLI_OPT_ALLOW_DEGRADED:
		case CLI_OPT_POLICY:
		case CLI_OPT_ALLOW_LOOPBACK:
		case CLI_OPT_AS_AGENT:
			cli_run_policy_option(&rp, c, optarg);
			break;
		default:
			return cli_usage_error("policy show", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("policy show", "unexpected argument '%s'", argv[optind]);
	if (session_workspaces_open(&rp, ws_arg, more, n_more, &ws, &err) < 0) {
		session_policy_free(&rp);
		cli_print_err(&err);
		return 125;
	}
	rp.have_home = session_home(rp.home, sizeof(rp.home)) == 0;
	policy_init(&cli);
	if (session_policy_workspace_rules(&rp, ws, &cli, &err) < 0) {
		policy_free(&cli);
		session_policy_free(&rp);
		cli_print_err(&err);
		return 125;
	}
	for (size_t i = 0; i < rp.n_domains; i++)
		if (policy_add_rule(&cli,
				    rp.domains[i].deny ? POLICY_NET_DENIED_DOMAINS
						       : POLICY_NET_ALLOWED_DOMAINS,
				    rp.domains[i].pattern, POLICY_LAYER_CLI, &err) < 0) {
			policy_free(&cli);
			cli_print_err(&err);
			return 125;
		}
	if (cli_run_policy_loopback_rules(&rp, &cli, &err) < 0) {
		policy_free(&cli);
		cli_print_err(&err);
		return 125;
	}
	memset(&lo, 0, sizeof(lo));
	lo.workspace = ws;
	lo.home = rp.have_home ? rp.home : NULL;
	lo.profile = rp.profile;
	lo.claude_settings = rp.claude_settings;
	lo.policy_file = rp.policy_file;
	lo.cli = &cli;
	if (policy_load(&rp.pol, &lo, &err) < 0) {
		policy_free(&cli);
		cli_print_err(&err);
		return 125;
	}
	policy_free(&cli);
	if (validate) {
		printf("%s: ok (the settings `cordon run` reads here)\n", ws);
		session_policy_free(&rp);
		return 0;
	}
	out = json ? policy_render_json(&rp.pol) : policy_render_text(&rp.pol);
	if (!json && (rp.n_extra > 0 || rp.primary_ro)) {
		printf("Workspaces:\n  %s  (%s, working directory)\n", ws,
		       rp.primary_ro ? "read-only" : "read-write");
		for (size_t i = 0; i < rp.n_extra; i++)
			printf("  %s  (%s)\n", rp.extra[i].path,
			       rp.extra[i].ro ? "read-only" : "read-write");
	}
	fputs(out, stdout);
	if (json)
		fputc('\n', stdout);
	if (mounts && !json) {
		const char *ctx_more[SESSION_MAX_WORKSPACES];
		struct policy_ctx ctx;

		session_policy_ctx(&rp, ws, ctx_more, &ctx);

		/* The git directories' control files, as `cordon run` adds them. */
		if (session_policy_add_git(&rp, ws, &err) < 0) {
			session_policy_free(&rp);
			cli_print_err(&err);
			return 125;
		}
		if (policy_plan_build(&rp.pol, &ctx, rp.allow_degraded, &rp.plan, &err) < 0) {
			session_policy_free(&rp);
			cli_print_err(&err);
			return 125;
		}
		print_plan(&rp.plan);
		printf("Git directories in the workspace: %zu (%zu directory entries read)\n",
		       rp.git.n_dirs, rp.git.walked);
	}
	session_policy_free(&rp);
	return 0;
}

static int
policy_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "managed", no_argument, NULL, 'M' },
		{ "claude", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned flags = 0;
	enum policy_layer layer = POLICY_LAYER_USER;
	int c, status = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			flags |= POLICY_PARSE_MANAGED;
			layer = POLICY_LAYER_MANAGED;
			break;
		case 'C':
			flags |= POLICY_PARSE_CLAUDE;
			layer = POLICY_LAYER_CLAUDE;
			break;
		case 'h':
			fputs(policy_usage, stdout);
			return 0;
		default:
			return cli_usage_error("policy validate", "unknown option");
		}
	}
	if (optind >= argc) {
		/* The layers `cordon run` discovers here, merged as it merges them. */
		char show[] = "show", quiet[] = "--validate-only";
		char *av[] = { show, quiet, NULL };

		if (flags != 0)
			return cli_usage_error("policy validate", "--managed and --claude need "
								  "a FILE");
		return policy_show(2, av);
	}
	for (; optind < argc; optind++) {
		struct cordon_err err = { 0 };
		struct cordon_policy pol;
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r;

		policy_init(&pol);
		r = policy_read_file(argv[optind], &text, &len, &err);
		if (r == 1) {
			cordon_err_set(&err, ENOENT, "read settings %s", argv[optind]);
			cordon_err_hint(&err, "give the path of a settings file");
		}
		if (r == 0)
			r = policy_parse(&pol, text, len, argv[optind], layer, flags, &err);
		if (r == 0)
			r = policy_refuse_unenforced(&pol, &err);
		if (r != 0) {
			cli_print_err(&err);
			status = 125;
		} else {
			printf("%s: ok\n", argv[optind]);
		}
		policy_free(&pol);
	}
	return status;
}

int
cli_policy(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(policy_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 125 : 0;
	}
	if (strcmp(argv[1], "show") == 0)
		return policy_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "validate") == 0)
		return policy_validate(argc - 1, argv + 1);
	return cli_usage_error("policy", "unknown subcommand '%s' (show, validate)", argv[1]);
}

/* What DIR's settings file allows beyond the other layers, on stdout. */
static void
print_widenings(const char *widen)
{
	if (widen[0] == '\0')
		printf("it only tightens the policy: nothing beyond your other settings\n");
	else
		printf("beyond your other settings it allows:\n%s", widen);
}

/* cordon trust --show: the state and the widenings, trusting nothing. */
static int
trust_show(const char *home, const char *dir, const char *hex, const char *widen)
{
	struct cordon_err err = { 0 };
	enum policy_trust state;

	if (policy_trust_check(home, dir, hex, &state, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (widen == NULL) {
		printf("%s has no .cordon/settings.json\n", dir);
		return 0;
	}
	printf("%s/.cordon/settings.json (sha256 %.16s): %s\n", dir, hex,
	       state == POLICY_TRUST_YES       ? "trusted"
	       : state == POLICY_TRUST_CHANGED ? "changed since it was trusted: not trusted"
					       : "not trusted");
	print_widenings(widen);
	return 0;
}

static int
trust_common(int argc, char **argv, bool trust)
{
	struct cordon_err err = { 0 };
	char home[PATH_MAX], hex[65];
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *widen = NULL;
	const char *arg = ".", *h;
	struct stat st;
	bool show = false;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(trust_usage, stdout);
		return 0;
	}
	h = session_home(home, sizeof(home)) == 0 ? home : NULL;
	if (trust && argc == 2 && strcmp(argv[1], "--list") == 0) {
		struct policy_trust_entry *v;
		size_t n;

		if (policy_trust_list(h, &v, &n, &err) < 0) {
			cli_print_err(&err);
			return 125;
		}
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].dir);
		policy_trust_free(v, n);
		return 0;
	}
	if (trust && argc > 1 && strcmp(argv[1], "--show") == 0) {
		show = true;
		argc--;
		argv++;
	}
	if (argc > 2)
		return cli_usage_error(trust ? "trust" : "untrust", "one directory at most");
	if (argc == 2)
		arg = argv[1];
	if (arg[0] == '-')
		return cli_usage_error(trust ? "trust" : "untrust", "unknown option '%s'", arg);
	dir = realpath(arg, NULL);
	if (dir == NULL || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cordon_err_set(&err, dir == NULL ? errno : ENOTDIR, "%s", arg);
		cordon_err_hint(&err, "name an existing workspace directory");
		cli_print_err(&err);
		return 125;
	}
	if (trust && policy_project_review(h, dir, hex, &widen, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (show)
		return trust_show(h, dir, hex, widen);
	if (policy_trust_set(h, dir, trust ? hex : NULL, trust, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (!trust) {
		printf("untrusted %s: its .cordon/settings.json may only tighten the policy\n",
		       dir);
		return 0;
	}
	if (widen == NULL) {
		printf("trusted %s: it has no .cordon/settings.json; one that appears later is "
		       "not trusted until `cordon trust` is run again\n",
		       dir);
		return 0;
	}
	printf("trusted %s: its .cordon/settings.json (sha256 %.16s) may now widen the policy\n",
	       dir, hex);
	print_widenings(widen);
	printf("when the file changes, it is not trusted until `cordon trust` is run again\n");
	return 0;
}

int
cli_trust(int argc, char **argv)
{
	return trust_common(argc, argv, true);
}

int
cli_untrust(int argc, char **argv)
{
	return trust_common(argc, argv, false);
}

/* ---- cordon run ---- */

void
cli_run_policy_option(struct session_policy *rp, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_PROFILE:
		rp->profile = arg;
		break;
	case CLI_OPT_CLAUDE_SETTINGS:
		rp->claude_settings = true;
		break;
	case CLI_OPT_ALLOW_DEGRADED:
		rp->allow_degraded = true;
		break;
	case CLI_OPT_POLICY:
		rp->policy_twice = rp->policy_file != NULL;
		rp->policy_file = arg;
		break;
	case CLI_OPT_AS_AGENT:
		rp->as_agent = true;
		break;
	case CLI_OPT_ALLOW_LOOPBACK:
		if (rp->n_loopback == CLI_MAX_LOOPBACK)
			rp->loopback_overflow = true;
		else
			rp->loopback[rp->n_loopback++] = arg;
		break;
	default:
		break;
	}
}
