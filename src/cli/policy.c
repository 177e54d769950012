/* SPDX-License-Identifier: MIT */
/*
 * `cordon policy show|validate`, `cordon trust|untrust`, and the policy's
 * part of `cordon run` (policy_run.h).
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
#include "supervisor/quarantine.h"

extern char **environ;

static const char policy_usage[] =
    "Usage: cordon policy show [OPTIONS]\n"
    "       cordon policy validate [--managed | --claude] FILE...\n"
    "\n"
    "show      print the effective policy for a workspace, each rule with the\n"
    "          layer (and file:line:col) it came from\n"
    "validate  check settings files; print the first error as FILE:LINE:COL\n"
    "\n"
    "Options of show:\n"
    "  -w, --workspace DIR  the workspace (default: .)\n"
    "      --json           JSON instead of text\n"
    "      --mounts         also print the mounts the policy gives on this machine\n"
    "      --profile NAMES  presets, comma-separated: claude, codex, gemini,\n"
    "                       node, python, rust, go, java, strict\n"
    "      --allow-loopback PORT  as `cordon run` would (repeatable)\n"
    "      --claude-settings  also read the sandbox block of ~/.claude/settings.json\n"
    "      --policy FILE    also read FILE (command-line layer)\n"
    "      --allow-degraded plan even when the policy cannot be enforced exactly\n"
    "\n"
    "Layers, lowest first: built-in, profile, user (~/.config/cordon/settings.json),\n"
    "claude, project (WORKSPACE/.cordon/settings.json: tighten-only unless\n"
    "`cordon trust`ed), command line, managed (/etc/cordon/managed-settings.json).\n"
    "See cordon-policy(5).\n"
    "\n"
    "Exit status: 0 valid; 125 invalid policy or usage error.\n";

static const char trust_usage[] =
    "Usage: cordon trust [DIR]       trust DIR's .cordon/settings.json to widen the policy\n"
    "       cordon untrust [DIR]     tighten-only again\n"
    "       cordon trust --list      list trusted workspaces\n"
    "\n"
    "A workspace's project settings come from its repository, which may be hostile:\n"
    "untrusted, they may only add restrictions. The record of trusted directories\n"
    "lives outside every workspace, in ~/.config/cordon/trusted.json.\n";

static int
home_of(char *buf, size_t len)
{
	char *real;

	if (policy_home(buf, len) < 0)
		return -1;
	real = realpath(buf, NULL);
	if (real != NULL && strlen(real) < len)
		memcpy(buf, real, strlen(real) + 1);
	free(real);
	return 0;
}

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
		{ "help", no_argument, NULL, 'h' },
		CLI_RUN_POLICY_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_run_policy rp;
	struct cordon_err err = { 0 };
	struct policy_load_opts lo;
	struct cordon_policy cli;
	_cleanup_free_ char *ws = NULL, *out = NULL;
	const char *ws_arg = ".";
	bool json = false, mounts = false;
	int c;

	memset(&rp, 0, sizeof(rp));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			ws_arg = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'm':
			mounts = true;
			break;
		case 'h':
			fputs(policy_usage, stdout);
			return 0;
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
	ws = realpath(ws_arg, NULL);
	if (ws == NULL) {
		cordon_err_set(&err, errno, "workspace %s", ws_arg);
		cordon_err_hint(&err, "the workspace must be an existing directory");
		cli_print_err(&err);
		return 125;
	}
	rp.have_home = home_of(rp.home, sizeof(rp.home)) == 0;
	policy_init(&cli);
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
	out = json ? policy_render_json(&rp.pol) : policy_render_text(&rp.pol);
	fputs(out, stdout);
	if (json)
		fputc('\n', stdout);
	if (mounts && !json) {
		struct policy_ctx ctx = { ws, lo.home };

		if (policy_plan_build(&rp.pol, &ctx, rp.allow_degraded, &rp.plan, &err) < 0) {
			policy_free(&rp.pol);
			cli_print_err(&err);
			return 125;
		}
		print_plan(&rp.plan);
		policy_plan_free(&rp.plan);
	}
	policy_free(&rp.pol);
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
	if (optind >= argc)
		return cli_usage_error("policy validate", "no file given");
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

static int
trust_common(int argc, char **argv, bool trust)
{
	struct cordon_err err = { 0 };
	char home[PATH_MAX];
	_cleanup_free_ char *dir = NULL;
	const char *arg = ".";
	struct stat st;
	bool have_home;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(trust_usage, stdout);
		return 0;
	}
	have_home = home_of(home, sizeof(home)) == 0;
	if (trust && argc == 2 && strcmp(argv[1], "--list") == 0) {
		char **dirs;
		size_t n;

		if (policy_trust_list(have_home ? home : NULL, &dirs, &n, &err) < 0) {
			cli_print_err(&err);
			return 125;
		}
		for (size_t i = 0; i < n; i++) {
			printf("%s\n", dirs[i]);
			free(dirs[i]);
		}
		free(dirs);
		return 0;
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
	if (policy_trust_set(have_home ? home : NULL, dir, trust, &err) < 0) {
		cli_print_err(&err);
		return 125;
	}
	if (trust)
		printf("trusted %s: its .cordon/settings.json may now widen the policy\n", dir);
	else
		printf("untrusted %s: its .cordon/settings.json may only tighten the policy\n",
		       dir);
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
cli_run_policy_option(struct cli_run_policy *rp, int opt, const char *arg)
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

static enum sb_mount_kind
sb_kind(enum policy_mount_kind k)
{
	switch (k) {
	case POLICY_MOUNT_RW:
		return SB_MOUNT_RW;
	case POLICY_MOUNT_RO:
		return SB_MOUNT_RO;
	case POLICY_MOUNT_MASK:
	default:
		return SB_MOUNT_MASK;
	}
}

int
cli_run_policy_add_domain(struct cli_run_policy *rp, const char *pattern, bool deny,
			  struct cordon_err *err)
{
	if (rp->n_domains == ARRAY_SIZE(rp->domains)) {
		cordon_err_set(err, E2BIG, "more than %zu --allow-domain/--deny-domain",
			       ARRAY_SIZE(rp->domains));
		return cordon_err_hint(err, "put long lists in a settings file");
	}
	rp->domains[rp->n_domains].pattern = pattern;
	rp->domains[rp->n_domains].deny = deny;
	rp->n_domains++;
	return 0;
}

int
cli_run_policy_apply(struct cli_run_policy *rp, const char *workspace, struct sb_mount *mounts,
		     size_t *n_mounts, size_t max, struct cordon_err *err)
{
	struct cordon_policy cli, git;
	struct policy_load_opts lo;
	struct policy_ctx ctx;
	char **gp;
	size_t k = 0, n_gp = 0;
	int r;

	policy_init(&cli);
	policy_init(&git);
	rp->have_home = home_of(rp->home, sizeof(rp->home)) == 0;
	for (size_t i = 0; i < *n_mounts; i++) {
		struct sb_mount *m = &mounts[i];
		enum policy_list list;

		if (m->origin == NULL || strcmp(m->origin, "command line") != 0 ||
		    m->target != NULL) {
			mounts[k++] = *m;
			continue;
		}
		list = m->kind == SB_MOUNT_RW   ? POLICY_FS_ALLOW_WRITE
		       : m->kind == SB_MOUNT_RO ? POLICY_FS_DENY_WRITE
						: POLICY_FS_DENY_READ;
		r = policy_add_rule(&cli, list, m->path, POLICY_LAYER_CLI, err);
		free(m->path);
		m->path = NULL;
		if (r < 0) {
			for (size_t j = i + 1; j < *n_mounts; j++)
				mounts[k++] = mounts[j];
			*n_mounts = k;
			policy_free(&cli);
			return -1;
		}
	}
	*n_mounts = k;
	if (cli_run_policy_loopback_rules(rp, &cli, err) < 0) {
		policy_free(&cli);
		return -1;
	}
	for (size_t i = 0; i < rp->n_domains; i++)
		if (policy_add_rule(&cli,
				    rp->domains[i].deny ? POLICY_NET_DENIED_DOMAINS
							: POLICY_NET_ALLOWED_DOMAINS,
				    rp->domains[i].pattern, POLICY_LAYER_CLI, err) < 0) {
			policy_free(&cli);
			return -1;
		}
	memset(&lo, 0, sizeof(lo));
	lo.workspace = workspace;
	lo.home = rp->have_home ? rp->home : NULL;
	lo.profile = rp->profile;
	lo.provide = true;
	lo.claude_settings = rp->claude_settings;
	lo.policy_file = rp->policy_file;
	lo.cli = &cli;
	r = policy_load(&rp->pol, &lo, err);
	policy_free(&cli);
	if (r < 0)
		return -1;
	rp->loaded = true;
	/* core.hooksPath and a `gitdir:` file's real git directory: protected too. */
	gp = qr_git_protect_paths(workspace, lo.home, &n_gp);
	for (size_t i = 0; i < n_gp; i++) {
		struct policy_origin o = { POLICY_LAYER_BUILTIN, "git config", 0, 0 };

		policy_rules_add(&git, POLICY_FS_DENY_WRITE, gp[i], o);
		free(gp[i]);
	}
	free(gp);
	r = policy_merge(&rp->pol, &git, POLICY_LAYER_BUILTIN, true, NULL, err);
	policy_free(&git);
	if (r < 0)
		return -1;
	ctx.workspace = workspace;
	ctx.home = lo.home;
	if (policy_plan_build(&rp->pol, &ctx, rp->allow_degraded, &rp->plan, err) < 0)
		return -1;
	for (size_t i = 0; i < rp->pol.n_notes; i++) {
		/* A setting the user made that does not apply: always say so. */
		if (strncmp(rp->pol.notes[i], "ignored", 7) == 0)
			log_warnx("warning: %s", rp->pol.notes[i]);
		else
			log_info("policy: %s", rp->pol.notes[i]);
	}
	for (size_t i = 0; i < rp->plan.n_notes; i++) {
		if (strncmp(rp->plan.notes[i], "DEGRADED", 8) == 0)
			log_warnx("warning: %s", rp->plan.notes[i]);
		else
			log_info("policy: %s", rp->plan.notes[i]);
	}
	if (*n_mounts + rp->plan.n_mounts + 1 > max) {
		cordon_err_set(err, 0,
			       "the policy needs %zu mounts, more than the %zu this build "
			       "supports",
			       rp->plan.n_mounts, max - *n_mounts - 1);
		return cordon_err_hint(err, "use fewer or broader path rules (a directory rather "
					    "than its files)");
	}
	for (size_t i = 0; i < rp->plan.n_mounts; i++) {
		struct sb_mount *m = &mounts[(*n_mounts)++];

		memset(m, 0, sizeof(*m));
		m->kind = sb_kind(rp->plan.mounts[i].kind);
		m->path = xstrdup(rp->plan.mounts[i].path);
		m->origin = rp->plan.mounts[i].origin;
		log_debug("%s %s (%s)",
			  m->kind == SB_MOUNT_RW   ? "rw"
			  : m->kind == SB_MOUNT_RO ? "ro"
						   : "mask",
			  m->path, m->origin);
	}
	if (qr_snapshot_take(&rp->snap, workspace, rp->plan.protect, rp->plan.n_protect,
			     rp->plan.watch, rp->plan.n_watch, err) < 0)
		return -1;
	rp->snapped = true;
	return 0;
}

