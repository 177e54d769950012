#!/bin/bash
# Process wall: namespaces, identity, capabilities, pid 1, signals, fds.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)

expect_output "uid inside is not 0" "^[1-9][0-9]*$" sb "$ws" id -u
expect_output "gid inside is not 0" "^[1-9][0-9]*$" sb "$ws" id -g
for f in CapEff CapPrm CapInh CapBnd CapAmb; do
	expect_output "$f is empty" "^$f:[[:space:]]+0000000000000000$" \
		sb "$ws" grep "^$f:" /proc/self/status
done
expect_output "no_new_privs is set" "^NoNewPrivs:[[:space:]]+1$" sb "$ws" grep NoNewPrivs /proc/self/status
expect_output "seccomp filter is active" "^Seccomp:[[:space:]]+2$" sb "$ws" grep "^Seccomp:" /proc/self/status
expect_output "hostname is cordon" "^cordon$" sb "$ws" hostname

# Namespaces: every one differs from the host's.
for ns in user mnt pid net ipc uts cgroup; do
	host=$(readlink /proc/self/ns/$ns)
	expect_output "own $ns namespace" "^$ns:\[[0-9]+\]$" sb "$ws" readlink /proc/self/ns/$ns
	if [ "$OUT" = "$host" ]; then not_ok "$ns namespace differs from host ($OUT)"; else ok "$ns namespace differs from host"; fi
done

# pid namespace: a host process is invisible and cannot be signalled.
sleep 300 &
hostpid=$!
track_pid $hostpid
expect_output "/proc lists only sandbox pids" "^[1-4]$" \
	sb "$ws" sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"'
expect_fail "host pid $hostpid invisible in /proc" "No such file" sb "$ws" cat /proc/$hostpid/status
expect_fail "host pid cannot be signalled" "No such process|can't kill" sb "$ws" kill -9 $hostpid
check "host process still alive after the attempt" kill -0 $hostpid
expect_output "the command is pid 2, child of the sandbox init (pid 1)" "^2 1$" \
	sb "$ws" $PY -c 'import os; print(os.getpid(), os.getppid())'

# pid 1's memory is a copy of the supervisor's at clone time: the command
# (same uid) must not read it. Control: its own /proc entries are readable.
expect_output "control: the command reads its own /proc/self/environ" "CORDON_SANDBOX=1" \
	sb "$ws" sh -c 'tr "\0" "\n" < /proc/self/environ'
expect_fail "pid 1's memory is unreadable from inside" "Permission denied" \
	sb "$ws" sh -c 'head -c 16 /proc/1/mem'
expect_fail "pid 1's environment is unreadable from inside" "Permission denied" \
	sb "$ws" sh -c 'cat /proc/1/environ'

# Network namespace: loopback only, and it works.
expect_output "only the lo interface exists" "^lo$" sb "$ws" ls /sys/class/net
expect_output "loopback is up and usable inside" "^pong$" sb "$ws" $PY -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.sendall(b"pong"); print(a.recv(4).decode())'
# Everything else is captured and judged by the proxy: an address the
# policy does not allow is reset (net/capture.sh covers the capture).
expect_fail "nothing else is reached directly (TEST-NET-1 address: captured, reset)" "reset" \
	sb "$ws" $PY -c 'import socket; socket.create_connection(("192.0.2.1", 9), timeout=5).recv(1)'

# TMPDIR: the host's value is read-only or absent inside; the private /tmp
# replaces it, unless it lies in the workspace.
expect_output "a host TMPDIR outside the workspace becomes /tmp" "^/tmp$" \
	env TMPDIR=/var/tmp sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo \$TMPDIR'"
expect_output "a TMPDIR inside the workspace is kept" "^$ws/tmpdir$" \
	env TMPDIR="$ws/tmpdir" sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo \$TMPDIR'"
expect_output "mktemp works inside with the host's TMPDIR set" "^/tmp/" \
	env TMPDIR=/var/tmp sh -c "cd '$ws' && '$CORDON' run -- mktemp"

# Exit status.
expect_status "exit status is the command's" 7 sb "$ws" sh -c 'exit 7'
expect_status "death by signal N is 128+N" 143 sb "$ws" sh -c 'kill -TERM $$'
expect_status "command not found is 127" 127 sb "$ws" no-such-command-cordon
expect_fail "not found says so" "No such file or directory" sb "$ws" no-such-command-cordon
printf 'plain text\n' > "$ws/notexec"
chmod 644 "$ws/notexec"
expect_status "non-executable is 126" 126 sb "$ws" "$ws/notexec"
expect_status "no command is a usage error, 125" 125 "$CORDON" run
expect_status "unknown option is 125" 125 "$CORDON" run --no-such-option -- true

