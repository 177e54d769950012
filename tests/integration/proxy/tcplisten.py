#!/usr/bin/env python3
"""A plain TCP service for the proxy suites (stands in for SSH, SMTP, a
database): on accept it logs "conn" and sends a banner first (the server
speaks first, as SSH and SMTP do); every line it receives is logged and
echoed back as "echo: LINE". With --sink it sends nothing and never reads
(a peer that does not drain).

usage: tcplisten.py --bind ADDR --port N --log FILE [--banner TEXT] [--sink]
Prints "ready PORT" on stdout once listening.
"""
import argparse
import socket
import sys
import threading


def serve(conn, a):
    with open(a.log, "a") as f:
        f.write("conn\n")
    if a.sink:
        threading.Event().wait()  # hold it, read nothing
        return
    try:
        if a.banner:
            conn.sendall(a.banner.encode() + b"\r\n")
        buf = b""
        while True:
            d = conn.recv(4096)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with open(a.log, "a") as f:
                    f.write("line " + line.decode(errors="replace").rstrip("\r") + "\n")
                conn.sendall(b"echo: " + line + b"\n")
    except OSError:
        pass
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--banner", default="")
    ap.add_argument("--sink", action="store_true")
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.sink:
        # a small receive buffer: the peer's window closes early
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((a.bind, a.port))
    s.listen(4096)
    print("ready", s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, a), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
