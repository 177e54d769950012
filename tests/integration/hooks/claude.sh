#!/bin/bash
# The real Claude Code CLI (npm @anthropic-ai/claude-code) under cordon:
# `--version`, the preset's walls, and a scripted Bash tool call driven by a
# local fake model API running inside the same sandbox.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset ANTHROPIC_API_KEY ANTHROPIC_BASE_URL

if ! claude_cli; then
	for t in "claude --version under cordon run" "claude --version under cordon claude" \
		"preset walls" "scripted tool call"; do
		skip "$t" "$CLAUDE_SKIP"
	done
	done_testing
	exit $?
fi
claude=$CLAUDE
prefix=$(cd "$(dirname "$claude")/../.." && pwd)
ws=$(new_ws)
vre='^[0-9]+\.[0-9]+\.[0-9]+ \(Claude Code\)'

expect_output "claude --version runs under cordon run" "$vre" \
	sh -c "cd '$ws' && timeout 60 '$CORDON' run -- '$claude' --version </dev/null"
expect_output "claude --version runs under cordon claude (found in PATH)" "$vre" \
	sh -c "cd '$ws' && PATH='$prefix/node_modules/.bin':\$PATH timeout 60 '$CORDON' claude -- --version </dev/null"
check "cordon claude created the state directory it made writable" test -d "$h/.claude"

# The preset's mapping: the profile's rules (`cordon claude` is `cordon run
# --profile claude -- claude`), and the arguments the agent is given.
run_capture sh -c "cd '$ws' && ANTHROPIC_API_KEY=sk-test-123 '$CORDON' policy show --profile claude"
ok_map=1
for re in "filesystem.allowWrite +$h/.claude " "filesystem.allowWrite +$h/.claude.json " \
	"filesystem.denyWrite +$h/.claude/settings.json " "filesystem.denyWrite +$h/.claude/settings.local.json " \
	"filesystem.denyWrite +$h/.claude/hooks " "network.allowedDomains +api.anthropic.com " \
	"credentials.inject +api.anthropic.com x-api-key: from .ANTHROPIC_API_KEY +\(profile claude\)" \
	"network.rules +api.anthropic.com methods=POST paths=/v1/messages,/v1/messages/count_tokens,"; do
	printf '%s' "$OUT" | grep -Eq -- "$re" || { ok_map=0; diag "missing /$re/"; }
done
if [ "$RC" -eq 0 ] && [ $ok_map = 1 ]; then ok "policy show --profile claude shows the preset's rules"; else not_ok "policy show --profile claude shows the preset's rules"; diag "$OUT"; fi
argv_probe="$T/argv-probe"
printf '#!/bin/sh\nfor a in "$@"; do printf "arg:%%s\\n" "$a"; done\n' > "$argv_probe"
chmod 755 "$argv_probe"
run_capture sh -c "cd '$ws' && '$CORDON' claude --bin '$argv_probe' -- -p hi </dev/null"
ok_map=1
for re in '^arg:--settings$' '"sandbox":\{"enabled":false\}' '"command":"/run/cordon/cordon hook claude"' '^arg:-p$' '^arg:hi$'; do
	printf '%s' "$OUT" | grep -Eq -- "$re" || { ok_map=0; diag "missing /$re/"; }
done
if [ "$RC" -eq 0 ] && [ $ok_map = 1 ]; then ok "the agent gets its own sandbox off and cordon's hook, then the user's arguments"; else not_ok "the agent's arguments"; diag "$OUT"; fi
expect_output "--dry-run prints the cordon run command" "^cordon run --profile claude --as-agent -- $argv_probe -p hi\$" \
	sh -c "cd '$ws' && '$CORDON' claude --dry-run --bin '$argv_probe' -- -p hi"

# A probe in the agent's place: drops the preset's --settings, runs a shell line.
probe="$T/probe-agent"
cat > "$probe" <<'SH'
#!/bin/sh
[ "$1" = --settings ] && shift 2
exec sh -c "$1"
SH
chmod 755 "$probe"
agent() { (cd "$ws" && timeout 60 "$CORDON" claude --bin "$probe" -- "$1" </dev/null); }

echo '{"hooks":{"PreToolUse":[]}}' > "$h/.claude/settings.json"
cp "$h/.claude/settings.json" "$T/settings.orig"
check "control: the settings file is writable outside the sandbox" sh -c "echo '{}' >> '$h/.claude/settings.json'"
cp "$T/settings.orig" "$h/.claude/settings.json"
expect_fail "inside, the agent cannot rewrite its own settings (read-only)" "Read-only file system|Permission denied" \
	agent "echo '{\"hooks\":{}}' > ~/.claude/settings.json"
check "the settings on the host are unchanged" cmp -s "$T/settings.orig" "$h/.claude/settings.json"
expect_fail "inside, the agent cannot add a hook script" "Read-only file system|Permission denied" \
	agent "echo evil > ~/.claude/hooks/pre.sh"
check "no hook script appeared on the host" test ! -e "$h/.claude/hooks/pre.sh"
expect_output "inside, the agent's state directory is writable" "^state-ok$" \
	agent "mkdir -p ~/.claude/projects && echo s > ~/.claude/projects/x && echo state-ok"
