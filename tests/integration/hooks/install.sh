#!/bin/bash
# `cordon hook install|uninstall claude`: editing Claude Code's settings.json.
. "$(dirname "$0")/../lib.sh"

d=$(mktemp -d "$T/settings.XXXXXX")
s="$d/settings.json"
cat > "$s" <<'JSON'
{
  "model": "opus",
  "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(./.env)"]},
  "hooks": {
    "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write"}]}],
    "PreToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "/usr/local/bin/lint-edit"}]}]
  },
  "env": {"FOO": "bar"}
}
JSON
cp "$s" "$d/original.json"

expect_output "install adds the hook" "added the PreToolUse hook for Bash" \
	"$CORDON" hook install claude --settings "$s" --command "/opt/cordon/bin/cordon hook claude"
run_capture $PY - "$s" "$d/original.json" <<'PY'
import json, sys
new, old = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
pre = new["hooks"]["PreToolUse"]
ours = [e for e in pre if e.get("matcher") == "Bash"]
assert len(ours) == 1, pre
assert ours[0]["hooks"] == [{"type": "command", "command": "/opt/cordon/bin/cordon hook claude"}]
# everything else kept, in order
for k in ("model", "permissions", "env"):
    assert new[k] == old[k], k
assert new["hooks"]["PostToolUse"] == old["hooks"]["PostToolUse"]
assert pre[0] == old["hooks"]["PreToolUse"][0]
assert list(new.keys()) == list(old.keys())
print("settings ok")
PY
check "other settings and hooks are kept" [ "$RC" -eq 0 ]
check "the previous file is kept as settings.json.bak" cmp -s "$d/original.json" "$s.bak"
cp "$s" "$d/after-first.json"
expect_output "a second install changes nothing" "already has the cordon hook; nothing changed" \
	"$CORDON" hook install claude --settings "$s" --command "/opt/cordon/bin/cordon hook claude"
check "the file is byte-for-byte unchanged after the second install" cmp -s "$d/after-first.json" "$s"

# A missing settings file (and directory) is created.
fresh="$d/new/.claude/settings.json"
expect_output "install creates a missing settings file" "added the PreToolUse hook" \
	"$CORDON" hook install claude --settings "$fresh"
run_capture $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["hooks"]["PreToolUse"][0]["hooks"][0]["command"]; assert c.endswith("cordon hook claude"), c; print(c)' "$fresh"
check "the default hook command is this cordon binary" [ "$RC" -eq 0 ]

# Default location: ~/.claude/settings.json
h=$(mktemp -d "$T/home.XXXXXX")
expect_output "default target is ~/.claude/settings.json" "$h/.claude/settings.json" \
	env HOME="$h" "$CORDON" hook install claude
check "created under HOME" test -s "$h/.claude/settings.json"

# A file cordon cannot read as JSON is left alone.
printf '{"model": "opus",,}' > "$d/bad.json"
cp "$d/bad.json" "$d/bad.orig"
expect_fail "install refuses settings that are not JSON (exit 125, position)" "not valid JSON: line 1 column" \
	"$CORDON" hook install claude --settings "$d/bad.json"
check "the unreadable file is untouched" cmp -s "$d/bad.json" "$d/bad.orig"
printf '{"hooks": []}' > "$d/badtype.json"
expect_fail "install refuses a hooks key of the wrong type" '"hooks" is not an object' \
	"$CORDON" hook install claude --settings "$d/badtype.json"

expect_output "uninstall removes the hook" "removed the cordon hook" \
	"$CORDON" hook uninstall claude --settings "$s"
run_capture $PY - "$s" "$d/original.json" <<'PY'
import json, sys
new, old = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert new == old, (new, old)
PY
check "after uninstall the settings equal the original" [ "$RC" -eq 0 ]
expect_output "uninstall twice changes nothing" "lacks the cordon hook" \
	"$CORDON" hook uninstall claude --settings "$s"

# A settings file without hooks: uninstall leaves no empty list or object.
echo '{"theme": "dark"}' >"$d/plain.json"
"$CORDON" hook install claude --settings "$d/plain.json" --command "/opt/cordon hook claude" >/dev/null
expect_output "install into a file without hooks" '"PreToolUse"' cat "$d/plain.json"
"$CORDON" hook uninstall claude --settings "$d/plain.json" >/dev/null
run_capture $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d == {"theme": "dark"}, d' "$d/plain.json"
check "uninstall leaves no empty hooks or PreToolUse behind" [ "$RC" -eq 0 ]
[ "$RC" -eq 0 ] || diag "$(cat "$d/plain.json")"

# A symlinked settings file (dotfiles): the link stays, its target is written.
mkdir -p "$d/dotfiles" "$d/home"
echo '{"theme": "dark"}' >"$d/dotfiles/settings.json"
ln -s ../dotfiles/settings.json "$d/home/settings.json"
"$CORDON" hook install claude --settings "$d/home/settings.json" --command "/opt/cordon hook claude" >/dev/null
check "install through a symlink keeps the symlink" test -L "$d/home/settings.json"
expect_output "install through a symlink writes its target" '/opt/cordon hook claude' \
	cat "$d/dotfiles/settings.json"
"$CORDON" hook uninstall claude --settings "$d/home/settings.json" >/dev/null
check "uninstall through a symlink keeps the symlink" test -L "$d/home/settings.json"
run_capture $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d == {"theme": "dark"}, d' "$d/dotfiles/settings.json"
check "uninstall through a symlink restores the target" [ "$RC" -eq 0 ]
ln -s nowhere.json "$d/home/dangling.json"
expect_fail "a symlink to a missing file: refused, and says so" \
	"is a symbolic link to a missing file" "$CORDON" hook install claude --settings "$d/home/dangling.json"
check "a symlink to a missing file: the link is left as it was" test -L "$d/home/dangling.json"

# The hook names cordon as the user called it: a link in PATH stays the link.
mkdir -p "$d/bin"
ln -s "$CORDON" "$d/bin/cordon"
echo '{}' >"$d/named.json"
expect_output "called by name through a link in PATH: the hook names that link" \
	"command: $d/bin/cordon hook claude\$" \
	env PATH="$d/bin:$PATH" cordon hook install claude --settings "$d/named.json"
echo '{}' >"$d/named2.json"
expect_output "called by a relative path: the hook names its absolute path" \
	"command: $d/bin/cordon hook claude\$" \
	sh -c "cd '$d' && ./bin/cordon hook install claude --settings named2.json"
echo '{}' >"$d/named3.json"
expect_output "control: called by the binary's own path, the hook names that path" \
	"command: $CORDON hook claude\$" "$CORDON" hook install claude --settings "$d/named3.json"

done_testing
