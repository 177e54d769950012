#!/bin/bash
# failClosed: when a record cannot be written (full disk), the session
# stops with a clear message and exit 122 (the command ran and was stopped;
# 125 when it never started); nothing runs unlogged.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "full log disk stops the session" "needs root to mount a small tmpfs"
	done_testing
	exit $?
fi
ws=$(new_ws)
full=$(mktemp -d "$T/full.XXXXXX")
suite_cleanup() { umount "$full" 2>/dev/null; }
if ! mount -t tmpfs -o size=64k,mode=0755 cordon-audit-test "$full"; then
	skip "full log disk stops the session" "cannot mount tmpfs"
	done_testing
	exit $?
fi
LOG=$full/audit.jsonl
cat > "$ws/many.sh" <<'SH'
for ((i = 0; i < 3000; i++)); do /bin/true; done
echo finished > finished.txt
SH
# Control: the same workload completes with room for the log.
(cd "$ws" && "$CORDON" run --audit-log "$T/roomy/audit.jsonl" -- /bin/bash many.sh) >/dev/null 2>&1
check "control: with room, the workload finishes" test -e "$ws/finished.txt"
rm -f "$ws/finished.txt"

run_capture sh -c "cd '$ws' && '$CORDON' run --audit-log '$LOG' -- /bin/bash many.sh"
check "full disk: exit status 122 (it ran, and was stopped), not 125" test "$RC" -eq 122
# The first record that does not fit is a call's exec_request or an earlier call's exec.
if printf '%s' "$OUT" | grep -Eq "the session was stopped because a record could not be written \(audit.failClosed\): audit log $LOG: cannot write the exec(_request)? record: No space left on device"; then
	ok "full disk: message names the log, the record and ENOSPC"
else
	not_ok "full disk: message names the log, the record and ENOSPC"
	printf '%s\n' "$OUT" | head -5 | sed 's/^/#   /'
fi
check "full disk: a Hint follows" sh -c "printf '%s' \"\$1\" | grep -q '^Hint: free space'" _ "$OUT"
check "full disk: the workload was stopped before the end" test ! -e "$ws/finished.txt"
expect_output "full disk: fewer exec records than execs attempted" "^yes$" \
	sh -c "[ \$(grep -c '\"type\":\"exec\"' '$LOG') -lt 3001 ] && echo yes"
# What was written is intact: no half record, the session is open.
expect_status "verify: chain intact, session open (exit 2)" 2 "$CORDON" log verify --file "$LOG"
expect_output "every line complete" "^0$" sh -c "tail -c1 '$LOG' | tr -d '\n' | wc -c"

# The start record itself cannot be written: it is written while the
# sandbox builds itself, and the command must still never run.
rm -f "$LOG" "$ws/finished.txt"
dd if=/dev/zero of="$full/filler" bs=4k 2>/dev/null
run_capture sh -c "cd '$ws' && '$CORDON' run --audit-log '$LOG' -- /bin/bash many.sh"
check "full before the start: exit status 125" test "$RC" -eq 125
expect_output "full before the start: the message says so" "cannot start the audit trail" \
	sh -c "printf '%s\n' \"\$1\" | grep -o 'cannot start the audit trail'" _ "$OUT"
check "full before the start: the command never ran" test ! -e "$ws/finished.txt"
rm -f "$full/filler"

# audit.failClosed false in the policy: the session goes on, with a warning.
rm -f "$LOG" "$ws/finished.txt"
echo '{"sandbox": {"audit": {"failClosed": false}}}' > "$T/open.json"
run_capture sh -c "cd '$ws' && '$CORDON' run --policy '$T/open.json' --audit-log '$LOG' -- /bin/bash many.sh"
check "failClosed false: the command's status (0)" test "$RC" -eq 0
check "failClosed false: the workload finished" test -e "$ws/finished.txt"
expect_output "failClosed false: warned once" "^1$" sh -c "printf '%s\n' \"\$1\" | grep -c 'No space left on device (audit.failClosed is off: the session goes on)'" _ "$OUT"
expect_output "failClosed false: the start record says so" '^false$' \
	$PY "$(dirname "$0")/alog.py" get "$LOG" session_start 0 fail_closed
umount "$full"

done_testing
