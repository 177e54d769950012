/* SPDX-License-Identifier: MIT */
/*
 * Layer merging. Lists grow, scalars are overridden by higher layers. The
 * project layer of an untrusted workspace may only tighten; keys locked by
 * the managed layer keep the managed value. Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "policy/internal.h"

#define TRUST_HINT                                                                                 \
	"the workspace's .cordon/settings.json comes from the repository; review it, then "        \
	"`cordon trust DIR` if you trust this workspace, or remove the entry"

static int
refuse_widening(const struct policy_origin *o, const char *key, const char *value,
		struct cordon_err *err)
{
	char v[128], file[128];

	policy_sanitize(value, v, sizeof(v));
	policy_sanitize(o->file ? o->file : "project settings", file, sizeof(file));
	cordon_err_set(err, 0,
		       "%s:%u:%u: key `sandbox.%s`: \"%s\" widens the policy, and an untrusted "
		       "workspace may only tighten it",
		       file, o->line, o->col, key, v);
	return cordon_err_hint(err, TRUST_HINT);
}

/*
 * A locked key: from the command line that is an error (the user asked
 * for something that cannot happen), from a file it is dropped with a
 * note.
 */
static int
locked_entry(struct cordon_policy *eff, const struct cordon_policy *locks, enum policy_layer which,
	     const char *key, const char *value, const struct policy_origin *o,
	     struct cordon_err *err)
{
	char v[128], org[300], lorg[300] = "managed";

	policy_sanitize(value, v, sizeof(v));
	for (size_t i = 0; i < locks->locks.n; i++) {
		const char *l = locks->locks.v[i].value;
		size_t n = strlen(l);

		if (strncmp(key, l, n) == 0 && (key[n] == '\0' || key[n] == '.')) {
			policy_origin_format(&locks->locks.v[i].origin, lorg, sizeof(lorg));
			break;
		}
	}
	if (which == POLICY_LAYER_CLI) {
		cordon_err_set(err, 0,
			       "command line: key `sandbox.%s` is locked by the managed settings "
			       "(%s); \"%s\" refused",
			       key, lorg, v);
		return cordon_err_hint(err, "the administrator fixed this key in the managed "
					    "settings; `cordon policy show` prints its value");
	}
	policy_origin_format(o, org, sizeof(org));
	policy_note(eff, "ignored `sandbox.%s` \"%s\" from %s: locked by %s", key, v, org, lorg);
	return 0;
}

static bool
rules_has(const struct policy_rules *r, const char *value)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].value, value) == 0)
			return true;
	return false;
}

/* Does setting scalar s to nv widen the effective policy cur? */
static bool
scalar_widens(enum policy_scalar s, const struct policy_value *cur, const struct policy_value *nv)
{
	switch (s) {
	case POLICY_FAIL_IF_UNAVAILABLE:
	case POLICY_AUDIT_FAIL_CLOSED:
		return !nv->b;
	case POLICY_AUDIT_SYSLOG:
		/* Fewer copies of the record is wider; more is not. */
		return cur->set && cur->b && !nv->b;
	case POLICY_NET_ALLOW_LOCAL_BINDING:
	case POLICY_TERM_ALLOW_CLIPBOARD:
		return nv->b;
	case POLICY_RES_MEMORY:
	case POLICY_RES_DISK:
	case POLICY_RES_PIDS:
		return cur->set && nv->u > cur->u;
	case POLICY_RES_CPUS:
		return cur->set && nv->num > cur->num;
	case POLICY_AUDIT_PATH:
	case POLICY_AUDIT_OTLP:
		/* The repository must not choose where the record of its run goes. */
		return true;
	case POLICY_SCALAR__MAX:
	default:
		return true;
	}
}

static const char *
scalar_text(const struct policy_value *v, enum policy_scalar s, char *buf, size_t len)
{
	switch (s) {
	case POLICY_FAIL_IF_UNAVAILABLE:
	case POLICY_AUDIT_FAIL_CLOSED:
	case POLICY_NET_ALLOW_LOCAL_BINDING:
	case POLICY_AUDIT_SYSLOG:
	case POLICY_TERM_ALLOW_CLIPBOARD:
		return v->b ? "true" : "false";
	case POLICY_RES_CPUS:
		snprintf(buf, len, "%g", v->num);
		return buf;
	case POLICY_RES_PIDS:
		snprintf(buf, len, "%llu", (unsigned long long)v->u);
		return buf;
	case POLICY_RES_MEMORY:
	case POLICY_RES_DISK:
	case POLICY_AUDIT_PATH:
	case POLICY_AUDIT_OTLP:
	case POLICY_SCALAR__MAX:
	default:
		return v->s ? v->s : "";
	}
}

