#!/bin/bash
# The disk ceiling (--disk, resources.disk): the sandbox's own file systems
# (/tmp, /run, /dev/shm) share one tmpfs of that size, and any one file
# written (in the workspace too) is bounded by RLIMIT_FSIZE. Each probe
# writes tens of MiB at most.
. "$(dirname "$0")/../lib.sh"
# get LOG KEY: layers.resources.KEY of the last session_start in LOG, as JSON.
get() {
	$PY -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x["type"] == "session_start"][-1]
print(json.dumps(r["layers"]["resources"][sys.argv[2]]))' "$@"
}

ws=$(new_ws)
run() { (cd "$ws" && "$CORDON" run "$@"); }

# Four 10 MiB files into DIR, then a word from the same shell.
fill='d=$1; n=0
for i in 1 2 3 4; do
	e=$(dd if=/dev/zero of="$d/f$i" bs=1M count=10 2>&1) || { echo "write $i failed: $(printf "%s" "$e" | grep -o "No space left on device" | head -1)"; break; }
	n=$i
done
echo "wrote $n"; echo "session goes on"'

expect_output "control: without --disk four 10 MiB files fit in /tmp" "^wrote 4$" \
	run -- sh -c "$fill" sh /tmp
expect_output "--disk 32m: the 4th 10 MiB file in /tmp fails with ENOSPC" \
	"^write 4 failed: No space left on device$" run --disk 32m -- sh -c "$fill" sh /tmp
check "... and the session goes on" sh -c "printf '%s' \"\$0\" | grep -qx 'session goes on'" "$OUT"
share='dd if=/dev/zero of=/tmp/a bs=1M count=20 2>/dev/null
e=$(dd if=/dev/zero of=/dev/shm/b bs=1M count=20 2>&1) && echo "shm: 20 MiB written" ||
	echo "shm: $(printf "%s" "$e" | grep -o "No space left on device" | head -1)"'
expect_output "control: without --disk 20 MiB in /tmp, then 20 MiB in /dev/shm" "^shm: 20 MiB written$" \
	run -- sh -c "$share"
expect_output "--disk 32m: /tmp and /dev/shm share the one ceiling (ENOSPC in /dev/shm)" \
	"^shm: No space left on device$" run --disk 32m -- sh -c "$share"
expect_output "df inside shows the ceiling on /tmp" "^tmpfs +32M " run --disk 32m -- df -h /tmp
modes='echo "$(stat -c %a /tmp) $(stat -c %a /dev/shm) $(stat -c %a /run):$(stat -c %u /run)=$(id -u)"'
run_capture run -- sh -c "$modes"
want=$(printf '%s\n' "$OUT" | grep '^1777 ')
expect_output "with --disk /tmp and /dev/shm stay sticky, /run the sandbox user's, as without ($want)" \
	"^1777 1777 755:([0-9]+)=\\1$" run --disk 32m -- sh -c "$modes"
check "... the same as without --disk" sh -c "printf '%s' \"\$0\" | grep -qxF '$want'" "$OUT"

# A file in the workspace: RLIMIT_FSIZE.
big='dd if=/dev/zero of=big bs=1M count=24'
run -- sh -c "$big" >/dev/null 2>&1
check "control: without --disk a 24 MiB file is written in the workspace" \
	test "$(stat -c %s "$ws/big")" -eq $((24 << 20))
rm -f "$ws/big"
expect_status "--disk 16m: a writer going past 16 MiB in the workspace is killed (SIGXFSZ, 153)" \
	153 run --disk 16m -- sh -c "exec $big"
check "... cordon says why, with a hint" sh -c "printf '%s' \"\$0\" | grep -q 'killed: file size limit 16M reached (SIGXFSZ' && printf '%s' \"\$0\" | grep -q '^Hint: raise the limit with --disk'" "$OUT"
check "... the host file stopped at 16 MiB" test "$(stat -c %s "$ws/big")" -eq $((16 << 20))
rm -f "$ws/big"
efbig='import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
f = open("big", "wb")
try:
    for i in range(24):
        f.write(bytes(1 << 20)); f.flush()
    print("wrote 24 MiB")
except OSError as e:
    print("write:", e.strerror)
print("writer goes on")'
expect_output "a writer that ignores SIGXFSZ gets EFBIG and goes on" \
	"^write: File too large$" run --disk 16m -- $PY -c "$efbig"
check "... writer goes on" sh -c "printf '%s' \"\$0\" | grep -qx 'writer goes on'" "$OUT"
rm -f "$ws/big"
expect_output "a shell whose child is killed by SIGXFSZ goes on (exit 153 of the child)" \
	"^child 153, shell goes on$" run --disk 16m -- sh -c "$big 2>/dev/null; echo \"child \$?, shell goes on\""
