/* SPDX-License-Identifier: MIT */
/*
 * The preset table. Agent API hosts are the agents' own endpoints; no
 * package-registry host appears here (see resolve.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "presets/presets.h"

#define L(...)                                                                                     \
	(const char *const[])                                                                      \
	{                                                                                          \
		__VA_ARGS__, NULL                                                                  \
	}
#define NONE ((const char *const[]){ NULL })

/*
 * The agents' API keys and the headers their APIs take them in (what the
 * CLIs send: Claude Code an API key in x-api-key, a bearer token and an
 * OAuth token in Authorization; Codex a bearer token; Gemini
 * x-goog-api-key). A key set on the host is injected by the proxy for the
 * model API host only (resolve.c).
 */
static const struct preset_key claude_keys[] = {
	{ "ANTHROPIC_API_KEY", "x-api-key", NULL },
	{ "ANTHROPIC_AUTH_TOKEN", "Authorization", "Bearer " },
	{ "CLAUDE_CODE_OAUTH_TOKEN", "Authorization", "Bearer " },
	{ NULL, NULL, NULL },
};
static const struct preset_key codex_keys[] = {
	{ "OPENAI_API_KEY", "Authorization", "Bearer " },
	{ "CODEX_API_KEY", "Authorization", "Bearer " },
	{ NULL, NULL, NULL },
};
static const struct preset_key gemini_keys[] = {
	{ "GEMINI_API_KEY", "x-goog-api-key", NULL },
	{ "GOOGLE_API_KEY", "x-goog-api-key", NULL },
	{ NULL, NULL, NULL },
};

/*
 * What the model API host may receive: the model endpoints and what the
 * CLI reads there (its account, the models), not the APIs that store what
 * is sent (files, batches, shared transcripts, remote sessions), so that
 * an allowed API host is not an upload channel. Paths are below the API's
 * base URL. The other hosts of a preset (login, console) are not narrowed.
 */
#define READ L("GET", "HEAD")
/*
 * Claude Code: the messages API, its account under /api/oauth (a login
 * inside posts there), and reads of its account, settings and the models
 * (what it asks for varies by version: every GET under /api/).
 */
static const struct preset_api_rule claude_rules[] = {
	{ L("POST"), L("/v1/messages", "/v1/messages/count_tokens", "/api/oauth/*") },
	{ READ, L("/api/*", "/v1/models", "/v1/models/*", "/mcp-registry/*") },
	{ NULL, NULL },
};
/* Codex may open its responses stream as a WebSocket: a GET with Upgrade. */
static const struct preset_api_rule codex_rules[] = {
	{ L("POST"), L("/responses", "/responses/compact", "/chat/completions") },
	{ READ, L("/responses", "/models", "/models/*") },
	{ NULL, NULL },
};
static const struct preset_api_rule gemini_rules[] = {
	{ L("POST"), L("/v1beta/models/*", "/v1/models/*") },
	{ READ, L("/v1beta/models", "/v1beta/models/*", "/v1/models", "/v1/models/*") },
	{ NULL, NULL },
};

/*
 * The agents' default ceilings: enough for the agent, its tools and a
 * parallel build; a fork bomb meets the pids ceiling, a hog the memory
 * ceiling, a runaway writer the disk ceiling. Memory is half the RAM at
 * most (the host keeps the other half); disk, which without a memory
 * cgroup lives in RAM as tmpfs, a quarter. Flags and policy override them.
 */
#define AGENT_LIMITS                                                                               \
	.memory_cap = 8ull << 30, .memory_ram_pct = 50, .disk_cap = 8ull << 30,                    \
	.disk_ram_pct = 25, .pids_max = 1024

/*
 * Agents get TMPDIR=/tmp: the sandbox's /tmp is private and writable,
 * while a TMPDIR inherited from the host points at a read-only directory.
 *
 * Claude Code: settings passed on its command line turn its own bubblewrap
 * sandbox off (it cannot nest inside cordon's, and cordon is the boundary)
 * and add cordon's PreToolUse hook. Flag settings are a layer the agent
 * cannot edit, unlike ~/.claude/settings.json (which stays read-only too).
 */
