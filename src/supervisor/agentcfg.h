/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_AGENTCFG_H
#define CORDON_SUPERVISOR_AGENTCFG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The agents' launch configuration in their JSON files, for the end of
 * the session (supervisor/quarantine.c). An agent must write state into
 * some of its files (Claude Code's ~/.claude.json: counters, projects,
 * trust, tips) but no key that makes the agent start a program may appear
 * or change from inside: the agent outside would run it later.
 *
 * Two kinds of file:
 *
 *   AGENTCFG_STATE     a state file (~/.claude.json): everything is kept
 *                      but the launch keys (mcpServers, hooks,
 *                      statusLine, apiKeyHelper, env, the MCP and plugin
 *                      enable keys, ...), at the top level and in each
 *                      projects.<path> object, which are put back as they
 *                      were at the start (removed when they were not there);
 *   AGENTCFG_SETTINGS  a settings file (a project's
 *                      .claude/settings.local.json): only keys on an
 *                      allowlist of keys that never start a program
 *                      (permissions.allow/deny/ask, model, ...) may be
 *                      added or changed; every other key is put back as it
 *                      was at the start.
 *
 * The text is read with jansson: a duplicate key keeps its last value (as
 * JSON.parse does), and anything jansson refuses (not an object, invalid
 * UTF-8, a lone surrogate, a NUL, trailing text, a byte order mark) is a
 * bad file: the caller puts the start version back whole, or moves a new
 * one aside. A file that needs no change is left byte for byte as it is.
 *
 * Pure: no syscalls, no global state. Allocates (aborts on OOM).
 */

enum agentcfg_kind {
	AGENTCFG_STATE,
	AGENTCFG_SETTINGS,
};

/* Larger texts are bad. */
#define AGENTCFG_MAX_TEXT (64u * 1024u * 1024u)

struct agentcfg_strip {
	char *text; /* the file to write (malloc'd, NUL-terminated), or NULL: keep it as it is */
	size_t len;
	char **removed; /* each key put back or removed ("mcpServers.evil",
			   "projects[\"/w\"].hooks"), malloc'd */
	size_t n_removed;
	bool bad; /* now is not a JSON object jansson reads */
};

/*
 * Compare now (len bytes) with before (before_len bytes, NULL when the file
 * did not exist; a before that does not read counts as an empty object)
 * and put every launch key back as it was. Returns 0 (out->text is NULL
 * when nothing had to change), or -1 when now is bad (out->bad set).
 * Free with agentcfg_strip_free in both cases.
 */
int agentcfg_strip(enum agentcfg_kind kind, const char *now, size_t len, const char *before,
		   size_t before_len, struct agentcfg_strip *out);

/* Free what agentcfg_strip filled; out is left empty. */
void agentcfg_strip_free(struct agentcfg_strip *out);

/* True when key (top level of a state file, or of a project in it) starts a program. */
bool agentcfg_is_launch_key(const char *key);

#endif
