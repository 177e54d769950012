/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_POLICY_RUN_H
#define CORDON_CLI_POLICY_RUN_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "session/session.h"

/*
 * The policy options of `cordon run` and `cordon policy show` (cli/policy.c);
 * what they do is the session's (session/policy.c), with the agent and
 * loopback plumbing of cli/profile.c.
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

/* Handle one of the CLI_OPT_* options. */
void cli_run_policy_option(struct session_policy *rp, int opt, const char *arg);

/*
 * --allow-loopback ports as allowedDomains rules of the command-line layer
 * cli (127.0.0.1:PORT, [::1]:PORT). 0, or -1 with err (not a port).
 */
int cli_run_policy_loopback_rules(struct session_policy *rp, struct cordon_policy *cli,
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
int cli_run_policy_command(struct session_policy *rp, char *const *cmd, struct sb_mount *mounts,
			   size_t *n_mounts, size_t max, struct cordon_err *err);

/*
 * The agent's program on the host: the first executable called name in
 * PATH that is not a cordon shim, else in ~/.local/bin (native installers)
 * or ~/.claude/local. name with a '/' is taken as is. NULL when not found;
 * else malloc'd.
 */
char *cli_agent_find(const char *name, const char *home);

/*
 * Is path a wrapper written by `cordon shim install`? follow: through a
 * symlink (a PATH lookup); false: a symlink is not a shim (install and
 * uninstall never write through one).
 */
bool cli_is_shim(const char *path, bool follow);

/*
 * NO_PROXY for inside: cordon's own entries (the sandbox's loopback) and
 * the user's NO_PROXY / no_proxy from env (deduplicated, case-insensitive),
 * as "name=value" for the given variable name. malloc'd; the caller keeps
 * it for the run.
 */
char *cli_no_proxy_assignment(const char *name, char *const *env);

#endif
