#!/usr/bin/env python3
"""Cost of one connect() under the unix-socket policy (the supervisor makes
every connect inside). Run inside `cordon run`; prints microseconds per
connect for a unix socket in /tmp and for TCP on loopback."""
import os
import socket
import time

N = int(os.environ.get("N", "2000"))


def bench(family, addr):
    srv = socket.socket(family)
    srv.bind(addr)
    srv.listen(128)
    t0 = time.perf_counter()
    for _ in range(N):
        c = socket.socket(family)
        c.connect(srv.getsockname() if family == socket.AF_INET else addr)
        a, _ = srv.accept()
        a.close()
        c.close()
    dt = time.perf_counter() - t0
    srv.close()
    return dt / N * 1e6


path = "/tmp/bench-%d.sock" % os.getpid()
print("unix connect: %.1f us" % bench(socket.AF_UNIX, path))
os.unlink(path)
print("tcp connect:  %.1f us" % bench(socket.AF_INET, ("127.0.0.1", 0)))
