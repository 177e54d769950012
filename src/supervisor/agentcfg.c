/* SPDX-License-Identifier: MIT */
/* The agents' launch keys in their JSON files (see agentcfg.h). Pure. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "supervisor/agentcfg.h"

/*
 * Keys that make Claude Code start a program (or a server) or change the
 * environment of the programs it starts, in its state file and settings
 * files; Gemini CLI and Codex spell theirs the same way or keep them in
 * files that stay read-only (cordon-policy(5)).
 */
static const char *const launch_keys[] = {
	"mcpServers",                 /* MCP servers: a command each */
	"hooks",                      /* commands run on events */
	"statusLine",                 /* a command run for the status line */
	"fileSuggestion",             /* a command run for @-completion */
	"apiKeyHelper",               /* a command that prints the key */
	"awsAuthRefresh",             /* commands run for cloud credentials */
	"awsCredentialExport",        /* */
	"otelHeadersHelper",          /* */
	"env",                        /* NODE_OPTIONS, PATH, ... for what it starts */
	"enabledMcpjsonServers",      /* starts a project's .mcp.json servers */
	"enableAllProjectMcpServers", /* */
	"enabledPlugins",             /* plugins bring hooks and servers */
	"extraKnownMarketplaces",     /* where plugins come from */
};

/* Settings keys that never start a program. */
static const char *const settings_allowed[] = {
	"$schema",
	"permissions",
	"model",
	"outputStyle",
	"includeCoAuthoredBy",
	"cleanupPeriodDays",
	"alwaysThinkingEnabled",
	"spinnerTipsEnabled",
	"theme",
	"language",
	"respectGitignore",
	"disabledMcpjsonServers",
};

/* In permissions: what Claude Code writes when the user says "always allow". */
static const char *const permissions_allowed[] = { "allow", "deny", "ask" };

static bool
in(const char *const *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], key) == 0)
			return true;
	return false;
}

bool
agentcfg_is_launch_key(const char *key)
{
	return in(launch_keys, ARRAY_SIZE(launch_keys), key);
}

/* A key as shown in a report: control bytes become '?', long ones are cut. */
static char *
printable(const char *key)
{
	size_t n = strnlen(key, 200);
	char *s = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
	s[n] = '\0';
	return s;
}

static void
note(struct agentcfg_strip *out, const char *prefix, const char *key, const char *sub)
{
	_cleanup_free_ char *k = printable(key), *s = sub ? printable(sub) : NULL;

	out->removed = xrealloc(out->removed, (out->n_removed + 1) * sizeof(*out->removed));
	out->removed[out->n_removed++] = xasprintf("%s%s%s%s", prefix, k, s ? "." : "", s ? s : "");
}

/* Record what differs between now and was (either may be NULL) under key. */
static void
note_diff(struct agentcfg_strip *out, const char *prefix, const char *key, json_t *now, json_t *was)
{
	size_t n = out->n_removed;
	const char *sub;
	json_t *v;

	/* Two objects (or one and nothing): name the entries, not the whole key. */
	if ((now == NULL || json_is_object(now)) && (was == NULL || json_is_object(was))) {
		json_object_foreach(now, sub, v) if (!json_equal(v, json_object_get(was, sub)))
		    note(out, prefix, key, sub);
		json_object_foreach(was, sub, v) if (json_object_get(now, sub) == NULL)
		    note(out, prefix, key, sub);
	}
	if (out->n_removed == n)
		note(out, prefix, key, NULL);
}

/* Put now[key] back to was[key] (absent: removed). True when it changed. */
static bool
restore(struct agentcfg_strip *out, const char *prefix, json_t *now, json_t *was, const char *key)
{
	json_t *a = json_object_get(now, key),
	       *b = json_is_object(was) ? json_object_get(was, key) : NULL;

	if (a == NULL && b == NULL)
		return false;
	if (a != NULL && b != NULL && json_equal(a, b))
		return false;
	note_diff(out, prefix, key, a, b);
	if (b != NULL)
		json_object_set_new(now, key, json_deep_copy(b));
	else
		json_object_del(now, key);
	return true;
}

