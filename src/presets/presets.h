/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PRESETS_PRESETS_H
#define CORDON_PRESETS_PRESETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * Presets: what an agent (claude, codex, gemini) or a toolchain (node,
 * python, rust, go, java) needs to work inside cordon, as plain lists of
 * strings the policy layer and `cordon run` can consume:
 *
 *   domains     hosts to allow through the egress proxy
 *   state       the agent's own state (~/.claude, ~/.claude.json): made
 *               writable, created on the host when missing; a state path
 *               that cannot be provided stops the run
 *   caches      the toolchain's main package cache (~/.npm, ~/.cache/pip):
 *               made writable, created when missing
 *   writable    other tools' caches (yarn, pnpm, uv): made writable when
 *               they exist, otherwise left out and said so in the notes
 *               (each is a bind mount at every start: not made for tools
 *               the user does not use)
 *   readonly    absolute paths to bind read-only even inside a writable
 *               one (the agent's own settings and hooks: an agent must not
 *               rewrite its own policy); may not exist yet
 *   launch      agents: state files the agent must write that also hold
 *               keys that start programs (~/.claude.json's mcpServers):
 *               those keys are put back at the end of the session
 *               (supervisor/agentcfg.h)
 *   secrets     agents: the agent's own login token files, unreadable
 *               inside under every other profile (policy/builtin.c) and
 *               readable under the agent's own
 *   env_set     "NAME=VALUE" to set inside (IS_SANDBOX=1, the registry
 *               npm would use, ...)
 *   env_pass    names of secret variables to pass through the scrub
 *               (everything else stays scrubbed)
 *   inject      agents: the API key variables set on the host, each as a
 *               credentials.inject entry for the model API host (and the
 *               host of the API's base-URL variable): the key stays on the
 *               host, the sandbox sees a placeholder. A key that cannot be
 *               injected (the base URL is not https, or names loopback) is
 *               passed through instead (env_pass), and a note says so
 *   rules       agents: network.rules for the model API host (and the
 *               base-URL host, under the URL's path): the methods and paths
 *               the agent uses, so that an allowed API host is not an
 *               upload channel
 *   notes       one line each: where a registry host came from, what could
 *               not be resolved or provided, and what the user can do
 *   limits      agents: default ceilings on processes, memory and disk, so
 *               that a fork bomb or a hog the agent starts is stopped while
 *               the agent's session goes on; a fraction of the machine's
 *               RAM, capped (memory_max, disk_max, pids_max of the result)
 *
 * Agent API hosts are fixed (they are the product's own endpoints); the
 * host of the agent's base-URL variable (ANTHROPIC_BASE_URL, ...) is added,
 * unless it names a loopback, private or otherwise refused address.
 *
 * Package-registry hosts are never written here: they are read from the
 * user's own configuration files (npm, pip/uv, cargo, go, maven/gradle) and
 * environment, and where those are silent, from the files the tool itself
 * ships (npm's config definitions, pip's index module, Go's go.env). No
 * tool is ever run. The workspace's own configuration (a project .npmrc,
 * uv.toml, pom.xml) never adds a host: a repository may be hostile, so it
 * can only be stricter, like the project policy layer.
 */

enum preset_kind {
	PRESET_AGENT,
	PRESET_TOOLCHAIN,
};

/* Sources of registry hosts (bit set). */
enum {
	PRESET_REG_NPM = 1u << 0,
	PRESET_REG_PIP = 1u << 1,
	PRESET_REG_CARGO = 1u << 2,
	PRESET_REG_GO = 1u << 3,
	PRESET_REG_MAVEN = 1u << 4,
};

/* agents: an API key variable and the header the model API takes it in. */
struct preset_key {
	const char *env;    /* "ANTHROPIC_API_KEY"; NULL ends a list */
	const char *header; /* "x-api-key" */
	const char *prefix; /* "Bearer ", or NULL */
};

/* agents: methods and paths (below the API's base URL) its host may receive. */
struct preset_api_rule {
	const char *const *methods; /* NULL ends a list */
	const char *const *paths;   /* relative to the base URL's path */
};

/*
 * One preset. Paths start with "~/" (the home directory) or "./" (the
 * workspace); "@CORDON@" in agent_args is replaced by the cordon binary as
 * seen inside the sandbox. All lists are NULL-terminated; static data.
 */
struct cordon_preset {
	const char *name;
	enum preset_kind kind;
	const char *summary;
	const char *program; /* agents: the binary to run ("claude"); else NULL */
	const char *install; /* agents: the command that installs it, for hints */
	const char *const *domains;
	const char *const *base_url_env; /* agents: variables naming the API's URL */
	const char *api_url; /* agents: the model API's base URL ("https://api.openai.com/v1") */
	const char *api_base_env;      /* agents: the variable that replaces api_url, or NULL */
	const struct preset_key *keys; /* agents: key variables, injected */
	const struct preset_api_rule *api_rules; /* agents: what the API host may receive */
	const char *const *state;
	const char *const *caches;
	const char *const *writable;
	const char *const *readonly;
	const char *const *env_set;
	const char *const *env_pass;
	const char *const *agent_args; /* before the user's, when running the agent */
	const char *const *launch;     /* agents: state files with launch keys, or NULL */
	const char *const *secrets;    /* agents: own token files, or NULL */
	unsigned registries;           /* PRESET_REG_* */
	/* Default ceilings (agents; 0: none): min(cap, pct % of the RAM), and pids. */
	uint64_t memory_cap, disk_cap;
	unsigned memory_ram_pct, disk_ram_pct;
	uint32_t pids_max;
};

/* A growable list of owned strings, NULL-terminated. */
struct preset_strv {
	char **v;
	size_t n;
};

/* A credentials.inject entry of a preset (header, from_env, prefix: static). */
struct preset_inject {
	char *host; /* "api.anthropic.com", "gw.example:8443" */
	const char *header;
	const char *from_env;
	const char *prefix; /* or NULL */
};

/* A network.rules entry of a preset (methods: static). */
struct preset_rule {
	char *host;
	const char *const *methods;
	struct preset_strv paths;
};

struct preset_resolved {
	struct preset_strv domains;
	struct preset_strv state;
	struct preset_strv caches;
	struct preset_strv writable;
	struct preset_strv readonly;
	struct preset_strv protect; /* agents' readonly paths in the home: created */
	struct preset_strv env_set;
	struct preset_strv env_pass;
	struct preset_strv notes;
	struct preset_inject *inject;
	size_t n_inject;
	struct preset_rule *rules;
	size_t n_rules;
	/* Default ceilings of the agents resolved (the largest; 0: none). */
	uint64_t memory_max, disk_max;
	uint32_t pids_max;
};

/* How to resolve: where home and the workspace are. */
struct preset_env {
	const char *home;      /* required, absolute */
	const char *workspace; /* absolute; NULL: "./" paths are skipped */
	uint64_t ram;          /* bytes of RAM for the default ceilings; 0: this machine's */
};

/* The preset called name (or an alias: npm, pip, cargo, ...), or NULL. */
const struct cordon_preset *preset_lookup(const char *name);

/* All presets, in display order; *n gets the count. */
const struct cordon_preset *preset_all(size_t *n);

/*
 * Resolve p for env into out, appending (so several presets can be merged;
 * duplicates are dropped). out must be zeroed before the first call and
 * freed with preset_resolved_free. Reads the user's tool configuration
 * files, the files the tools ship and the environment; runs nothing and
 * writes nothing. Returns 0, or -1 with err set (home missing or
 * relative). Not safe after fork.
 */
int preset_resolve(const struct cordon_preset *p, const struct preset_env *env,
		   struct preset_resolved *out, struct cordon_err *err);

/*
 * Make the state and cache paths of r exist on the host (provide.c):
 * state paths and caches are created when missing (directories, or "{}"
 * for a .json file; missing parents too, in the home), other tools' caches
 * (writable) are only bound when they exist, and the protected files in
 * the home (protect) are created so that they can be bound read-only and
 * not planted. Created paths are owned by the owner of the directory they
 * are made in. A cache that cannot be provided is removed from its list
 * and a note says why. With dry_run nothing is created: the notes say what
 * would be. Returns 0, or -1 with err set when a state path cannot be
 * provided (the run must stop). Not safe after fork.
 */
int preset_provide(struct preset_resolved *r, const char *home, const char *workspace, bool dry_run,
		   struct cordon_err *err);

/*
 * Every agent's state files with launch keys (the presets' launch lists,
 * whatever the profile: a user's own allowWrite may make them writable
 * too), "~/" expanded with home, appended to out. Pure.
 */
void preset_launch_files(const char *home, struct preset_strv *out);

/* Free everything in r and zero it. */
void preset_resolved_free(struct preset_resolved *r);

/* Append a copy of s to v unless already there. */
void preset_strv_add(struct preset_strv *v, const char *s);

/* Remove entry i of v (freeing it), keeping the order. */
void preset_strv_del(struct preset_strv *v, size_t i);

/* Free the strings of v and zero it. */
void preset_strv_free(struct preset_strv *v);

/* ---- pure configuration parsers (parse.c: no syscalls, bounded, fuzzed) ---- */

#define PRESET_URL_MAX  2048
#define PRESET_HOST_MAX 256
#define PRESET_PATH_MAX 4096

/*
 * Host of an http(s) URL, lower-cased, without user info, port, path or a
 * trailing dot; IPv6 literals without brackets. "sparse+https://" and
 * "git+https://" prefixes are understood. *port gets the explicit port or
 * 0 (port may be NULL). Returns 0 or -1 (not an http(s) URL, empty or
 * invalid host). out has size bytes.
 */
int preset_url_host(const char *url, size_t len, char *out, size_t size, uint16_t *port);

/* One `key = value` of an INI-style file; pointers into the scanned buffer. */
struct preset_kv {
	const char *section; /* without the brackets; "" before any header */
	size_t section_len;
	const char *key;
	size_t key_len;
	const char *value; /* trimmed; with continuation lines, spans them */
	size_t value_len;
};

typedef void (*preset_kv_fn)(const struct preset_kv *kv, void *arg);

enum {
	PRESET_INI_CONTINUATION = 1u << 0, /* indented lines continue the value (pip) */
	PRESET_INI_COLON = 1u << 1,        /* "key: value" too (pip, configparser) */
};

/*
 * Scan an INI-style file (.npmrc, pip.conf, Go's env file): `[section]`
 * headers, `key = value` lines, comments starting with '#' or ';', CRLF
 * line ends. Calls fn once per key, in file order. Lines longer than the
 * buffer are fine; nothing is copied. Pure.
 */
void preset_ini_scan(const char *buf, size_t len, unsigned flags, preset_kv_fn fn, void *arg);

/* What an .npmrc says about registries and where npm's other files are. */
struct preset_npmrc {
	char registry[PRESET_URL_MAX];      /* "registry=" (last wins), or "" */
	struct preset_strv scoped;          /* "@scope:registry=URL", one per scope, last wins */
	char prefix[PRESET_PATH_MAX];       /* "prefix=" or "" */
	char globalconfig[PRESET_PATH_MAX]; /* "globalconfig=" or "" */
};

/*
 * Parse an .npmrc into c (zeroed by the caller; c->scoped freed with
 * preset_strv_free). Values may be quoted; values that use ${VAR}
 * expansion are ignored. Pure.
 */
void preset_parse_npmrc(const char *buf, size_t len, struct preset_npmrc *c);

/*
 * npm's own default registry from its config definitions (the file npm
 * ships that defines `registry`): the URL in the `default:` of that
 * definition, into out. 0, or -1 when the file does not say. Pure.
 */
int preset_parse_npm_default(const char *buf, size_t len, char *out, size_t size);

/* pip.conf / pip.ini: hosts of the indexes it names. */
struct preset_pip_conf {
	struct preset_strv index; /* index-url: replaces pip's default index */
	struct preset_strv extra; /* extra-index-url, find-links: in addition */
};

/*
 * Parse a pip configuration file (any section; multi-line values; '=' or
 * ':') into c (zeroed by the caller). Only http(s) URLs count. Pure.
 */
void preset_parse_pipconf(const char *buf, size_t len, struct preset_pip_conf *c);

/*
 * pip's built-in index from the module pip ships (pip/_internal/models/
 * index.py): the host of `PyPI = PackageIndex("URL", file_storage_domain=
 * "HOST")` and that file host, appended to out. 0, or -1 when not found.
 */
int preset_parse_pip_default(const char *buf, size_t len, struct preset_strv *out);

/* cargo config.toml: registry hosts and whether crates.io is replaced. */
struct preset_cargo_conf {
	struct preset_strv hosts; /* [source.*] registry, [registries.*] index, [registry] index */
	bool crates_io_replaced;  /* [source.crates-io] replace-with = ... */
};

/*
 * Parse a cargo configuration file (the TOML subset cargo configs use:
 * headers, `key = "string"`, dotted keys, one level of inline tables).
 * Pure.
 */
void preset_parse_cargo(const char *buf, size_t len, struct preset_cargo_conf *c);

/*
 * uv.toml / pyproject [tool.uv]: every `key = "URL"` (also in inline tables
 * and arrays of strings) whose key is one of keys -> hosts. Pure.
 */
void preset_parse_toml_urls(const char *buf, size_t len, const char *const *keys,
			    struct preset_strv *out);

/*
 * Go's env files (`go env -w`'s $HOME/.config/go/env, $GOROOT/go.env):
 * the value of key ("GOPROXY") into out. 0, or -1 when not set. Pure.
 */
int preset_parse_goenv(const char *buf, size_t len, const char *key, char *out, size_t size);

/* GOPROXY-style list "a,b|c": URL entries -> hosts ("direct", "off" skipped). */
void preset_parse_goproxy(const char *value, size_t len, struct preset_strv *out);

/* GOSUMDB "name[+key] [URL]": the URL's host, else the name -> out. "off": nothing. */
void preset_parse_gosumdb(const char *value, size_t len, struct preset_strv *out);

/*
 * Maven settings.xml: the <url> inside each <mirror> and <repository> /
 * <pluginRepository> -> hosts. A bounded tag search, not an XML parser.
 */
void preset_parse_maven(const char *buf, size_t len, struct preset_strv *out);

/*
 * Gradle init scripts and .properties: URL string literals on lines that
 * mention url/uri/distributionUrl (with "\:" unescaped) -> hosts. Pure.
 */
void preset_parse_gradle(const char *buf, size_t len, struct preset_strv *out);

#endif