static bool
injected(const struct cordon_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->n_inject; i++)
		if (strcmp(pol->inject[i].from_env, name) == 0)
			return true;
	return false;
}

/*
 * The sandbox's pid 1 is a clone of this process and keeps a copy of its
 * memory (/proc/1/environ, and /proc/1/mem where pid 1 is dumpable): the
 * scrubbed values must not be in this process at all when it clones. The
 * environment moves to the heap without them (but for the variables the
 * proxy injects, credentials.inject), and the original strings are wiped.
 */
static void
wipe_scrubbed(const struct cordon_policy *pol)
{
	char **old = environ, **copy;
	size_t n = 0, k = 0;

	while (old[n] != NULL)
		n++;
	copy = xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(old[i], '='), name[256];
		size_t len = eq ? (size_t)(eq - old[i]) : 0;
		bool secret = eq == NULL || len >= sizeof(name);

		if (!secret) {
			memcpy(name, old[i], len);
			name[len] = '\0';
			secret = policy_env_denied(pol, name) && !injected(pol, name);
		}
		if (!secret)
			copy[k++] = xstrdup(old[i]);
		else if (eq != NULL)
			explicit_bzero(eq + 1, strlen(eq + 1));
	}
	environ = copy;
}

/*
 * env plus the profile presets' NAME=VALUE settings (IS_SANDBOX=1, the
 * registry read from the user's configuration, ...), replacing any variable
 * of the same name. Returns a new array (env freed); strings borrowed from
 * env and from pol.
 */
