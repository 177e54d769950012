#!/bin/bash
# The audit log is out of the sandbox's reach: not readable, not writable,
# by its plain path, through /proc/self/root, or through a symlink planted
# in the workspace; even where the sandbox would otherwise see it.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
# HOME in a directory the sandbox can read: the default log lives there.
home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
adir=$home/.local/state/cordon/audit
LOG=$adir/audit.jsonl
run_h() { (cd "$ws" && HOME=$home "$CORDON" run -- "$@"); }

mkdir -p "$home/.local/state/cordon"
chmod 755 "$home/.local" "$home/.local/state" "$home/.local/state/cordon"
run_h /bin/true >/dev/null 2>&1
check "default log created" test -s "$LOG"
# cordon creates them 0700/0600; open them up so that only the mask can
# stop the sandbox (when root runs cordon, the sandbox's kernel uid differs).
chmod 755 "$adir" && chmod 666 "$LOG"
# Controls: without cordon the log is readable and the sandbox would see
# its parent directory (the host is visible read-only inside).
check "control: log readable without cordon" grep -q session_start "$LOG"
echo visible > "$home/.local/state/cordon/sibling.txt"
expect_output "control: the log's parent directory is visible inside" "^visible$" \
	run_h /bin/cat "$home/.local/state/cordon/sibling.txt"

expect_fail "read by plain path: refused" "No such file or directory" run_h /bin/cat "$LOG"
expect_output "the audit dir looks empty inside" "^empty$" \
	run_h /bin/sh -c "[ -z \"\$(ls -A '$adir')\" ] && echo empty"
expect_fail "read through /proc/self/root: refused" "No such file or directory" \
	run_h /bin/cat "/proc/self/root$LOG"
ln -s "$LOG" "$ws/planted-link"
expect_fail "read through a symlink planted in the workspace: refused" "No such file or directory" \
	run_h /bin/cat "$ws/planted-link"
ln -s "$adir" "$ws/planted-dir"
expect_fail "read through a symlinked directory: refused" "No such file or directory" \
	run_h /bin/cat "$ws/planted-dir/audit.jsonl"
expect_fail "append by plain path: refused" "Read-only file system|Permission denied" \
	run_h /bin/sh -c "echo FORGED >> '$LOG'"
expect_fail "append through /proc/self/root: refused" "Read-only file system|Permission denied" \
	run_h /bin/sh -c "echo FORGED >> '/proc/self/root$LOG'"
expect_fail "write through the planted symlink: refused" "Read-only file system|Permission denied" \
	run_h /bin/sh -c "echo FORGED > '$ws/planted-link'"
check "nothing forged reached the log" sh -c "! grep -q '^FORGED' '$LOG'"
expect_output "log still verifies" "OK" "$CORDON" log verify --file "$LOG"

# Even when the workspace holds the log (--audit-log inside it): the file
# itself is masked, so the workspace stays usable.
ILOG=$ws/logs/audit.jsonl
run_i() { (cd "$ws" && "$CORDON" run --audit-log "$ILOG" -- "$@"); }
run_i /bin/true >/dev/null 2>&1
chmod 755 "$ws/logs" && chmod 666 "$ILOG"
check "control: in-workspace log readable without cordon" grep -q session_start "$ILOG"
expect_fail "in-workspace log: read refused" "No such file or directory" run_i /bin/cat "$ILOG"
expect_fail "in-workspace log: append refused" "Read-only file system|Permission denied" \
	run_i /bin/sh -c "echo FORGED >> '$ILOG'"
expect_fail "in-workspace log: read via /proc/self/root refused" "No such file or directory" \
	run_i /bin/cat "/proc/self/root$ILOG"
ln -s "$ILOG" "$ws/planted-link2"
expect_fail "in-workspace log: read via planted symlink refused" "No such file or directory" \
	run_i /bin/cat "$ws/planted-link2"
expect_output "the rest of the workspace stays writable" "^ok$" \
	run_i /bin/sh -c "echo ok > '$ws/still-writable' && cat '$ws/still-writable'"

# A log file directly in the workspace root: masked as a file.
RLOG=$ws/root-audit.jsonl
run_r() { (cd "$ws" && "$CORDON" run --audit-log "$RLOG" -- "$@"); }
run_r /bin/true >/dev/null 2>&1
chmod 666 "$RLOG"
check "control: workspace-root log readable without cordon" grep -q session_start "$RLOG"
expect_output "workspace-root log: reads as empty inside" "^size=0$" \
	run_r /bin/sh -c "echo size=\$(wc -c < '$RLOG')"
expect_fail "workspace-root log: append refused" "Permission denied|Read-only file system" \
	run_r /bin/sh -c "echo FORGED >> '$RLOG'"
expect_fail "workspace-root log: cannot be removed" "busy" run_r /bin/rm -f "$RLOG"
expect_fail "workspace-root log: cannot be renamed away" "busy" run_r /bin/mv "$RLOG" "$ws/moved"
check "nothing forged reached the in-workspace logs" sh -c "! grep -q '^FORGED' '$ILOG' '$RLOG'"
expect_output "in-workspace log verifies" "OK" "$CORDON" log verify --file "$ILOG"
expect_output "workspace-root log verifies" "OK" "$CORDON" log verify --file "$RLOG"

done_testing
