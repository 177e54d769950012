#!/bin/bash
# Unix-socket wall: a planted listening socket outside the workspace (a
# stand-in for docker.sock, in a host directory the sandbox sees read-only)
# cannot be connected to through its path, a symlink or /proc/self/root;
# it can when listed with --allow-unix-socket; sockets the sandbox makes
# itself work. A planted datagram socket (a stand-in for a syslog or
# journal socket) receives nothing from sendto, sendmsg or sendmmsg inside,
# nor from a thread racing the destination and the fd, unless allowed.
# Controls: outside cordon, and with the connect policy off.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
host=$SHOWN/host-sockets
mkdir -p "$host"
chmod 755 "$host"
sock=$host/docker.sock

# The planted server: answers "hello-from-host" to every connection and
# writes a line to its log per connection (checked from outside).
# serve PATH LOG: started in the background, tracked by pid.
serve() {
	$PY - "$1" "$2" <<'PYEOF' &
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
	disown $! # ended by pid in the trap; no job notice at exit
}
serve "$sock" "$host/server.log"
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

# A host program's socket inside the workspace (overmind's ./.overmind.sock,
# `nvim --listen`, `tmux -S`, git's fsmonitor daemon): the workspace is the
# host's, so a socket bound there by a host process is a host socket.
wsock=$ws/.overmind.sock
serve "$wsock" "$host/ws-server.log"
if wait_for test -S "$wsock"; then
	expect_output "control: outside cordon the workspace socket answers" "^hello-from-host$" \
		$PY -c "$client" "$wsock"
	wbefore=$(wc -l < "$host/ws-server.log")
	expect_fail "a host program's socket in the workspace: connect refused" "connect: Permission denied" \
		sb "$ws" $PY -c "$client" .overmind.sock
	check "the host program saw no connection from inside" \
		test "$(wc -l < "$host/ws-server.log")" = "$wbefore"
	expect_output "... and allowed by --allow-unix-socket, it answers" "^hello-from-host$" \
		sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$wsock' -- $PY -c '$client' .overmind.sock"
else
	not_ok "a host program's socket in the workspace: server started"
fi
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
	disown $! # ended by pid in the trap; no job notice at exit
	wait_for test -S "$rsock"
	expect_output "control: root reaches the 0600 socket outside" "^hello-root$" $PY -c "$client" "$rsock"
	if [ "$(root_identity "$ws")" = idmap ]; then
		expect_fail "allowed 0600 root socket: refused by its permissions (EACCES)" "connect: Permission denied" \
			sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$rsock' -- $PY -c '$client' '$rsock'"
	else
		# root-uid (no idmapped mounts): the caller is uid 0, the socket's
		# owner, so the scan of shown places masks root-only sockets (an
		# empty file): closed even when allowed.
		expect_fail "root-uid: an allowed 0600 root socket stays closed (masked)" "connect: Connection refused" \
			sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$rsock' -- $PY -c '$client' '$rsock'"
	fi
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

# ---- Datagrams: no connect() needed, the same rules for every destination.
# The planted receiver logs each datagram, one line each (read from outside).
# To show that nothing arrived without waiting on a clock, a marker is sent
# from outside afterwards: a datagram socket's queue is in order, so once
# the marker is in the log, everything sent before it is too.
dsock=$host/journal.sock
dlog=$host/journal.log
$PY - "$dsock" "$dlog" <<'PYEOF' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
s.settimeout(300)
with open(log, "a") as f:
    while True:
        try:
            d = s.recv(4096)
        except OSError:
            break
        f.write(d.decode(errors="replace") + "\n")
        f.flush()
PYEOF
track_pid $!
disown $! # ended by pid in the trap; no job notice at exit
wait_for test -S "$dsock" || { not_ok "planted datagram receiver started"; done_testing; exit; }