static char **
profile_env(char **env, const struct cordon_policy *pol)
{
	size_t n = 0, k = 0;
	char **out;

	if (pol->env_set.n == 0)
		return env;
	while (env[n] != NULL)
		n++;
	out = xcalloc(n + pol->env_set.n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		int replaced = 0;

		for (size_t j = 0; j < pol->env_set.n && !replaced; j++) {
			const char *a = pol->env_set.v[j].value, *eq = strchr(a, '=');

			replaced = eq != NULL && strncmp(env[i], a, (size_t)(eq - a + 1)) == 0;
		}
		if (!replaced)
			out[k++] = env[i];
	}
	for (size_t j = 0; j < pol->env_set.n; j++) {
		const char *a = pol->env_set.v[j].value, *eq = strchr(a, '=');
		int later = 0;

		/* Two presets may set the same variable: the later one wins. */
		for (size_t l = j + 1; l < pol->env_set.n && eq != NULL && !later; l++)
			later = strncmp(pol->env_set.v[l].value, a, (size_t)(eq - a + 1)) == 0;
		if (!later)
			out[k++] = (char *)(uintptr_t)a;
	}
	out[k] = NULL;
	free(env);
	return out;
}

char **
cli_run_policy_env(struct cli_run_policy *rp, char *const *envp)
{
	size_t gone = 0;
	char **env;

	if (rp->loaded && envp == environ) {
		wipe_scrubbed(&rp->pol);
		envp = environ;
	}

	if (!rp->loaded) {
		/* No policy (cannot happen after a successful apply): scrub by the built-ins. */
		struct cordon_policy b;

		policy_init(&b);
		policy_builtin(&b);
		env = policy_env_scrub(&b, envp, &gone);
		policy_free(&b);
		return env;
	}
	env = policy_env_scrub(&rp->pol, envp, &gone);
	log_debug("%zu environment variables scrubbed", gone);
	return profile_env(env, &rp->pol);
}

