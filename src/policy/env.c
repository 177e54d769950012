/* SPDX-License-Identifier: MIT */
/*
 * Environment scrubbing: secrets in variables never reach the sandbox.
 *
 * Order of precedence, for a variable NAME:
 *   1. a deny entry from settings or the command line naming NAME exactly
 *      (no wildcard) removes it;
 *   2. otherwise an allow entry matching NAME keeps it (this is how a
 *      built-in pattern such as `*_TOKEN` is overridden, explicitly);
 *   3. otherwise any deny pattern matching NAME removes it.
 * Deny patterns match case-insensitively (a secret is still a secret in
 * lower case); allow entries match exactly as written.
 *
 * A name says little (DATABASE_URL, SENTRY_DSN, MY_GH): a variable no rule
 * names is also scrubbed when its value looks like a credential: a URL with
 * a password in its user-info, a key=value DSN with a password, a private
 * key, a JSON Web Token, or a token with a well-known prefix. An allow entry
 * keeps a variable whatever its value.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fnmatch.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "policy/policy.h"

enum verdict { V_NONE, V_DENY, V_ALLOW };

static enum verdict
by_name(const struct cordon_policy *pol, const char *name)
{
	const struct policy_rules *deny = &pol->lists[POLICY_CRED_ENV_DENY];
	const struct policy_rules *allow = &pol->lists[POLICY_CRED_ENV_ALLOW];

	for (size_t i = 0; i < deny->n; i++)
		if (deny->v[i].origin.layer != POLICY_LAYER_BUILTIN &&
		    !policy_has_glob(deny->v[i].value) && strcmp(deny->v[i].value, name) == 0)
			return V_DENY;
	for (size_t i = 0; i < allow->n; i++)
		if (fnmatch(allow->v[i].value, name, 0) == 0)
			return V_ALLOW;
	for (size_t i = 0; i < deny->n; i++)
		if (fnmatch(deny->v[i].value, name, FNM_CASEFOLD) == 0)
			return V_DENY;
	return V_NONE;
}

bool
policy_env_denied(const struct cordon_policy *pol, const char *name)
{
	return by_name(pol, name) == V_DENY;
}

/* s starts with prefix, followed by at least min characters of [A-Za-z0-9_-]. */
static bool
token(const char *s, const char *prefix, size_t min)
{
	size_t l = strlen(prefix), n = 0;

	if (strncmp(s, prefix, l) != 0)
		return false;
	for (s += l; isalnum((unsigned char)*s) || *s == '_' || *s == '-'; s++)
		n++;
	return n >= min;
}

/* scheme://user:password@host...: a non-empty password in the user-info. */
static bool
url_password(const char *v)
{
	const char *p = strstr(v, "://"), *end, *colon;

	if (p == NULL)
		return false;
	for (const char *q = v; q < p; q++)
		if (!isalnum((unsigned char)*q) && *q != '+' && *q != '-' && *q != '.')
			return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (const char *at = end; at > p; at--)
		if (at[-1] == '@') {
			colon = memchr(p, ':', (size_t)(at - 1 - p));
			return colon != NULL && colon + 1 < at - 1;
		}
	return false;
}

/* "host=db user=u password=x" (libpq, ODBC's PWD=): a key=value password. */
static bool
dsn_password(const char *v)
{
	static const char *const keys[] = { "password=", "pwd=", "passwd=" };

	for (const char *p = v; *p; p++) {
		if (p != v && !isspace((unsigned char)p[-1]) && p[-1] != ';')
			continue;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t l = strlen(keys[i]);

			if (strncasecmp(p, keys[i], l) == 0 && p[l] != '\0' &&
			    !isspace((unsigned char)p[l]) && p[l] != ';')
				return true;
		}
	}
	return false;
}

bool
policy_env_value_secret(const char *v)
{
	static const struct {
		const char *prefix;
		size_t min;
	} tokens[] = {
		{ "ghp_", 30 },     { "gho_", 30 },        { "ghu_", 30 },    { "ghs_", 30 },
		{ "ghr_", 30 },     { "github_pat_", 40 }, { "glpat-", 20 },  { "sk-ant-", 20 },
		{ "sk-proj-", 20 }, { "sk-", 32 },         { "xoxb-", 20 },   { "xoxp-", 20 },
		{ "xoxa-", 20 },    { "xapp-", 20 },       { "AKIA", 16 },    { "ASIA", 16 },
		{ "AIza", 35 },     { "npm_", 36 },        { "hf_", 30 },     { "pypi-", 50 },
		{ "sk_live_", 20 }, { "rk_live_", 20 },    { "dop_v1_", 40 }, { "SG.", 40 },
	};
	const char *jwt2;

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (token(v, tokens[i].prefix, tokens[i].min))
			return true;
	if (strstr(v, "-----BEGIN ") != NULL && strstr(v, "PRIVATE KEY") != NULL)
		return true;
	/* A JSON Web Token: header.payload.signature, both base64url of JSON. */
	if (strncmp(v, "eyJ", 3) == 0 && (jwt2 = strchr(v, '.')) != NULL &&
	    strncmp(jwt2 + 1, "eyJ", 3) == 0 && strchr(jwt2 + 1, '.') != NULL)
		return true;
	return url_password(v) || dsn_password(v);
}

bool
policy_env_secret(const struct cordon_policy *pol, const char *name, const char *value)
{
	switch (by_name(pol, name)) {
	case V_DENY:
		return true;
	case V_ALLOW:
		return false;
	case V_NONE:
	default:
		return value != NULL && policy_env_value_secret(value);
	}
}

char **
policy_env_scrub(const struct cordon_policy *pol, char *const *envp, size_t *n_scrubbed)
{
	size_t n = 0, k = 0, gone = 0;
	char **env;

	while (envp[n] != NULL)
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(envp[i], '=');
		char name[256];
		size_t len;

		if (eq == NULL) {
			gone++;
			continue;
		}
		len = (size_t)(eq - envp[i]);
		if (len == 14 && strncmp(envp[i], "CORDON_SANDBOX", 14) == 0)
			continue;
		if (len >= sizeof(name)) {
			/* No legitimate name is this long; do not guess. */
			gone++;
			continue;
		}
		memcpy(name, envp[i], len);
		name[len] = '\0';
		if (policy_env_secret(pol, name, eq + 1)) {
			gone++;
			continue;
		}
		env[k++] = envp[i];
	}
	env[k++] = (char *)"CORDON_SANDBOX=1";
	env[k] = NULL;
	if (n_scrubbed != NULL)
		*n_scrubbed = gone;
	return env;
}
