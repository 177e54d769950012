/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PRESETS_PRESETS_H
#define CORDON_PRESETS_PRESETS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/*
 * Presets: what an agent (claude, codex, gemini) or a toolchain (node,
 * python, rust, go, java) needs to work inside cordon, as plain lists of
 * strings the policy layer and `cordon run` can consume:
 *
 *   domains     hosts to allow through the egress proxy (exact names)
 *   writable    absolute paths to bind read-write (state dirs, caches)
 *   readonly    absolute paths to bind read-only even inside a writable
 *               one (the agent's own settings and hooks: an agent must not
 *               rewrite its own policy); may not exist yet
 *   env_set     "NAME=VALUE" to set inside (IS_SANDBOX=1, CORDON_PROFILE=...)
 *   env_pass    names of secret variables to pass through the scrub (the
 *               agent's own API key; everything else stays scrubbed)
 *   agent_args  arguments to put before the user's when running the agent
 *               itself (turn the agent's own sandbox off: cordon is the
 *               boundary; add cordon's hook)
 *   notes       one line each: where a registry host came from, or what
 *               could not be resolved and what the user can do about it
 *
 * Agent API hosts are fixed (they are the product's own endpoints).
 * Package-registry hosts are never written here: they are read at run time
 * from the user's own configuration (npm, pip/uv, cargo, go, maven/gradle)
 * and, where that is silent, from the tool itself (`npm config get
 * registry`, `go env GOPROXY`), so corporate mirrors are respected.
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

/*
 * One preset. Paths start with "~/" (the home directory) or "./" (the
 * workspace); "@CORDON@" in agent_args is replaced by the cordon binary.
 * All lists are NULL-terminated; static data.
 */
struct cordon_preset {
	const char *name;
	enum preset_kind kind;
	const char *summary;
	const char *program; /* agents: the binary to run ("claude"); else NULL */
	const char *const *domains;
	const char *const *writable;
	const char *const *readonly;
	const char *const *env_set;
	const char *const *env_pass;
	const char *const *agent_args;
	unsigned registries; /* PRESET_REG_* */
};

/* A growable list of owned strings. */
struct preset_strv {
	char **v;
	size_t n;
};

struct preset_resolved {
	struct preset_strv domains;
	struct preset_strv writable;
	struct preset_strv readonly;
	struct preset_strv env_set;
	struct preset_strv env_pass;
	struct preset_strv agent_args;
	struct preset_strv notes;
};

/* How to resolve: where home and the workspace are, what may be run. */
struct preset_env {
	const char *home;      /* required, absolute */
	const char *workspace; /* absolute; NULL: "./" paths are skipped */
	const char *self;      /* cordon binary for @CORDON@; NULL: "cordon" */
	bool run_tools;        /* may run `npm config get registry`, `go env`, ... */
};

/* The preset called name, or NULL. The table lives for the program. */
const struct cordon_preset *preset_lookup(const char *name);

/* All presets, in display order; *n gets the count. */
const struct cordon_preset *preset_all(size_t *n);

/*
 * Resolve p for env into out, appending (so several presets can be merged;
 * duplicates are dropped). out must be zeroed before the first call and
 * freed with preset_resolved_free. Reads the user's tool configuration
 * files and environment; with env->run_tools, may run the tools themselves
 * (each bounded by a timeout, stdin closed). Returns 0, or -1 with err set
 * (home missing or relative). Not safe after fork.
 */
int preset_resolve(const struct cordon_preset *p, const struct preset_env *env,
		   struct preset_resolved *out, struct cordon_err *err);

/* Free everything in r and zero it. */
void preset_resolved_free(struct preset_resolved *r);

/* Append a copy of s to v unless already there. */
void preset_strv_add(struct preset_strv *v, const char *s);

/* ---- pure configuration parsers (no syscalls; fuzzed) ---- */

/*
 * Host of an http(s) URL, lower-cased, without user info, port, path or a
 * trailing dot; IPv6 literals without brackets. Returns 0 or -1 (not an
 * http(s) URL, empty or invalid host). out has size bytes.
 */
int preset_url_host(const char *url, size_t len, char *out, size_t size);

/* .npmrc: "registry=" and "@scope:registry=" values -> hosts appended to out. */
void preset_parse_npmrc(const char *buf, size_t len, struct preset_strv *out);

/* pip.conf (INI): index-url, extra-index-url (multi-line), find-links, trusted-host. */
void preset_parse_pipconf(const char *buf, size_t len, struct preset_strv *out);

/*
 * TOML subset (cargo config.toml, uv.toml): every `key = "URL"` (also in
 * inline tables and arrays of strings) whose key is one of keys (NULL
 * terminated) -> hosts. Only http(s) URLs count; "sparse+https://" and
 * "git+https://" prefixes are understood.
 */
void preset_parse_toml_urls(const char *buf, size_t len, const char *const *keys,
			    struct preset_strv *out);

/* GOPROXY / GONOSUMDB-style list "a,b|c": URL entries -> hosts. */
void preset_parse_goproxy(const char *value, size_t len, struct preset_strv *out);

/* Maven settings.xml / pom.xml: every <url>...</url> -> hosts. */
void preset_parse_xml_urls(const char *buf, size_t len, struct preset_strv *out);

/*
 * Gradle build scripts and .properties: URL string literals on lines that
 * mention url/uri/distributionUrl (with "\:" unescaped) -> hosts.
 */
void preset_parse_gradle(const char *buf, size_t len, struct preset_strv *out);

#endif