marker=0
# flush_log: send a marker from outside and wait until it is logged.
flush_log() {
	marker=$((marker + 1))
	$PY -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(sys.argv[2].encode(), sys.argv[1])' \
		"$dsock" "marker-$marker"
	wait_for grep -qx "marker-$marker" "$dlog"
}
got() { grep -c -- "$1" "$dlog" 2>/dev/null || true; }

dsend='import socket, sys, ctypes
how, path, word = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    if how == "sendto":
        s.sendto(word.encode(), path)
    elif how == "sendmsg":
        s.sendmsg([word.encode()], [], 0, path)
    elif how == "connect":
        s.connect(path)
        s.send(word.encode())
    elif how == "sendmmsg":
        class iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_char_p), ("len", ctypes.c_size_t)]
        class msghdr(ctypes.Structure):
            _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint),
                        ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                        ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                        ("flags", ctypes.c_int)]
        class mmsghdr(ctypes.Structure):
            _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
        libc = ctypes.CDLL(None, use_errno=True)
        addr = ctypes.create_string_buffer(b"\x01\x00" + path.encode() + b"\0")
        iov = iovec(word.encode(), len(word))
        v = (mmsghdr * 2)()
        for m in v:
            m.hdr.name = ctypes.cast(addr, ctypes.c_void_p)
            m.hdr.namelen = len(addr.raw)
            m.hdr.iov = ctypes.pointer(iov)
            m.hdr.iovlen = 1
        if libc.sendmmsg(s.fileno(), v, 2, 0) < 0:
            e = ctypes.get_errno()
            raise OSError(e, __import__("os").strerror(e))
except OSError as e:
    print(how + ":", e.strerror); sys.exit(1)
print(how, "sent")'

expect_output "control: outside cordon the datagram socket receives a sendto" "^sendto sent$" \
	$PY -c "$dsend" sendto "$dsock" outside-sendto
check "... and the receiver logged it" wait_for grep -qx outside-sendto "$dlog"
expect_output "control: outside cordon, sendmmsg reaches it" "^sendmmsg sent$" \
	$PY -c "$dsend" sendmmsg "$dsock" outside-mmsg
check "... and the receiver logged both datagrams" wait_for test "$(got outside-mmsg)" = 2
expect_fail "sendto a host datagram socket refused" "sendto: Permission denied" \
	sb "$ws" $PY -c "$dsend" sendto "$dsock" inside-sendto
expect_fail "sendmsg to a host datagram socket refused" "sendmsg: Permission denied" \
	sb "$ws" $PY -c "$dsend" sendmsg "$dsock" inside-sendmsg
expect_fail "sendmmsg to a host datagram socket refused" "sendmmsg: Permission denied" \
	sb "$ws" $PY -c "$dsend" sendmmsg "$dsock" inside-sendmmsg
expect_fail "connect() of a datagram socket to it refused too" "connect: Permission denied" \
	sb "$ws" $PY -c "$dsend" connect "$dsock" inside-connect
expect_fail "sendto through a symlink in the workspace refused" "sendto: Permission denied" \
	sb "$ws" sh -c "ln -sf '$dsock' dlink.sock && exec $PY -c '$dsend' sendto dlink.sock inside-symlink"
check "marker from outside arrives after them" flush_log
check "the host datagram socket received none of them" test "$(got inside-)" = 0
expect_fail "a refused send with an audit log" "sendto: Permission denied" \
	sh -c "cd '$ws' && exec '$CORDON' run --audit-log '$T/audit-send.jsonl' -- $PY -c '$dsend' sendto '$dsock' inside-audit"
check "the refused send is an audit violation record (kind socket, the path)" \
	grep -q "\"type\":\"violation\".*\"kind\":\"socket\",\"what\":\"$dsock\"" "$T/audit-send.jsonl"

# The wall off (test switch): the read-only mount alone lets the datagram in.
expect_output "control: connect policy off (test switch), sendto reaches the host socket" \
	"^sendto sent$" \
	sh -c "cd '$ws' && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_CONNECT_POLICY=1 exec '$CORDON' run -- $PY -c '$dsend' sendto '$dsock' off-sendto"
