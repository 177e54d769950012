#!/bin/bash
# Unix-socket wall: a planted listening socket outside the workspace (a
# stand-in for docker.sock, in a host directory the sandbox sees read-only)
# cannot be connected to through its path, a symlink or /proc/self/root;
# it can when listed with --allow-unix-socket; sockets the sandbox makes
# itself work. Controls: outside cordon, and with the connect policy off.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
host=$SHOWN/host-sockets
mkdir -p "$host"
chmod 755 "$host"
sock=$host/docker.sock

# The planted server: answers "hello-from-host" to every connection and
# writes a line to its log per connection (checked from outside).
$PY - "$sock" "$host/server.log" <<'PYEOF' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o777)
s.listen(16)
s.settimeout(120)
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    with open(log, "a") as f:
        f.write("conn\n")
    c.sendall(b"hello-from-host\n")
    c.close()
PYEOF
track_pid $!
wait_for test -S "$sock" || { not_ok "planted server started"; done_testing; exit; }

client='import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); sys.exit(1)
print(s.recv(64).decode().strip())'

conns() { [ -f "$host/server.log" ] && wc -l < "$host/server.log" || echo 0; }

expect_output "control: outside cordon the socket answers" "^hello-from-host$" $PY -c "$client" "$sock"
before=$(conns)
expect_fail "connect by path refused" "connect: Permission denied" sb "$ws" $PY -c "$client" "$sock"
ln -s "$sock" "$ws/link.sock"
expect_fail "connect through a symlink in the workspace refused" "connect: Permission denied" \
	sb "$ws" $PY -c "$client" "$ws/link.sock"
expect_fail "connect through a relative symlink path refused" "connect: Permission denied" \
	sb "$ws" $PY -c "$client" link.sock
expect_fail "connect through /proc/self/root refused" "connect: Permission denied" \
	sb "$ws" $PY -c "$client" "/proc/self/root$sock"
expect_fail "connect through /dev/fd of an O_PATH fd refused" "connect: Permission denied" \
	sb "$ws" $PY -c '
import os, socket, sys
fd = os.open(sys.argv[1], os.O_PATH)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("/dev/fd/%d" % fd)
except OSError as e:
    print("connect:", e.strerror); sys.exit(1)
print(s.recv(64).decode().strip())' "$sock"
check "the planted server saw none of these connections" test "$(conns)" = "$before"
expect_fail "refusal with an audit log" "connect: Permission denied" \
	sh -c "cd '$ws' && exec '$CORDON' run --audit-log '$T/audit.jsonl' -- $PY -c '$client' '$sock'"
check "the refusal is an audit violation record (kind socket, the path)" \
	grep -q "\"type\":\"violation\".*\"kind\":\"socket\",\"what\":\"$sock\"" "$T/audit.jsonl"

# The wall, turned off by a test switch: a read-only mount alone does not
# stop connect().
expect_output "control: connect policy off (test switch), the read-only socket answers" \
	"^hello-from-host$" \
	sh -c "cd '$ws' && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_CONNECT_POLICY=1 exec '$CORDON' run -- $PY -c '$client' '$sock'"

# Allowed by policy.
expect_output "--allow-unix-socket PATH: connect works" "^hello-from-host$" \
	sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$sock' -- $PY -c '$client' '$sock'"
expect_output "--allow-unix-socket PATH: a symlink to it works too" "^hello-from-host$" \
	sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$sock' -- $PY -c '$client' link.sock"
expect_output "--allow-unix-socket GLOB: connect works" "^hello-from-host$" \
	sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$host/*.sock' -- $PY -c '$client' '$sock'"
expect_fail "--allow-unix-socket for another socket does not open this one" "connect: Permission denied" \
	sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$host/other.sock' -- $PY -c '$client' '$sock'"
expect_fail "--allow-unix-socket needs an absolute path" "bad --allow-unix-socket" \
	"$CORDON" run --allow-unix-socket relative.sock -- true
expect_status "... and that is a usage error (125)" 125 \
	"$CORDON" run --allow-unix-socket relative.sock -- true

# The supervisor makes the call, but with the caller's permissions: a
# root-only (0600) socket stays closed to the sandbox even when allowed.
if [ "$(id -u)" = 0 ]; then
	rsock=$host/root-only.sock
	$PY - "$rsock" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600); s.listen(4)
s.settimeout(60)
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    c.sendall(b"hello-root\n"); c.close()
PYEOF
	track_pid $!
	wait_for test -S "$rsock"
	expect_output "control: root reaches the 0600 socket outside" "^hello-root$" $PY -c "$client" "$rsock"
	expect_fail "allowed 0600 root socket: refused by its permissions (EACCES)" "connect: Permission denied" \
		sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$rsock' -- $PY -c '$client' '$rsock'"
else
	skip "root-only socket stays closed" "needs root to plant a root-owned socket"
fi

# The sandbox's own sockets work: server and client inside.
own='import os, socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX); s.bind(p); s.listen(1)
    c = socket.socket(socket.AF_UNIX); c.connect(p)
    a, _ = s.accept(); c.sendall(b"y"); print(p, a.recv(1).decode())'
expect_output "own socket in /tmp works" "^/tmp/own.sock y$" sb "$ws" $PY -c "$own" /tmp/own.sock
expect_output "own socket in /run works" "^/run/own.sock y$" sb "$ws" $PY -c "$own" /run/own.sock
expect_output "own socket in the workspace works" "own.sock y$" sb "$ws" $PY -c "$own" "$ws/own.sock"
expect_output "relative path to own socket works" "^rel.sock y$" sb "$ws" $PY -c "$own" rel.sock
expect_output "connect to a missing socket says so" "No such file or directory" \
	sb "$ws" sh -c "$PY -c '$client' /tmp/missing.sock; true"
expect_output "TCP connect on loopback inside still works" "^tcp ok$" sb "$ws" $PY -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
socket.create_connection(s.getsockname()); print("tcp ok")'

done_testing
