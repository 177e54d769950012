/* SPDX-License-Identifier: MIT */
/*
 * struct cordon_policy: life cycle, string pool, names, and the text form
 * shown by `cordon policy show`. Pure.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "policy/internal.h"

static const char *const layer_names[POLICY_LAYER__MAX] = {
	[POLICY_LAYER_BUILTIN] = "built-in", [POLICY_LAYER_PROFILE] = "profile",
	[POLICY_LAYER_USER] = "user",        [POLICY_LAYER_CLAUDE] = "claude",
	[POLICY_LAYER_PROJECT] = "project",  [POLICY_LAYER_CLI] = "command line",
	[POLICY_LAYER_MANAGED] = "managed",
};

static const char *const list_keys[POLICY_LIST__MAX] = {
	[POLICY_FS_ALLOW_WRITE] = "filesystem.allowWrite",
	[POLICY_FS_DENY_WRITE] = "filesystem.denyWrite",
	[POLICY_FS_DENY_READ] = "filesystem.denyRead",
	[POLICY_FS_ALLOW_READ] = "filesystem.allowRead",
	[POLICY_NET_ALLOWED_DOMAINS] = "network.allowedDomains",
	[POLICY_NET_DENIED_DOMAINS] = "network.deniedDomains",
	[POLICY_NET_ALLOW_UNIX_SOCKETS] = "network.allowUnixSockets",
	[POLICY_CRED_FILES_DENY] = "credentials.files",
	[POLICY_CRED_FILES_ALLOW] = "credentials.files",
	[POLICY_CRED_ENV_DENY] = "credentials.envVars",
	[POLICY_CRED_ENV_ALLOW] = "credentials.envVars",
	[POLICY_TLS_INSPECT] = "tls.inspect",
	[POLICY_TLS_BYPASS] = "tls.bypass",
};

/* Names used by `policy show` (the files' mode split out). */
static const char *const list_show[POLICY_LIST__MAX] = {
	[POLICY_FS_ALLOW_WRITE] = "filesystem.allowWrite",
	[POLICY_FS_DENY_WRITE] = "filesystem.denyWrite",
	[POLICY_FS_DENY_READ] = "filesystem.denyRead",
	[POLICY_FS_ALLOW_READ] = "filesystem.allowRead",
	[POLICY_NET_ALLOWED_DOMAINS] = "network.allowedDomains",
	[POLICY_NET_DENIED_DOMAINS] = "network.deniedDomains",
	[POLICY_NET_ALLOW_UNIX_SOCKETS] = "network.allowUnixSockets",
	[POLICY_CRED_FILES_DENY] = "credentials.filesDeny",
	[POLICY_CRED_FILES_ALLOW] = "credentials.filesAllow",
	[POLICY_CRED_ENV_DENY] = "credentials.envVarsDeny",
	[POLICY_CRED_ENV_ALLOW] = "credentials.envVarsAllow",
	[POLICY_TLS_INSPECT] = "tls.inspect",
	[POLICY_TLS_BYPASS] = "tls.bypass",
};

static const char *const scalar_keys[POLICY_SCALAR__MAX] = {
	[POLICY_FAIL_IF_UNAVAILABLE] = "failIfUnavailable",
	[POLICY_NET_ALLOW_LOCAL_BINDING] = "network.allowLocalBinding",
	[POLICY_RES_MEMORY] = "resources.memory",
	[POLICY_RES_CPUS] = "resources.cpus",
	[POLICY_RES_PIDS] = "resources.pids",
	[POLICY_RES_DISK] = "resources.disk",
	[POLICY_AUDIT_PATH] = "audit.path",
	[POLICY_AUDIT_OTLP] = "audit.otlpEndpoint",
	[POLICY_AUDIT_FAIL_CLOSED] = "audit.failClosed",
	[POLICY_AUDIT_SYSLOG] = "audit.syslog",
	[POLICY_TERM_ALLOW_CLIPBOARD] = "terminal.allowClipboard",
};

