/* SPDX-License-Identifier: MIT */
#ifndef CORDON_POLICY_INTERNAL_H
#define CORDON_POLICY_INTERNAL_H

#include "policy/load.h"
#include "policy/policy.h"

/*
 * Internal to policy/: adding to a policy (the copies are pooled in pol)
 * and the trust store's JSON. Not for use outside src/policy and cli/.
 */

/* Add value (copied) to list with origin. -1 when the list is full. */
/* Append NAME=VALUE to pol->env_set (profile presets). */
void policy_env_set_add(struct cordon_policy *pol, const char *assignment,
			struct policy_origin origin);
int policy_rules_add(struct cordon_policy *pol, enum policy_list list, const char *value,
		     struct policy_origin origin);
/* Add a managed lock (copied). */
void policy_rules_add_lock(struct cordon_policy *pol, const char *key, struct policy_origin origin);
/* Append a copy of r / in (its strings must already be pooled in pol). */
void policy_net_rule_add(struct cordon_policy *pol, const struct policy_net_rule *r);
void policy_inject_add(struct cordon_policy *pol, const struct policy_inject *in);
/* Take ownership of a malloc'd block, freed with pol. */
void policy_pool_add(struct cordon_policy *pol, char *p);
/* True when key (below "sandbox.") names a key or object of the schema. */
bool policy_schema_known(const char *key);
/* Whether a list only ever tightens the policy (deny lists). */
bool policy_list_tightens(enum policy_list list);

/*
 * Trust store ({"trusted": [{"dir": DIR, "sha256": DIGEST}]}): parse into
 * a malloc'd array (caller frees with policy_trust_free), or render
 * (caller frees). An entry written before trust was bound to content (a
 * plain string) has sha256 NULL and matches no file.
 */
int policy_trust_parse(const char *text, size_t len, const char *file,
		       struct policy_trust_entry **v, size_t *n, struct cordon_err *err);
char *policy_trust_render(const struct policy_trust_entry *v, size_t n);

#endif
