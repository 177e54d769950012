/* SPDX-License-Identifier: MIT */
#ifndef CORDON_POLICY_POLICY_H
#define CORDON_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * The policy: Claude-compatible JSON settings (the `sandbox` block and
 * cordon's own keys), read from several layers and merged into one
 * effective policy in which every rule remembers where it came from.
 *
 * Parsing (json.c, pos.c, validate.c) and merging (merge.c) make no
 * syscalls. Reading files (load.c), planning mounts (plan.c) and the
 * environment (env.c) are the only parts that touch the system.
 *
 * Layers, lowest to highest. A higher layer adds to lists and overrides
 * scalars; the project layer may only tighten unless trusted; the managed
 * layer can lock keys so that no lower layer changes them.
 */
enum policy_layer {
	POLICY_LAYER_BUILTIN = 0,
	POLICY_LAYER_PROFILE, /* --profile NAME */
	POLICY_LAYER_USER,    /* ~/.config/cordon/settings.json */
	POLICY_LAYER_CLAUDE,  /* ~/.claude/settings.json (sandbox block), --claude-settings */
	POLICY_LAYER_PROJECT, /* WORKSPACE/.cordon/settings.json */
	POLICY_LAYER_CLI,     /* command-line flags */
	POLICY_LAYER_MANAGED, /* /etc/cordon/managed-settings.json */
	POLICY_LAYER__MAX,
};

/* Compile-time limits; each has a unit test. */
#define POLICY_MAX_FILE_SIZE (1024u * 1024u) /* bytes per settings file */
#define POLICY_MAX_RULES     1024u           /* entries per list, all layers together */
#define POLICY_MAX_STRING    4096u           /* bytes per string value */
#define POLICY_MAX_NET_RULES 256u            /* network.rules entries */
#define POLICY_MAX_INJECT    64u             /* credentials.inject entries */
#define POLICY_MAX_LOCKS     64u             /* managed sandbox.lock entries */
#define POLICY_MAX_KEY       256u            /* bytes of a key path in messages */

/* Where a rule came from: layer, and file:line:col when from a file. */
struct policy_origin {
	enum policy_layer layer;
	const char *file;   /* NULL for built-in, profile and command line */
	unsigned line, col; /* 0 when unknown */
};

/* The string lists of the schema. */
enum policy_list {
	POLICY_FS_ALLOW_WRITE = 0,     /* sandbox.filesystem.allowWrite */
	POLICY_FS_DENY_WRITE,          /* sandbox.filesystem.denyWrite */
	POLICY_FS_DENY_READ,           /* sandbox.filesystem.denyRead */
	POLICY_FS_ALLOW_READ,          /* sandbox.filesystem.allowRead */
	POLICY_NET_ALLOWED_DOMAINS,    /* sandbox.network.allowedDomains */
	POLICY_NET_DENIED_DOMAINS,     /* sandbox.network.deniedDomains */
	POLICY_NET_ALLOW_UNIX_SOCKETS, /* sandbox.network.allowUnixSockets */
	POLICY_CRED_FILES_DENY,        /* sandbox.credentials.files, mode "deny" */
	POLICY_CRED_FILES_ALLOW,       /* sandbox.credentials.files, mode "allow" */
	POLICY_CRED_ENV_DENY,          /* sandbox.credentials.envVars, mode "deny" */
	POLICY_CRED_ENV_ALLOW,         /* sandbox.credentials.envVars, mode "allow" */
	POLICY_TLS_INSPECT,            /* sandbox.tls.inspect: hosts read even without a rule */
	POLICY_TLS_BYPASS,             /* sandbox.tls.bypass: hosts never read (pinning clients) */
	POLICY_LIST__MAX,
};

