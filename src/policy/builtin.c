/* SPDX-License-Identifier: MIT */
/*
 * The built-in layer (always on, overridable only explicitly) and the
 * named profiles. Pure. Package-registry hosts never appear here: presets
 * that need them read the user's own tool configuration at run time.
 */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "policy/internal.h"
#include "presets/presets.h"

/* Credential locations: unreadable inside. `~` is $HOME (see plan.c). */
static const char *const deny_read[] = {
	"~/.ssh",
	"~/.aws",
	"~/.config/gcloud",
	"~/.azure",
	"~/.kube",
	"~/.docker/config.json",
	"~/.netrc",
	"~/.git-credentials",
	"~/.npmrc",
	"~/.pypirc",
	"~/.gnupg",
	"~/.config/gh",
	"~/.config/hub",
	"~/.config/github-copilot",
	"~/.cargo/credentials",
	"~/.cargo/credentials.toml",
	"~/.vault-token",
	"~/.terraform.d/credentials.tfrc.json",
	"~/.config/containers/auth.json",
	"~/.password-store",
	"~/.local/share/keyrings",
	"~/.local/share/kwalletd",
	"~/.config/1Password",
	"~/.config/Bitwarden",
	"~/.config/KeePassXC",
	"~/.mozilla",
	"~/.thunderbird",
	"~/.config/google-chrome",
	"~/.config/chromium",
	"~/.config/BraveSoftware",
	"~/.config/microsoft-edge",
	"~/snap/firefox",
	/* the key of cordon's own interception CA (also masked where it really is) */
	"~/.config/cordon/ca",
	/* dotenv files at any depth (sub/.env, config/secrets.env); one walk */
	"**/{.env*,*.env}",
	"/etc/shadow",
	"/etc/shadow-",
	"/etc/gshadow",
	"/etc/gshadow-",
	"/etc/ssh/ssh_host_*_key",
	"/etc/ssl/private",
};

/*
 * Files that run later outside the sandbox, or that decide what the next
 * run may do: not writable, even inside the workspace, even when they do
 * not exist yet (those are quarantined at the end of the session).
 */
static const char *const deny_write[] = {
	"~/.bashrc",
	"~/.bash_profile",
	"~/.bash_login",
	"~/.bash_logout",
	"~/.profile",
	"~/.zshrc",
	"~/.zshenv",
	"~/.zprofile",
	"~/.zlogin",
	"~/.config/fish",
	"~/.gitconfig",
	"~/.config/git",
	"~/.config/autostart",
	"~/.config/systemd/user",
	"~/.config/cordon",
	"~/.local/state/cordon",
	"~/.claude/settings.json",
	".git/hooks",
	".git/config",
	".gitmodules",
	".vscode",
	".idea",
	".claude",
	".gemini",
	".codex",
	".mcp.json",
	".envrc",
	".cordon",
	/*
	 * Directories a login adds to PATH when they exist (Debian's
	 * ~/.profile): a program planted there shadows a real one outside.
	 */
	"~/bin",
	"~/.local/bin",
	/*
	 * Tool configuration in the workspace that makes a tool the user runs
	 * outside start a program the user did not write: npm's script-shell
	 * and node-options, yarn's yarnPath and plugins, pnpm's hooks, cargo's
	 * runners and wrappers, Maven's extensions and JVM options, the Gradle
	 * wrapper (its jar and distribution), bun's preload, and the start-up files that
	 * debuggers and REPLs read from the current directory.
	 */
	".npmrc",
	".yarnrc",
	".yarnrc.yml",
	".yarn/releases",
	".yarn/plugins",
	".pnpmfile.cjs",
	".cargo/config",
	".cargo/config.toml",
	".mvn",
	"gradle/wrapper",
	"bunfig.toml",
	".pdbrc",
	".irbrc",
	".gdbinit",
	".lldbinit",
	".exrc",
	".nvimrc",
	".nvim.lua",
	/*
	 * The same files in any folder below the workspace: npm reads the
	 * .npmrc of the nearest folder with a package.json, cargo every
	 * .cargo/config.toml from the current folder up, Maven the .mvn of the
	 * project's base folder, pdb and irb the current folder's start-up
	 * file; an editor opened on a folder, or an agent started in it, reads
	 * that folder's settings (tasks, hooks, MCP servers). A workspace
	 * holding several projects is read there. One walk;
	 * `**` does not enter node_modules (a package's own files), and the
	 * workspace's own are the rules above. Quarantined at the end when
	 * they appear (see supervisor/quarantine.h).
	 */
	"**/*/{.npmrc,.yarnrc,.yarnrc.yml,.pnpmfile.cjs,.cargo,.mvn,bunfig.toml,.envrc,"
	".pdbrc,.irbrc,.gdbinit,.lldbinit,.exrc,.nvimrc,.nvim.lua,"
	".vscode,.idea,.claude,.gemini,.codex,.mcp.json,"
	/* the programs they name: yarn's release and plugins, the Gradle wrapper */
	".yarn/releases,.yarn/plugins,gradle/wrapper}",
};

