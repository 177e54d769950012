/* SPDX-License-Identifier: MIT */
/*
 * The only file that sees the JSON library's types: settings documents in
 * (policy_parse), the effective policy and the trust store out. Pure: the
 * caller reads and writes the files.
 *
 * Positions: the JSON library gives line and column for syntax errors
 * only. For a value with the wrong type or content, pos.c scans the source
 * text along the key path and reports where that value starts (or, for an
 * unknown key, where the key starts). For valid JSON the scan is exact.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "policy/internal.h"
#include "policy/pos.h"

#define DEFAULT_HINT "see cordon-policy(5) for the settings schema"

enum key_kind {
	K_OBJECT,
	K_BOOL,
	K_PATHS,
	K_DOMAINS,
	K_HOSTS, /* one host each (tls.*): a domain pattern, not a CIDR */
	K_SOCKETS,
	K_NETRULES,
	K_CREDFILES,
	K_ENVVARS,
	K_INJECT,
	K_MEMORY,
	K_CPUS,
	K_PIDS,
	K_PATH,
	K_URL,
	K_LOCK,
	K_COMPAT, /* Claude Code key with no meaning here: accepted, noted */
};

static const struct schema_key {
	const char *key; /* below "sandbox." */
	enum key_kind kind;
	int idx;
} schema[] = {
	{ "failIfUnavailable", K_BOOL, POLICY_FAIL_IF_UNAVAILABLE },
	{ "filesystem", K_OBJECT, 0 },
	{ "filesystem.allowWrite", K_PATHS, POLICY_FS_ALLOW_WRITE },
	{ "filesystem.denyWrite", K_PATHS, POLICY_FS_DENY_WRITE },
	{ "filesystem.denyRead", K_PATHS, POLICY_FS_DENY_READ },
	{ "filesystem.allowRead", K_PATHS, POLICY_FS_ALLOW_READ },
	{ "network", K_OBJECT, 0 },
	{ "network.allowedDomains", K_DOMAINS, POLICY_NET_ALLOWED_DOMAINS },
	{ "network.deniedDomains", K_DOMAINS, POLICY_NET_DENIED_DOMAINS },
	{ "network.allowUnixSockets", K_SOCKETS, POLICY_NET_ALLOW_UNIX_SOCKETS },
	{ "network.allowLocalBinding", K_BOOL, POLICY_NET_ALLOW_LOCAL_BINDING },
	{ "network.rules", K_NETRULES, 0 },
	{ "network.httpProxyPort", K_COMPAT, 0 },
	{ "network.socksProxyPort", K_COMPAT, 0 },
	{ "credentials", K_OBJECT, 0 },
	{ "credentials.files", K_CREDFILES, 0 },
	{ "credentials.envVars", K_ENVVARS, 0 },
	{ "credentials.inject", K_INJECT, 0 },
	{ "tls", K_OBJECT, 0 },
	{ "tls.inspect", K_HOSTS, POLICY_TLS_INSPECT },
	{ "tls.bypass", K_HOSTS, POLICY_TLS_BYPASS },
	{ "resources", K_OBJECT, 0 },
	{ "resources.memory", K_MEMORY, POLICY_RES_MEMORY },
	{ "resources.cpus", K_CPUS, POLICY_RES_CPUS },
	{ "resources.pids", K_PIDS, POLICY_RES_PIDS },
	{ "resources.disk", K_MEMORY, POLICY_RES_DISK },
	{ "audit", K_OBJECT, 0 },
	{ "audit.path", K_PATH, POLICY_AUDIT_PATH },
	{ "audit.otlpEndpoint", K_URL, POLICY_AUDIT_OTLP },
	{ "audit.failClosed", K_BOOL, POLICY_AUDIT_FAIL_CLOSED },
	{ "audit.syslog", K_BOOL, POLICY_AUDIT_SYSLOG },
	{ "terminal", K_OBJECT, 0 },
	{ "terminal.allowClipboard", K_BOOL, POLICY_TERM_ALLOW_CLIPBOARD },
	{ "lock", K_LOCK, 0 },
	{ "enabled", K_COMPAT, 0 },
	{ "autoAllowBashIfSandboxed", K_COMPAT, 0 },
	{ "allowUnsandboxedCommands", K_COMPAT, 0 },
	{ "excludedCommands", K_COMPAT, 0 },
	{ "enableWeakerNestedSandbox", K_COMPAT, 0 },
	{ "ignoreViolations", K_COMPAT, 0 },
};

struct walk {
	struct cordon_policy *pol;
	const char *text;
	size_t len;
	const char *file;  /* as given, for messages */
	const char *pfile; /* pooled copy, for origins */
	enum policy_layer layer;
	unsigned flags;
	struct cordon_err *err;
	struct policy_jpath path[POLICY_POS_MAX_DEPTH];
	size_t depth;
};

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	default:
		return "value";
	}
}