/* The scalar keys of the schema. */
enum policy_scalar {
	POLICY_FAIL_IF_UNAVAILABLE = 0, /* bool, default true */
	POLICY_NET_ALLOW_LOCAL_BINDING, /* bool, default false */
	POLICY_RES_MEMORY,              /* bytes (u) and the text (s) */
	POLICY_RES_CPUS,                /* num */
	POLICY_RES_PIDS,                /* u */
	POLICY_RES_DISK,                /* bytes (u) and the text (s), as memory */
	POLICY_AUDIT_PATH,              /* s */
	POLICY_AUDIT_OTLP,              /* s */
	POLICY_AUDIT_FAIL_CLOSED,       /* bool, default true */
	POLICY_AUDIT_SYSLOG,            /* bool, default false: also send records to syslog */
	POLICY_TERM_ALLOW_CLIPBOARD,    /* bool, default false: clipboard escapes reach the user */
	POLICY_SCALAR__MAX,
};

struct policy_rule {
	const char *value;
	struct policy_origin origin;
};

struct policy_rules {
	struct policy_rule *v;
	size_t n, cap;
};

struct policy_value {
	bool set;
	bool b;
	double num;
	uint64_t u;
	const char *s;
	struct policy_origin origin;
};

/* sandbox.network.rules[]: narrows what may be sent to one host. */
struct policy_net_rule {
	const char *host;
	const char **methods; /* NULL-terminated; empty: any method */
	const char **paths;   /* NULL-terminated; empty: any path */
	struct policy_origin origin;
};

/* sandbox.credentials.inject[]: a header the proxy adds for one host. */
struct policy_inject {
	const char *host;
	const char *header;
	const char *from_env;
	const char *prefix; /* may be NULL ("Bearer ") */
	/*
	 * Added forms: the value read from a file on the host instead of a
	 * variable (from_env is NULL then), and HTTP Basic (header is NULL,
	 * the proxy sets Authorization from basic_user or the variable
	 * basic_user_env and the value as the password).
	 */
	const char *from_file;
	const char *basic_user;
	const char *basic_user_env;
	struct policy_origin origin;
};

struct cordon_policy {
	struct policy_rules lists[POLICY_LIST__MAX];
	struct policy_value scalars[POLICY_SCALAR__MAX];
	struct policy_net_rule *net_rules;
	size_t n_net_rules;
	struct policy_inject *inject;
	size_t n_inject;
	struct policy_rules locks;   /* managed only: key paths under "sandbox." */
	struct policy_rules env_set; /* NAME=VALUE set in the sandbox by --profile presets */
	char **notes;                /* things the user should know (ignored keys...) */
	size_t n_notes;
	/* Every string above is owned here, freed by policy_free. */
	char **pool;
	size_t n_pool, cap_pool;
};

/* Flags for policy_parse. */
enum {
	POLICY_PARSE_CLAUDE = 1u << 0,  /* Claude Code settings: only the sandbox block counts */
	POLICY_PARSE_MANAGED = 1u << 1, /* managed file: `sandbox.lock` allowed */
};

/* Initialise an empty policy. Never fails. */
void policy_init(struct cordon_policy *pol);

/* Free everything pol owns and leave it empty (policy_init state). */
void policy_free(struct cordon_policy *pol);

/* Copy s into pol's pool; returns the copy (owned by pol). Aborts on OOM. */
const char *policy_strdup(struct cordon_policy *pol, const char *s);

/*
 * Parse one settings document (text, len bytes, need not be NUL-terminated)
 * into pol, tagging each rule with layer and file. Pure: no syscalls.
 * Returns 0, or -1 with err set to "FILE:LINE:COL: key `K`: what was
 * expected" and a hint. pol holds the rules parsed so far on error; the
 * caller frees it either way.
 */
int policy_parse(struct cordon_policy *pol, const char *text, size_t len, const char *file,
		 enum policy_layer layer, unsigned flags, struct cordon_err *err);

/*
 * Add one list entry from the command line (layer CLI). Validates the
 * value like the parser does. 0, or -1 with err set.
 */
