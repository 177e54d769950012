#!/usr/bin/env python3
"""Cost of the send side of the unix-socket policy. Run inside `cordon run`
(and with the policy off, and bare, for the comparison). sendto() with an
address, sendmsg() and sendmmsg() reach the supervisor, which makes the
call; send() and sendto() without an address stay in the kernel. Prints
microseconds per call, and TCP throughput on loopback with sendall()
(send(): no notification) and with sendmsg()."""
import os
import socket
import threading
import time

N = int(os.environ.get("N", "20000"))
MB = int(os.environ.get("MB", "512"))


def per_call(name, fn, drain):
    """fn sends on a non-blocking socket; a full receiver is drained."""
    t0 = time.perf_counter()
    for _ in range(N):
        try:
            fn()
        except BlockingIOError:
            drain()
            fn()
    dt = time.perf_counter() - t0
    drain()
    print("%-42s %7.2f us" % (name, dt / N * 1e6))


def drainer(sock):
    def drain():
        try:
            while True:
                sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
    return drain


msg = b"x" * 64
# UDP on loopback, connected
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(r.getsockname())
s.setblocking(False)
d = drainer(r)
per_call("udp send() (kernel)", lambda: s.send(msg), d)
per_call("udp sendmsg() connected", lambda: s.sendmsg([msg]), d)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setblocking(False)
per_call("udp sendto(addr)", lambda: u.sendto(msg, r.getsockname()), drainer(r))
# unix datagram in /tmp
path = "/tmp/bench-send-%d.sock" % os.getpid()
ur = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ur.bind(path)
us = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
us.setblocking(False)
per_call("unix dgram sendto(path) in /tmp", lambda: us.sendto(msg, path), drainer(ur))
uc = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
uc.connect(path)
uc.setblocking(False)
per_call("unix dgram send() connected (kernel)", lambda: uc.send(msg), drainer(ur))
per_call("unix dgram sendmsg() connected", lambda: uc.sendmsg([msg]), drainer(ur))
os.unlink(path)
# unix stream pair
a, b = socket.socketpair()
a.setblocking(False)
per_call("unix stream sendmsg() 64 B", lambda: a.sendmsg([msg]), drainer(b))
fds = [os.open("/dev/null", os.O_RDONLY)]
import array
anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]


def recv_fd():
    try:
        while True:
            _, ancdata, _, _ = b.recvmsg(65536, 1024, socket.MSG_DONTWAIT)
            for _, _, data in ancdata:
                for fd in array.array("i", data):
                    os.close(fd)
    except BlockingIOError:
        pass


per_call("unix stream sendmsg() + SCM_RIGHTS", lambda: a.sendmsg([msg], anc), recv_fd)


def tcp(label, send_all):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    total = MB << 20
    got = [0]

    def sink():
        c, _ = srv.accept()
        while got[0] < total:
            data = c.recv(1 << 20)
            if not data:
                break
            got[0] += len(data)
        c.close()

    t = threading.Thread(target=sink)
    t.start()
    c = socket.create_connection(srv.getsockname())
    chunk = b"y" * (1 << 20)
    t0 = time.perf_counter()
    for _ in range(MB):
        send_all(c, chunk)
    t.join()
    dt = time.perf_counter() - t0
    c.close()
    srv.close()
    print("%-42s %7.0f MB/s" % (label, MB / dt))


def sendmsg_all(c, data):
    view = memoryview(data)
    while view:
        n = c.sendmsg([view])
        view = view[n:]


tcp("tcp loopback sendall() (kernel)", lambda c, d: c.sendall(d))
tcp("tcp loopback sendmsg() loop", sendmsg_all)