void
policy_init(struct cordon_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
}

void
policy_free(struct cordon_policy *pol)
{
	for (int l = 0; l < POLICY_LIST__MAX; l++)
		free(pol->lists[l].v);
	free(pol->locks.v);
	free(pol->env_set.v);
	free(pol->net_rules);
	free(pol->inject);
	for (size_t i = 0; i < pol->n_notes; i++)
		free(pol->notes[i]);
	free(pol->notes);
	for (size_t i = 0; i < pol->n_pool; i++)
		free(pol->pool[i]);
	free(pol->pool);
	policy_init(pol);
}

void
policy_pool_add(struct cordon_policy *pol, char *p)
{
	if (pol->n_pool == pol->cap_pool) {
		pol->cap_pool = pol->cap_pool ? 2 * pol->cap_pool : 64;
		pol->pool = xrealloc(pol->pool, pol->cap_pool * sizeof(*pol->pool));
	}
	pol->pool[pol->n_pool++] = p;
}

const char *
policy_strdup(struct cordon_policy *pol, const char *s)
{
	char *p = xstrdup(s);

	policy_pool_add(pol, p);
	return p;
}

static void
rules_push(struct cordon_policy *pol, struct policy_rules *r, const char *value,
	   struct policy_origin origin)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	if (origin.file != NULL)
		origin.file = policy_strdup(pol, origin.file);
	r->v[r->n].value = policy_strdup(pol, value);
	r->v[r->n].origin = origin;
	r->n++;
}

int
policy_rules_add(struct cordon_policy *pol, enum policy_list list, const char *value,
		 struct policy_origin origin)
{
	struct policy_rules *r = &pol->lists[list];

	if (r->n >= POLICY_MAX_RULES)
		return -1;
	rules_push(pol, r, value, origin);
	return 0;
}

void
policy_rules_add_lock(struct cordon_policy *pol, const char *key, struct policy_origin origin)
{
	rules_push(pol, &pol->locks, key, origin);
}

void
policy_env_set_add(struct cordon_policy *pol, const char *assignment, struct policy_origin origin)
{
	rules_push(pol, &pol->env_set, assignment, origin);
}

void
policy_net_rule_add(struct cordon_policy *pol, const struct policy_net_rule *r)
{
	pol->net_rules = xrealloc(pol->net_rules, (pol->n_net_rules + 1) * sizeof(*r));
	pol->net_rules[pol->n_net_rules++] = *r;
}

void
policy_inject_add(struct cordon_policy *pol, const struct policy_inject *in)
{
	pol->inject = xrealloc(pol->inject, (pol->n_inject + 1) * sizeof(*in));
	pol->inject[pol->n_inject++] = *in;
}

void
policy_note(struct cordon_policy *pol, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (size_t i = 0; i < pol->n_notes; i++)
		if (strcmp(pol->notes[i], s) == 0) {
			free(s);
			return;
		}
	pol->notes = xrealloc(pol->notes, (pol->n_notes + 1) * sizeof(*pol->notes));
	pol->notes[pol->n_notes++] = s;
}

const char *
policy_layer_name(enum policy_layer layer)
{
	if ((int)layer < 0 || layer >= POLICY_LAYER__MAX)
		return "?";
	return layer_names[layer];
}

const char *
policy_list_key(enum policy_list list)
{
	if ((int)list < 0 || list >= POLICY_LIST__MAX)
		return "?";
	return list_keys[list];
}

const char *
policy_scalar_key(enum policy_scalar sc)
{
	if ((int)sc < 0 || sc >= POLICY_SCALAR__MAX)
		return "?";
	return scalar_keys[sc];
}

void
policy_origin_format(const struct policy_origin *o, char *buf, size_t len)
{
	if (o->file != NULL && o->line > 0)
		snprintf(buf, len, "%s %s:%u:%u", policy_layer_name(o->layer), o->file, o->line,
			 o->col);
	else if (o->file != NULL)
		snprintf(buf, len, "%s %s", policy_layer_name(o->layer), o->file);
	else
		snprintf(buf, len, "%s", policy_layer_name(o->layer));
}