int policy_add_rule(struct cordon_policy *pol, enum policy_list list, const char *value,
		    enum policy_layer layer, struct cordon_err *err);

/*
 * The settings document text (len bytes; NULL or empty: a new file) with
 * pattern added to sandbox.network.allowedDomains, the objects on the way
 * made where missing and every other key kept in its order. *added is
 * false when the pattern was listed already (the text comes back
 * reformatted, same content). malloc'd text (2-space indent, final
 * newline); NULL with err ("FILE:LINE:COL: ..." or the key of another
 * type, and a hint). Pure: the caller reads and writes the file.
 */
char *policy_edit_allow_domain(const char *text, size_t len, const char *file, const char *pattern,
			       bool *added, struct cordon_err *err);

/*
 * Refuse a policy that asks for what this version cannot enforce: a
 * tls.bypass entry a rule or an injection needs (policy_check_tls_bypass;
 * every key parsed is enforced otherwise). 0, or -1 with err set to
 * "FILE:LINE:COL: key `K`: ..." and a hint. Pure.
 */
int policy_refuse_unenforced(const struct cordon_policy *pol, struct cordon_err *err);

/*
 * Refuse a policy in which a tls.bypass entry covers a host that a
 * network.rules or credentials.inject entry names: the proxy could not
 * enforce that entry without reading the tunnel. 0, or -1 with err naming
 * both entries (and where they come from) and a hint. Pure.
 */
int policy_check_tls_bypass(const struct cordon_policy *pol, struct cordon_err *err);

/*
 * Do two host patterns (`example.com`, `*.example.com`, an address, each
 * with an optional `:port`) cover a host in common? Case-insensitive. Pure.
 */
bool policy_hosts_overlap(const char *a, const char *b);

