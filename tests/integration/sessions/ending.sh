#!/bin/bash
# Every `cordon run` ends with its clean-up, whatever ends it. A command
# that ignores SIGTERM is killed with its whole sandbox after the grace
# period (--stop-timeout) and what it planted is quarantined; a cordon that
# is SIGKILLed leaves its session record, from which the next `cordon run`
# in that workspace (or `cordon ps`) finishes the clean-up and closes the
# session in the audit log. The proof is the host's own git afterwards.
. "$(dirname "$0")/../lib.sh"

if ! command -v git >/dev/null; then
	skip "endings" "git is not installed"
	done_testing
	exit
fi
# Our own home, state and runtime directories: other cordon sessions of
# this machine (other suites, other users of it) are none of this test's.
iso=$(mktemp -d "$T/iso.XXXXXX")
mkdir "$iso/home" "$iso/state" "$iso/run"
chmod 755 "$iso" "$iso/home"
chmod 700 "$iso/run"
export HOME="$iso/home" XDG_STATE_HOME="$iso/state" XDG_RUNTIME_DIR="$iso/run" GIT_CONFIG_NOSYSTEM=1
G="git -c user.name=t -c user.email=t@example.test -c commit.gpgsign=false"
plant='git init -q . && printf "#!/bin/sh\necho PWNED-BY-HOOK\n" > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit'

# host_commit WS: the host's git commits in WS (the output shows any hook that ran).
host_commit() {
	(cd "$1" && echo x >>f && git add f && $G commit -qm outside 2>&1 && echo COMMITTED)
}


# end_of PID: wait (60 s at most) for PID to end; sets RC to its status, 255 if it did not end.
end_of() {
	if wait_long sh -c "! kill -0 $1 2>/dev/null"; then
		wait "$1" 2>/dev/null
		RC=$?
	else
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=255
	fi
}

records() { ls "$XDG_STATE_HOME/cordon/sessions" 2>/dev/null | grep -c '\.session$'; }

# Control: the same plant, without cordon, runs at the next commit.
ctl=$(new_ws)
(cd "$ctl" && sh -c "$plant")
expect_output "control: a planted pre-commit hook runs at the host's next commit" \
	"PWNED-BY-HOOK" host_commit "$ctl"

# 1. SIGTERM to cordon, the command ignores it: killed after the grace period.
ws=$(new_ws)
"$CORDON" run -w "$ws" --stop-timeout 1 -- \
	sh -c "$plant && touch planted && trap '' TERM && sleep 1000" >"$T/term.out" 2>&1 &
pid=$!
track_pid $pid
if ! wait_long test -e "$ws/planted"; then
	diag "the sandbox never planted: $(cat "$T/term.out")"
fi
kill -TERM $pid
end_of $pid
OUT=$(cat "$T/term.out")
check "SIGTERM ignored inside: cordon still ends" test "$RC" -ne 255
check "... with the status of a sandbox killed by SIGKILL (137)" test "$RC" -eq 137
check "... and says why" \
	sh -c "printf '%s' \"\$1\" | grep -q 'did not end within 1.000 s of SIGTERM: killing the sandbox'" _ "$OUT"
check "... and its quarantine ran: the hook is named" \
	sh -c "printf '%s' \"\$1\" | grep -q 'quarantined .git/hooks/pre-commit'" _ "$OUT"
[ "$RC" -eq 137 ] || diag "exit $RC: $OUT"
run_capture host_commit "$ws"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q COMMITTED && ! printf '%s' "$OUT" | grep -q PWNED; then
	ok "SIGTERM ignored inside: the host's git commit runs no planted hook"
else
	not_ok "SIGTERM ignored inside: the host's git commit runs no planted hook"
	diag "exit $RC: $OUT"
fi
expect_output "the audit log says the grace period ran out" '"reason":"stop-timeout"' \
	"$CORDON" log --all --json
check "no session record is left behind" test "$(records)" -eq 0

# The same with SIGHUP (the terminal went away).
ws=$(new_ws)
"$CORDON" run -w "$ws" --stop-timeout 0.5 -- \
	sh -c "$plant && touch planted && trap '' HUP && sleep 1000" >"$T/hup.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/planted"
kill -HUP $pid
end_of $pid
check "SIGHUP ignored inside: cordon ends (137) after the grace period" test "$RC" -eq 137
run_capture host_commit "$ws"
check "SIGHUP ignored inside: no planted hook runs at the host's commit" \
	sh -c "printf '%s' \"\$1\" | grep -q COMMITTED && ! printf '%s' \"\$1\" | grep -q PWNED" _ "$OUT"

# Control for the grace period: a command that ends on SIGTERM is not killed.
ws=$(new_ws)
"$CORDON" run -w "$ws" -- sh -c 'trap "echo got-term; exit 3" TERM; touch ready; while :; do sleep 0.1; done' \
	>"$T/term-ok.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/ready"
kill -TERM $pid
end_of $pid
check "control: a command that handles SIGTERM ends with its own status (3)" test "$RC" -eq 3
check "control: ... and nothing was killed" sh -c "! grep -q 'killing the sandbox' '$T/term-ok.out'"

