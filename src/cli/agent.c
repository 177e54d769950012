/* SPDX-License-Identifier: MIT */
/*
 * cordon claude|codex|gemini [CORDON OPTIONS] [--] [AGENT ARGS...]
 *
 * A thin parser in front of `cordon run --profile AGENT -- AGENT ...`:
 * everything the preset does (state, hook, API hosts, registries, the key
 * let through) happens in the run's profile path, so `cordon claude` and
 * `cordon run --profile claude -- claude` are the same run.
 *
 * Cordon's options come first, the agent's after them; the first argument
 * that is not one of cordon's starts the agent's, and `--` may mark the
 * boundary. An option only cordon has (--allow-domain, --with, ...) among
 * the agent's arguments, without a `--`, is refused rather than handed to
 * the agent, which would not know it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "presets/presets.h"

static const char agent_usage[] =
    "Usage: cordon AGENT [OPTIONS] [--] [AGENT ARGS...]     AGENT: claude, codex, gemini\n"
    "\n"
    "Run the agent in a cordon sandbox with its preset; the same as\n"
    "`cordon run --profile AGENT -- AGENT [AGENT ARGS...]`: its model API hosts\n"
    "allowed (and the host of its base-URL variable, e.g. ANTHROPIC_BASE_URL),\n"
    "its state writable (e.g. ~/.claude, created when missing) while its own\n"
    "settings and hook files stay read-only, IS_SANDBOX=1, its own sandbox off\n"
    "(cordon is the boundary), its API key variable passed through while every\n"
    "other secret stays scrubbed. For Claude Code, `cordon hook claude` is added\n"
    "as a PreToolUse hook on its command line.\n"
    "\n"
    "cordon's options come first, then the agent's; the first argument that is\n"
    "not one of the options below starts the agent's, and `--` may mark the\n"
    "boundary (`cordon claude -- --help` shows the agent's own help).\n"
    "\n"
    "Options:\n"
    "      --with PRESET    add a toolchain preset: node, python, rust, go, java\n"
    "                       (caches writable, registries read from your own\n"
    "                       configuration allowed) (repeatable)\n"
    "      --bin PATH       the agent's binary (default: first in PATH that is\n"
    "                       not a cordon shim, then ~/.local/bin)\n"
    "      --allow-domain PAT, --deny-domain PAT, --rw PATH, --ro PATH,\n"
    "      --allow-loopback PORT   as for `cordon run` (repeatable)\n"
    "      --dry-run        print the `cordon run` command and exit\n"
    "  -v, --verbose        say what the preset resolved to and what was set up\n"
    "  -h, --help           this text\n"
    "\n"
    "Examples:\n"
    "  cordon claude\n"
    "  cordon claude --allow-domain api.github.com -p 'fix the tests'\n"
    "  ANTHROPIC_BASE_URL=http://127.0.0.1:4000 cordon claude --allow-loopback 4000\n"
    "  cordon codex --with node exec 'fix the tests'\n";

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

enum agent_opt {
	AO_WITH,
	AO_BIN,
	AO_RW,
	AO_RO,
	AO_ALLOW,
	AO_DENY,
	AO_LOOPBACK,
	AO_DRY,
	AO_VERBOSE,
	AO_HELP,
};

static const struct {
	const char *name; /* long form, without "--" */
	char short_name;
	bool arg;
	bool cordon_only; /* an agent would not have it: refused after its args */
	enum agent_opt id;
	const char *run_opt; /* passed to `cordon run` as is, or NULL */
} agent_opts[] = {
	{ "with", 0, true, true, AO_WITH, NULL },
	{ "bin", 0, true, true, AO_BIN, NULL },
	{ "rw", 0, true, true, AO_RW, "--rw" },
	{ "ro", 0, true, true, AO_RO, "--ro" },
	{ "allow-domain", 0, true, true, AO_ALLOW, "--allow-domain" },
	{ "deny-domain", 0, true, true, AO_DENY, "--deny-domain" },
	{ "allow-loopback", 0, true, true, AO_LOOPBACK, "--allow-loopback" },
	{ "dry-run", 0, false, true, AO_DRY, NULL },
	{ "verbose", 'v', false, false, AO_VERBOSE, "--verbose" },
	{ "help", 'h', false, false, AO_HELP, NULL },
};

