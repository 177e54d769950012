/* SPDX-License-Identifier: MIT */
/* cordon: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", cli_run, "run a command in a fresh sandbox" },
	{ "hook", cli_hook, "Claude Code PreToolUse hook (reads JSON on stdin)" },
	{ "shim", cli_shim, "install a wrapper that runs an agent through cordon" },
	{ "claude", cli_agent, "Claude Code in a sandbox with its preset" },
	{ "codex", cli_agent, "Codex CLI in a sandbox with its preset" },
	{ "gemini", cli_agent, "Gemini CLI in a sandbox with its preset" },
	{ "allow", cli_allow, "allow a domain in a running sandbox" },
	{ "ps", cli_ps, "list the running sessions" },
	{ "exec", cli_exec, "run a command in a running named sandbox" },
	{ "ls", cli_ls, "list the named sandboxes" },
	{ "stop", cli_stop, "end a named sandbox's running session" },
	{ "rm", cli_rm, "remove a named sandbox and all it installed" },
	{ "diff", cli_diff, "show a review sandbox's pending workspace changes" },
	{ "apply", cli_apply, "copy a review sandbox's changes into the workspace" },
	{ "discard", cli_discard, "drop a review sandbox's pending workspace changes" },
	{ "proxy", cli_proxy, "the egress proxy alone (containers, VMs, CI)" },
	{ "ca", cli_ca, "the CA of TLS interception: show, path, rotate" },
	{ "check", cli_check, "prove the boundary holds on this machine" },
	{ "log", cli_log, "show or verify the audit log" },
	{ "policy", cli_policy, "show the effective policy, validate settings files" },
	{ "trust", cli_trust, "let a workspace's .cordon/settings.json widen the policy" },
	{ "untrust", cli_untrust, "make a workspace's settings tighten-only again" },
	{ "__probe", cli_probe, NULL },
	{ "__inside", cli_inside, NULL },
	{ "__loopback-relay", cli_loopback_relay, NULL },
	{ "help", cmd_help, "this text" },
	{ "version", cmd_version, "print the version" },
};

static void
print_usage(FILE *out)
{
	fprintf(out, "Usage: cordon COMMAND [OPTIONS] [ARGS...]\n\n"
		     "A sandbox for AI coding agents: the host read-only, the workspace\n"
		     "writable, no network but through cordon, no capabilities.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary != NULL)
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`cordon COMMAND --help` (or `cordon help COMMAND`) for a command's "
		     "options.\n"
		     "Example: cordon run -- bash\n");
}

/* `cordon help [COMMAND]`: the list, or that command's --help. */
static int
cmd_help(int argc, char **argv)
{
	char help[] = "--help";
	char *sub[3] = { NULL, help, NULL };

	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary != NULL && strcmp(argv[1], commands[i].name) == 0) {
			sub[0] = argv[1];
			return commands[i].fn(2, sub);
		}
	fprintf(stderr, "cordon: unknown command '%s'\nHint: `cordon help` lists the commands\n",
		argv[1]);
	return 125;
}

static int
cmd_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: cordon version\n\nPrint cordon's version.\n");
		return 0;
	}
	printf("cordon %s\n", CORDON_VERSION);
	return 0;
}

int
main(int argc, char **argv)
{
	cli_argv0 = argv[0];
	/* No command is a usage error: the list on stderr, 125 as for any. */
	if (argc < 2) {
		print_usage(stderr);
		return 125;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cordon: unknown command '%s'\nHint: `cordon --help` lists the commands\n",
		argv[1]);
	return 125;
}
