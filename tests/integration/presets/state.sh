#!/bin/bash
# Agent profiles keep their promise: the agent's state is there (created on
# the host when missing), a writable path that cannot be provided is said or
# refused, `cordon run --profile claude -- claude` is `cordon claude`, the
# PreToolUse hook is visible and answers inside, and an agent installed by
# its native installer in ~/.local/bin is found and runs.
. "$(dirname "$0")/../lib.sh"

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset ANTHROPIC_BASE_URL ANTHROPIC_API_KEY
ws=$(new_ws)
bin="$T/bin"
mkdir -p "$bin"
# A stand-in for Claude Code called `claude`: prints its arguments and the
# preset's environment, answers one hook call with the command its
# --settings name, and writes its state.
cat > "$bin/claude" <<'SH'
#!/bin/sh
for a in "$@"; do printf 'arg:%s\n' "$a"; done
env | grep -E '^(IS_SANDBOX|CORDON_PROFILE|TMPDIR|CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC|DISABLE_AUTOUPDATER|NO_PROXY|CORDON_SANDBOX)=' | sort
if [ "$1" = --settings ]; then
	hook=$(printf '%s' "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["hooks"]["PreToolUse"][0]["hooks"][0]["command"])')
	printf 'hook-command:%s\n' "$hook"
	echo '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf ~"},"cwd":"/"}' | $hook
	echo "hook-exit:$?"
fi
echo state > "$HOME/.claude/probe-state" && echo state-ok
SH
chmod 755 "$bin/claude"
export PATH="$bin:$PATH"

check "precondition: no ~/.claude yet" test ! -e "$h/.claude"
run_capture sh -c "cd '$ws' && '$CORDON' run --profile claude -- claude hi </dev/null"
# The first session made the interception CA (the preset narrows the API
# host, which the proxy reads inside TLS) and said so, once.
RUN_OUT=$(printf '%s\n' "$OUT" | grep -v '^cordon: made the interception CA ')
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -qx state-ok; then
	ok "--profile claude with no ~/.claude: the agent's state write works inside"
else
	not_ok "--profile claude with no ~/.claude: the agent's state write works inside"
	diag "exit $RC: $(printf '%s' "$OUT" | tail -5)"
fi
check "the state is on the host, in the ~/.claude cordon created" test -f "$h/.claude/probe-state"
check "~/.claude.json was created too" test -f "$h/.claude.json"
check "both belong to the user" sh -c "[ \"\$(stat -c %u '$h/.claude')\" = \"\$(id -u)\" ] && [ \"\$(stat -c %u '$h/.claude.json')\" = \"\$(id -u)\" ]"

# One code path: the same arguments and environment either way.
run_capture sh -c "cd '$ws' && '$CORDON' claude hi </dev/null"
if [ "$RC" -eq 0 ] && [ "$OUT" = "$RUN_OUT" ]; then
	ok "cordon run --profile claude -- claude gets what cordon claude gets"
else
	not_ok "cordon run --profile claude -- claude gets what cordon claude gets"
	diff <(printf '%s\n' "$RUN_OUT") <(printf '%s\n' "$OUT") | sed 's/^/# /' | head -20
fi
ok_args=1
for re in '^arg:--settings$' '"sandbox":\{"enabled":false\}' '^arg:hi$' '^IS_SANDBOX=1$' '^CORDON_PROFILE=claude$' \
	'^DISABLE_AUTOUPDATER=1$' '^hook-command:/run/cordon/cordon hook claude$'; do
	printf '%s' "$RUN_OUT" | grep -Eq -- "$re" || { ok_args=0; diag "missing /$re/"; }
done
if [ $ok_args = 1 ]; then ok "the agent gets the preset's arguments and environment"; else not_ok "the agent gets the preset's arguments and environment"; fi
if printf '%s' "$RUN_OUT" | grep -q '"permissionDecision":"deny".*rule rm-root' &&
	printf '%s' "$RUN_OUT" | grep -qx 'hook-exit:0'; then
	ok "the PreToolUse hook named in --settings runs inside and denies rm -rf ~"
else
	not_ok "the PreToolUse hook named in --settings runs inside and denies rm -rf ~"
	diag "$(printf '%s' "$RUN_OUT" | grep -E 'hook' | head -5)"
fi
expect_fail "control: the hook path does not exist on the host (it is cordon's, inside)" "No such file|Permission denied" \
	/run/cordon/cordon hook claude </dev/null
# Another command under the same profile gets no agent arguments.
expect_output "a command that is not the agent gets no agent arguments" "^args=x$" \
	sh -c "cd '$ws' && '$CORDON' run --profile claude -- sh -c 'echo args=\$*' sh x </dev/null"

# A writable path that cannot be provided is said: policy show and -v.
check "precondition: no ~/.yarn" test ! -e "$h/.yarn"
expect_output "policy show --profile node names the cache it cannot provide" \
	"not writable inside: ~/.yarn/berry \(it does not exist" \
	sh -c "cd '$ws' && '$CORDON' policy show --profile node"
expect_output "cordon run -v --profile node names it too" \
	"not writable inside: ~/.yarn/berry \(it does not exist" \
	sh -c "cd '$ws' && '$CORDON' run -v --profile node -- true </dev/null"
expect_output "policy show says what a run creates" "~/.codex does not exist yet: \`cordon run\` creates it" \
	sh -c "cd '$ws' && '$CORDON' policy show --profile codex"
check "policy show created nothing" test ! -e "$h/.codex"
# ...and refused where the profile needs it.
ln -s "$T/nonexistent-target" "$h/.codex"
expect_fail "state that cannot be provided: exit 125 (nothing runs)" "state ~/.codex is a symbolic link to nothing" \
	sh -c "cd '$ws' && '$CORDON' run --profile codex -- sh -c 'echo ran' </dev/null"
check "the refusal is exit 125" [ "$RC" -eq 125 ]
check "and the command did not run" sh -c "! printf '%s' \"\$1\" | grep -qx ran" _ "$OUT"
rm "$h/.codex"
expect_output "control: without the broken link the same run works and creates ~/.codex" "^ran$" \
	sh -c "cd '$ws' && '$CORDON' run --profile codex -- sh -c 'echo x > ~/.codex/s && echo ran' </dev/null"
check "~/.codex/s is on the host" test -f "$h/.codex/s"

# Every toolchain at once, in a home where their caches exist: one bind
# mount each, more than the supervisor once kept track of.
h3=$(mktemp -d "$T/home3.XXXXXX")
chmod 755 "$h3"
mkdir -p "$h3/.cache/pip" "$h3/.cache/go-build" "$h3/.cache/node-gyp" "$h3/.cache/yarn" "$h3/.cache/pnpm" \
	"$h3/.cache/uv" "$h3/.npm" "$h3/.cargo/registry" "$h3/.cargo/git" "$h3/.local/share/pnpm" \
	"$h3/.local/share/uv" "$h3/.yarn/berry" "$h3/go/pkg/mod" "$h3/.m2/repository" "$h3/.gradle/caches" \
	"$h3/.gradle/wrapper"
expect_output "--profile claude,node,python,rust,go,java with every cache present runs" "^cache-ok$" \
	env HOME="$h3" sh -c "cd '$ws' && '$CORDON' run --profile claude,node,python,rust,go,java -- sh -c 'echo x > ~/.m2/repository/x && echo x > ~/.cache/pip/x && echo cache-ok' </dev/null"
check "the writes are in the caches on the host" test -f "$h3/.m2/repository/x" -a -f "$h3/.cache/pip/x"

# An agent from its native installer: ~/.local/bin/claude -> ~/.local/share/
# claude/versions/X, ~/.local/bin not in PATH, a home closed to others,
# below the suite's own scratch (0700 for root).
h2=$(mktemp -d "$T/home2.XXXXXX")
chmod 700 "$h2"
mkdir -p "$h2/.local/share/claude/versions" "$h2/.local/bin"
printf '#!/bin/sh\necho "native-agent-ok $*"\n' > "$h2/.local/share/claude/versions/1.2.3"
chmod 755 "$h2/.local/share/claude/versions/1.2.3"
ln -s ../share/claude/versions/1.2.3 "$h2/.local/bin/claude"
npath=/usr/local/bin:/usr/bin:/bin
expect_output "control: the native install runs outside" "^native-agent-ok --version$" "$h2/.local/bin/claude" --version
expect_output "cordon claude finds the agent in ~/.local/bin and runs it inside" "^native-agent-ok --settings .* --version$" \
	env HOME="$h2" PATH="$npath" sh -c "cd '$ws' && '$CORDON' claude --version </dev/null"
expect_output "cordon run --profile claude -- claude does the same" "^native-agent-ok --settings .* --version$" \
	env HOME="$h2" PATH="$npath" sh -c "cd '$ws' && '$CORDON' run --profile claude -- claude --version </dev/null"

done_testing
