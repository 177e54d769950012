#!/bin/bash
# Audit records written by `cordon run`: session start/end, one exec record
# per execve, hostile argv kept as valid one-line JSON, --no-exec-audit.
. "$(dirname "$0")/../lib.sh"
A="$PY $(dirname "$0")/alog.py"

ws=$(new_ws)
LOG=$T/records/audit.jsonl

# 50 programs from a script: 25 by absolute path, 25 through PATH (bash
# looks the name up with stat and calls execve once). Plus the command's
# own execve (given as an absolute path, so exactly one): 51 records.
cat > "$ws/fifty.sh" <<'SH'
for ((i = 0; i < 25; i++)); do /bin/true; done
for ((i = 0; i < 25; i++)); do ls / > /dev/null; done
exit 3
SH
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash fifty.sh) >/dev/null 2>&1
rc=$?
check "command's exit status comes through (3)" test "$rc" -eq 3
check "log created 0600" test "$(stat -c %a "$LOG")" = 600
check "log dir created 0700" test "$(stat -c %a "$(dirname "$LOG")")" = 700
expect_output "exactly 51 exec records (50 programs + the command)" "^51$" $A count "$LOG" exec
expect_output "25 exec records for /bin/true" "^25$" \
	sh -c "grep '\"type\":\"exec\"' '$LOG' | grep -c '\"path\":\"/bin/true\"'"
expect_output "25 exec records for ls via PATH" "^25$" \
	sh -c "grep '\"type\":\"exec\"' '$LOG' | grep -c '\"argv\":\\[\"ls\",\"/\"\\]'"
expect_output "... and as many requests" "^51$" $A count "$LOG" exec_request
expect_output "first exec is the command itself" '^\["/bin/bash", "fifty.sh"\]$' \
	$A get "$LOG" exec 0 argv
expect_output "the command's own exec is read from the process" '^"/bin/bash"$' \
	$A get "$LOG" exec 0 path
expect_output "every exec is read from the process (none from the command line)" '^0$' \
	sh -c "grep -c argv_from '$LOG' || true"
expect_output "exec record has the pid" '^[0-9]+$' $A get "$LOG" exec 0 pid
expect_output "exec record names the syscall" '^"execve"$' $A get "$LOG" exec 0 syscall
expect_output "session start: argv" '^\["/bin/bash", "fifty.sh"\]$' $A get "$LOG" session_start 0 argv
expect_output "session start: cwd is the workspace" "^\"$ws\"\$" $A get "$LOG" session_start 0 cwd
expect_output "session start: user" "^\"$(id -un)\"\$" $A get "$LOG" session_start 0 user
expect_output "session start: uid" "^$(id -u)\$" $A get "$LOG" session_start 0 uid
expect_output "session start: policy digest" '^"sha256:[0-9a-f]{64}"$' $A get "$LOG" session_start 0 policy_digest
expect_output "session start: namespaces" '"user", "mnt", "pid", "net"' $A get "$LOG" session_start 0 layers.namespaces
expect_output "session start: seccomp on" '^true$' $A get "$LOG" session_start 0 layers.seccomp
expect_output "session start: exec audit on" '^true$' $A get "$LOG" session_start 0 layers.exec_audit
# The walls the record names are the ones in force: the kernel's Landlock ABI
# (as `cordon check` reports it), the limits' mechanism, seccomp.
abi=$("$CORDON" check 2>/dev/null | sed -n 's/^Landlock available.*ABI \([0-9]*\).*/\1/p')
expect_output "session start: landlock abi is the one applied ($abi)" "^${abi:-x}\$" \
	$A get "$LOG" session_start 0 layers.landlock_abi
expect_output "session start: limits none when none asked" '^"none"$' $A get "$LOG" session_start 0 layers.limits
LOG2=$T/records/walls.jsonl
(cd "$ws" && "$CORDON" run -q --audit-log "$LOG2" --pids 256 -- true) >/dev/null 2>&1
expect_output "session start: limits name the mechanism with --pids" '^"(cgroup v2|cgroup v1|rlimits)"$' \
	$A get "$LOG2" session_start 0 layers.limits
# (the helper reads the last session of the log)
(cd "$ws" && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_LANDLOCK=1 CORDON_TEST_NO_SECCOMP=1 \
	"$CORDON" run -q --audit-log "$LOG2" -- true) >/dev/null 2>&1
expect_output "session start: landlock 0 when it is switched off (test switch)" '^0$' \
	$A get "$LOG2" session_start 0 layers.landlock_abi
expect_output "session start: seccomp false when it is switched off (test switch)" '^false$' \
	$A get "$LOG2" session_start 0 layers.seccomp
expect_output "session end: status 3" '^3$' $A get "$LOG" session_end 0 status
expect_output "session end: reason exit" '^"exit"$' $A get "$LOG" session_end 0 reason
expect_output "session end: counters.exec 51" '^51$' $A get "$LOG" session_end 0 counters.exec
expect_output "session end: duration" '^[0-9]+$' $A get "$LOG" session_end 0 duration_ms
expect_output "verify: OK (start, 51 x (exec_request, exec), end)" "OK \\(104 records, 1 session\\)" "$CORDON" log verify --file "$LOG"