# 2. cordon SIGKILLed (an outer `timeout -k`, the OOM killer): the next run finishes it.
ws=$(new_ws)
"$CORDON" run -w "$ws" -- sh -c "$plant && touch planted && sleep 1000" >"$T/kill.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/planted"
kill -KILL $pid
end_of $pid
check "SIGKILLed cordon: the hook it let through is on the host" test -x "$ws/.git/hooks/pre-commit"
check "SIGKILLed cordon: its session record is left" test "$(records)" -eq 1
socks=$(ls "$XDG_RUNTIME_DIR/cordon/"*.sock 2>/dev/null | wc -l)
check "SIGKILLed cordon: its control socket is left (nobody listens on it)" test "$socks" -eq 1
# A stale socket of an older killed session, with no record left: swept too.
(cd "$XDG_RUNTIME_DIR/cordon" &&
	$PY -c 'import socket; socket.socket(socket.AF_UNIX).bind("0123456789abcdef0123456789abcdef.sock")')
touch -d '-5 minutes' "$XDG_RUNTIME_DIR/cordon/0123456789abcdef0123456789abcdef.sock"
expect_status "before any clean-up, log verify reports a session without an end (2)" 2 \
	"$CORDON" log verify
check "... and says its cordon was killed and what finishes it" \
	sh -c "'$CORDON' log verify | grep -q 'was killed before its clean-up; .cordon ps. or the next .cordon run. finishes it'"
run_capture sh -c "cd '$ws' && '$CORDON' run -v -- true"
next=$(printf '%s\n' "$OUT" | sed -n 's/^cordon: session \([0-9a-f]\{32\}\)$/\1/p')
check "the next run removes the stale control sockets" \
	sh -c "! ls '$XDG_RUNTIME_DIR/cordon/' | grep -q '\.sock\$'"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q 'did not finish its clean-up: its cordon (pid [0-9]*) was killed' &&
	printf '%s' "$OUT" | grep -q 'quarantined .git/hooks/pre-commit'; then
	ok "the next cordon run in that workspace finishes the clean-up first, and says so"
else
	not_ok "the next cordon run in that workspace finishes the clean-up first, and says so"
	diag "exit $RC: $OUT"
fi
run_capture host_commit "$ws"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q COMMITTED && ! printf '%s' "$OUT" | grep -q PWNED; then
	ok "SIGKILLed cordon: the host's git commit runs no planted hook"
else
	not_ok "SIGKILLed cordon: the host's git commit runs no planted hook"
	diag "exit $RC: $OUT"
fi
q=$(find "$XDG_STATE_HOME/cordon/quarantine" -path '*/.git/hooks/pre-commit' 2>/dev/null | head -1)
check "the hook is kept for review outside the workspace" test -n "$q"
expect_output "log verify: 0 now, and names the session closed by the next run" \
	"OK .*note: 1 session ended without an end record of its own \(its cordon was killed\).*closed by .cordon run. of session $next" \
	sh -c "'$CORDON' log verify | tr '\n' ' '"
expect_output "the closing record: session_end, supervisor-killed, closed by that session" \
	"\"type\":\"session_end\".*\"reason\":\"supervisor-killed\".*\"closed_by\":\\{\"command\":\"run\",\"session\":\"$next\"" \
	"$CORDON" log --all --json
check "the record is gone once the clean-up is done" test "$(records)" -eq 0

# A log cut in the middle of a record still fails verify (1).
cp "$XDG_STATE_HOME/cordon/audit/audit.jsonl" "$T/cut.jsonl"
truncate -s -7 "$T/cut.jsonl"
expect_status "a log cut mid-record still fails verify (1)" 1 "$CORDON" log verify --file "$T/cut.jsonl"

# 3. `cordon ps` finishes it as well, from anywhere.
ws=$(new_ws)
"$CORDON" run -w "$ws" -- sh -c "$plant && touch planted && sleep 1000" >"$T/kill2.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/planted"
kill -KILL $pid
end_of $pid
run_capture sh -c "cd / && '$CORDON' ps"
check "cordon ps finishes a killed session's clean-up, and says so" \
	sh -c "printf '%s' \"\$1\" | grep -q 'did not finish its clean-up' && printf '%s' \"\$1\" | grep -q 'quarantined .git/hooks/pre-commit'" _ "$OUT"
run_capture host_commit "$ws"
check "... and the host's git commit runs no planted hook" \
	sh -c "printf '%s' \"\$1\" | grep -q COMMITTED && ! printf '%s' \"\$1\" | grep -q PWNED" _ "$OUT"
expect_output "log verify: 0, two sessions closed later" "OK .*note: 2 session" \
	sh -c "'$CORDON' log verify | tr '\n' ' '"
expect_output "the second closing record names cordon ps" \
	'"reason":"supervisor-killed".*"closed_by":\{"command":"ps","session":null' "$CORDON" log --all --json

done_testing