# SIGTERM to cordon reaches the command.
# The command says when its trap is set: a loaded machine may take longer
# than any fixed pause to start the sandbox.
rm -f "$ws/got-term" "$ws/ready-term"
(cd "$ws" && exec "$CORDON" run -- sh -c 'trap "echo term > got-term; exit 3" TERM; : > ready-term; while :; do sleep 0.1; done') &
cpid=$!
track_pid $cpid
wait_for test -e "$ws/ready-term"
kill -TERM $cpid
wait $cpid
rc=$?
check "SIGTERM reached the command (trap ran)" wait_for test -s "$ws/got-term"
check "cordon exits with the command's status after SIGTERM (3)" test "$rc" -eq 3

# SIGINT and SIGHUP as well.
for sig in INT HUP; do
	rm -f "$ws/got-$sig" "$ws/ready-$sig"
	(cd "$ws" && exec "$CORDON" run -- sh -c "trap 'echo x > got-$sig; exit 4' $sig; : > ready-$sig; while :; do sleep 0.1; done") &
	cpid=$!
	track_pid $cpid
	wait_for test -e "$ws/ready-$sig"
	kill -$sig $cpid
	wait $cpid
	rc=$?
	check "SIG$sig forwarded to the command" test -s "$ws/got-$sig" -a "$rc" -eq 4
done

# kill -9 of cordon: nothing in the sandbox survives.
(cd "$ws" && exec "$CORDON" run -- sh -c 'sleep 300 & sleep 300 & wait') &
cpid=$!
track_pid $cpid
descendants() {
	local p c
	for p in "$@"; do
		for c in $(cat /proc/$p/task/*/children 2>/dev/null); do
			echo "$c"
			descendants "$c"
		done
	done
}
wait_for sh -c "[ \$(cat /proc/$cpid/task/*/children 2>/dev/null | wc -w) -ge 1 ]"
sleep 0.5
kids=$(descendants $cpid)
n=$(echo $kids | wc -w)
check "sandbox processes exist before the kill ($n)" test "$n" -ge 3
kill -9 $cpid
wait $cpid 2>/dev/null
alive() { local p; for p in $kids; do [ -d /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null && return 0; done; return 1; }
check "after kill -9 of cordon no sandbox process survives" wait_for sh -c "! ( $(declare -f alive); kids='$kids'; alive )"

# A leaked fd from the caller is not visible inside.
exec 7>"$T/leaked-fd"
expect_output "caller's fd 7 is closed inside" "^closed$" \
	sb "$ws" sh -c 'if [ -e /proc/self/fd/7 ]; then echo open; else echo closed; fi'
expect_output "only fds 0-2 are open at exec" "^0 1 2 $" \
	sb "$ws" $PY -c '
import os
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
print(" ".join(str(fd) for fd in range(1024) if is_open(fd)) + " ")'
exec 7>&-

# TIOCSTI: pushing input into the terminal. The probe makes a fresh pty its
# controlling terminal, so only the seccomp wall stands in the way.
cat > "$ws/tiocsti.py" <<'PY'
import fcntl, os, pty, sys, termios
high = len(sys.argv) > 1
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    req = termios.TIOCSTI | (1 << 32) if high else termios.TIOCSTI
    try:
        fcntl.ioctl(slave, req, b"x")
        print("TIOCSTI succeeded", flush=True)
        os._exit(0)
    except OSError as e:
        print("TIOCSTI failed:", e.strerror, flush=True)
        os._exit(1)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY
if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ]; then
	expect_output "control: TIOCSTI works outside the sandbox" "succeeded" $PY "$ws/tiocsti.py"
else
	skip "control: TIOCSTI outside" "dev.tty.legacy_tiocsti=0 here"
fi
expect_fail "TIOCSTI refused inside (EPERM)" "TIOCSTI failed: Operation not permitted" sb "$ws" $PY "$ws/tiocsti.py"
expect_fail "TIOCSTI with high bits set in the request is refused too" \
	"TIOCSTI failed: Operation not permitted" sb "$ws" $PY "$ws/tiocsti.py" high
expect_output "the command has no controlling terminal (new session)" "^0$" \
	sb "$ws" sh -c 'awk "{print \$7}" /proc/self/stat'

done_testing