static void
key_path(const struct walk *w, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t d = 0; d < w->depth && o + 1 < len; d++) {
		char part[POLICY_MAX_KEY];

		if (w->path[d].key != NULL) {
			policy_sanitize(w->path[d].key, part, sizeof(part));
			o += (size_t)snprintf(buf + o, len - o, "%s%s", d ? "." : "", part);
		} else {
			o += (size_t)snprintf(buf + o, len - o, "[%zu]", w->path[d].index);
		}
	}
	if (o >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static void
here(const struct walk *w, int want_key, unsigned *line, unsigned *col)
{
	policy_pos_find(w->text, w->len, w->path, w->depth, want_key, line, col);
}

/*
 * The parser stopped at byte pos (the count it consumed): 1 when the
 * token there closes a list or object right after a comma, with *at the
 * comma's offset.
 */
static int
trailing_comma(const char *text, size_t len, int pos, size_t *at)
{
	size_t i;

	if (pos < 2 || (size_t)pos > len || (text[pos - 1] != '}' && text[pos - 1] != ']'))
		return 0;
	for (i = (size_t)pos - 2; i > 0 && strchr(" \t\r\n", text[i]) != NULL; i--)
		;
	if (text[i] != ',')
		return 0;
	*at = i;
	return 1;
}

/* 1-based line and column (in bytes) of offset at in text. */
static unsigned
line_of(const char *text, size_t at)
{
	unsigned line = 1;

	for (size_t i = 0; i < at; i++)
		line += text[i] == '\n';
	return line;
}

static unsigned
col_of(const char *text, size_t at)
{
	size_t i = at;

	while (i > 0 && text[i - 1] != '\n')
		i--;
	return (unsigned)(at - i + 1);
}

static int werr(struct walk *w, int want_key, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
werr(struct walk *w, int want_key, const char *hint, const char *fmt, ...)
{
	char what[200], key[POLICY_MAX_KEY], file[128];
	unsigned line, col;
	va_list ap;

	here(w, want_key, &line, &col);
	key_path(w, key, sizeof(key));
	policy_sanitize(w->file, file, sizeof(file));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cordon_err_set(w->err, 0, "%s:%u:%u: key `%s`: %s", file, line, col, key, what);
	cordon_err_hint(w->err, "%s", hint ? hint : DEFAULT_HINT);
	return -1;
}

static int
push_key(struct walk *w, const char *key)
{
	if (w->depth >= POLICY_POS_MAX_DEPTH)
		return werr(w, 0, NULL, "nested deeper than %d levels", POLICY_POS_MAX_DEPTH);
	w->path[w->depth].key = key;
	w->path[w->depth].index = 0;
	w->depth++;
	return 0;
}

static int
push_index(struct walk *w, size_t i)
{
	if (w->depth >= POLICY_POS_MAX_DEPTH)
		return werr(w, 0, NULL, "nested deeper than %d levels", POLICY_POS_MAX_DEPTH);
	w->path[w->depth].key = NULL;
	w->path[w->depth].index = i;
	w->depth++;
	return 0;
}

static void
pop(struct walk *w)
{
	w->depth--;
}

static struct policy_origin
origin_at(const struct walk *w, unsigned line, unsigned col)
{
	struct policy_origin o = { w->layer, w->pfile, line, col };

	return o;
}

static struct policy_origin
origin_here(const struct walk *w)
{
	unsigned line, col;

	here(w, 0, &line, &col);
	return origin_at(w, line, col);
}

/* Check a string value: type, length, and the per-kind checker. */
typedef bool (*checker_fn)(const char *s, char *why, size_t len);

static int
want_string(struct walk *w, const json_t *v, checker_fn check, const char **out)
{
	char why[160];
	const char *s;

	if (!json_is_string(v))
		return werr(w, 0, NULL, "expected string, got %s", type_name(v));
	s = json_string_value(v);
	if (json_string_length(v) > POLICY_MAX_STRING)
		return werr(w, 0, NULL, "string longer than %u bytes", POLICY_MAX_STRING);
	if (check != NULL && !check(s, why, sizeof(why)))
		return werr(w, 0, NULL, "%s", why);
	*out = s;
	return 0;
}

static int
want_array(struct walk *w, const json_t *v, const char *of)
{
	if (!json_is_array(v))
		return werr(w, 0, NULL, "expected array of %s, got %s", of, type_name(v));
	if (json_array_size(v) > POLICY_MAX_RULES)
		return werr(w, 0, NULL, "more than %u entries", POLICY_MAX_RULES);
	return 0;
}

static int
string_list(struct walk *w, const json_t *v, enum policy_list list, checker_fn check,
	    const char *of)
{
	unsigned *lines, *cols;
	size_t n, i, found;
	const json_t *e;
	int r = 0;

	if (want_array(w, v, of) < 0)
		return -1;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	lines = xcalloc(n, sizeof(*lines));
	cols = xcalloc(n, sizeof(*cols));
	found = policy_pos_elements(w->text, w->len, w->path, w->depth, lines, cols, n);
	json_array_foreach(v, i, e)
	{
		const char *s;

		if (push_index(w, i) < 0) {
			r = -1;
			break;
		}
		r = want_string(w, e, check, &s);
		if (r == 0 && policy_rules_add(w->pol, list, s,
					       origin_at(w, i < found ? lines[i] : 0,
							 i < found ? cols[i] : 0)) < 0)
			r = werr(w, 0, NULL, "more than %u entries in all layers",
				 POLICY_MAX_RULES);
		pop(w);
		if (r < 0)
			break;
	}
	free(lines);
	free(cols);
	return r;
}

/* Members of an entry object ({"path": ..., "mode": ...}). */
struct member {
	const char *name;
	bool required;
	const json_t *v;
};

static int
members(struct walk *w, const json_t *obj, struct member *m, size_t n, const char *what)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return werr(w, 0, NULL, "expected %s object, got %s", what, type_name(obj));
	json_object_foreach((json_t *)(uintptr_t)obj, key, v)
	{
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(key, m[k].name) == 0)
				break;
		if (k == n) {
			char known[160];
			size_t o = 0;

			known[0] = '\0';
			for (size_t j = 0; j < n && o < sizeof(known); j++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      j ? ", " : "", m[j].name);
			if (push_key(w, key) < 0)
				return -1;
			werr(w, 1, NULL, "unknown key");
			cordon_err_hint(w->err, "known keys here: %s", known);
			pop(w);
			return -1;
		}
		m[k].v = v;
	}
	for (size_t k = 0; k < n; k++)
		if (m[k].required && m[k].v == NULL)
			return werr(w, 0, NULL, "missing required key \"%s\"", m[k].name);
	return 0;
}