check "... and the receiver logged it" wait_for grep -qx off-sendto "$dlog"

# Allowed by policy: the supervisor sends, the datagram arrives.
for how in sendto sendmsg sendmmsg; do
	expect_output "--allow-unix-socket PATH: $how reaches the host datagram socket" "^$how sent$" \
		sh -c "cd '$ws' && exec '$CORDON' run --allow-unix-socket '$dsock' -- $PY -c '$dsend' $how '$dsock' allowed-$how"
done
check "... and the receiver logged each (sendmmsg: two)" wait_for test \
	"$(got allowed-sendto)$(got allowed-sendmsg)$(got allowed-sendmmsg)" = 112

# A thread races the destination (AF_INET / allowed path / host path),
# sendmsg's msg_name (NULL / set) and the fd (UDP / unix) under the calls.
RACE=$(dirname "$CORDON")/cordon-sendrace
if [ -x "$RACE" ]; then
	expect_output "racing the destination and the fd inside: the gate refuses the host path" \
		"^sent [0-9]+ refused [1-9][0-9]* other [0-9]+ own [0-9]+$" \
		sb "$ws" "$RACE" "$dsock" /tmp/own-race.sock 1500
	check "marker from outside arrives after the race" flush_log
	check "the host datagram socket received nothing from the race" test "$(got race)" = 0
	expect_output "control: the same race outside cordon" "^sent [1-9]" \
		"$RACE" "$dsock" "$T/own-race.sock" 1500
	check "... reaches the host datagram socket" wait_for test "$(got race)" -gt 0
else
	skip "racing the destination and the fd" "cordon-sendrace not built next to $CORDON"
fi

# The sandbox's own datagram sockets and UDP on loopback work as before.
ownd='import os, socket, sys, threading, time, array
p = sys.argv[1]
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(p)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"a", p); s.sendmsg([b"b", b"c"], [], 0, p)
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c.connect(p); c.send(b"d")
print("own", p, b"".join(r.recv(8) for _ in range(3)).decode())
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.bind("\0cordon-own-dgram")
s.sendto(b"abstract", "\0cordon-own-dgram"); print(a.recv(16).decode())'
expect_output "own datagram socket in /tmp: sendto, sendmsg, connected send" "^own /tmp/own.dgram abcd$" \
	sb "$ws" $PY -c "$ownd" /tmp/own.dgram
expect_output "own datagram socket in the workspace" "own.dgram abcd$" \
	sb "$ws" $PY -c "$ownd" own.dgram
expect_output "own abstract datagram socket" "^abstract$" sb "$ws" $PY -c "$ownd" /tmp/own.dgram
expect_output "UDP on loopback inside: sendto, sendmsg, connected send" "^udp abc$" sb "$ws" $PY -c '
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"a", r.getsockname()); s.sendmsg([b"b"], [], 0, r.getsockname())
s.connect(r.getsockname()); s.send(b"c")
print("udp", b"".join(r.recv(8) for _ in range(3)).decode())'
expect_output "a blocking sender waits for a full receiver inside, then all arrive" "^blocked 60 60$" \
	sb "$ws" $PY -c '
import socket, threading, time
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind("/tmp/slow.dgram")
got = []
def drain():
    time.sleep(0.3)
    for _ in range(60):
        got.append(r.recv(8))
t = threading.Thread(target=drain); t.start()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n = sum(s.sendto(b"x", "/tmp/slow.dgram") for _ in range(60))
t.join(); print("blocked", n, len(got))'
expect_output "a sender blocked on a full receiver is interrupted by Ctrl-C (SIGINT handler)" \
	"^interrupted after [0-9]+$" sb "$ws" timeout 60 $PY -c '
import os, signal, socket, time
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind("/tmp/full.dgram")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
me = os.getpid()
if os.fork() == 0:
    time.sleep(0.5); os.kill(me, signal.SIGINT); os._exit(0)
n = 0
try:
    while True:
        s.sendto(b"x", "/tmp/full.dgram"); n += 1
