#!/bin/bash
# `cordon log`: the human view, its scope (the last session of the
# workspace by default), filters, --json, --follow.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
LOG=$T/log/audit.jsonl
L() { "$CORDON" log --file "$LOG" --all "$@"; }
other=$(new_ws)
(cd "$other" && "$CORDON" run --audit-log "$LOG" -- /bin/echo other-workspace) >/dev/null 2>&1
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/echo first-session >/dev/null') >/dev/null 2>&1
(cd "$ws" && "$CORDON" run -v --audit-log "$LOG" -- /bin/bash -c '/bin/echo second-session >/dev/null; exit 4') >"$T/v.out" 2>&1
sid1=$($PY -c "import json; print([json.loads(l) for l in open('$LOG')][3]['session'])")
sid2=$(sed -n 's/^cordon: session \([0-9a-f]\{32\}\)$/\1/p' "$T/v.out")

expect_output "human view: session start with user and command" \
	"start session [0-9a-f]{32} by $(id -un) in $ws: /bin/bash -c" L
expect_output "human view: exec timeline" "exec  pid [0-9]+ +/bin/echo second-session" L
expect_output "human view: session end with status and counts" \
	"end   session [0-9a-f]{32} status 4 \\(exit\\) after [0-9]+ ms, 2 execs, 0 connections" L

# The default scope: the last session of this workspace, and nothing else.
run_capture sh -c "cd '$ws' && '$CORDON' log --file '$LOG'"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "second-session" &&
   ! printf '%s' "$OUT" | grep -q "first-session" && ! printf '%s' "$OUT" | grep -q "other-workspace"; then
	ok "by default: the last session of this workspace only"
else
	not_ok "by default: the last session of this workspace only"; diag "exit $RC: $OUT"
fi
mkdir -p "$ws/sub/dir"
expect_output "from a directory inside the workspace too" "second-session" \
	sh -c "cd '$ws/sub/dir' && '$CORDON' log --file '$LOG'"
expect_output "-w DIR names the workspace" "other-workspace" "$CORDON" log --file "$LOG" -w "$other"
run_capture sh -c "cd '$ws' && '$CORDON' log --file '$LOG' --limit 2"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "second-session" &&
   printf '%s' "$OUT" | grep -q "first-session" && ! printf '%s' "$OUT" | grep -q "other-workspace"; then
	ok "--limit 2: the last two sessions of this workspace"
else
	not_ok "--limit 2: the last two sessions of this workspace"; diag "exit $RC: $OUT"
fi
expect_output "--since 1h: every session of this workspace since" "first-session" \
	sh -c "cd '$ws' && '$CORDON' log --file '$LOG' --since 1h"