static int
mode_of(struct walk *w, const json_t *v, bool *deny)
{
	const char *s = "deny";

	if (v != NULL) {
		if (push_key(w, "mode") < 0)
			return -1;
		if (want_string(w, v, NULL, &s) < 0)
			return -1;
		if (strcmp(s, "deny") != 0 && strcmp(s, "allow") != 0) {
			werr(w, 0, NULL, "expected \"deny\" or \"allow\"");
			pop(w);
			return -1;
		}
		pop(w);
	}
	*deny = strcmp(s, "deny") == 0;
	return 0;
}

static int
cred_entries(struct walk *w, const json_t *v, int files)
{
	size_t i;
	const json_t *e;

	if (want_array(w, v, "objects") < 0)
		return -1;
	json_array_foreach(v, i, e)
	{
		struct member m[] = { { files ? "path" : "name", true, NULL },
				      { "mode", false, NULL } };
		struct policy_origin o;
		const char *s;
		bool deny;
		int list;

		if (push_index(w, i) < 0)
			return -1;
		o = origin_here(w);
		if (members(w, e, m, ARRAY_SIZE(m),
			    files ? "a {\"path\", \"mode\"}" : "a {\"name\", \"mode\"}") < 0)
			return -1;
		if (push_key(w, m[0].name) < 0)
			return -1;
		if (want_string(w, m[0].v, files ? policy_check_path : policy_check_env_pattern,
				&s) < 0)
			return -1;
		pop(w);
		if (mode_of(w, m[1].v, &deny) < 0)
			return -1;
		if (files)
			list = deny ? POLICY_CRED_FILES_DENY : POLICY_CRED_FILES_ALLOW;
		else
			list = deny ? POLICY_CRED_ENV_DENY : POLICY_CRED_ENV_ALLOW;
		if (policy_rules_add(w->pol, (enum policy_list)list, s, o) < 0)
			return werr(w, 0, NULL, "more than %u entries in all layers",
				    POLICY_MAX_RULES);
		pop(w);
	}
	return 0;
}

static const char **
string_vec(struct walk *w, const char *name, const json_t *v, checker_fn check)
{
	const char **vec;
	const json_t *e;
	size_t i, n;

	if (v == NULL) {
		vec = xcalloc(1, sizeof(*vec));
		policy_pool_add(w->pol, (char *)vec);
		return vec;
	}
	if (push_key(w, name) < 0)
		return NULL;
	if (want_array(w, v, "strings") < 0)
		return NULL;
	n = json_array_size(v);
	vec = xcalloc(n + 1, sizeof(*vec));
	policy_pool_add(w->pol, (char *)vec);
	json_array_foreach(v, i, e)
	{
		const char *s;

		if (push_index(w, i) < 0 || want_string(w, e, check, &s) < 0)
			return NULL;
		vec[i] = policy_strdup(w->pol, s);
		pop(w);
	}
	pop(w);
	return vec;
}

