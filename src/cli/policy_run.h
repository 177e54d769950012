/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_POLICY_RUN_H
#define CORDON_CLI_POLICY_RUN_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "policy/plan.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"
#include "supervisor/quarantine.h"

/*
 * The policy inside `cordon run` (cli/policy.c): options, the layers, the
 * mounts and environment they give, and the quarantine after the session.
 */
enum {
	CLI_OPT_PROFILE = 1024,
	CLI_OPT_CLAUDE_SETTINGS,
	CLI_OPT_ALLOW_DEGRADED,
	CLI_OPT_POLICY,
	CLI_OPT_ALLOW_LOOPBACK,
	CLI_OPT_AS_AGENT,
};

/*
 * Where this binary is bound read-only inside the sandbox (a path in its
 * private /run), for `cordon check`, the agents' hook command and the
 * loopback relay: the host path may be out of the sandbox user's reach.
 */
#define CLI_SELF_INSIDE "/run/cordon/cordon"

/* --allow-loopback ports per run. */
#define CLI_MAX_LOOPBACK 16

/* getopt_long entries for the options above. */
#define CLI_RUN_POLICY_OPTIONS                                                                     \
	{ "profile", required_argument, NULL, CLI_OPT_PROFILE },                                   \
	    { "claude-settings", no_argument, NULL, CLI_OPT_CLAUDE_SETTINGS },                     \
	    { "allow-degraded", no_argument, NULL, CLI_OPT_ALLOW_DEGRADED },                       \
	    { "allow-loopback", required_argument, NULL, CLI_OPT_ALLOW_LOOPBACK },                 \
	    { "as-agent", no_argument, NULL, CLI_OPT_AS_AGENT },                                   \
	{                                                                                          \
		"policy", required_argument, NULL, CLI_OPT_POLICY                                  \
	}

#define CLI_RUN_POLICY_USAGE                                                                       \
	"      --profile NAMES  presets, comma-separated: claude, codex, gemini (agents),\n"       \
	"                       node, python, rust, go, java (toolchains), strict\n"               \
	"      --as-agent       CMD is the profile's agent even under another name: the\n"         \
	"                       agent's arguments (its hook, its own sandbox off) are added\n"     \
	"      --allow-loopback PORT  let the command reach this machine's 127.0.0.1:PORT\n"       \
	"                       (and [::1]:PORT) through cordon's proxy, at the same\n"            \
	"                       address inside (repeatable)\n"                                     \
	"      --claude-settings  also read the sandbox block of ~/.claude/settings.json\n"        \
	"      --policy FILE    also read FILE (a settings file, command-line layer)\n"            \
	"      --allow-degraded run even when the policy cannot be enforced exactly\n"             \
	"                       (logged); see cordon-policy(5)\n"

struct cli_run_policy {
	const char *profile;
	const char *policy_file;
	bool claude_settings;
	bool allow_degraded;
	bool as_agent;                          /* --as-agent */
	const char *loopback[CLI_MAX_LOOPBACK]; /* --allow-loopback PORT */
	size_t n_loopback;
	bool loopback_overflow;
	char **argv; /* the command as run (cli_run_policy_command), or NULL */
	bool loaded;
	bool have_home;
	char home[PATH_MAX];
	struct cordon_policy pol;
	struct policy_plan plan;
	struct qr_snapshot snap;
	bool snapped;
	/* --allow-domain / --deny-domain, in order: the command-line layer. */
	struct {
		const char *pattern;
		bool deny;
	} domains[512];
	size_t n_domains;
};

/*
 * --allow-domain / --deny-domain: kept for the command-line layer, so that
 * a managed lock on the network lists holds against flags too. 0 or -1
 * (too many; err set).
 */
int cli_run_policy_add_domain(struct cli_run_policy *rp, const char *pattern, bool deny,
			      struct cordon_err *err);

/* Handle one of the CLI_OPT_* options. */
void cli_run_policy_option(struct cli_run_policy *rp, int opt, const char *arg);

/*
 * Build the effective policy for workspace. The command-line path rules
 * already in mounts (origin "command line": --rw, --ro, --mask) become the
 * command-line layer; they are replaced by the planned mounts (paths
 * malloc'd, origins owned by rp). Takes the quarantine snapshot. Prints
 * notes (with -v) and what was degraded. 0, or -1 with err set.
 */
int cli_run_policy_apply(struct cli_run_policy *rp, const char *workspace, struct sb_mount *mounts,
			 size_t *n_mounts, size_t max, struct cordon_err *err);

/*
 * --allow-loopback ports as allowedDomains rules of the command-line layer
 * cli (127.0.0.1:PORT, [::1]:PORT). 0, or -1 with err (not a port).
 */
int cli_run_policy_loopback_rules(struct cli_run_policy *rp, struct cordon_policy *cli,
				  struct cordon_err *err);

/*
 * The command as it runs (rp->argv, owned by rp), from the user's cmd:
 * when an agent profile's program is cmd[0] (or --as-agent), the agent is
 * looked up on the host (PATH without cordon shims, then ~/.local/bin),
 * its program is bound read-only when it lives in the home, and the
 * agent's arguments (its hook, naming cordon at CLI_SELF_INSIDE) go before
 * the user's; with --allow-loopback, cordon's relay at CLI_SELF_INSIDE
 * runs first. Adds the mounts this needs (paths malloc'd). 0, or -1 with
 * err (mounts full).
 */
int cli_run_policy_command(struct cli_run_policy *rp, char *const *cmd, struct sb_mount *mounts,
			   size_t *n_mounts, size_t max, struct cordon_err *err);

/*
 * The agent's program on the host: the first executable called name in
 * PATH that is not a cordon shim, else in ~/.local/bin (native installers)
 * or ~/.claude/local. name with a '/' is taken as is. NULL when not found;
 * else malloc'd.
 */
char *cli_agent_find(const char *name, const char *home);

/* Is path a wrapper written by `cordon shim install`? */
bool cli_is_shim(const char *path);

/*
 * NO_PROXY for inside: cordon's own entries (the sandbox's loopback) and
 * the user's NO_PROXY / no_proxy from env (deduplicated, case-insensitive),
 * as "name=value" for the given variable name. malloc'd; the caller keeps
 * it for the run.
 */
char *cli_no_proxy_assignment(const char *name, char *const *env);

/* The command's environment under the policy (array malloc'd, strings borrowed). */
char **cli_run_policy_env(struct cli_run_policy *rp, char *const *envp);

/*
 * After the sandbox has ended: quarantine protected paths that appeared,
 * print the report on stderr. Returns 0, or -1 when something could not be
 * made safe (printed).
 */
int cli_run_policy_finish(struct cli_run_policy *rp);

/* Release everything. */
void cli_run_policy_free(struct cli_run_policy *rp);

#endif