/* Append a note (printf-style). */
void policy_note(struct cordon_policy *pol, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Name of a layer ("built-in", "user", ...). */
const char *policy_layer_name(enum policy_layer layer);

/* JSON key path of a list or scalar, below "sandbox." ("filesystem.denyRead"). */
const char *policy_list_key(enum policy_list list);
const char *policy_scalar_key(enum policy_scalar sc);

/* "user ~/.config/cordon/settings.json:3:5" style text for an origin. */
void policy_origin_format(const struct policy_origin *o, char *buf, size_t len);

/*
 * The built-in layer (credential masks, protected paths, env patterns) and
 * named profiles. policy_builtin fills pol with layer BUILTIN.
 * policy_profile adds the named profile with layer PROFILE; -1 with err
 * (listing the known names) when there is no such profile.
 */
void policy_builtin(struct cordon_policy *pol);
int policy_profile(struct cordon_policy *pol, const char *name, struct cordon_err *err);
/* NULL-terminated list of profile names. */
const char *const *policy_profile_names(void);

/*
 * Merge layer (which says what layer it is) into eff. Lists are added to, scalars overridden. When
 * layer is the project layer and !trusted, any entry that widens the
 * policy is refused: -1 with err naming file:line:col and the key.
 * Keys locked by `locks` (the managed layer's sandbox.lock, may be NULL)
 * keep their value: a locked allow entry or scalar from a file layer is
 * dropped with a note, from the command line it is an error. Deny lists
 * may always grow (that only tightens). Pure.
 */
int policy_merge(struct cordon_policy *eff, const struct cordon_policy *layer,
		 enum policy_layer which, bool trusted, const struct cordon_policy *locks,
		 struct cordon_err *err);

/*
 * What layer would widen over eff: one line per entry, "  sandbox.KEY: VALUE
 * (line N)\n", in a malloc'd string (caller frees; "" when the
 * layer only tightens). The entries an untrusted project layer is refused
 * for, all of them. Pure.
 */
char *policy_widenings(const struct cordon_policy *eff, const struct cordon_policy *layer);

/* True when key (below "sandbox.") is locked by pol's sandbox.lock. */
bool policy_locked(const struct cordon_policy *pol, const char *key);

/* Effective values with defaults applied. */
bool policy_fail_if_unavailable(const struct cordon_policy *pol);
/* terminal.allowClipboard; false for a NULL pol (no policy loaded). */
bool policy_terminal_allow_clipboard(const struct cordon_policy *pol);

/*
 * The values of one list as a NULL-terminated array (for the proxy, the
 * limits and the audit: allowedDomains, deniedDomains, allowUnixSockets...).
 * The array is malloc'd (caller frees it, not the strings); the strings
 * belong to pol. *n (may be NULL) receives the count. Aborts on OOM.
 */
const char **policy_values(const struct cordon_policy *pol, enum policy_list list, size_t *n);

/*
 * Render pol for `cordon policy show`: text (one rule a line with its
 * origin) or JSON (the same schema as the settings files, plus an
 * "origins" object). The caller frees the result. Pure.
 */
char *policy_render_text(const struct cordon_policy *pol);
char *policy_render_json(const struct cordon_policy *pol);

/* ---- validation (validate.c, pure) ---- */

/*
 * Each checker returns true when s is acceptable; otherwise writes what is
 * expected into why (len bytes) and returns false.
 */
bool policy_check_path(const char *s, char *why, size_t len);
bool policy_check_domain(const char *s, char *why, size_t len);
bool policy_check_env_pattern(const char *s, char *why, size_t len);
bool policy_check_env_name(const char *s, char *why, size_t len);
bool policy_check_method(const char *s, char *why, size_t len);
bool policy_check_url_path(const char *s, char *why, size_t len);
bool policy_check_header(const char *s, char *why, size_t len);
/* A header credentials.inject may set: not one that frames the message. */
bool policy_check_inject_header(const char *s, char *why, size_t len);
/* Text a header may hold (credentials.inject's prefix): no control characters. */
bool policy_check_header_value(const char *s, char *why, size_t len);
/* credentials.inject's fromFile: an absolute path or ~/..., one file (no pattern). */
bool policy_check_inject_file(const char *s, char *why, size_t len);
/* credentials.inject's basic.user: not empty, no `:` and no control character. */
bool policy_check_basic_user(const char *s, char *why, size_t len);
/* One host (network.rules, credentials.inject): a domain pattern, not a CIDR. */
bool policy_check_host(const char *s, char *why, size_t len);
bool policy_check_url(const char *s, char *why, size_t len);
/* "4g", "512m", "1048576" -> bytes; false on bad syntax or zero. */
bool policy_parse_memory(const char *s, uint64_t *bytes, char *why, size_t len);
/* Copy s into buf for a message, non-printable bytes as '?', cut at len. */
void policy_sanitize(const char *s, char *buf, size_t len);
/* True when s has glob characters (* ? [). */
bool policy_has_glob(const char *s);

/* ---- environment (env.c) ---- */

/*
 * Decide whether the variable `name` is scrubbed under pol: it matches a
 * deny pattern (built-in or credentials.envVars) and no allow entry keeps
 * it; an exact-name deny always wins. Pure.
 */
bool policy_env_denied(const struct cordon_policy *pol, const char *name);

/*
 * Does a value look like a credential (a URL or DSN with a password, a
 * private key, a JWT, a token with a well-known prefix)? Pure.
 */
bool policy_env_value_secret(const char *value);

/*
 * Is NAME=value scrubbed under pol: denied by name, or not allowed by name
 * and its value looks like a credential. Pure.
 */
bool policy_env_secret(const struct cordon_policy *pol, const char *name, const char *value);

/*
 * Copy of envp without the scrubbed variables and without CORDON_SANDBOX,
 * plus CORDON_SANDBOX=1. The array is malloc'd, its strings borrowed from
 * envp; *n_scrubbed counts what was removed. Aborts on OOM.
 */
char **policy_env_scrub(const struct cordon_policy *pol, char *const *envp, size_t *n_scrubbed);

#endif