static int
net_rules(struct walk *w, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (want_array(w, v, "objects") < 0)
		return -1;
	json_array_foreach(v, i, e)
	{
		struct member m[] = { { "host", true, NULL },
				      { "methods", false, NULL },
				      { "paths", false, NULL } };
		struct policy_net_rule r;
		const char *host;

		if (push_index(w, i) < 0)
			return -1;
		if (w->pol->n_net_rules >= POLICY_MAX_NET_RULES)
			return werr(w, 0, NULL, "more than %u rules", POLICY_MAX_NET_RULES);
		memset(&r, 0, sizeof(r));
		r.origin = origin_here(w);
		if (members(w, e, m, ARRAY_SIZE(m), "a {\"host\", \"methods\", \"paths\"}") < 0)
			return -1;
		if (push_key(w, "host") < 0 || want_string(w, m[0].v, policy_check_host, &host) < 0)
			return -1;
		pop(w);
		r.host = policy_strdup(w->pol, host);
		r.methods = string_vec(w, "methods", m[1].v, policy_check_method);
		if (r.methods == NULL)
			return -1;
		r.paths = string_vec(w, "paths", m[2].v, policy_check_url_path);
		if (r.paths == NULL)
			return -1;
		policy_net_rule_add(w->pol, &r);
		pop(w);
	}
	return 0;
}

/* Two keys of an entry that exclude each other (one of them required): 0 or -1 (err). */
static int
one_of(struct walk *w, const struct member *a, const struct member *b, const char *hint)
{
	if (a->v == NULL && b->v == NULL)
		return werr(w, 0, hint, "missing required key \"%s\" or \"%s\"", a->name, b->name);
	if (a->v != NULL && b->v != NULL) {
		if (push_key(w, b->name) < 0)
			return -1;
		werr(w, 1, hint, "\"%s\" and \"%s\" exclude each other", a->name, b->name);
		pop(w);
		return -1;
	}
	return 0;
}

/* A string member m (may be absent: *out NULL), checked, copied into the policy. */
static int
member_string(struct walk *w, const struct member *m, checker_fn check, const char **out)
{
	const char *s;

	*out = NULL;
	if (m->v == NULL)
		return 0;
	if (push_key(w, m->name) < 0 || want_string(w, m->v, check, &s) < 0)
		return -1;
	pop(w);
	*out = policy_strdup(w->pol, s);
	return 0;
}

/* credentials.inject[i].basic: {"user": U} or {"userFromEnv": VAR}. */
static int
inject_basic(struct walk *w, const json_t *v, struct policy_inject *in)
{
	struct member m[] = { { "user", false, NULL }, { "userFromEnv", false, NULL } };

	if (push_key(w, "basic") < 0)
		return -1;
	if (members(w, v, m, ARRAY_SIZE(m), "a {\"user\"} or {\"userFromEnv\"}") < 0 ||
	    one_of(w, &m[0], &m[1], "the user name: literal (\"user\") or from a variable") < 0 ||
	    member_string(w, &m[0], policy_check_basic_user, &in->basic_user) < 0 ||
	    member_string(w, &m[1], policy_check_env_name, &in->basic_user_env) < 0)
		return -1;
	pop(w);
	return 0;
}

static int
inject_entries(struct walk *w, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (want_array(w, v, "objects") < 0)
		return -1;
	json_array_foreach(v, i, e)
	{
		enum { M_HOST, M_HEADER, M_BASIC, M_ENV, M_FILE, M_PREFIX };
		struct member m[] = { { "host", true, NULL },      { "header", false, NULL },
				      { "basic", false, NULL },    { "fromEnv", false, NULL },
				      { "fromFile", false, NULL }, { "prefix", false, NULL } };
		struct policy_inject in;

		if (push_index(w, i) < 0)
			return -1;
		if (w->pol->n_inject >= POLICY_MAX_INJECT)
			return werr(w, 0, NULL, "more than %u entries", POLICY_MAX_INJECT);
		memset(&in, 0, sizeof(in));
		in.origin = origin_here(w);
		if (json_is_object(e) && json_object_get(e, "format") != NULL) {
			/* the value always ends the header: a prefix says all a template would */
			if (push_key(w, "format") < 0)
				return -1;
			werr(w, 1,
			     "\"prefix\": \"token \" sends `token VALUE`: the value always ends "
			     "the header",
			     "unknown key: the text before the value is \"prefix\"");
			pop(w);
			return -1;
		}
		if (members(w, e, m, ARRAY_SIZE(m),
			    "a {\"host\", \"header\" or \"basic\", \"fromEnv\" or "
			    "\"fromFile\", \"prefix\"}") < 0)
			return -1;
		if (member_string(w, &m[M_HOST], policy_check_host, &in.host) < 0 ||
		    one_of(w, &m[M_HEADER], &m[M_BASIC],
			   "one header per entry: \"header\" names it, \"basic\" sets "
			   "Authorization to HTTP Basic") < 0 ||
		    member_string(w, &m[M_HEADER], policy_check_inject_header, &in.header) < 0 ||
		    (m[M_BASIC].v != NULL && inject_basic(w, m[M_BASIC].v, &in) < 0) ||
		    one_of(w, &m[M_ENV], &m[M_FILE],
			   "the value comes from one place: a variable (\"fromEnv\") or a "
			   "file (\"fromFile\")") < 0 ||
		    member_string(w, &m[M_ENV], policy_check_env_name, &in.from_env) < 0 ||
		    member_string(w, &m[M_FILE], policy_check_inject_file, &in.from_file) < 0)
			return -1;
		if (m[M_BASIC].v != NULL && m[M_PREFIX].v != NULL) {
			if (push_key(w, "prefix") < 0)
				return -1;
			werr(w, 1, "Basic builds the whole value (`Basic base64(user:value)`)",
			     "\"prefix\" applies to \"header\", not to \"basic\"");
			pop(w);
			return -1;
		}
		if (member_string(w, &m[M_PREFIX], policy_check_header_value, &in.prefix) < 0)
			return -1;
		policy_inject_add(w->pol, &in);
		pop(w);
	}
	return 0;
}