bool
policy_list_tightens(enum policy_list list)
{
	switch (list) {
	case POLICY_FS_DENY_WRITE:
	case POLICY_FS_DENY_READ:
	case POLICY_NET_DENIED_DOMAINS:
	case POLICY_CRED_FILES_DENY:
	case POLICY_CRED_ENV_DENY:
	case POLICY_TLS_INSPECT: /* reading a tunnel only adds visibility */
		return true;
	case POLICY_TLS_BYPASS: /* a host no rule or credential can reach */
	case POLICY_FS_ALLOW_WRITE:
	case POLICY_FS_ALLOW_READ:
	case POLICY_NET_ALLOWED_DOMAINS:
	case POLICY_NET_ALLOW_UNIX_SOCKETS:
	case POLICY_CRED_FILES_ALLOW:
	case POLICY_CRED_ENV_ALLOW:
	case POLICY_LIST__MAX:
	default:
		return false;
	}
}

bool
policy_locked(const struct cordon_policy *pol, const char *key)
{
	if (pol == NULL)
		return false;
	for (size_t i = 0; i < pol->locks.n; i++) {
		const char *l = pol->locks.v[i].value;
		size_t n = strlen(l);

		if (strncmp(key, l, n) == 0 && (key[n] == '\0' || key[n] == '.'))
			return true;
	}
	return false;
}

bool
policy_fail_if_unavailable(const struct cordon_policy *pol)
{
	const struct policy_value *v = &pol->scalars[POLICY_FAIL_IF_UNAVAILABLE];

	return v->set ? v->b : true;
}

bool
policy_terminal_allow_clipboard(const struct cordon_policy *pol)
{
	return pol != NULL && pol->scalars[POLICY_TERM_ALLOW_CLIPBOARD].set &&
	       pol->scalars[POLICY_TERM_ALLOW_CLIPBOARD].b;
}

const char **
policy_values(const struct cordon_policy *pol, enum policy_list list, size_t *n)
{
	const struct policy_rules *r = &pol->lists[list];
	const char **v = xcalloc(r->n + 1, sizeof(*v));

	for (size_t i = 0; i < r->n; i++)
		v[i] = r->v[i].value;
	if (n != NULL)
		*n = r->n;
	return v;
}