/* Every launch key of obj back as in was. */
static bool
restore_launch(struct agentcfg_strip *out, const char *prefix, json_t *obj, json_t *was)
{
	bool changed = false;

	/* A launch key the session deleted is put back too: it was the user's. */
	for (size_t i = 0; i < ARRAY_SIZE(launch_keys); i++)
		changed |= restore(out, prefix, obj, was, launch_keys[i]);
	return changed;
}

static bool
strip_state(struct agentcfg_strip *out, json_t *now, json_t *was)
{
	json_t *projects = json_object_get(now, "projects");
	json_t *old = json_object_get(was, "projects");
	bool changed = restore_launch(out, "", now, was);
	const char *path;
	json_t *p;

	if (!json_is_object(projects))
		return changed;
	json_object_foreach(projects, path, p)
	{
		_cleanup_free_ char *shown = printable(path), *prefix = NULL;

		if (!json_is_object(p))
			continue;
		prefix = xasprintf("projects[\"%s\"].", shown);
		changed |= restore_launch(out, prefix, p, json_object_get(old, path));
	}
	return changed;
}

/* Keys of now and of was that are not on allow: put back as in was. */
static bool
restore_unlisted(struct agentcfg_strip *out, const char *prefix, json_t *now, json_t *was,
		 const char *const *allow, size_t n)
{
	bool changed = false;
	const char *key;
	void *tmp;
	json_t *v;

	json_object_foreach_safe(now, tmp, key, v) if (!in(allow, n, key)) changed |=
	    restore(out, prefix, now, was, key);
	/* A key the session deleted is put back: it was the user's. */
	if (json_is_object(was))
		json_object_foreach(was, key,
				    v) if (!in(allow, n, key) && json_object_get(now, key) == NULL)
		    changed |= restore(out, prefix, now, was, key);
	return changed;
}

static bool
strip_settings(struct agentcfg_strip *out, json_t *now, json_t *was)
{
	bool changed =
	    restore_unlisted(out, "", now, was, settings_allowed, ARRAY_SIZE(settings_allowed));
	json_t *perm = json_object_get(now, "permissions");

	if (json_is_object(perm))
		changed |=
		    restore_unlisted(out, "permissions.", perm, json_object_get(was, "permissions"),
				     permissions_allowed, ARRAY_SIZE(permissions_allowed));
	else if (perm != NULL)
		/* Not an object: Claude Code ignores it; put back what was there. */
		changed |= restore(out, "", now, was, "permissions");
	return changed;
}

static json_t *
load(const char *text, size_t len)
{
	json_error_t jerr;

	/* jansson refuses NUL bytes unless told, and so does cordon. */
	return json_loadb(text, len, 0, &jerr);
}

int
agentcfg_strip(enum agentcfg_kind kind, const char *now, size_t len, const char *before,
	       size_t before_len, struct agentcfg_strip *out)
{
	json_t *cur, *was = NULL;
	bool changed;
	char *s;

	memset(out, 0, sizeof(*out));
	cur = len <= AGENTCFG_MAX_TEXT ? load(now, len) : NULL;
	if (!json_is_object(cur)) {
		json_decref(cur);
		out->bad = true;
		return -1;
	}
	if (before != NULL && before_len <= AGENTCFG_MAX_TEXT)
		was = load(before, before_len);
	if (!json_is_object(was)) {
		json_decref(was);
		was = json_object();
	}
	switch (kind) {
	case AGENTCFG_SETTINGS:
		changed = strip_settings(out, cur, was);
		break;
	case AGENTCFG_STATE:
	default:
		changed = strip_state(out, cur, was);
		break;
	}
	if (changed) {
		/* Two-space indent, as Claude Code writes its files. */
		s = json_dumps(cur, JSON_INDENT(2));
		if (s == NULL)
			abort();
		out->text = xasprintf("%s\n", s);
		out->len = strlen(out->text);
		free(s);
	}
	json_decref(cur);
	json_decref(was);
	return 0;
}

void
agentcfg_strip_free(struct agentcfg_strip *out)
{
	free(out->text);
	for (size_t i = 0; i < out->n_removed; i++)
		free(out->removed[i]);
	free(out->removed);
	memset(out, 0, sizeof(*out));
}