# Hostile argv: newline, quotes, invalid UTF-8, a 100 kB argument.
big=$(head -c 100000 /dev/zero | tr '\0' A)
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /bin/bash -c \
	'/bin/echo "$1" "$2" "$3" > /dev/null; /bin/true "$4"' x \
	$'line1\n{"v":1,"type":"exec"}' $'\xff\xfe\xc0\xaf' 'q"\' "$big") >/dev/null 2>&1
check "every line is one JSON object of printable ASCII" $A ascii "$LOG"
expect_output "newline and quotes kept, escaped" '^"line1\\n\{\\"v\\": 1' \
	$PY -c "import json,sys; r=[json.loads(l) for l in open('$LOG')]; e=[x for x in r if x['type']=='exec' and x['argv'][0]=='/bin/echo'][-1]; print(json.dumps(e['argv'][1]).replace('\\\\\"v\\\\\":1','\\\\\"v\\\\\": 1'))"
expect_output "invalid UTF-8 bytes become U+FFFD" '^"\\ufffd\\ufffd\\ufffd\\ufffd"$' \
	$A get "$LOG" exec 1 argv.2
expect_output "huge argument cut at 4096 bytes" '^4096$' \
	$PY -c "import json; r=[json.loads(l) for l in open('$LOG')]; print(len([x for x in r if x['type']=='exec' and x['argv'][0]=='/bin/true'][-1]['argv'][1]))"
expect_output "... and the record says truncated" '^true$' $A get "$LOG" exec 2 truncated
expect_output "verify still OK" "OK" "$CORDON" log verify --file "$LOG"

# execveat (fexecve): recorded with its syscall name, fd and flags.
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /usr/bin/python3 -c \
	'import os; fd = os.open("/bin/true", os.O_RDONLY); os.execve(fd, ["true", "via-fd"], {})') >/dev/null 2>&1
expect_output "execveat recorded" '^"execveat"$' $A get "$LOG" exec 1 syscall
expect_output "execveat argv" '^\["true", "via-fd"\]$' $A get "$LOG" exec 1 argv
expect_output "execveat flags (AT_EMPTY_PATH)" '^4096$' $A get "$LOG" exec 1 flags

# --no-exec-audit: no exec records, and the start record says so.
(cd "$ws" && "$CORDON" run --no-exec-audit --audit-log "$LOG" -- /bin/bash fifty.sh) >/dev/null 2>&1
expect_output "--no-exec-audit: zero exec records" "^0$" $A count "$LOG" exec
expect_output "--no-exec-audit: layers.exec_audit false" '^false$' $A get "$LOG" session_start 0 layers.exec_audit
expect_output "--no-exec-audit: still a session end" '^3$' $A get "$LOG" session_end 0 status

# Not found / setup errors still close the session.
(cd "$ws" && "$CORDON" run --audit-log "$LOG" -- /nonexistent/cmd) >/dev/null 2>&1
expect_output "command not found: session end status 127" '^127$' $A get "$LOG" session_end 0 status
expect_output "command not found: reason not-started" '^"not-started"$' $A get "$LOG" session_end 0 reason

# A log that cannot be opened: nothing runs.
mkdir -p "$T/ro" && chmod 500 "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
	expect_fail "unwritable log dir: refused before anything runs" "open audit log .*Permission denied" \
		sh -c "cd '$ws' && '$CORDON' run --audit-log '$T/ro/a.jsonl' -- /bin/touch '$ws/ran'"
	check "... and the command did not run" test ! -e "$ws/ran"
else
	ln -s /dev/null "$T/ro/link.jsonl"
	expect_fail "symlinked log: refused before anything runs" "open audit log .*symbolic links" \
		sh -c "cd '$ws' && '$CORDON' run --audit-log '$T/ro/link.jsonl' -- /bin/touch '$ws/ran'"
	check "... and the command did not run" test ! -e "$ws/ran"
fi
expect_status "... exit status 125" 125 sh -c "cd '$ws' && '$CORDON' run --audit-log /proc/version -- /bin/true"

# Default location: $XDG_STATE_HOME, then ~/.local/state.
home=$(mktemp -d "$T/home.XXXXXX")
(cd "$ws" && HOME=$home "$CORDON" run -- /bin/true) >/dev/null 2>&1
check "default log under ~/.local/state/cordon/audit" test -s "$home/.local/state/cordon/audit/audit.jsonl"
(cd "$ws" && HOME=$home XDG_STATE_HOME=$home/xdg "$CORDON" run -- /bin/true) >/dev/null 2>&1
check "XDG_STATE_HOME respected" test -s "$home/xdg/cordon/audit/audit.jsonl"
# audit.path from a policy file.
echo "{\"sandbox\": {\"audit\": {\"path\": \"$T/policy-log/audit.jsonl\"}}}" > "$T/audit-policy.json"
(cd "$ws" && HOME=$home "$CORDON" run --policy "$T/audit-policy.json" -- /bin/true) >/dev/null 2>&1
check "audit.path from the policy is used" grep -q '"argv":\["/bin/true"\]' "$T/policy-log/audit.jsonl"
expect_output "cordon log finds the default log" "exec  pid [0-9]+ +/bin/true" env HOME="$home" "$CORDON" log --all

done_testing