static const struct schema_key *
schema_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(schema); i++)
		if (strcmp(schema[i].key, key) == 0)
			return &schema[i];
	return NULL;
}

bool
policy_schema_known(const char *key)
{
	const struct schema_key *k = schema_find(key);

	return k != NULL && k->kind != K_COMPAT && k->kind != K_LOCK;
}

static int
lock_entries(struct walk *w, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (!(w->flags & POLICY_PARSE_MANAGED))
		return werr(w, 1, "only /etc/cordon/managed-settings.json may lock keys",
			    "locks are only allowed in the managed settings");
	if (want_array(w, v, "key names") < 0)
		return -1;
	if (json_array_size(v) > POLICY_MAX_LOCKS)
		return werr(w, 0, NULL, "more than %u locks", POLICY_MAX_LOCKS);
	json_array_foreach(v, i, e)
	{
		const char *s;

		if (push_index(w, i) < 0 || want_string(w, e, NULL, &s) < 0)
			return -1;
		if (!policy_schema_known(s))
			return werr(w, 0, NULL,
				    "not a key of the sandbox block (expected e.g. "
				    "\"network.allowedDomains\" or \"filesystem\")");
		policy_rules_add_lock(w->pol, s, origin_here(w));
		pop(w);
	}
	return 0;
}

static int
scalar(struct walk *w, const struct schema_key *k, const json_t *v)
{
	struct policy_value *sv = &w->pol->scalars[k->idx];
	char why[160];
	const char *s;

	memset(sv, 0, sizeof(*sv));
	switch (k->kind) {
	case K_BOOL:
		if (!json_is_boolean(v))
			return werr(w, 0, NULL, "expected boolean, got %s", type_name(v));
		sv->b = json_is_true(v);
		break;
	case K_MEMORY:
		if (json_is_integer(v)) {
			if (json_integer_value(v) <= 0)
				return werr(w, 0, NULL, "size must be greater than zero");
			sv->u = (uint64_t)json_integer_value(v);
			snprintf(why, sizeof(why), "%llu", (unsigned long long)sv->u);
			sv->s = policy_strdup(w->pol, why);
			break;
		}
		if (!json_is_string(v))
			return werr(w, 0, NULL, "expected string such as \"4g\", got %s",
				    type_name(v));
		s = json_string_value(v);
		if (!policy_parse_memory(s, &sv->u, why, sizeof(why)))
			return werr(w, 0, NULL, "%s", why);
		sv->s = policy_strdup(w->pol, s);
		break;
	case K_CPUS:
		if (!json_is_number(v))
			return werr(w, 0, NULL, "expected number, got %s", type_name(v));
		sv->num = json_number_value(v);
		if (!(sv->num > 0 && sv->num <= 4096) || isnan(sv->num))
			return werr(w, 0, NULL, "expected a number of CPUs greater than 0");
		break;
	case K_PIDS:
		if (!json_is_integer(v))
			return werr(w, 0, NULL, "expected integer, got %s", type_name(v));
		if (json_integer_value(v) < 1 || json_integer_value(v) > 4194304)
			return werr(w, 0, NULL, "expected an integer from 1 to 4194304");
		sv->u = (uint64_t)json_integer_value(v);
		break;
	case K_PATH:
		if (want_string(w, v, policy_check_path, &s) < 0)
			return -1;
		sv->s = policy_strdup(w->pol, s);
		break;
	case K_URL:
		if (want_string(w, v, policy_check_url, &s) < 0)
			return -1;
		sv->s = policy_strdup(w->pol, s);
		break;
	case K_OBJECT:
	case K_PATHS:
	case K_DOMAINS:
	case K_HOSTS:
	case K_SOCKETS:
	case K_NETRULES:
	case K_CREDFILES:
	case K_ENVVARS:
	case K_INJECT:
	case K_LOCK:
	case K_COMPAT:
	default:
		return werr(w, 0, NULL, "internal: not a scalar");
	}
	sv->set = true;
	sv->origin = origin_here(w);
	return 0;
}

static int walk_object(struct walk *w, const json_t *obj, const char *prefix);