expect_output "--all: every workspace" "other-workspace" L
run_capture sh -c "cd / && '$CORDON' log --file '$LOG'"
if [ "$RC" -eq 0 ] && [ "$OUT" = "No session of / in $LOG.
\`cordon log --all\` shows the sessions of every workspace." ]; then
	ok "a workspace without sessions: says so and where to look (exit 0)"
else
	not_ok "a workspace without sessions: says so and where to look"; diag "exit $RC: $OUT"
fi
expect_status "--limit 0: usage error (125)" 125 "$CORDON" log --file "$LOG" --limit 0
expect_fail "--limit 0: says why" "--limit 0: a number of sessions, 1 or more" "$CORDON" log --file "$LOG" --limit 0
# One kind of session id: the one -v prints is the one the view prints and --session finds.
check "-v printed the session id" test -n "$sid2"
expect_output "the timeline prints the id -v printed" "start session $sid2 " \
	sh -c "cd '$ws' && '$CORDON' log --file '$LOG'"
expect_output "--session finds it, from any directory" "second-session" \
	sh -c "cd / && '$CORDON' log --file '$LOG' --session $sid2"
expect_output "--exec: exec lines only" "^[0-9:.]+  exec  pid" sh -c "'$CORDON' log --file '$LOG' --all --exec | tail -n +2"
check "--exec: no session lines" sh -c "! '$CORDON' log --file '$LOG' --all --exec | grep -q 'start session'"
expect_output "--json --all: the file's lines, unchanged" "^same$" \
	sh -c "'$CORDON' log --file '$LOG' --all --json | cmp -s - '$LOG' && echo same"
expect_output "--json --all --exec: 5 exec_request and 5 exec records" "^10$" sh -c "'$CORDON' log --file '$LOG' --all --json --exec | wc -l"
expect_output "--session PREFIX: only that session" "^4 first$" \
	sh -c "'$CORDON' log --file '$LOG' --json --session ${sid1:0:8} | wc -l | tr -d '\n'; '$CORDON' log --file '$LOG' --session ${sid1:0:8} | grep -q second-session || echo ' first'"
expect_output "--all --since 1h: everything" "^16$" sh -c "'$CORDON' log --file '$LOG' --all --json --since 1h | wc -l"
expect_output "--since in the future: nothing" "^0$" sh -c "'$CORDON' log --file '$LOG' --all --json --since 2099-01-01 | wc -l"
expect_status "--since bogus: exit 125" 125 L --since yesterday-ish
expect_fail "--since bogus: says why" "not a time .* nor an age" L --since yesterday-ish
expect_status "unknown option: exit 125" 125 L --bogus
expect_output "--help" "Usage: cordon log" "$CORDON" log --help
expect_status "missing log: 125" 125 "$CORDON" log --file "$T/none.jsonl"
expect_fail "missing log: says why" "open audit log .*No such file.*" "$CORDON" log --file "$T/none.jsonl"

# Hostile argv must not drive the terminal: no control byte in the view.
ELOG=$T/esc.jsonl
(cd "$ws" && "$CORDON" run --audit-log "$ELOG" -- /bin/echo $'\e]0;pwned\a\e[31mred\x7f') >/dev/null 2>&1
check "control: the record holds the escape sequence" grep -qi 'u001b\]0;pwned' "$ELOG"
expect_output "human view shows it defanged" '/bin/echo [?][]]0;pwned[?][?][[]31mred[?]$' \
	"$CORDON" log --file "$ELOG" --all
check "human view: no control byte in the output" sh -c "! '$CORDON' log --file '$ELOG' --all | tr -d '\n' | grep -q '[[:cntrl:]]'"

# Network summary, from a log holding net records (as the proxy writes them).
NLOG=$T/net.jsonl
$PY - "$NLOG" <<'PY'
import hashlib, json, sys
sid = "ab" * 16
recs = [dict(type="session_start", argv=["x"], cwd="/w", user="u", uid=1, policy_digest="sha256:0")]
for host, port, dec, rule in [("allowed.test", 443, "allow", "*.test")] * 3 + \
        [("evil.test", 443, "deny", None)] * 2 + [("allowed.test", 80, "allow", "*.test")]:
    recs.append(dict(type="net", host=host, port=port, address="192.0.2.1", protocol="http-connect",
                     decision=dec, rule=rule, reason=None if rule else "not in the allowlist",
                     bytes_up=1, bytes_down=2, duration_ms=3))
recs.append(dict(type="violation", kind="net", what="evil.test:443", reason="not in the allowlist", pid=None))
recs.append(dict(type="session_end", status=0, reason="exit", duration_ms=5, counters={}))
prev = "0" * 64
with open(sys.argv[1], "w") as f:
    for i, r in enumerate(recs):
        line = json.dumps(dict(v=1, type=r.pop("type"), ts="2026-01-01T00:00:%02d.000000Z" % i,
                               session=sid, seq=i, **r, prev=prev), separators=(",", ":"))
        f.write(line + "\n")
        prev = hashlib.sha256(line.encode()).hexdigest()
PY
expect_output "synthetic net log verifies (1 session, not 1 sessions)" "OK \\(9 records, 1 session\\)$" "$CORDON" log verify --file "$NLOG"
expect_output "network summary: allowed host, rule, count" \
	"allowed.test +443  allowed  \\*\\.test +3  2026-01-01T00:00:03" "$CORDON" log --file "$NLOG" --all
expect_output "network summary: denied host, count" "evil.test +443  denied   - +2" "$CORDON" log --file "$NLOG" --all
expect_output "network summary: per port" "allowed.test +80  allowed" "$CORDON" log --file "$NLOG" --all
expect_output "violations in the timeline" "DENY  net evil.test:443: not in the allowlist" "$CORDON" log --file "$NLOG" --all
expect_output "network decisions inline in the timeline, in order" \
	"00:00:03.000  net   allow allowed.test:443 rule \\*\\.test.*00:00:04.000  net   deny evil.test:443 \\(not in the allowlist\\)" \
	sh -c "'$CORDON' log --file '$NLOG' --all | tr '\n' ' '"
expect_output "--net: the timeline's network lines, then the table" "^Network \\(3 destinations\\)" sh -c "'$CORDON' log --file '$NLOG' --all --net | sed -n 8p"
check "--net: no violation lines" sh -c "! '$CORDON' log --file '$NLOG' --all --net | grep -q DENY"

# --follow starts at the end and prints records as they are written.
out=$T/follow.out
"$CORDON" log --file "$LOG" -w "$ws" --follow > "$out" 2>&1 &
fpid=$!
track_pid "$fpid"
wait_for grep -q "^Following $LOG from now on" "$out"
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/echo third-session >/dev/null') >/dev/null 2>&1
(cd "$other" && "$CORDON" run --audit-log "$LOG" -- /bin/echo other-again) >/dev/null 2>&1
check "--follow: new session's exec shows up" wait_for grep -q "exec  pid [0-9]* *\\/bin\\/echo third-session" "$out"
check "--follow: and its end" wait_for grep -q "end   session.*status 0" "$out"
check "--follow: from the end, not the earlier sessions" sh -c "! grep -q second-session '$out'"
check "--follow: the workspace's sessions only" sh -c "! grep -q other-again '$out'"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
check "--follow: ends on SIGTERM" sh -c "! kill -0 $fpid 2>/dev/null"

done_testing