int
cli_run_policy_finish(struct cli_run_policy *rp)
{
	struct cordon_err err = { 0 };
	char state[PATH_MAX + 64];
	const char *x = getenv("XDG_STATE_HOME");
	int r;

	if (!rp->snapped)
		return 0;
	if (x != NULL && x[0] == '/')
		snprintf(state, sizeof(state), "%s/cordon", x);
	else if (rp->have_home)
		snprintf(state, sizeof(state), "%s/.local/state/cordon", rp->home);
	else
		snprintf(state, sizeof(state), "/var/tmp/cordon-%u", (unsigned)getuid());
	r = qr_run(&rp->snap, state, &err);
	for (size_t i = 0; i < rp->snap.n_report; i++)
		fprintf(stderr, "cordon: %s\n", rp->snap.report[i]);
	if (r < 0) {
		cli_print_err(&err);
		return -1;
	}
	if (r > 0)
		fprintf(stderr,
			"cordon: %d protected item%s made safe after the session; review "
			"them before trusting this workspace again\n",
			r, r == 1 ? "" : "s");
	return 0;
}

void
cli_run_policy_free(struct cli_run_policy *rp)
{
	if (rp->snapped)
		qr_snapshot_free(&rp->snap);
	rp->snapped = false;
	policy_plan_free(&rp->plan);
	policy_free(&rp->pol);
	rp->loaded = false;
	for (size_t i = 0; rp->argv != NULL && rp->argv[i] != NULL; i++)
		free(rp->argv[i]);
	free(rp->argv);
	rp->argv = NULL;
}
