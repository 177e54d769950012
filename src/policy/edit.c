/* SPDX-License-Identifier: MIT */
/*
 * Edits of a settings document for `cordon allow --save`: text in, text
 * out, no file system. jansson keeps the keys' order; what cordon writes is
 * then read back by policy_parse before it reaches the disk (cli/ps.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/xalloc.h"
#include "policy/policy.h"

/* root[key] as an object, made when missing; NULL when it has another type. */
static json_t *
object_at(json_t *root, const char *key)
{
	json_t *o = json_object_get(root, key);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(root, key, o);
	}
	return json_is_object(o) ? o : NULL;
}

char *
policy_edit_allow_domain(const char *text, size_t len, const char *file, const char *pattern,
			 bool *added, struct cordon_err *err)
{
	json_error_t jerr;
	json_t *root, *sandbox, *network, *list = NULL, *v;
	const char *where = NULL;
	char *dump, *out;
	size_t i;

	*added = false;
	if (text == NULL || len == 0) {
		root = json_object();
	} else {
		root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (root == NULL) {
			cordon_err_set(err, 0, "%s:%d:%d: %s", file, jerr.line, jerr.column,
				       jerr.text);
			cordon_err_hint(err,
					"fix the file (cordon policy validate %s), then save "
					"again",
					file);
			return NULL;
		}
	}
	if (!json_is_object(root))
		where = "the document";
	else if ((sandbox = object_at(root, "sandbox")) == NULL)
		where = "sandbox";
	else if ((network = object_at(sandbox, "network")) == NULL)
		where = "sandbox.network";
	else if ((list = json_object_get(network, "allowedDomains")) == NULL)
		json_object_set_new(network, "allowedDomains", list = json_array());
	if (where == NULL && !json_is_array(list))
		where = "sandbox.network.allowedDomains";
	if (where != NULL) {
		json_decref(root);
		cordon_err_set(err, 0, "%s: %s is not %s", file, where,
			       strcmp(where, "sandbox.network.allowedDomains") == 0 ? "a list"
										    : "an object");
		cordon_err_hint(err, "fix the file (cordon policy validate %s), then save again",
				file);
		return NULL;
	}
	json_array_foreach(list, i, v) if (json_is_string(v) &&
					   strcmp(json_string_value(v), pattern) == 0) break;
	if (i == json_array_size(list)) {
		json_array_append_new(list, json_string(pattern));
		*added = true;
	}
	dump = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (dump == NULL)
		abort();
	out = xasprintf("%s\n", dump);
	free(dump);
	return out;
}
