/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_POLICY_RUN_H
#define CORDON_CLI_POLICY_RUN_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "session/session.h"

/*
 * The policy options of `cordon run` and `cordon policy show` (cli/policy.c);
 * what they do is the session's (session/policy.c).
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

/* Handle one of the CLI_OPT_* options. */
void cli_run_policy_option(struct session_policy *rp, int opt, const char *arg);

#endif
