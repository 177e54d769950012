/* SPDX-License-Identifier: MIT */
/*
 * The agents' launch-key filter of the quarantine (supervisor/agentcfg.c).
 * The first byte picks the kind (even: a state file, odd: a settings
 * file); the rest is split at its first 0xff byte: the text at the end of
 * the session, then the text at its start. Every input must be handled
 * without a crash or a leak, and a filtered text must read again with
 * every launch key (state) or every key off the allowlist (settings) as it
 * was at the start.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/agentcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a[key] and b[key] are the same (both absent counts). */
static int
same(json_t *a, json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return (x == NULL && y == NULL) || (x != NULL && y != NULL && json_equal(x, y));
}

static void
check(enum agentcfg_kind kind, const struct agentcfg_strip *out, const char *before,
      size_t before_len)
{
	json_error_t e;
	json_t *now = json_loadb(out->text, out->len, 0, &e);
	json_t *was = before != NULL ? json_loadb(before, before_len, 0, &e) : NULL;
	const char *key;
	json_t *v;

	if (!json_is_object(now))
		abort();
	if (!json_is_object(was)) {
		json_decref(was);
		was = json_object();
	}
	json_object_foreach(now, key, v)
	{
		if (kind == AGENTCFG_STATE && agentcfg_is_launch_key(key) && !same(now, was, key))
			abort();
	}
	if (kind == AGENTCFG_STATE) {
		json_t *p = json_object_get(now, "projects");
		json_t *old = json_object_get(was, "projects");

		json_object_foreach(p, key, v)
		{
			const char *k;
			json_t *x;

			if (!json_is_object(v))
				continue;
			json_object_foreach(v, k, x) if (agentcfg_is_launch_key(k) &&
							 !same(v, json_object_get(old, key), k))
			    abort();
		}
	} else {
		json_object_foreach(now, key, v) if (strcmp(key, "hooks") == 0 &&
						     !same(now, was, key)) abort();
	}
	json_decref(now);
	json_decref(was);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum agentcfg_kind kind;
	const uint8_t *cut;
	size_t now_len;
	const char *before;
	size_t before_len;
	struct agentcfg_strip out;

	if (size == 0)
		return 0;
	kind = data[0] & 1 ? AGENTCFG_SETTINGS : AGENTCFG_STATE;
	data++;
	size--;
	cut = memchr(data, 0xff, size);
	now_len = cut != NULL ? (size_t)(cut - data) : size;
	before = cut != NULL ? (const char *)cut + 1 : NULL;
	before_len = cut != NULL ? size - now_len - 1 : 0;
	if (agentcfg_strip(kind, (const char *)data, now_len, before, before_len, &out) == 0 &&
	    out.text != NULL)
		check(kind, &out, before, before_len);
	agentcfg_strip_free(&out);
	return 0;
}
