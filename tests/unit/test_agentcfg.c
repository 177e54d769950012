/* SPDX-License-Identifier: MIT */
/*
 * The agents' launch keys (supervisor/agentcfg.c): what is put back in a
 * state file and a settings file, what is kept, bad files; and the
 * quarantine pass over ~/.claude.json and a new workspace .claude on a
 * scratch tree under /tmp. No privileges.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "supervisor/agentcfg.h"
#include "supervisor/quarantine.h"
#include "tap.h"

/* The removed keys, "|"-joined, or "BAD" / "SAME". */
static char *
run(enum agentcfg_kind kind, const char *now, const char *before, char **text)
{
	struct agentcfg_strip out;
	char *res = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&res, &size);

	*text = NULL;
	if (agentcfg_strip(kind, now, strlen(now), before, before ? strlen(before) : 0, &out) < 0)
		fputs("BAD", f);
	else if (out.text == NULL)
		fputs("SAME", f);
	for (size_t i = 0; i < out.n_removed; i++)
		fprintf(f, "%s%s", i ? "|" : "", out.removed[i]);
	if (out.text != NULL)
		*text = strdup(out.text);
	agentcfg_strip_free(&out);
	fclose(f);
	return res;
}

static int
test_state_plant(void)
{
	_cleanup_free_ char *text = NULL, *r = NULL;

	r = run(AGENTCFG_STATE,
		"{\"numStartups\": 4, \"mcpServers\": {\"mine\": {\"command\": \"a\"}, "
		"\"evil\": {\"command\": \"sh\"}}, \"projects\": {\"/w\": {\"allowedTools\": "
		"[\"x\"], \"mcpServers\": {\"p\": {\"command\": \"q\"}}, \"hooks\": 1}}}",
		"{\"numStartups\": 3, \"mcpServers\": {\"mine\": {\"command\": \"a\"}}, "
		"\"projects\": {}}",
		&text);
	CHECK_STR(r, "mcpServers.evil|projects[\"/w\"].mcpServers.p|projects[\"/w\"].hooks");
	/* State the agent wrote is kept; the user's own server too. */
	CHECK(strstr(text, "\"numStartups\": 4") != NULL);
	CHECK(strstr(text, "\"allowedTools\"") != NULL);
	CHECK(strstr(text, "\"mine\"") != NULL);
	CHECK(strstr(text, "evil") == NULL && strstr(text, "\"p\"") == NULL);
	CHECK(strstr(text, "hooks") == NULL);
	return 0;
}

static int
test_state_same(void)
{
	_cleanup_free_ char *text = NULL, *r = NULL;

	/* Only state changed: the file is left as it is. */
	r = run(AGENTCFG_STATE, "{\"a\":2,\"mcpServers\":{\"m\":{}}}",
		"{\"a\":1,\"mcpServers\":{\"m\":{}}}", &text);
	CHECK_STR(r, "SAME");
	CHECK(text == NULL);
	return 0;
}

static int
test_state_deleted_and_changed(void)
{
	_cleanup_free_ char *text = NULL, *r = NULL, *t2 = NULL, *r2 = NULL;

	/* A server of the user's deleted inside is put back; a changed one too. */
	r = run(AGENTCFG_STATE, "{\"mcpServers\":{}}",
		"{\"mcpServers\":{\"m\":{\"command\":\"a\"}}}", &text);
	CHECK_STR(r, "mcpServers.m");
	CHECK(strstr(text, "\"command\": \"a\"") != NULL);
	r2 = run(AGENTCFG_STATE, "{\"mcpServers\":{\"m\":{\"command\":\"evil\"}}}",
		 "{\"mcpServers\":{\"m\":{\"command\":\"a\"}}}", &t2);
	CHECK_STR(r2, "mcpServers.m");
	CHECK(strstr(t2, "evil") == NULL);
	return 0;
}

