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
 * key, a JSON Web Token, or a token with a well-known prefix, anywhere a
 * word of the value starts (command lines and headers in a variable). An
 * allow entry keeps a variable whatever its value.
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

/*
 * scheme://user:password@host...: a non-empty password in the user-info,
 * in any URL of the value (`-Ddb.url=jdbc:mysql://u:pw@db`, a list).
 */
static bool
url_password(const char *v)
{
	for (const char *p = strstr(v, "://"); p != NULL; p = strstr(p, "://")) {
		const char *end, *colon;

		p += 3;
		end = p + strcspn(p, "/?# \t\n\"',;");
		for (const char *at = end; at > p; at--)
			if (at[-1] == '@') {
				colon = memchr(p, ':', (size_t)(at - 1 - p));
				if (colon != NULL && colon + 1 < at - 1)
					return true;
				break;
			}
	}
	return false;
}

/*
 * Where a word of a value starts: its beginning, or after a blank, `=`,
 * `:`, a quote or a list separator (`--token ghp_...`, `Authorization:
 * Bearer eyJ...`, `{"key": "sk-ant-..."}`). Not after `/` or `.`: paths
 * and file names are not credentials.
 */
static bool
word_start(const char *v, const char *p)
{
	return p == v || strchr(" \t\n=:\"',;", p[-1]) != NULL;
}

static bool
jwt(const char *s)
{
	const char *two;

	return strncmp(s, "eyJ", 3) == 0 && (two = strchr(s, '.')) != NULL &&
	       strncmp(two + 1, "eyJ", 3) == 0 && strchr(two + 1, '.') != NULL;
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

	for (const char *p = v; *p; p++) {
		if (!word_start(v, p))
			continue;
		for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
			if (token(p, tokens[i].prefix, tokens[i].min))
				return true;
		/* A JSON Web Token: header.payload.signature, both base64url of JSON. */
		if (jwt(p))
			return true;
	}
	if (strstr(v, "-----BEGIN ") != NULL && strstr(v, "PRIVATE KEY") != NULL)
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