static int
member(struct walk *w, const char *full, const json_t *v)
{
	const struct schema_key *k = schema_find(full);

	switch (k->kind) {
	case K_OBJECT:
		if (!json_is_object(v))
			return werr(w, 0, NULL, "expected object, got %s", type_name(v));
		return walk_object(w, v, full);
	case K_PATHS:
		return string_list(w, v, (enum policy_list)k->idx, policy_check_path, "paths");
	case K_SOCKETS:
		return string_list(w, v, (enum policy_list)k->idx, policy_check_path,
				   "socket paths");
	case K_DOMAINS:
		return string_list(w, v, (enum policy_list)k->idx, policy_check_domain, "domains");
	case K_HOSTS:
		return string_list(w, v, (enum policy_list)k->idx, policy_check_host, "hosts");
	case K_NETRULES:
		return net_rules(w, v);
	case K_CREDFILES:
		return cred_entries(w, v, 1);
	case K_ENVVARS:
		return cred_entries(w, v, 0);
	case K_INJECT:
		return inject_entries(w, v);
	case K_LOCK:
		return lock_entries(w, v);
	case K_COMPAT:
		policy_note(w->pol,
			    "%s: `sandbox.%s` is a Claude Code setting with no effect in "
			    "cordon",
			    w->pfile ? w->pfile : "settings", full);
		return 0;
	case K_BOOL:
	case K_MEMORY:
	case K_CPUS:
	case K_PIDS:
	case K_PATH:
	case K_URL:
	default:
		return scalar(w, k, v);
	}
}

static int
walk_object(struct walk *w, const json_t *obj, const char *prefix)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)obj, key, v)
	{
		char full[POLICY_MAX_KEY];
		int r;

		if (push_key(w, key) < 0)
			return -1;
		snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", key);
		if (schema_find(full) == NULL || strlen(prefix) + strlen(key) + 2 > sizeof(full)) {
			char known[200];
			size_t o = 0, pl = strlen(prefix);

			known[0] = '\0';
			for (size_t i = 0; i < ARRAY_SIZE(schema) && o < sizeof(known); i++) {
				const char *sk = schema[i].key, *rest;

				if (pl && (strncmp(sk, prefix, pl) != 0 || sk[pl] != '.'))
					continue;
				rest = pl ? sk + pl + 1 : sk;
				if (strchr(rest, '.') != NULL || schema[i].kind == K_COMPAT)
					continue;
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      o ? ", " : "", rest);
			}
			werr(w, 1, NULL, "unknown key");
			cordon_err_hint(w->err, "known keys here: %s", known);
			return -1;
		}
		r = member(w, full, v);
		if (r < 0)
			return -1;
		pop(w);
	}
	return 0;
}

int
policy_parse(struct cordon_policy *pol, const char *text, size_t len, const char *file,
	     enum policy_layer layer, unsigned flags, struct cordon_err *err)
{
	struct walk w;
	json_error_t jerr;
	json_t *root, *sandbox = NULL;
	const char *key;
	json_t *v;
	char fname[128];
	int r = -1;

	memset(&w, 0, sizeof(w));
	w.pol = pol;
	w.text = text;
	w.len = len;
	w.file = file ? file : "<settings>";
	w.pfile = policy_strdup(pol, w.file);
	w.layer = layer;
	w.flags = flags;
	w.err = err;
	policy_sanitize(w.file, fname, sizeof(fname));
	if (len > POLICY_MAX_FILE_SIZE) {
		cordon_err_set(err, 0, "%s: settings file larger than %u bytes", fname,
			       POLICY_MAX_FILE_SIZE);
		return cordon_err_hint(err,
				       "settings files are small; check that %s is the file "
				       "you mean",
				       fname);
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		cordon_err_set(err, 0,
			       "%s:1:1: invalid JSON: the file starts with a UTF-8 byte "
			       "order mark (BOM)",
			       fname);
		return cordon_err_hint(err, "save it as UTF-8 without a BOM (JSON has none); "
					    "sed -i '1s/^\\xEF\\xBB\\xBF//' FILE removes it");
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		char what[160];
		size_t at;

		if (trailing_comma(text, len, jerr.position, &at)) {
			cordon_err_set(err, 0, "%s:%u:%u: invalid JSON: an extra comma before '%c'",
				       fname, line_of(text, at), col_of(text, at),
				       text[jerr.position - 1]);
			return cordon_err_hint(err,
					       "JSON allows no comma after the last element of "
					       "a list or object; remove it");
		}
		if (json_error_code(&jerr) == json_error_stack_overflow) {
			cordon_err_set(err, 0,
				       "%s:%d:%d: invalid JSON: nested deeper than %d levels",
				       fname, jerr.line < 1 ? 1 : jerr.line,
				       jerr.column < 1 ? 1 : jerr.column, JSON_PARSER_MAX_DEPTH);
			return cordon_err_hint(err, "settings nest a few levels deep; check that "
						    "this is the file you mean");
		}
		policy_sanitize(jerr.text, what, sizeof(what));
		cordon_err_set(err, 0, "%s:%d:%d: invalid JSON: %s", fname,
			       jerr.line < 1 ? 1 : jerr.line, jerr.column < 1 ? 1 : jerr.column,
			       what);
		if (strstr(jerr.text, "duplicate object key") != NULL)
			return cordon_err_hint(err, "a key may appear only once in an object; "
						    "remove or merge the repeated one");
		return cordon_err_hint(err, "fix the syntax at that position (a missing comma "
					    "or quote is the usual cause)");
	}
	if (!json_is_object(root)) {
		cordon_err_set(err, 0, "%s:1:1: expected a JSON object at the top level, got %s",
			       fname, type_name(root));
		cordon_err_hint(err, "settings look like {\"sandbox\": {...}}; " DEFAULT_HINT);
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "sandbox") == 0) {
			sandbox = v;
			continue;
		}
		if ((flags & POLICY_PARSE_CLAUDE) || strcmp(key, "$schema") == 0)
			continue;
		push_key(&w, key);
		werr(&w, 1,
		     "cordon settings files hold one `sandbox` object; Claude Code's "
		     "settings.json is read with --claude-settings",
		     "unknown key");
		goto out;
	}
	if (sandbox == NULL) {
		r = 0;
		goto out;
	}
	push_key(&w, "sandbox");
	if (!json_is_object(sandbox)) {
		werr(&w, 0, NULL, "expected object, got %s", type_name(sandbox));
		goto out;
	}
	r = walk_object(&w, sandbox, "");
