#!/bin/bash
# `cordon log verify` finds an edited, a deleted and a truncated record.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
LOG=$T/verify/audit.jsonl
for i in 1 2; do
	(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c '/bin/true; /bin/true; /bin/echo secret-$0' "$i") >/dev/null 2>&1
done
# 2 sessions x (start + 4 x (exec_request + exec) + end) = 20 lines; session 2
# starts at line 11. Within a session, an exec record follows its request
# once the outcome is known, so the order of the middle lines may vary.
check "20 records from two sessions" test "$(wc -l < "$LOG")" -eq 20
expect_output "intact log: OK" "OK \\(20 records, 2 sessions\\)" "$CORDON" log verify --file "$LOG"
expect_output "second session's first record links to the first session's last" "^linked$" \
	$PY -c "
import hashlib, json
lines = open('$LOG', 'rb').read().split(b'\n')
print('linked' if json.loads(lines[10])['prev'] == hashlib.sha256(lines[9]).hexdigest() else 'no')"

cp "$LOG" "$T/edited.jsonl"
n=$(grep -n 'secret-1' "$LOG" | head -1 | cut -d: -f1)
sed -i "${n}s/secret-1/secret-X/" "$T/edited.jsonl"
check "control: the edit changed line $n" grep -q secret-X "$T/edited.jsonl"
expect_status "edited record: exit 1" 1 "$CORDON" log verify --file "$T/edited.jsonl"
expect_fail "edited record: first broken link named (line $((n + 1)), line $n changed)" \
	"BROKEN at line $((n + 1)): link broken: line $n was changed" "$CORDON" log verify --file "$T/edited.jsonl"

cp "$LOG" "$T/deleted.jsonl"
sed -i '3d' "$T/deleted.jsonl"
expect_fail "deleted record: broken link at line 3" "BROKEN at line 3" \
	"$CORDON" log verify --file "$T/deleted.jsonl"

cp "$LOG" "$T/deleted1.jsonl"
sed -i '1d' "$T/deleted1.jsonl"
expect_fail "deleted first record: broken at line 1" "BROKEN at line 1: the first record" \
	"$CORDON" log verify --file "$T/deleted1.jsonl"

cp "$LOG" "$T/cut.jsonl"
truncate -s -20 "$T/cut.jsonl"
expect_status "truncated mid-record: exit 1" 1 "$CORDON" log verify --file "$T/cut.jsonl"
expect_fail "truncated mid-record: reported" "TRUNCATED at line 20: the last line has no newline" \
	"$CORDON" log verify --file "$T/cut.jsonl"

cp "$LOG" "$T/cut2.jsonl"
sed -i '$d' "$T/cut2.jsonl"
expect_status "cut at a record boundary (end record gone): exit 2" 2 \
	"$CORDON" log verify --file "$T/cut2.jsonl"
sid=$($PY "$(dirname "$0")/alog.py" session "$LOG")
expect_fail "... and the open session is named" "no end record; first: $sid \\(started at line 11\\)" \
	"$CORDON" log verify --file "$T/cut2.jsonl"

cp "$LOG" "$T/swap.jsonl"
$PY - "$T/swap.jsonl" <<'PY'
import sys
p = sys.argv[1]
l = open(p, 'rb').read().split(b'\n')
l[2], l[3] = l[3], l[2]
open(p, 'wb').write(b'\n'.join(l))
PY
expect_fail "reordered records: broken link" "BROKEN at line 3" "$CORDON" log verify --file "$T/swap.jsonl"
# Concurrent sessions on one log: one chain, whoever wrote each line.
CLOG=$T/concurrent/audit.jsonl
pids=()
for i in 1 2 3; do
	(cd "$ws" && "$CORDON" run --audit-log "$CLOG" -- /bin/bash -c \
		'for ((i = 0; i < 100; i++)); do /bin/true; done') >/dev/null 2>&1 &
	pids+=($!)
	track_pid $!
done
for p in "${pids[@]}"; do wait "$p"; done
expect_output "3 concurrent sessions: interleaved" "^interleaved$" $PY -c "
import json
s = [json.loads(l)['session'] for l in open('$CLOG')]
print('interleaved' if sum(1 for a, b in zip(s, s[1:]) if a != b) > 2 else 'sequential')"
expect_output "3 concurrent sessions: chain OK, 3 x 204 records" "OK \\(612 records, 3 sessions\\)" \
	"$CORDON" log verify --file "$CLOG"

expect_status "missing log: exit 125" 125 "$CORDON" log verify --file "$T/none.jsonl"
expect_fail "missing log: says so" "open audit log .*No such file" "$CORDON" log verify --file "$T/none.jsonl"

done_testing