static const char *const env_deny[] = {
	"*_TOKEN",
	"*_SECRET*",
	"*_KEY",
	"*PASSWORD*",
	"*PASSWD*",
	"*_CREDENTIALS",
	"AWS_*",
	"SSH_AUTH_SOCK",
	"GPG_AGENT_INFO",
	"GITHUB_TOKEN",
	"ANTHROPIC_API_KEY",
	/* npm's `_auth` and `_authToken` as variables; 1Password CLI sessions; a
	 * registry login as JSON (DOCKER_AUTH_CONFIG: base64 no value rule sees) */
	"*_AUTH",
	"*_AUTHTOKEN",
	"*_AUTH_CONFIG",
	"OP_SESSION_*",
};

void
policy_builtin(struct cordon_policy *pol)
{
	struct policy_origin o = { POLICY_LAYER_BUILTIN, NULL, 0, 0 };

	const struct cordon_preset *presets;
	size_t n_presets;

	for (size_t i = 0; i < ARRAY_SIZE(deny_read); i++)
		policy_rules_add(pol, POLICY_FS_DENY_READ, deny_read[i], o);
	/* The agents' own login tokens: readable only under that agent's profile (load.c). */
	presets = preset_all(&n_presets);
	for (size_t i = 0; i < n_presets; i++)
		for (const char *const *t = presets[i].secrets; t != NULL && *t != NULL; t++)
			policy_rules_add(pol, POLICY_FS_DENY_READ, *t, o);
	for (size_t i = 0; i < ARRAY_SIZE(deny_write); i++)
		policy_rules_add(pol, POLICY_FS_DENY_WRITE, deny_write[i], o);
	for (size_t i = 0; i < ARRAY_SIZE(env_deny); i++)
		policy_rules_add(pol, POLICY_CRED_ENV_DENY, env_deny[i], o);
}

struct profile {
	const char *name;
	const char *const *allow_write;
	const char *const *domains;
	const char *const *env_allow;
	const char *const *env_deny;
};

/*
 * Policy-only profiles. Agent and toolchain profiles (claude, node, ...) are
 * the presets of src/presets, applied by policy_load: one definition for
 * `cordon run --profile claude` and `cordon claude`.
 */
static const char *const strict_env_allow[] = { "PATH",  "HOME", "USER",      "LOGNAME",
						"SHELL", "TERM", "COLORTERM", "LANG",
						"LC_*",  "TZ",   "TMPDIR",    NULL };
static const char *const strict_env_deny[] = { "*", NULL };
static const char *const none[] = { NULL };

static const struct profile profiles[] = {
	{ "default", none, none, none, none },
	{ "strict", none, none, strict_env_allow, strict_env_deny },
};

static const char *const profile_names[] = { "default", "strict", NULL };

const char *const *
policy_profile_names(void)
{
	return profile_names;
}

int
policy_profile(struct cordon_policy *pol, const char *name, struct cordon_err *err)
{
	struct policy_origin o = { POLICY_LAYER_PROFILE, NULL, 0, 0 };

	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++) {
		const struct profile *p = &profiles[i];
		char label[80];

		if (strcmp(p->name, name) != 0)
			continue;
		snprintf(label, sizeof(label), "%s", p->name);
		o.file = label;
		for (const char *const *s = p->allow_write; *s; s++)
			policy_rules_add(pol, POLICY_FS_ALLOW_WRITE, *s, o);
		for (const char *const *s = p->domains; *s; s++)
			policy_rules_add(pol, POLICY_NET_ALLOWED_DOMAINS, *s, o);
		for (const char *const *s = p->env_allow; *s; s++)
			policy_rules_add(pol, POLICY_CRED_ENV_ALLOW, *s, o);
		for (const char *const *s = p->env_deny; *s; s++)
			policy_rules_add(pol, POLICY_CRED_ENV_DENY, *s, o);
		if (strcmp(p->name, "strict") == 0) {
			struct policy_value *v = &pol->scalars[POLICY_FAIL_IF_UNAVAILABLE];

			v->set = true;
			v->b = true;
			v->origin = o;
			v->origin.file = policy_strdup(pol, label);
		}
		return 0;
	}
	cordon_err_set(err, 0, "no profile named \"%s\"", name);
	return cordon_err_hint(err, "policy profiles: default, strict (agent and toolchain "
				    "presets are applied by policy_load)");
}