out:
	json_decref(root);
	return r;
}

/* ---- output ---- */

static json_t *
origin_json(const struct policy_origin *o)
{
	json_t *j = json_object();
	char buf[256];

	json_object_set_new(j, "layer", json_string(policy_layer_name(o->layer)));
	if (o->file != NULL) {
		snprintf(buf, sizeof(buf), "%s:%u:%u", o->file, o->line, o->col);
		json_object_set_new(j, "source", json_string(buf));
	}
	return j;
}

static json_t *
obj_path(json_t *root, const char *key, char *leaf, size_t leaf_len)
{
	const char *dot = strchr(key, '.');
	json_t *o = root;

	if (dot != NULL) {
		char parent[64];
		size_t n = (size_t)(dot - key);

		if (n >= sizeof(parent))
			n = sizeof(parent) - 1;
		memcpy(parent, key, n);
		parent[n] = '\0';
		o = json_object_get(root, parent);
		if (o == NULL) {
			o = json_object();
			json_object_set_new(root, parent, o);
		}
		key = dot + 1;
	}
	snprintf(leaf, leaf_len, "%s", key);
	return o;
}

static json_t *
entry(const char *value, const struct policy_origin *o)
{
	json_t *e = origin_json(o);

	json_object_set_new(e, "value", json_string(value));
	return e;
}

