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
 */
#include <fnmatch.h>
#include <string.h>

#include "common/xalloc.h"
#include "policy/policy.h"

bool
policy_env_denied(const struct cordon_policy *pol, const char *name)
{
	const struct policy_rules *deny = &pol->lists[POLICY_CRED_ENV_DENY];
	const struct policy_rules *allow = &pol->lists[POLICY_CRED_ENV_ALLOW];

	for (size_t i = 0; i < deny->n; i++)
		if (deny->v[i].origin.layer != POLICY_LAYER_BUILTIN &&
		    !policy_has_glob(deny->v[i].value) && strcmp(deny->v[i].value, name) == 0)
			return true;
	for (size_t i = 0; i < allow->n; i++)
		if (fnmatch(allow->v[i].value, name, 0) == 0)
			return false;
	for (size_t i = 0; i < deny->n; i++)
		if (fnmatch(deny->v[i].value, name, FNM_CASEFOLD) == 0)
			return true;
	return false;
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
		if (policy_env_denied(pol, name)) {
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
