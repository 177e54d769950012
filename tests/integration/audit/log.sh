#!/bin/bash
# `cordon log`: the human view, filters, --json, --follow.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
LOG=$T/log/audit.jsonl
L() { "$CORDON" log --file "$LOG" "$@"; }
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/echo first-session >/dev/null') >/dev/null 2>&1
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/echo second-session >/dev/null; exit 4') >/dev/null 2>&1
sid1=$($PY -c "import json; print([json.loads(l) for l in open('$LOG')][0]['session'])")

expect_output "human view: session start with user and command" \
	"start session [0-9a-f]{12} by $(id -un) in $ws: /bin/bash -c" L
expect_output "human view: exec timeline" "exec  pid [0-9]+ +/bin/echo second-session" L
expect_output "human view: session end with status and counts" \
	"end   session [0-9a-f]{12} status 4 \\(exit\\) after [0-9]+ ms, 2 execs, 0 connections" L
expect_output "--exec: exec lines only" "^[0-9:.]+  exec  pid" sh -c "'$CORDON' log --file '$LOG' --exec | tail -n +2"
check "--exec: no session lines" sh -c "! '$CORDON' log --file '$LOG' --exec | grep -q 'start session'"
expect_output "--json: the file's lines, unchanged" "^same$" \
	sh -c "'$CORDON' log --file '$LOG' --json | cmp -s - '$LOG' && echo same"
expect_output "--json --exec: 4 exec_request and 4 exec records" "^8$" sh -c "'$CORDON' log --file '$LOG' --json --exec | wc -l"
expect_output "--session PREFIX: only that session" "^6 first$" \
	sh -c "'$CORDON' log --file '$LOG' --json --session ${sid1:0:8} | wc -l | tr -d '\n'; '$CORDON' log --file '$LOG' --session ${sid1:0:8} | grep -q second-session || echo ' first'"
expect_output "--since 1h: everything" "^12$" sh -c "'$CORDON' log --file '$LOG' --json --since 1h | wc -l"
expect_output "--since in the future: nothing" "^0$" sh -c "'$CORDON' log --file '$LOG' --json --since 2099-01-01 | wc -l"
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
	"$CORDON" log --file "$ELOG"
check "human view: no control byte in the output" sh -c "! '$CORDON' log --file '$ELOG' | tr -d '\n' | grep -q '[[:cntrl:]]'"

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
expect_output "synthetic net log verifies" "OK \\(9 records, 1 sessions\\)" "$CORDON" log verify --file "$NLOG"
expect_output "network summary: allowed host, rule, count" \
	"allowed.test +443  allowed  \\*\\.test +3  2026-01-01T00:00:03" "$CORDON" log --file "$NLOG"
expect_output "network summary: denied host, count" "evil.test +443  denied   - +2" "$CORDON" log --file "$NLOG"
expect_output "network summary: per port" "allowed.test +80  allowed" "$CORDON" log --file "$NLOG"
expect_output "violations in the timeline" "DENY  net evil.test:443: not in the allowlist" "$CORDON" log --file "$NLOG"
expect_output "--net: the table only" "^Network \\(3 destinations\\)" sh -c "'$CORDON' log --file '$NLOG' --net | head -2"
check "--net: no timeline" sh -c "! '$CORDON' log --file '$NLOG' --net | grep -q DENY"

# --follow prints records as they are written.
out=$T/follow.out
"$CORDON" log --file "$LOG" --follow > "$out" 2>&1 &
fpid=$!
track_pid "$fpid"
wait_for grep -q "second-session" "$out"
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/echo third-session >/dev/null') >/dev/null 2>&1
check "--follow: new session's exec shows up" wait_for grep -q "exec  pid [0-9]* *\\/bin\\/echo third-session" "$out"
check "--follow: and its end" wait_for grep -q "end   session.*status 0" "$out"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
check "--follow: ends on SIGTERM" sh -c "! kill -0 $fpid 2>/dev/null"

done_testing