static json_t *
strv_json(const char **v)
{
	json_t *a = json_array();

	for (; v != NULL && *v != NULL; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

char *
policy_render_json(const struct cordon_policy *pol)
{
	json_t *root = json_object(), *sb = json_object(), *a, *notes;
	char leaf[64], *out;

	json_object_set_new(root, "sandbox", sb);
	for (int s = 0; s < POLICY_SCALAR__MAX; s++) {
		const struct policy_value *v = &pol->scalars[s];
		json_t *val, *e, *o;

		if (!v->set)
			continue;
		switch ((enum policy_scalar)s) {
		case POLICY_FAIL_IF_UNAVAILABLE:
		case POLICY_NET_ALLOW_LOCAL_BINDING:
		case POLICY_AUDIT_FAIL_CLOSED:
		case POLICY_AUDIT_SYSLOG:
		case POLICY_TERM_ALLOW_CLIPBOARD:
			val = json_boolean(v->b);
			break;
		case POLICY_RES_CPUS:
			val = json_real(v->num);
			break;
		case POLICY_RES_PIDS:
			val = json_integer((json_int_t)v->u);
			break;
		case POLICY_RES_MEMORY:
		case POLICY_RES_DISK:
		case POLICY_AUDIT_PATH:
		case POLICY_AUDIT_OTLP:
		case POLICY_SCALAR__MAX:
		default:
			val = json_string(v->s ? v->s : "");
			break;
		}
		e = origin_json(&v->origin);
		json_object_set_new(e, "value", val);
		o = obj_path(sb, policy_scalar_key((enum policy_scalar)s), leaf, sizeof(leaf));
		json_object_set_new(o, leaf, e);
	}
	for (int l = 0; l < POLICY_LIST__MAX; l++) {
		const struct policy_rules *r = &pol->lists[l];
		json_t *o;

		bool cred = l == POLICY_CRED_FILES_DENY || l == POLICY_CRED_FILES_ALLOW ||
			    l == POLICY_CRED_ENV_DENY || l == POLICY_CRED_ENV_ALLOW;
		bool deny = l == POLICY_CRED_FILES_DENY || l == POLICY_CRED_ENV_DENY;

		o = obj_path(sb, policy_list_key((enum policy_list)l), leaf, sizeof(leaf));
		/* credentials.files and .envVars: one array, deny and allow entries. */
		a = cred ? json_object_get(o, leaf) : NULL;
		if (a == NULL) {
			a = json_array();
			json_object_set_new(o, leaf, a);
		}
		for (size_t i = 0; i < r->n; i++) {
			json_t *e = entry(r->v[i].value, &r->v[i].origin);

			if (cred)
				json_object_set_new(e, "mode",
						    json_string(deny ? "deny" : "allow"));
			json_array_append_new(a, e);
		}
	}
	a = json_array();
	for (size_t i = 0; i < pol->n_net_rules; i++) {
		const struct policy_net_rule *nr = &pol->net_rules[i];
		json_t *e = origin_json(&nr->origin);

		json_object_set_new(e, "host", json_string(nr->host));
		json_object_set_new(e, "methods", strv_json(nr->methods));
		json_object_set_new(e, "paths", strv_json(nr->paths));
		json_array_append_new(a, e);
	}
	json_object_set_new(obj_path(sb, "network.rules", leaf, sizeof(leaf)), leaf, a);
	a = json_array();
	for (size_t i = 0; i < pol->n_inject; i++) {
		const struct policy_inject *in = &pol->inject[i];
		json_t *e = origin_json(&in->origin);

		json_object_set_new(e, "host", json_string(in->host));
		if (in->header != NULL)
			json_object_set_new(e, "header", json_string(in->header));
		if (in->basic_user != NULL || in->basic_user_env != NULL)
			json_object_set_new(
			    e, "basic",
			    in->basic_user != NULL
				? json_pack("{s:s}", "user", in->basic_user)
				: json_pack("{s:s}", "userFromEnv", in->basic_user_env));
		if (in->from_env != NULL)
			json_object_set_new(e, "fromEnv", json_string(in->from_env));
		if (in->from_file != NULL)
			json_object_set_new(e, "fromFile", json_string(in->from_file));
		if (in->prefix != NULL)
			json_object_set_new(e, "prefix", json_string(in->prefix));
		json_array_append_new(a, e);
	}
	json_object_set_new(obj_path(sb, "credentials.inject", leaf, sizeof(leaf)), leaf, a);
	a = json_array();
	for (size_t i = 0; i < pol->locks.n; i++)
		json_array_append_new(a, entry(pol->locks.v[i].value, &pol->locks.v[i].origin));
	json_object_set_new(sb, "lock", a);
	notes = json_array();
	for (size_t i = 0; i < pol->n_notes; i++)
		json_array_append_new(notes, json_string(pol->notes[i]));
	json_object_set_new(root, "notes", notes);
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(root);
	if (out == NULL)
		abort();
	{
		/* json_dumps uses the library's allocator: hand back a malloc'd copy. */
		char *copy = xstrdup(out);

		free(out);
		return copy;
	}
}

/* ---- trust store: {"trusted": [{"dir": "/abs/dir", "sha256": "hex"}]} ---- */

static int
trust_bad(const char *file, struct cordon_err *err)
{
	cordon_err_set(err, 0, "%s: expected {\"trusted\": [{\"dir\": ..., \"sha256\": ...}]}",
		       file);
	return cordon_err_hint(err, "fix or remove the file; `cordon trust DIR` rewrites it");
}

int
policy_trust_parse(const char *text, size_t len, const char *file, struct policy_trust_entry **v,
		   size_t *n, struct cordon_err *err)
{
	json_error_t jerr;
	json_t *root, *a, *e;
	size_t i;

	*v = NULL;
	*n = 0;
	root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		cordon_err_set(err, 0, "%s:%d:%d: invalid JSON: %s", file, jerr.line, jerr.column,
			       jerr.text);
		return cordon_err_hint(err,
				       "fix or remove the file; `cordon trust DIR` rewrites it");
	}
	a = json_object_get(root, "trusted");
	if (!json_is_array(a)) {
		json_decref(root);
		return trust_bad(file, err);
	}
	*v = xcalloc(json_array_size(a) + 1, sizeof(**v));
	json_array_foreach(a, i, e)
	{
		const char *dir = NULL, *sha = NULL;

		/* A plain string: trusted before trust named the content. */
		if (json_is_string(e)) {
			dir = json_string_value(e);
		} else if (json_is_object(e)) {
			dir = json_string_value(json_object_get(e, "dir"));
			sha = json_string_value(json_object_get(e, "sha256"));
		}
		if (dir == NULL || dir[0] != '/')
			continue;
		(*v)[*n].dir = xstrdup(dir);
		(*v)[*n].sha256 = sha != NULL ? xstrdup(sha) : NULL;
		(*n)++;
	}
	json_decref(root);
	return 0;
}

char *
policy_trust_render(const struct policy_trust_entry *v, size_t n)
{
	json_t *root = json_object(), *a = json_array();
	char *out, *copy;

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "dir", json_string(v[i].dir));
		json_object_set_new(e, "sha256",
				    v[i].sha256 != NULL ? json_string(v[i].sha256) : json_null());
		json_array_append_new(a, e);
	}
	json_object_set_new(root, "trusted", a);
	out = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (out == NULL)
		abort();
	copy = xasprintf("%s\n", out);
	free(out);
	return copy;
}
