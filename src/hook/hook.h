/* SPDX-License-Identifier: MIT */
#ifndef CORDON_HOOK_HOOK_H
#define CORDON_HOOK_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/*
 * Agent tool-call hooks (Claude Code's PreToolUse protocol).
 *
 * Everything here is pure: no syscalls, no environment, no files. The CLI
 * (cli/hook.c) reads stdin, calls hook_parse(), hook_decide() and
 * hook_format_output(), and prints the result.
 *
 * Input (one JSON object on stdin, as Claude Code sends it):
 *   {"session_id": "...", "transcript_path": "...", "cwd": "/project",
 *    "permission_mode": "default", "hook_event_name": "PreToolUse",
 *    "tool_name": "Bash", "tool_input": {"command": "npm test", ...},
 *    "tool_use_id": "toolu_..."}
 * Output:
 *   {"hookSpecificOutput": {"hookEventName": "PreToolUse",
 *    "permissionDecision": "allow|deny|ask",
 *    "permissionDecisionReason": "..."}}
 */

#define HOOK_MAX_INPUT   (1024 * 1024) /* bytes of JSON accepted on stdin */
#define HOOK_MAX_COMMAND (64 * 1024)   /* longer Bash commands are "ask" */
#define HOOK_MAX_DEPTH   4             /* nested sh -c / eval / $( ) analysed */

enum hook_decision {
	HOOK_DEFER = 0, /* no opinion: the agent's own permission flow decides */
	HOOK_ALLOW,
	HOOK_ASK,
	HOOK_DENY,
};

/* One parsed hook call. Strings are owned by the struct (hook_request_free). */
struct hook_request {
	char *event;       /* hook_event_name, e.g. "PreToolUse" */
	char *tool_name;   /* "Bash", "Write", "Edit", "Read", ... */
	char *command;     /* tool_input.command (Bash), else NULL */
	char *file_path;   /* tool_input.file_path or .notebook_path, else NULL */
	char *cwd;         /* cwd, may be NULL */
	char *session_id;  /* may be NULL */
	char *tool_use_id; /* may be NULL */
};

/* The answer to one call. reason is what the model is told. */
struct hook_verdict {
	enum hook_decision decision;
	const char *rule; /* short stable rule id for the audit log ("rm-root") */
	char reason[512];
};

/* Context the policy needs but may not look up itself (pure). */
struct hook_ctx {
	const char *home; /* the user's home directory, may be NULL */
	const char *cwd;  /* the tool call's cwd, may be NULL */
	bool sandboxed;   /* running inside cordon: default is allow, else defer */
};

/*
 * Parse a hook payload of len bytes (not NUL-terminated). Duplicate keys,
 * non-object input and a missing hook_event_name or tool_name are refused.
 * Returns 0 and fills req (caller frees with hook_request_free), or -1 with
 * err set and req zeroed. Pure; safe after fork only before stdio use.
 */
int hook_parse(const char *buf, size_t len, struct hook_request *req, struct cordon_err *err);

/* Free the strings of req and zero it. Accepts a zeroed struct. */
void hook_request_free(struct hook_request *req);

/*
 * Decide one Bash command line. Deny beats ask beats the default. The
 * default is HOOK_ALLOW when ctx->sandboxed, else HOOK_DEFER. Pure.
 */
void hook_decide_bash(const char *command, const struct hook_ctx *ctx, struct hook_verdict *v);

/*
 * Decide one tool call: Bash through hook_decide_bash(); Write, Edit,
 * MultiEdit, NotebookEdit on protected paths and Read on credential paths
 * are denied; everything else gets the default. Pure.
 */
void hook_decide(const struct hook_request *req, const struct hook_ctx *ctx,
		 struct hook_verdict *v);

/*
 * The PreToolUse answer for v as one line of JSON with a trailing newline,
 * or NULL for HOOK_DEFER (print nothing). Caller frees. Aborts on OOM.
 */
char *hook_format_output(const struct hook_verdict *v);

/* "allow", "ask", "deny" or "defer". */
const char *hook_decision_name(enum hook_decision d);

/*
 * Claude Code settings editing, pure (JSON text in, JSON text out).
 *
 * hook_settings_install: add {"matcher": "Bash", "hooks": [{"type":
 * "command", "command": command}]} to hooks.PreToolUse of the settings in
 * buf (len bytes; len 0 means "no file yet", i.e. {}), keeping every other
 * key and its order. When a PreToolUse hook running `... hook claude` is
 * there already, *changed is false and the text is returned re-serialised
 * unchanged in meaning. hook_settings_uninstall removes every such hook
 * (and entries left empty, then an empty PreToolUse list and an empty
 * hooks object). Both return a newly allocated string (caller
 * frees) or NULL with err set (not JSON, not an object, hooks of the wrong
 * type).
 */
char *hook_settings_install(const char *buf, size_t len, const char *command, bool *changed,
			    struct cordon_err *err);
char *hook_settings_uninstall(const char *buf, size_t len, bool *changed, struct cordon_err *err);

/*
 * One audit record (JSON Lines, "v": 1, event "hook.decision") for req and
 * v, with ts an RFC 3339 timestamp. Caller frees; ends with a newline.
 * Aborts on OOM.
 */
char *hook_audit_record(const struct hook_request *req, const struct hook_verdict *v,
			const char *agent, const char *ts);

#endif
