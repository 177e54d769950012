/* SPDX-License-Identifier: MIT */
/* Hook payloads in and out: the only file of src/hook/ that sees jansson. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "hook/hook.h"

static char *
dup_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return NULL;
	/* A NUL inside the string would hide the rest of it from the policy. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return xstrdup(json_string_value(v));
}

static int
has_embedded_nul(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v);
}

int
hook_parse(const char *buf, size_t len, struct hook_request *req, struct cordon_err *err)
{
	json_error_t jerr;
	json_t *root, *input;

	memset(req, 0, sizeof(*req));
	if (len > HOOK_MAX_INPUT) {
		cordon_err_set(err, 0, "hook input is %zu bytes, the limit is %d", len,
			       HOOK_MAX_INPUT);
		return cordon_err_hint(err, "the agent sent an oversized payload; nothing was "
					    "allowed");
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		cordon_err_set(err, 0, "hook input is not valid JSON: line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		return cordon_err_hint(err, "`cordon hook claude` reads one PreToolUse JSON "
					    "object on stdin");
	}
	if (!json_is_object(root)) {
		json_decref(root);
		cordon_err_set(err, 0, "hook input is not a JSON object");
		return cordon_err_hint(err, "`cordon hook claude` reads one PreToolUse JSON "
					    "object on stdin");
	}
	req->event = dup_string(root, "hook_event_name");
	req->tool_name = dup_string(root, "tool_name");
	req->cwd = dup_string(root, "cwd");
	req->session_id = dup_string(root, "session_id");
	req->tool_use_id = dup_string(root, "tool_use_id");
	input = json_object_get(root, "tool_input");
	if (json_is_object(input)) {
		if (has_embedded_nul(input, "command") || has_embedded_nul(input, "file_path") ||
		    has_embedded_nul(input, "notebook_path")) {
			json_decref(root);
			hook_request_free(req);
			cordon_err_set(err, 0,
				       "hook input has a NUL byte inside a command or "
				       "path");
			return cordon_err_hint(err, "refused as a likely attempt to hide part of "
						    "the command");
		}
		req->command = dup_string(input, "command");
		req->file_path = dup_string(input, "file_path");
		if (req->file_path == NULL)
			req->file_path = dup_string(input, "notebook_path");
	}
	json_decref(root);
	if (req->event == NULL || req->tool_name == NULL) {
		hook_request_free(req);
		cordon_err_set(err, 0, "hook input lacks %s",
			       "a string hook_event_name and tool_name");
		return cordon_err_hint(err, "configure `cordon hook claude` as a PreToolUse "
					    "hook; see docs/hooks.md");
	}
	return 0;
}

void
hook_request_free(struct hook_request *req)
{
	free(req->event);
	free(req->tool_name);
	free(req->command);
	free(req->file_path);
	free(req->cwd);
	free(req->session_id);
	free(req->tool_use_id);
	memset(req, 0, sizeof(*req));
}

const char *
hook_decision_name(enum hook_decision d)
{
	switch (d) {
	case HOOK_ALLOW:
		return "allow";
	case HOOK_ASK:
		return "ask";
	case HOOK_DENY:
		return "deny";
	case HOOK_DEFER:
		return "defer";
	default:
		return "defer";
	}
}

char *
hook_format_output(const struct hook_verdict *v)
{
	char reason[sizeof(v->reason)];
	json_t *root, *out;
	char *s, *line;

	if (v->decision == HOOK_DEFER)
		return NULL;
	out = json_pack("{s:s, s:s, s:s}", "hookEventName", "PreToolUse", "permissionDecision",
			hook_decision_name(v->decision), "permissionDecisionReason", v->reason);
	if (out == NULL) {
		/* A quoted command cut inside a UTF-8 sequence: keep ASCII only. */
		memcpy(reason, v->reason, sizeof(reason));
		reason[sizeof(reason) - 1] = '\0';
		for (char *p = reason; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
				*p = '?';
		out = json_pack("{s:s, s:s, s:s}", "hookEventName", "PreToolUse",
				"permissionDecision", hook_decision_name(v->decision),
				"permissionDecisionReason", reason);
	}
	if (out == NULL)
		abort();
	root = json_pack("{s:o}", "hookSpecificOutput", out);
	if (root == NULL)
		abort();
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		abort();
	line = xasprintf("%s\n", s);
	free(s);
	return line;
}
