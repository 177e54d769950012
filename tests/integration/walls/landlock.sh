#!/bin/bash
# Landlock wall: with the mount wall turned off by a test-only switch (host
# root left writable), writes outside the allowed paths still fail; with
# Landlock off as well, the same writes land (the control).
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
run_capture sh -c "cd '$ws' && exec '$CORDON' run -v -- true"
abi=$(printf '%s\n' "$OUT" | sed -n 's/.*Landlock ABI \([0-9]*\).*/\1/p' | head -1)
if [ -z "$abi" ]; then
	skip "Landlock" "this kernel has no Landlock ($OUT)"
	done_testing
	exit
fi
ok "Landlock ABI $abi is in force (cordon run -v says so)"

out=$SHOWN/outside
mkdir -p "$out"
chmod 777 "$out"
echo keep > "$out/existing"
chmod 666 "$out/existing"

hooks() { (cd "$ws" && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_RO_ROOT=1 "$@"); }
nolandlock() { (cd "$ws" && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_RO_ROOT=1 CORDON_TEST_NO_LANDLOCK=1 "$@"); }

# First wall alone.
expect_fail "write outside the workspace: read-only mount (EROFS)" "Read-only file system" \
	sb "$ws" sh -c "echo x > '$out/f-default'"

# Mount wall off: Landlock alone.
expect_fail "mount wall off: create outside still fails (Landlock, EACCES)" "Permission denied" \
	hooks "$CORDON" run -- sh -c "echo x > '$out/f-ll'"
check "... and no file appeared on the host" test ! -e "$out/f-ll"
expect_fail "mount wall off: overwrite of a host file fails" "Permission denied" \
	hooks "$CORDON" run -- sh -c "echo x > '$out/existing'"
expect_fail "mount wall off: truncate of a host file fails" "Permission denied" \
	hooks "$CORDON" run -- truncate -s 0 "$out/existing"
expect_fail "mount wall off: rm of a host file fails" "Permission denied" \
	hooks "$CORDON" run -- rm -f "$out/existing"
expect_fail "mount wall off: mkdir outside fails" "Permission denied" \
	hooks "$CORDON" run -- mkdir "$out/d-ll"
check "host file intact after the attempts" grep -qx keep "$out/existing"
expect_output "mount wall off: workspace still writable" "^ok$" \
	hooks "$CORDON" run -- sh -c "echo ok > '$ws/w' && cat '$ws/w'"
expect_output "mount wall off: /tmp and /dev/null still writable" "^ok$" \
	hooks "$CORDON" run -- sh -c 'echo x > /tmp/t && echo x > /dev/null && echo ok'

# Control: both walls off, the same writes land.
expect_status "control: both walls off, create outside works" 0 \
	nolandlock "$CORDON" run -- sh -c "echo x > '$out/f-none'"
check "... and the file is on the host" test -e "$out/f-none"
expect_status "control: both walls off, truncate works" 0 \
	nolandlock "$CORDON" run -- truncate -s 0 "$out/existing"

# Policy paths: --rw grants Landlock write too.
extra=$T/extra-rw
mkdir -p "$extra"
chmod 777 "$extra"
expect_status "--rw path is writable under Landlock" 0 \
	sh -c "cd '$ws' && exec '$CORDON' run --rw '$extra' -- sh -c 'echo x > \"$extra/f\"'"

# TCP: listening works by default (a dev server inside), and is refused
# when local binding is turned off.
listen='import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); print("listening")'
expect_output "TCP listen on loopback works by default" "^listening$" sb "$ws" $PY -c "$listen"
if [ "$abi" -ge 4 ]; then
	expect_fail "--no-local-binding: TCP bind refused (Landlock)" "Permission denied" \
		sh -c "cd '$ws' && exec '$CORDON' run --no-local-binding -- $PY -c '$listen'"
else
	skip "--no-local-binding" "Landlock ABI $abi has no TCP rules"
fi

# Scoping (ABI 6): abstract unix sockets and signals inside the sandbox work.
expect_output "abstract unix socket between sandboxed processes works" "^abstract ok$" \
	sb "$ws" $PY -c '
import socket
s = socket.socket(socket.AF_UNIX); s.bind("\0cordon-walls"); s.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect("\0cordon-walls"); print("abstract ok")'
expect_output "signals between sandboxed processes work" "^signalled$" \
	sb "$ws" sh -c 'sleep 30 & kill $! && wait $!; echo signalled'

done_testing