except KeyboardInterrupt:
    print("interrupted after", n)'
expect_output "sendmsg with SCM_RIGHTS between the sandbox's own sockets passes the file" \
	"^fd passed: hello$" sb "$ws" $PY -c '
import array, os, socket
a, b = socket.socketpair()
rfd, wfd = os.pipe(); os.write(wfd, b"hello")
a.sendmsg([b"f"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [rfd]).tobytes())])
_, anc, _, _ = b.recvmsg(8, 64)
fd = array.array("i", anc[0][2])[0]
print("fd passed:", os.read(fd, 5).decode())'
expect_fail "sendmsg with SCM_CREDENTIALS: refused (the kernel would vouch for the supervisor)" \
	"creds: Operation not permitted" sb "$ws" $PY -c '
import os, socket, struct
a, b = socket.socketpair()
try:
    a.sendmsg([b"c"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS,
                         struct.pack("iII", os.getpid(), os.getuid(), os.getgid()))])
except OSError as e:
    print("creds:", e.strerror); raise SystemExit(1)
print("creds sent")'
expect_status "a stream sendmsg to a closed peer raises SIGPIPE, as the kernel would" 141 \
	sb "$ws" $PY -c '
import signal, socket
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
a, b = socket.socketpair(); b.close()
a.sendmsg([b"x"])'
# A signal may cut the caller's wait after the supervisor sent; the kernel
# then restarts the call (SA_RESTART), which must not send the data again.
expect_output "stream sendmsg under a storm of signals: every byte once, in order" \
	"^signals [1-9][0-9]* stream intact$" sb "$ws" $PY -c '
import os, signal, socket, threading, time
N = 3000
a, b = socket.socketpair()
hits = [0]
def h(sig, frm): hits[0] += 1
signal.signal(signal.SIGUSR1, h)
signal.siginterrupt(signal.SIGUSR1, False)
want = b"".join(b"%08d" % i for i in range(N))
got = bytearray()
def rd():
    while len(got) < len(want):
        d = b.recv(65536)
        if not d:
            break
        got.extend(d)
t = threading.Thread(target=rd, daemon=True); t.start()
me = os.getpid()
pid = os.fork()
if pid == 0:
    for _ in range(100000):
        try:
            os.kill(me, signal.SIGUSR1)
        except ProcessLookupError:
            break
        time.sleep(0.0002)
    os._exit(0)
for i in range(N):
    a.sendmsg([b"%08d" % i])
a.shutdown(socket.SHUT_WR)
t.join(20)
os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
print("signals", hits[0], "stream", "intact" if bytes(got) == want else
      "corrupt: %d bytes, %d wanted" % (len(got), len(want)))'
expect_output "netlink (interface list) inside still works" "lo" sb "$ws" $PY -c '
import socket; print(socket.if_nameindex())'

# A host abstract datagram socket: abstract names belong to a network
# namespace, and the sandbox has its own.
$PY - <<'PYEOF' &
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0cordon-test-host-abstract-%d" % __import__("os").getppid())
s.settimeout(300)
while True:
    try:
        s.recv(8)
    except OSError:
        break
PYEOF
track_pid $!
disown $! # ended by pid in the trap; no job notice at exit
abs_name="cordon-test-host-abstract-$$"
abs_send='import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", "\0" + sys.argv[1])
except OSError as e:
    print("abstract:", e.strerror); sys.exit(1)
print("abstract sent")'
wait_for $PY -c "$abs_send" "cordon-test-no-such-name" >/dev/null 2>&1 # warm up python
expect_output "control: outside cordon the host abstract socket receives" "^abstract sent$" \
	sh -c "for i in \$(seq 50); do $PY -c '$abs_send' '$abs_name' && exit 0; sleep 0.1; done; exit 1"
expect_fail "a host abstract datagram socket is out of reach inside" "abstract: Connection refused" \
	sb "$ws" $PY -c "$abs_send" "$abs_name"

done_testing
