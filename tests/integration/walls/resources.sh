#!/bin/bash
# Resource ceilings: memory, pids, cpus. The mechanism depends on the host
# (cgroup v2, cgroup v1, rlimits); `cordon run -v` names it and the
# assertions follow it. Every hog caps itself well below the machine.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
run_capture sh -c "cd '$ws' && exec '$CORDON' run -v --memory 128m --pids 64 -- true"
mech=$(printf '%s\n' "$OUT" | sed -n 's/.*; limits: \([a-z0-9 ]*\).*/\1/p' | head -1)
if [ -z "$mech" ]; then
	not_ok "cordon run -v names the resource mechanism"
	diag "$OUT"
else
	ok "cordon run -v names the resource mechanism: $mech"
fi
expect_output "no limit by default" "limits: none" sh -c "cd '$ws' && exec '$CORDON' run -v -- true"

# Memory: a hog that touches 512 MiB, in 16 MiB steps, then says done.
hog='b = []
for i in range(32):
    b.append(bytearray(16 << 20))
print("done", len(b) * 16, "MiB")'
expect_output "control: the hog completes without a limit" "^done 512 MiB$" sb "$ws" $PY -c "$hog"
case $mech in
cgroup*)
	expect_status "memory hog under --memory 128m is killed (137)" 137 \
		sh -c "cd '$ws' && exec '$CORDON' run --memory 128m -- $PY -c '$hog'"
	if printf '%s' "$OUT" | grep -q "killed: memory limit 128M reached"; then
		ok "cordon reports it: killed: memory limit 128M reached"
	else
		not_ok "cordon reports it: killed: memory limit 128M reached"
		diag "$OUT"
	fi
	;;
*)
	# rlimits: RLIMIT_DATA fails the allocation instead of killing.
	expect_fail "memory hog under --memory 128m fails to allocate (rlimit)" "MemoryError" \
		sh -c "cd '$ws' && exec '$CORDON' run --memory 128m -- $PY -c '$hog'"
	skip "cordon reports the kill" "rlimits fail allocations, nothing is killed ($mech)"
	;;
esac

# pids: fork up to 200 children (each sleeps, then exits).
forker='import os, sys, time
n = 0
try:
    for i in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(2); os._exit(0)
        n += 1
except OSError as e:
    print("stopped after", n, "forks:", e.strerror)
    sys.exit(0)
print("forked", n)'
expect_output "control: 200 forks succeed without a limit" "^forked 200$" sb "$ws" $PY -c "$forker"
expect_output "--pids 64: fork fails with EAGAIN before 64" \
	"^stopped after ([0-9]|[1-5][0-9]|6[0-3]) forks: Resource temporarily unavailable$" \
	sh -c "cd '$ws' && exec '$CORDON' run --pids 64 -- $PY -c '$forker'"

# A real fork bomb, contained: it runs for 4 s beside a parent that needs
# no fork to finish, while the host keeps starting processes.
bomb='import subprocess, time
subprocess.Popen(["bash", "-c", "b() { b | b & }; b"], stderr=subprocess.DEVNULL)
time.sleep(4)
print("survived")'
(cd "$ws" && exec timeout -s KILL 60 "$CORDON" run --pids 64 -- $PY -c "$bomb" > "$T/bomb.out" 2>&1) &
bpid=$!
track_pid $bpid
sleep 1.5
check "host still starts processes during the bomb" sh -c 'echo alive | grep -q alive'
wait $bpid
brc=$?
check "fork bomb under --pids 64 is contained and the sandbox ends normally" \
	grep -qx survived "$T/bomb.out"
[ "$brc" -eq 0 ] || diag "bomb run exit $brc: $(head -5 "$T/bomb.out")"

# cpus: measured, not asserted on time.
spin='import time
t0 = time.time(); c0 = time.process_time()
while time.time() - t0 < 2:
    pass
print("cpu share %.2f" % ((time.process_time() - c0) / (time.time() - t0)))'
case $mech in
cgroup*)
	expect_output "--cpus 0.5 runs" "^cpu share " \
		sh -c "cd '$ws' && exec '$CORDON' run --cpus 0.5 -- $PY -c '$spin'"
	diag "--cpus 0.5 measured: $OUT"
	run_capture sb "$ws" $PY -c "$spin"
	diag "no limit measured: $OUT"
	;;
*)
	expect_fail "--cpus without a cgroup is refused (fail closed)" "no writable cgroup" \
		sh -c "cd '$ws' && exec '$CORDON' run --cpus 0.5 -- true"
	check "... with a hint" sh -c "printf '%s' \"\$0\" | grep -q Hint:" "$OUT"
	;;
esac

# The cgroup is removed after the run.
case $mech in
cgroup*)
	(cd "$ws" && exec "$CORDON" run --memory 256m --pids 100 -- true) &
	cpid=$!
	wait $cpid
	left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "cordon-$cpid" 2>/dev/null)
	check "the sandbox's cgroup is removed afterwards" test -z "$left"
	;;
*)
	skip "cgroup removed" "no cgroup ($mech)"
	;;
esac

# A cgroup left by a cordon killed before its clean-up is removed next time.
if [ "$mech" = "cgroup v1" ] && [ "$(id -u)" = 0 ]; then
	true &
	dead=$!
	wait $dead
	pcg=$(sed -n 's/^[0-9]*:pids:\(.*\)$/\1/p' /proc/self/cgroup)
	stale=/sys/fs/cgroup/pids${pcg%/}/cordon-$dead
	if mkdir "$stale" 2>/dev/null; then
		(cd "$ws" && "$CORDON" run --pids 100 -- true)
		check "a stale cordon cgroup (dead pid) is removed by the next run" test ! -d "$stale"
		rmdir "$stale" 2>/dev/null
	else
		skip "stale cgroup removed" "cannot create $stale"
	fi
else
	skip "stale cgroup removed" "cgroup v1 as root only ($mech)"
fi

expect_fail "bad --memory is refused" "bad --memory value" "$CORDON" run --memory lots -- true
expect_status "... with exit 125" 125 "$CORDON" run --memory lots -- true
expect_fail "bad --pids is refused" "bad --pids value" "$CORDON" run --pids 0 -- true
expect_fail "bad --cpus is refused" "bad --cpus value" "$CORDON" run --cpus -1 -- true

done_testing