static const char **
copy_strv(struct cordon_policy *eff, const char **v)
{
	size_t n = 0;
	const char **out;

	while (v != NULL && v[n] != NULL)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	policy_pool_add(eff, (char *)out);
	for (size_t i = 0; i < n; i++)
		out[i] = policy_strdup(eff, v[i]);
	return out;
}

static struct policy_origin
copy_origin(struct cordon_policy *eff, const struct policy_origin *o)
{
	struct policy_origin c = *o;

	if (c.file != NULL)
		c.file = policy_strdup(eff, c.file);
	return c;
}

int
policy_merge(struct cordon_policy *eff, const struct cordon_policy *layer, enum policy_layer which,
	     bool trusted, const struct cordon_policy *locks, struct cordon_err *err)
{
	bool guard = which == POLICY_LAYER_PROJECT && !trusted;
	bool lockable = which != POLICY_LAYER_BUILTIN && which != POLICY_LAYER_MANAGED;
	char buf[64];

	for (int l = 0; l < POLICY_LIST__MAX; l++) {
		const struct policy_rules *r = &layer->lists[l];
		const char *key = policy_list_key((enum policy_list)l);
		bool tight = policy_list_tightens((enum policy_list)l);

		for (size_t i = 0; i < r->n; i++) {
			const struct policy_rule *e = &r->v[i];

			if (guard && !tight)
				return refuse_widening(&e->origin, key, e->value, err);
			if (lockable && !tight && policy_locked(locks, key)) {
				if (locked_entry(eff, locks, which, key, e->value, &e->origin,
						 err) < 0)
					return -1;
				continue;
			}
			if (rules_has(&eff->lists[l], e->value))
				continue;
			if (policy_rules_add(eff, (enum policy_list)l, e->value, e->origin) < 0) {
				cordon_err_set(err, 0,
					       "key `sandbox.%s`: more than %u entries in all "
					       "layers",
					       key, POLICY_MAX_RULES);
				return cordon_err_hint(err, "use globs or parent directories to "
							    "shorten the list");
			}
		}
	}
	for (int s = 0; s < POLICY_SCALAR__MAX; s++) {
		const struct policy_value *nv = &layer->scalars[s];
		struct policy_value *cur = &eff->scalars[s];
		const char *key = policy_scalar_key((enum policy_scalar)s);

		if (!nv->set)
			continue;
		if (guard && scalar_widens((enum policy_scalar)s, cur, nv))
			return refuse_widening(
			    &nv->origin, key,
			    scalar_text(nv, (enum policy_scalar)s, buf, sizeof(buf)), err);
		if (lockable && policy_locked(locks, key)) {
			if (locked_entry(eff, locks, which, key,
					 scalar_text(nv, (enum policy_scalar)s, buf, sizeof(buf)),
					 &nv->origin, err) < 0)
				return -1;
			continue;
		}
		*cur = *nv;
		cur->s = nv->s ? policy_strdup(eff, nv->s) : NULL;
		cur->origin = copy_origin(eff, &nv->origin);
	}
	for (size_t i = 0; i < layer->n_net_rules; i++) {
		const struct policy_net_rule *nr = &layer->net_rules[i];
		struct policy_net_rule c;

		/* A rule only narrows what an allowed host may receive. */
		if (lockable && policy_locked(locks, "network.rules")) {
			if (locked_entry(eff, locks, which, "network.rules", nr->host, &nr->origin,
					 err) < 0)
				return -1;
			continue;
		}
		if (eff->n_net_rules >= POLICY_MAX_NET_RULES) {
			cordon_err_set(err, 0,
				       "key `sandbox.network.rules`: more than %u rules in "
				       "all layers",
				       POLICY_MAX_NET_RULES);
			return cordon_err_hint(err, "merge rules for the same host");
		}
		c.host = policy_strdup(eff, nr->host);
		c.methods = copy_strv(eff, nr->methods);
		c.paths = copy_strv(eff, nr->paths);
		c.origin = copy_origin(eff, &nr->origin);
		policy_net_rule_add(eff, &c);
	}
	for (size_t i = 0; i < layer->n_inject; i++) {
		const struct policy_inject *in = &layer->inject[i];
		struct policy_inject c;

		if (guard)
			return refuse_widening(&in->origin, "credentials.inject", in->host, err);
		if (lockable && policy_locked(locks, "credentials.inject")) {
			if (locked_entry(eff, locks, which, "credentials.inject", in->host,
					 &in->origin, err) < 0)
				return -1;
			continue;
		}
		if (eff->n_inject >= POLICY_MAX_INJECT) {
			cordon_err_set(err, 0,
				       "key `sandbox.credentials.inject`: more than %u "
				       "entries in all layers",
				       POLICY_MAX_INJECT);
			return cordon_err_hint(err, "one entry per host and header is enough");
		}
		c.host = policy_strdup(eff, in->host);
		c.header = in->header ? policy_strdup(eff, in->header) : NULL;
		c.from_env = in->from_env ? policy_strdup(eff, in->from_env) : NULL;
		c.prefix = in->prefix ? policy_strdup(eff, in->prefix) : NULL;
		c.from_file = in->from_file ? policy_strdup(eff, in->from_file) : NULL;
		c.basic_user = in->basic_user ? policy_strdup(eff, in->basic_user) : NULL;
		c.basic_user_env =
		    in->basic_user_env ? policy_strdup(eff, in->basic_user_env) : NULL;
		c.origin = copy_origin(eff, &in->origin);
		policy_inject_add(eff, &c);
	}
	for (size_t i = 0; i < layer->locks.n; i++)
		if (!rules_has(&eff->locks, layer->locks.v[i].value))
			policy_rules_add_lock(eff, layer->locks.v[i].value,
					      layer->locks.v[i].origin);
	for (size_t i = 0; i < layer->n_notes; i++)
		policy_note(eff, "%s", layer->notes[i]);
	return 0;
}