static const struct cordon_preset presets[] = {
	{
	    .name = "claude",
	    .kind = PRESET_AGENT,
	    .summary = "Claude Code",
	    .program = "claude",
	    .install = "npm install -g @anthropic-ai/claude-code",
	    .domains =
		L("api.anthropic.com", "claude.ai", "console.anthropic.com", "platform.claude.com"),
	    .base_url_env =
		L("ANTHROPIC_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL"),
	    .api_url = "https://api.anthropic.com",
	    .api_base_env = "ANTHROPIC_BASE_URL",
	    .keys = claude_keys,
	    .api_rules = claude_rules,
	    .state = L("~/.claude", "~/.claude.json"),
	    .writable = NONE,
	    /*
	     * Plugins bring hooks and MCP servers: installed outside only.
	     * ~/.claude/local is the CLI itself in its "local" installation
	     * (the user's alias runs ~/.claude/local/claude).
	     */
	    .readonly =
		L("~/.claude/settings.json", "~/.claude/settings.local.json", "~/.claude/hooks",
		  "~/.claude/commands", "~/.claude/agents", "~/.claude/plugins", "~/.claude/local",
		  "./.claude/settings.json", "./.claude/settings.local.json", "./.mcp.json"),
	    .env_set = L("IS_SANDBOX=1", "CORDON_PROFILE=claude", "TMPDIR=/tmp",
			 "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"),
	    .env_pass = NONE,
	    .agent_args =
		L("--settings", "{\"sandbox\":{\"enabled\":false},\"hooks\":{\"PreToolUse\":[{"
				"\"matcher\":\"Bash\",\"hooks\":[{\"type\":\"command\","
				"\"command\":\"@CORDON@ hook claude\"}]}]}}"),
	    .launch = L("~/.claude.json"),
	    .secrets = L("~/.claude/.credentials.json"),
	    AGENT_LIMITS,
	},
	{
	    .name = "codex",
	    .kind = PRESET_AGENT,
	    .summary = "OpenAI Codex CLI",
	    .program = "codex",
	    .install = "npm install -g @openai/codex",
	    .domains = L("api.openai.com", "auth.openai.com", "chatgpt.com"),
	    .base_url_env = L("OPENAI_BASE_URL"),
	    .api_url = "https://api.openai.com/v1",
	    .api_base_env = "OPENAI_BASE_URL",
	    .keys = codex_keys,
	    .api_rules = codex_rules,
	    .state = L("~/.codex"),
	    .writable = NONE,
	    .readonly = L("~/.codex/config.toml", "~/.codex/rules", "./.codex/config.toml"),
	    .env_set = L("IS_SANDBOX=1", "CORDON_PROFILE=codex", "TMPDIR=/tmp"),
	    .env_pass = NONE,
	    /* Codex's own sandbox (Landlock/seccomp) off: cordon is the boundary. */
	    .agent_args = L("-c", "sandbox_mode=\"danger-full-access\""),
	    .secrets = L("~/.codex/auth.json"),
	    AGENT_LIMITS,
	},
	{
	    .name = "gemini",
	    .kind = PRESET_AGENT,
	    .summary = "Gemini CLI",
	    .program = "gemini",
	    .install = "npm install -g @google/gemini-cli",
	    .domains = L("generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com",
			 "oauth2.googleapis.com", "accounts.google.com"),
	    .base_url_env = L("GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL"),
	    .api_url = "https://generativelanguage.googleapis.com",
	    .api_base_env = "GOOGLE_GEMINI_BASE_URL",
	    .keys = gemini_keys,
	    .api_rules = gemini_rules,
	    .state = L("~/.gemini"),
	    .writable = NONE,
	    /* extensions bring MCP servers and commands: installed outside only */
	    .readonly =
		L("~/.gemini/settings.json", "~/.gemini/extensions", "./.gemini/settings.json"),
	    /* GEMINI_SANDBOX=false: its docker/seatbelt sandbox stays off. */
	    .env_set =
		L("IS_SANDBOX=1", "CORDON_PROFILE=gemini", "TMPDIR=/tmp", "GEMINI_SANDBOX=false"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .secrets = L("~/.gemini/oauth_creds.json", "~/.gemini/google_accounts.json",
			 "~/.gemini/mcp-oauth-tokens.json"),
	    AGENT_LIMITS,
	},
	{
	    .name = "node",
	    .kind = PRESET_TOOLCHAIN,
	    .summary = "Node.js: npm, yarn, pnpm",
	    .domains = NONE,
	    .caches = L("~/.npm"),
	    .writable = L("~/.cache/yarn", "~/.yarn/berry", "~/.cache/pnpm", "~/.local/share/pnpm",
			  "~/.cache/node-gyp"),
	    .readonly = NONE,
	    .env_set = L("CORDON_PROFILE=node", "npm_config_update_notifier=false"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .registries = PRESET_REG_NPM,
	},
	{
	    .name = "python",
	    .kind = PRESET_TOOLCHAIN,
	    .summary = "Python: pip, venv, uv",
	    .domains = NONE,
	    .caches = L("~/.cache/pip"),
	    .writable = L("~/.cache/uv", "~/.local/share/uv"),
	    .readonly = NONE,
	    .env_set = L("CORDON_PROFILE=python", "PIP_DISABLE_PIP_VERSION_CHECK=1"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .registries = PRESET_REG_PIP,
	},
	{
	    .name = "rust",
	    .kind = PRESET_TOOLCHAIN,
	    .summary = "Rust: cargo",
	    .domains = NONE,
	    /* Not ~/.cargo/bin: a binary planted there runs later, outside. */
	    .caches = L("~/.cargo/registry", "~/.cargo/git"),
	    .writable = NONE,
	    /*
	     * The toolchain itself, read-only: bound into the private home a
	     * root invoker gets, where it would otherwise be out of sight. Not
	     * the legacy ~/.cargo/config: a missing read-only path is created
	     * first, and a name without a dot as a directory, which cargo then
	     * fails to read; ~/.cargo is not writable inside, so nothing can
	     * be planted there anyway.
	     */
	    .readonly = L("~/.cargo/config.toml", "~/.cargo/bin", "~/.rustup"),
	    .env_set = L("CORDON_PROFILE=rust", "CARGO_NET_GIT_FETCH_WITH_CLI=true"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .registries = PRESET_REG_CARGO,
	},
	{
	    .name = "go",
	    .kind = PRESET_TOOLCHAIN,
	    .summary = "Go modules",
	    .domains = NONE,
	    /* The module and build caches: where this user's go keeps them (resolve.c). */
	    .writable = NONE,
	    .readonly = NONE,
	    .env_set = L("CORDON_PROFILE=go"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .registries = PRESET_REG_GO,
	},
	{
	    .name = "java",
	    .kind = PRESET_TOOLCHAIN,
	    .summary = "Java: gradle, maven",
	    .domains = NONE,
	    .caches = L("~/.m2/repository", "~/.gradle/caches"),
	    .writable = L("~/.gradle/wrapper"),
	    .readonly = L("~/.gradle/init.d", "~/.gradle/init.gradle", "~/.m2/settings.xml"),
	    .env_set = L("CORDON_PROFILE=java"),
	    .env_pass = NONE,
	    .agent_args = NONE,
	    .registries = PRESET_REG_MAVEN,
	},
};

const struct cordon_preset *
preset_lookup(const char *name)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
		{ "npm", "node" },    { "nodejs", "node" }, { "pip", "python" },
		{ "uv", "python" },   { "cargo", "rust" },  { "golang", "go" },
		{ "gradle", "java" }, { "maven", "java" },  { "claude-code", "claude" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; i < ARRAY_SIZE(presets); i++)
		if (strcmp(name, presets[i].name) == 0)
			return &presets[i];
	return NULL;
}

void
preset_launch_files(const char *home, struct preset_strv *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(presets); i++)
		for (const char *const *l = presets[i].launch; l != NULL && *l != NULL; l++) {
			char path[PRESET_PATH_MAX];

			if (strncmp(*l, "~/", 2) == 0 &&
			    snprintf(path, sizeof(path), "%s/%s", home, *l + 2) < (int)sizeof(path))
				preset_strv_add(out, path);
		}
}

const struct cordon_preset *
preset_all(size_t *n)
{
	*n = ARRAY_SIZE(presets);
	return presets;
}