static int
test_state_bad(void)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *t = NULL;

	a = run(AGENTCFG_STATE, "\xef\xbb\xbf{\"mcpServers\":{}}", NULL, &t);
	CHECK_STR(a, "BAD");
	b = run(AGENTCFG_STATE, "[1]", NULL, &t);
	CHECK_STR(b, "BAD");
	c = run(AGENTCFG_STATE, "{\"x\":\"\\ud800\"}", NULL, &t);
	CHECK_STR(c, "BAD");
	d = run(AGENTCFG_STATE, "{} {}", NULL, &t);
	CHECK_STR(d, "BAD");
	/* Duplicates: the last value counts, as for JSON.parse. */
	e = run(AGENTCFG_STATE, "{\"mcpServers\":{},\"mcpServers\":{\"z\":{}}}", NULL, &t);
	CHECK_STR(e, "mcpServers.z");
	return 0;
}

static int
test_settings(void)
{
	_cleanup_free_ char *text = NULL, *r = NULL;

	r = run(AGENTCFG_SETTINGS,
		"{\"permissions\": {\"allow\": [\"Bash(npm test)\"], \"defaultMode\": "
		"\"bypassPermissions\"}, \"hooks\": {\"Stop\": []}, \"statusLine\": {\"type\": "
		"\"command\", \"command\": \"x\"}, \"env\": {\"NODE_OPTIONS\": \"-r /x\"}, "
		"\"apiKeyHelper\": \"cat k\", \"enableAllProjectMcpServers\": true, \"model\": "
		"\"opus\"}",
		NULL, &text);
	CHECK_STR(r, "hooks.Stop|statusLine.type|statusLine.command|env.NODE_OPTIONS|apiKeyHelper|"
		     "enableAllProjectMcpServers|permissions.defaultMode");
	CHECK(strstr(text, "\"Bash(npm test)\"") != NULL);
	CHECK(strstr(text, "\"model\": \"opus\"") != NULL);
	CHECK(strstr(text, "hooks") == NULL && strstr(text, "NODE_OPTIONS") == NULL);
	CHECK(strstr(text, "bypass") == NULL && strstr(text, "apiKeyHelper") == NULL);
	return 0;
}

static char dir[64];

static int
write_text(const char *path, const char *text)
{
	return fd_replace_file(path, text, strlen(text), 0600);
}

static int
test_quarantine(void)
{
	char state[128], home_json[128], claude[128], local[192], cmds[192];
	char *agent[] = { home_json };
	struct qr_inputs in = { 0 };
	struct qr_snapshot snap;
	struct cordon_err err = { 0 };
	_cleanup_free_ char *json = NULL, *loc = NULL;
	char *watch[] = { claude };
	int r;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(home_json, sizeof(home_json), "%s/claude.json", dir);
	snprintf(claude, sizeof(claude), "%s/.claude", dir);
	snprintf(local, sizeof(local), "%s/settings.local.json", claude);
	snprintf(cmds, sizeof(cmds), "%s/commands", claude);
	CHECK(write_text(home_json, "{\"numStartups\":1}") == 0);
	in.agent_state = agent;
	in.n_agent_state = 1;
	in.watch = watch;
	in.n_watch = 1;
	CHECK(qr_snapshot_take(&snap, dir, &in, &err) == 0);
	/* The session: state, a planted server, a fresh .claude. */
	CHECK(write_text(home_json,
			 "{\"numStartups\":2,\"mcpServers\":{\"x\":{\"command\":\"/tmp/p\"}}}") ==
	      0);
	CHECK(mkdir(claude, 0755) == 0 && mkdir(cmds, 0755) == 0);
	CHECK(write_text(local,
			 "{\"permissions\":{\"allow\":[\"Read\"]},\"hooks\":{\"Stop\":[]}}") == 0);
	r = qr_run(&snap, state, &err);
	for (size_t i = 0; i < snap.n_report; i++)
		printf("# %s\n", snap.report[i]);
	CHECK(r == 3);
	json = fd_read_small_file(home_json, 65536);
	CHECK(json != NULL && strstr(json, "\"numStartups\": 2") && !strstr(json, "mcpServers"));
	loc = fd_read_small_file(local, 65536);
	CHECK(loc != NULL && strstr(loc, "\"Read\"") && !strstr(loc, "hooks"));
	CHECK(access(cmds, F_OK) < 0);
	qr_snapshot_free(&snap);
	return 0;
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cordon-agentcfg.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	TAP_RUN(test_state_plant);
	TAP_RUN(test_state_same);
	TAP_RUN(test_state_deleted_and_changed);
	TAP_RUN(test_state_bad);
	TAP_RUN(test_settings);
	TAP_RUN(test_quarantine);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