static void
widening_line(char **out, const char *key, const char *value, const struct policy_origin *o)
{
	char v[128];
	char *next;

	policy_sanitize(value, v, sizeof(v));
	next = xasprintf("%s  sandbox.%s: %s (line %u)\n", *out, key, v, o->line);
	free(*out);
	*out = next;
}

char *
policy_widenings(const struct cordon_policy *eff, const struct cordon_policy *layer)
{
	char *out = xstrdup("");
	char buf[64];

	for (int l = 0; l < POLICY_LIST__MAX; l++) {
		const struct policy_rules *r = &layer->lists[l];

		if (policy_list_tightens((enum policy_list)l))
			continue;
		for (size_t i = 0; i < r->n; i++)
			widening_line(&out, policy_list_key((enum policy_list)l), r->v[i].value,
				      &r->v[i].origin);
	}
	for (int s = 0; s < POLICY_SCALAR__MAX; s++) {
		const struct policy_value *nv = &layer->scalars[s];

		if (nv->set && scalar_widens((enum policy_scalar)s, &eff->scalars[s], nv))
			widening_line(&out, policy_scalar_key((enum policy_scalar)s),
				      scalar_text(nv, (enum policy_scalar)s, buf, sizeof(buf)),
				      &nv->origin);
	}
	for (size_t i = 0; i < layer->n_inject; i++)
		widening_line(&out, "credentials.inject", layer->inject[i].host,
			      &layer->inject[i].origin);
	return out;
}

int
policy_add_rule(struct cordon_policy *pol, enum policy_list list, const char *value,
		enum policy_layer layer, struct cordon_err *err)
{
	struct policy_origin o = { layer, NULL, 0, 0 };
	char why[160], v[128];
	bool ok;

	switch (list) {
	case POLICY_NET_ALLOWED_DOMAINS:
	case POLICY_NET_DENIED_DOMAINS:
		ok = policy_check_domain(value, why, sizeof(why));
		break;
	case POLICY_CRED_ENV_DENY:
	case POLICY_CRED_ENV_ALLOW:
		ok = policy_check_env_pattern(value, why, sizeof(why));
		break;
	case POLICY_TLS_INSPECT:
	case POLICY_TLS_BYPASS:
		ok = policy_check_host(value, why, sizeof(why));
		break;
	case POLICY_FS_ALLOW_WRITE:
	case POLICY_FS_DENY_WRITE:
	case POLICY_FS_DENY_READ:
	case POLICY_FS_ALLOW_READ:
	case POLICY_NET_ALLOW_UNIX_SOCKETS:
	case POLICY_CRED_FILES_DENY:
	case POLICY_CRED_FILES_ALLOW:
	case POLICY_LIST__MAX:
	default:
		ok = policy_check_path(value, why, sizeof(why));
		break;
	}
	policy_sanitize(value, v, sizeof(v));
	if (!ok) {
		cordon_err_set(err, 0, "%s: \"%s\": %s", policy_layer_name(layer), v, why);
		return cordon_err_hint(err, "see cordon-policy(5) for the accepted forms");
	}
	if (policy_rules_add(pol, list, value, o) < 0) {
		cordon_err_set(err, 0, "%s: more than %u entries for `sandbox.%s`",
			       policy_layer_name(layer), POLICY_MAX_RULES, policy_list_key(list));
		return cordon_err_hint(err, "use globs or parent directories");
	}
	return 0;
}