/*
 * Which of cordon's options arg is: its index, or -1. *value points at the
 * "=VALUE" part of "--name=VALUE", else NULL.
 */
static int
which_opt(const char *arg, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(agent_opts); i++) {
		size_t n = strlen(agent_opts[i].name);

		if (agent_opts[i].short_name && arg[0] == '-' &&
		    arg[1] == agent_opts[i].short_name && arg[2] == '\0')
			return (int)i;
		if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, agent_opts[i].name, n) != 0)
			continue;
		if (arg[2 + n] == '\0')
			return (int)i;
		if (arg[2 + n] == '=' && agent_opts[i].arg) {
			*value = arg + 3 + n;
			return (int)i;
		}
	}
	return -1;
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

int
cli_agent(int argc, char **argv)
{
	const char *name = argv[0];
	const struct cordon_preset *agent = preset_lookup(name);
	struct argvec run = { 0 }, pass = { 0 };
	char profile[256];
	const char *bin = NULL;
	size_t plen;
	int i = 1, status = 125;
	bool dry = false, dashdash = false;

	if (agent == NULL || agent->kind != PRESET_AGENT)
		return cli_usage_error(NULL, "no agent preset called '%s'", name);
	plen = (size_t)snprintf(profile, sizeof(profile), "%s", agent->name);
	for (; i < argc; i++) {
		const char *value;
		int o;

		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			i++;
			break;
		}
		o = which_opt(argv[i], &value);
		if (o < 0)
			break; /* the agent's arguments start here */
		if (agent_opts[o].arg && value == NULL) {
			if (i + 1 >= argc) {
				cli_usage_error(name, "--%s needs a value", agent_opts[o].name);
				goto out;
			}
			value = argv[++i];
		}
		switch (agent_opts[o].id) {
		case AO_WITH: {
			const struct cordon_preset *t = preset_lookup(value);

			if (t == NULL || t->kind != PRESET_TOOLCHAIN) {
				cli_usage_error(name,
						"no toolchain preset called '%s' (node, python, "
						"rust, go, java)",
						value);
				goto out;
			}
			plen += (size_t)snprintf(profile + plen, sizeof(profile) - plen, ",%s",
						 t->name);
			if (plen >= sizeof(profile)) {
				cli_usage_error(name, "too many --with");
				goto out;
			}
			break;
		}
		case AO_BIN:
			bin = value;
			break;
		case AO_DRY:
			dry = true;
			break;
		case AO_HELP:
			fputs(agent_usage, stdout);
			status = 0;
			goto out;
		case AO_RW:
		case AO_RO:
		case AO_ALLOW:
		case AO_DENY:
		case AO_LOOPBACK:
		case AO_VERBOSE:
		default:
			push(&pass, agent_opts[o].run_opt);
			if (value != NULL)
				push(&pass, value);
			break;
		}
	}
	/* Without `--`, an option only cordon has is a misplaced one of ours. */
	for (int k = i; !dashdash && k < argc; k++) {
		const char *value;
		int o = which_opt(argv[k], &value);

		if (strcmp(argv[k], "--") == 0)
			break;
		if (o >= 0 && agent_opts[o].cordon_only) {
			cli_usage_error(name,
					"%s comes after the agent's arguments: cordon's options "
					"go first (cordon %s %s ... %s ...); to hand it to the "
					"agent instead, put `--` before the agent's arguments",
					argv[k], name, argv[k], argv[i]);
			goto out;
		}
	}

	push(&run, "run");
	push(&run, "--profile");
	push(&run, profile);
	for (size_t k = 0; k < pass.n; k++)
		push(&run, pass.v[k]);
	if (bin != NULL)
		push(&run, "--as-agent");
	push(&run, "--");
	push(&run, bin != NULL ? bin : agent->program);
	for (; i < argc; i++)
		push(&run, argv[i]);
	if (dry) {
		fputs("cordon", stdout);
		for (size_t k = 0; k < run.n; k++) {
			putchar(' ');
			print_quoted(run.v[k]);
		}
		printf("\n# the profile's rules: cordon policy show --profile %s\n", profile);
		status = 0;
		goto out;
	}
	fflush(stdout);
	status = cli_run((int)run.n, run.v);
out:
	argvec_free(&run);
	argvec_free(&pass);
	return status;
}
