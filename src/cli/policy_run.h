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
};

/* getopt_long entries for the options above. */
#define CLI_RUN_POLICY_OPTIONS                                                                     \
	{ "profile", required_argument, NULL, CLI_OPT_PROFILE },                                   \
	    { "claude-settings", no_argument, NULL, CLI_OPT_CLAUDE_SETTINGS },                     \
	    { "allow-degraded", no_argument, NULL, CLI_OPT_ALLOW_DEGRADED },                       \
	{                                                                                          \
		"policy", required_argument, NULL, CLI_OPT_POLICY                                  \
	}

#define CLI_RUN_POLICY_USAGE                                                                       \
	"      --profile NAMES  presets, comma-separated: claude, codex, gemini (agents),\n"       \
	"                       node, python, rust, go, java (toolchains), strict\n"               \
	"      --claude-settings  also read the sandbox block of ~/.claude/settings.json\n"        \
	"      --policy FILE    also read FILE (a settings file, command-line layer)\n"            \
	"      --allow-degraded run even when the policy cannot be enforced exactly\n"             \
	"                       (logged); see cordon-policy(5)\n"

struct cli_run_policy {
	const char *profile;
	const char *policy_file;
	bool claude_settings;
	bool allow_degraded;
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

/* The command's environment under the policy (array malloc'd, strings borrowed). */
char **cli_run_policy_env(struct cli_run_policy *rp, char *const *envp);

/*
 * After the sandbox has ended: quarantine protected paths that appeared,
 * print the report on stderr. Returns 0, or -1 when something could not be
 * made safe (printed).
 */
int cli_run_policy_finish(struct cli_run_policy *rp);

/*
 * The state directory the quarantine keeps what it moves aside in
 * (quarantine/ below it): $XDG_STATE_HOME/cordon, ~/.local/state/cordon.
 */
void cli_run_policy_state_dir(const struct cli_run_policy *rp, char *out, size_t len);

/* Release everything. */
void cli_run_policy_free(struct cli_run_policy *rp);

#endif