rm -f "$ws/big"
expect_fail "the sandbox cannot raise the file size limit" "ulimit|not permitted|Invalid" \
	run --disk 16m -- sh -c 'ulimit -f unlimited && echo raised'

# The same from a policy file.
cat > "$T/disk-policy.json" <<'JSON'
{"sandbox": {"resources": {"disk": "32m"}}}
JSON
expect_output "resources.disk \"32m\" in a policy: the 4th 10 MiB file in /tmp fails with ENOSPC" \
	"^write 4 failed: No space left on device$" run --policy "$T/disk-policy.json" -- sh -c "$fill" sh /tmp
expect_status "resources.disk: a workspace file past 32 MiB is killed (153)" 153 \
	run --policy "$T/disk-policy.json" -- sh -c 'exec dd if=/dev/zero of=big bs=1M count=40'
rm -f "$ws/big"
expect_output "--disk 24m on the command line overrides the policy's 32m: the 3rd file fails" \
	"^write 3 failed: No space" \
	run --policy "$T/disk-policy.json" --disk 24m -- sh -c "$fill" sh /tmp

# Bad values: exit 125 and a hint.
for v in lots 0 512k 10x; do
	expect_status "--disk $v is refused with 125" 125 "$CORDON" run --disk "$v" -- true
	check "... saying so, with a hint" sh -c "printf '%s' \"\$0\" | grep -q \"bad --disk value '$v'\" && printf '%s' \"\$0\" | grep -q '^Hint: give a size'" "$OUT"
done
printf '{"sandbox": {"resources": {"disk": "lots"}}}\n' > "$T/bad-disk.json"
expect_status "resources.disk \"lots\" is refused with 125" 125 run --policy "$T/bad-disk.json" -- true
check "... naming the key" sh -c "printf '%s' \"\$0\" | grep -q 'resources.disk' && printf '%s' \"\$0\" | grep -q 'expected a size'" "$OUT"
printf '{"sandbox": {"resources": {"disk": 0}}}\n' > "$T/bad-disk.json"
expect_status "resources.disk 0 is refused with 125" 125 run --policy "$T/bad-disk.json" -- true

# Inodes: the shared tmpfs holds one inode per 4 KiB of the ceiling (at
# least 1024), so empty files cannot eat kernel memory the size does not
# count. --disk 4m: 1024 inodes for /tmp, /run and /dev/shm together.
many='import os, sys
d, want = sys.argv[1], int(sys.argv[2])
n = 0
try:
    while n < want:
        open("%s/f%d" % (d, n), "w").close()
        n += 1
    print("created %d" % n)
except OSError as e:
    print("created %d: %s" % (n, e.strerror))'
expect_output "control: without --disk 2000 empty files are created in /tmp" "^created 2000$" \
	run -- $PY -c "$many" /tmp 2000
run_capture run --disk 4m -- $PY -c "$many" /tmp 2000
n_made=$(printf '%s\n' "$OUT" | sed -n 's/^created \([0-9]*\): No space left on device$/\1/p')
if [ "$RC" -eq 0 ] && [ -n "$n_made" ] && [ "$n_made" -gt 960 ] && [ "$n_made" -le 1024 ]; then
	ok "--disk 4m: empty files in /tmp fail with ENOSPC at the 1024-inode bound ($n_made made)"
else
	not_ok "--disk 4m: empty files in /tmp fail with ENOSPC at the 1024-inode bound"
	diag "exit $RC: $OUT"
fi
normal='import os
for i in range(200):
    open("/tmp/n%d" % i, "w").write("x" * 100)
os.makedirs("/dev/shm/a/b/c")
open("/tmp/one", "wb").write(bytes(2 << 20))
print("normal use ok", len(os.listdir("/tmp")))'
expect_output "--disk 4m: normal use (200 small files, a 2 MiB file, nested directories) works" \
	"^normal use ok 201$" run --disk 4m -- $PY -c "$normal"
expect_output "--disk 1g: 2000 empty files fit (262144 inodes)" "^created 2000$" \
	run --disk 1g -- $PY -c "$many" /tmp 2000

# The audit record: the ceilings in force.
LOG=$T/disk-audit/audit.jsonl
run --audit-log "$LOG" --disk 32m --pids 200 -- true >/dev/null 2>&1
expect_output "session_start layers.resources.disk is the ceiling in bytes" "^33554432$" \
	get "$LOG" disk
expect_output "... and pids beside it" "^200$" get "$LOG" pids
run --audit-log "$LOG" -- true >/dev/null 2>&1
expect_output "without --disk: layers.resources.disk is null" "^null$" \
	get "$LOG" disk

done_testing