check "the state file is on the host" test -f "$h/.claude/projects/x"
expect_fail "inside, the rest of home stays read-only" "Read-only file system|Permission denied" \
	agent "echo x >> ~/.bashrc"
expect_output "IS_SANDBOX=1 and CORDON_PROFILE=claude inside" "^1 claude$" \
	agent 'echo "$IS_SANDBOX $CORDON_PROFILE"'
expect_output "the agent's API key stays on the host: inside, a placeholder" "^key=cordon-injected-ANTHROPIC_API_KEY$" \
	env ANTHROPIC_API_KEY=sk-test-123 sh -c "cd '$ws' && '$CORDON' claude --bin '$probe' -- 'echo key=\$ANTHROPIC_API_KEY' </dev/null"
mkdir -p "$T/xdg/cordon"
echo '{"sandbox": {"credentials": {"envVars": [{"name": "ANTHROPIC_API_KEY", "mode": "allow"}]}}}' >"$T/xdg/cordon/settings.json"
expect_output "opt-out: credentials.envVars allowing the variable passes the key itself in" "^key=sk-test-123$" \
	env ANTHROPIC_API_KEY=sk-test-123 XDG_CONFIG_HOME="$T/xdg" sh -c "cd '$ws' && '$CORDON' claude --bin '$probe' -- 'echo key=\$ANTHROPIC_API_KEY' </dev/null"
expect_output "control: plain cordon run scrubs the same key" "^key=$" \
	env ANTHROPIC_API_KEY=sk-test-123 sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo key=\$ANTHROPIC_API_KEY' </dev/null"
expect_output "every other secret stays scrubbed" "^gh=$" \
	env ANTHROPIC_API_KEY=sk-test-123 GITHUB_TOKEN=ghp_secret sh -c "cd '$ws' && '$CORDON' claude --bin '$probe' -- 'echo gh=\$GITHUB_TOKEN' </dev/null"

# End to end: Claude Code talks to a fake model API on 127.0.0.1 inside the
# sandbox, which asks for a Bash tool call; the hook decides; the tool runs
# inside. Both processes start from the one agent command.
port=18080
wrap="$SHOWN/with-fake-api"
cat > "$wrap" <<SH
#!/bin/sh
$PY '$here/fake_anthropic.py' $port &
i=0
while [ \$i -lt 50 ] && ! $PY -c 'import socket; socket.create_connection(("127.0.0.1", $port), 1)' 2>/dev/null; do
	sleep 0.1; i=\$((i + 1))
done
exec '$claude' "\$@"
SH
chmod 755 "$wrap"
# Known limit: connect() from a thread other than the main one (Claude Code's
# HTTP client does that) fails inside the sandbox on builds whose connect
# notification handler cannot open a pidfd for a thread.
thread_probe=$(cd "$ws" && timeout 30 "$CORDON" run --quiet -- $PY -c '
import socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
res = []
def go():
    try:
        socket.create_connection(srv.getsockname(), 2).close(); res.append("ok")
    except OSError as e:
        res.append(e.strerror)
t = threading.Thread(target=go); t.start(); t.join()
print(res[0])' 2>&1)
e2e() {
	rm -f "$ws/fake.log"
	(cd "$ws" && env ANTHROPIC_BASE_URL=http://127.0.0.1:$port ANTHROPIC_API_KEY=sk-fake \
		FAKE_LOG="$ws/fake.log" FAKE_BASH_COMMAND="$1" \
		timeout 90 "$CORDON" claude --bin "$wrap" -- -p "$2" </dev/null 2>&1)
}
tool_result() {
	$PY - "$ws/fake.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    for m in json.loads(line)["body"].get("messages", []):
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if b.get("type") == "tool_result":
                c = b.get("content")
                print(c if isinstance(c, str) else json.dumps(c))
PY
}
if [ "$thread_probe" != ok ]; then
	r="connect() from a non-main thread fails in the sandbox ($thread_probe): the supervisor's connect notification opens a pidfd for the thread id without PIDFD_THREAD (supervisor/unixsock.c on_connect)"
	skip "a scripted Bash call runs inside the sandbox" "$r"
	skip "the hook's deny reaches the model" "$r"
else
	run_capture e2e 'echo cordon-e2e > proof.txt; id -u' "make a proof file"
	if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q FAKE-DONE && grep -qx cordon-e2e "$ws/proof.txt" 2>/dev/null; then
		ok "a scripted Bash call from Claude Code runs inside the sandbox (file on the host)"
	else
		not_ok "a scripted Bash call runs inside the sandbox"; diag "exit $RC: $(printf '%s' "$OUT" | tail -5)"
	fi
	touch "$h/keep-me"
	run_capture e2e 'rm -rf ~' "clean up"
	res=$(tool_result 2>&1)
	if [ "$RC" -eq 0 ] && printf '%s' "$res" | grep -q "cordon blocked this command (rule rm-root)" && [ -e "$h/keep-me" ]; then
		ok "the hook denies rm -rf ~ and Claude Code hands the reason to the model"
	else
		not_ok "the hook's deny reaches the model"; diag "exit $RC: $(printf '%s' "$OUT" | tail -3); tool_result: $res"
	fi
fi

done_testing
