#!/usr/bin/env python3
"""Test upstream for the proxy suites: an HTTP/1.1 server (keep-alive,
chunked, echo), optionally TLS, that appends every request it receives to a
log file so tests can check from outside what got through.

usage: upstream.py --bind ADDR --port N --log FILE [--tls CERT KEY]
                   [--git-root DIR] [--name NAME] [--basic USER:PASSWORD]

With --basic, a path under /auth/ needs that HTTP Basic authorization (401
with WWW-Authenticate otherwise) and is then served as the rest of the path
(/auth/git/... is the git repository).
Prints "ready PORT" on stdout once listening.
"""
import argparse
import base64
import http.server
import os
import socketserver
import ssl
import subprocess
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # one write per response (flushed after each request): a head and a body
    # in two small writes would wait on Nagle and the reader's delayed ACK
    wbufsize = 1 << 16

    def log_message(self, fmt, *args):
        pass

    def _log(self):
        with open(self.server.logfile, "a") as f:
            f.write(f"{self.server.name} {self.command} {self.path} host={self.headers.get('Host')}"
                    f" authorization={self.headers.get('Authorization')}"
                    f" x-api-key={self.headers.get('X-Api-Key')}\n")

    def _send(self, code, body, ctype="text/plain", chunked=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def _git(self):
        env = dict(os.environ)
        path, _, query = self.path.partition("?")
        env.update({"GIT_PROJECT_ROOT": self.server.git_root, "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path[len("/git"):], "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command, "REMOTE_ADDR": "198.18.0.1",
                    "CONTENT_TYPE": self.headers.get("Content-Type", "")})
        body = b""
        if self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(n)
                self.rfile.readline()
        env["CONTENT_LENGTH"] = str(len(body))
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        p = subprocess.run(["git", "http-backend"], input=body, env=env, stdout=subprocess.PIPE)
        head, _, out = p.stdout.partition(b"\r\n\r\n")
        code = 200
        hdrs = []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                code = int(v.strip().split()[0])
            elif k:
                hdrs.append((k, v.strip()))
        self.send_response(code)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _auth(self):
        """A path under /auth/: False (401 sent) unless the Basic authorization matches."""
        if not self.path.startswith("/auth/") or not self.server.basic:
            return True
        want = "Basic " + base64.b64encode(self.server.basic.encode()).decode()
        if self.headers.get("Authorization") != want:
            if self.headers.get("Content-Length"):
                self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "13")
            self.end_headers()
            self.wfile.write(b"unauthorized\n")
            return False
        self.path = self.path[len("/auth"):]
        return True

    def do_GET(self):
        self._log()
        if not self._auth():
            return
        if self.path.startswith("/git/") and self.server.git_root:
            return self._git()
        if self.path.startswith("/big"):
            n = 32 << 20
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(n // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if self.path.startswith("/chunked"):
            return self._send(200, b"chunked body from " + self.server.name.encode() + b"\n", chunked=True)
        self._send(200, b"hello from " + self.server.name.encode() + b"\n")

    do_HEAD = do_GET

    def do_POST(self):
        self._log()
        if not self._auth():
            return
        if self.path.startswith("/git/") and self.server.git_root:
            return self._git()
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        self._send(200, b"echo " + body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2)
    ap.add_argument("--git-root")
    ap.add_argument("--name", default="upstream")
    ap.add_argument("--basic")
    a = ap.parse_args()
    if ":" in a.bind:
        Server.address_family = __import__("socket").AF_INET6
    srv = Server((a.bind, a.port), Handler)
    srv.logfile = a.log
    srv.name = a.name
    srv.git_root = a.git_root
    srv.basic = a.basic
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
