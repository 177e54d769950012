/* SPDX-License-Identifier: MIT */
/* Claude Code settings.json editing and hook audit records (jansson). Pure. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "hook/hook.h"

/* Is this hook command one of ours? "<anything>cordon hook claude". */
static bool
is_our_command(const char *cmd)
{
	size_t n = strlen(cmd);
	static const char tail[] = " hook claude";

	return n >= sizeof(tail) - 1 && strcmp(cmd + n - (sizeof(tail) - 1), tail) == 0 &&
	       strstr(cmd, "cordon") != NULL;
}

static json_t *
load_object(const char *buf, size_t len, struct cordon_err *err)
{
	json_error_t jerr;
	json_t *root;

	if (len == 0 || strspn(buf, " \t\r\n") == len)
		return json_object();
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		cordon_err_set(err, 0, "settings are not valid JSON: line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		cordon_err_hint(err, "fix the file by hand (cordon does not rewrite a file it "
				     "cannot read)");
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		cordon_err_set(err, 0, "settings are not a JSON object");
		cordon_err_hint(err, "a Claude Code settings file holds one JSON object");
		return NULL;
	}
	return root;
}

static char *
dump(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *line;

	if (s == NULL)
		abort();
	line = xasprintf("%s\n", s);
	free(s);
	return line;
}

/* hooks.PreToolUse array, created when create; NULL with err on a bad type. */
static json_t *
pre_tool_use(json_t *root, bool create, struct cordon_err *err)
{
	json_t *hooks = json_object_get(root, "hooks"), *pre;

	if (hooks == NULL) {
		if (!create)
			return NULL;
		hooks = json_object();
		json_object_set_new(root, "hooks", hooks);
	}
	if (!json_is_object(hooks)) {
		cordon_err_set(err, 0, "settings key \"hooks\" is not an object");
		cordon_err_hint(err, "see Claude Code's hooks documentation for the format");
		return NULL;
	}
	pre = json_object_get(hooks, "PreToolUse");
	if (pre == NULL) {
		if (!create)
			return NULL;
		pre = json_array();
		json_object_set_new(hooks, "PreToolUse", pre);
	}
	if (!json_is_array(pre)) {
		cordon_err_set(err, 0, "settings key \"hooks.PreToolUse\" is not an array");
		cordon_err_hint(err, "see Claude Code's hooks documentation for the format");
		return NULL;
	}
	return pre;
}

char *
hook_settings_install(const char *buf, size_t len, const char *command, bool *changed,
		      struct cordon_err *err)
{
	json_t *root = load_object(buf, len, err), *pre, *entry;
	size_t i, k;
	char *out;

	*changed = false;
	if (root == NULL)
		return NULL;
	pre = pre_tool_use(root, true, err);
	if (pre == NULL) {
		json_decref(root);
		return NULL;
	}
	json_array_foreach(pre, i, entry)
	{
		json_t *hooks = json_object_get(entry, "hooks"), *h;

		if (!json_is_array(hooks))
			continue;
		json_array_foreach(hooks, k, h)
		{
			const char *c = json_string_value(json_object_get(h, "command"));

			if (c != NULL && is_our_command(c)) {
				out = dump(root);
				json_decref(root);
				return out;
			}
		}
	}
	entry = json_pack("{s:s, s:[{s:s, s:s}]}", "matcher", "Bash", "hooks", "type", "command",
			  "command", command);
	if (entry == NULL) {
		json_decref(root);
		cordon_err_set(err, 0, "hook command is not valid UTF-8");
		return NULL;
	}
	json_array_append_new(pre, entry);
	*changed = true;
	out = dump(root);
	json_decref(root);
	return out;
}

char *
hook_settings_uninstall(const char *buf, size_t len, bool *changed, struct cordon_err *err)
{
	json_t *root = load_object(buf, len, err), *pre;
	char *out;

	*changed = false;
	if (root == NULL)
		return NULL;
	err->msg[0] = '\0';
	pre = pre_tool_use(root, false, err);
	if (pre == NULL && err->msg[0] != '\0') {
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; pre != NULL && i < json_array_size(pre);) {
		json_t *hooks = json_object_get(json_array_get(pre, i), "hooks");

		for (size_t k = 0; json_is_array(hooks) && k < json_array_size(hooks);) {
			const char *c =
			    json_string_value(json_object_get(json_array_get(hooks, k), "command"));

			if (c != NULL && is_our_command(c)) {
				json_array_remove(hooks, k);
				*changed = true;
			} else {
				k++;
			}
		}
		if (json_is_array(hooks) && json_array_size(hooks) == 0)
			json_array_remove(pre, i);
		else
			i++;
	}
	/* What install added and is now empty goes too: no [] or {} left behind. */
	if (*changed && pre != NULL && json_array_size(pre) == 0) {
		json_t *h = json_object_get(root, "hooks");

		json_object_del(h, "PreToolUse");
		if (json_object_size(h) == 0)
			json_object_del(root, "hooks");
	}
	out = dump(root);
	json_decref(root);
	return out;
}

char *
hook_audit_record(const struct hook_request *req, const struct hook_verdict *v, const char *agent,
		  const char *ts)
{
	json_t *rec =
	    json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "v", 1, "ts", ts, "event",
		      "hook.decision", "agent", agent, "tool", req->tool_name, "decision",
		      hook_decision_name(v->decision), "rule", v->rule ? v->rule : "default");
	char *s, *line;

	if (rec == NULL)
		abort();
	if (req->session_id)
		json_object_set_new(rec, "session", json_string(req->session_id));
	if (req->tool_use_id)
		json_object_set_new(rec, "tool_use_id", json_string(req->tool_use_id));
	if (req->cwd)
		json_object_set_new(rec, "cwd", json_string(req->cwd));
	if (req->command)
		json_object_set_new(rec, "command", json_string(req->command));
	if (req->file_path)
		json_object_set_new(rec, "path", json_string(req->file_path));
	json_object_set_new(rec, "reason", json_string(v->reason));
	s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (s == NULL)
		abort();
	line = xasprintf("%s\n", s);
	free(s);
	return line;
}