/* ---- text rendering ---- */

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		size_t room = b->cap - b->n;

		va_start(ap, fmt);
		k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0)
			abort();
		if ((size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		b->cap = (b->cap + (size_t)k + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
}

static void
sb_value(struct sbuf *b, const char *key, const char *value, const struct policy_origin *o)
{
	char org[300], v[POLICY_MAX_STRING + 8];

	policy_origin_format(o, org, sizeof(org));
	policy_sanitize(value, v, sizeof(v));
	sb_printf(b, "  %-28s %-40s  (%s)\n", key, v, org);
}

char *
policy_render_text(const struct cordon_policy *pol)
{
	struct sbuf b = { NULL, 0, 0 };

	sb_printf(&b, "Effective policy (key, value, origin):\n");
	for (int s = 0; s < POLICY_SCALAR__MAX; s++) {
		const struct policy_value *v = &pol->scalars[s];
		char val[64];
		const char *text = val;

		switch ((enum policy_scalar)s) {
		/*
		 * Unset, local binding is allowed (only an explicit false turns
		 * it off, session/walls.c): shown as it behaves.
		 */
		case POLICY_FAIL_IF_UNAVAILABLE:
		case POLICY_AUDIT_FAIL_CLOSED:
		case POLICY_NET_ALLOW_LOCAL_BINDING:
			snprintf(val, sizeof(val), "%s",
				 v->set ? (v->b ? "true" : "false") : "true");
			break;
		case POLICY_AUDIT_SYSLOG:
		case POLICY_TERM_ALLOW_CLIPBOARD:
			snprintf(val, sizeof(val), "%s", v->set && v->b ? "true" : "false");
			break;
		case POLICY_RES_CPUS:
			snprintf(val, sizeof(val), "%g", v->num);
			break;
		case POLICY_RES_PIDS:
			snprintf(val, sizeof(val), "%llu", (unsigned long long)v->u);
			break;
		case POLICY_RES_MEMORY:
		case POLICY_RES_DISK:
		case POLICY_AUDIT_PATH:
		case POLICY_AUDIT_OTLP:
		case POLICY_SCALAR__MAX:
		default:
			text = v->s;
			break;
		}
		if (!v->set) {
			static const struct policy_origin dflt = { POLICY_LAYER_BUILTIN, NULL, 0,
								   0 };

			if (s == POLICY_FAIL_IF_UNAVAILABLE || s == POLICY_AUDIT_FAIL_CLOSED ||
			    s == POLICY_NET_ALLOW_LOCAL_BINDING || s == POLICY_TERM_ALLOW_CLIPBOARD)
				sb_value(&b, scalar_keys[s], text, &dflt);
			continue;
		}
		sb_value(&b, scalar_keys[s], text ? text : "", &v->origin);
	}
	for (int l = 0; l < POLICY_LIST__MAX; l++) {
		const struct policy_rules *r = &pol->lists[l];

		if (r->n == 0) {
			if (l == POLICY_NET_ALLOWED_DOMAINS)
				sb_printf(&b, "  %-28s %s\n", list_show[l],
					  "(none: nothing leaves the sandbox)");
			continue;
		}
		for (size_t i = 0; i < r->n; i++)
			sb_value(&b, list_show[l], r->v[i].value, &r->v[i].origin);
	}
	for (size_t i = 0; i < pol->n_net_rules; i++) {
		const struct policy_net_rule *nr = &pol->net_rules[i];
		char line[600];
		size_t o;

		o = (size_t)snprintf(line, sizeof(line), "%s methods=", nr->host);
		for (const char **m = nr->methods; *m && o < sizeof(line); m++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s",
					      m == nr->methods ? "" : ",", *m);
		if (nr->methods[0] == NULL && o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, "any");
		if (o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, " paths=");
		for (const char **p = nr->paths; *p && o < sizeof(line); p++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s",
					      p == nr->paths ? "" : ",", *p);
		if (nr->paths[0] == NULL && o < sizeof(line))
			snprintf(line + o, sizeof(line) - o, "any");
		sb_value(&b, "network.rules", line, &nr->origin);
	}
	for (size_t i = 0; i < pol->n_inject; i++) {
		const struct policy_inject *in = &pol->inject[i];
		char line[PATH_MAX + 1024];

		char what[300], from[PATH_MAX + 8];

		if (in->header != NULL)
			snprintf(what, sizeof(what), "%s%s%s%s", in->header,
				 in->prefix ? " \"" : "", in->prefix ? in->prefix : "",
				 in->prefix ? "...\"" : "");
		else if (in->basic_user != NULL)
			snprintf(what, sizeof(what), "Authorization Basic user %s", in->basic_user);
		else
			snprintf(what, sizeof(what), "Authorization Basic user from $%s",
				 in->basic_user_env);
		if (in->from_env != NULL)
			snprintf(from, sizeof(from), "$%s", in->from_env);
		else
			snprintf(from, sizeof(from), "file %s", in->from_file);
		snprintf(line, sizeof(line), "%s %s: from %s", in->host, what, from);
		sb_value(&b, "credentials.inject", line, &in->origin);
	}
	for (size_t i = 0; i < pol->locks.n; i++)
		sb_value(&b, "lock", pol->locks.v[i].value, &pol->locks.v[i].origin);
	if (pol->n_notes > 0) {
		sb_printf(&b, "Notes:\n");
		for (size_t i = 0; i < pol->n_notes; i++) {
			char v[600];

			policy_sanitize(pol->notes[i], v, sizeof(v));
			sb_printf(&b, "  %s\n", v);
		}
	}
	return b.s;
}
