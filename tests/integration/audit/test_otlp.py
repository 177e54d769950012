#!/usr/bin/env python3
"""OTLP/HTTP export: a local fake collector on 127.0.0.1 receives every
record (the audit line as the log body), retries get past 503s, and a dead
or silent collector never holds up the sandbox."""
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

CORDON = os.environ["CORDON"]
T = os.environ["CORDON_TEST_TMP"]
n = 0
failed = 0


def ok(cond, desc, diag=None):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {desc}")
    else:
        failed += 1
        print(f"not ok {n} - {desc}")
        if diag:
            for line in str(diag).splitlines()[:20]:
                print(f"#   {line}")
    sys.stdout.flush()


class Collector(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fail_first=0):
        self.bodies = []
        self.paths = []
        self.fail_first = fail_first
        self.requests = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.requests += 1
            fail = self.server.requests <= self.server.fail_first
            if not fail:
                self.server.bodies.append(json.loads(body))
                self.server.paths.append((self.path, self.headers.get("Content-Type")))
        self.send_response(503 if fail else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *a):
        pass


def start(fail_first=0):
    srv = Collector(fail_first)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    return srv


def run(ws, log, endpoint, cmd):
    return subprocess.run([CORDON, "run", "--audit-log", log, "--otlp-endpoint", endpoint,
                           "--"] + cmd, cwd=ws, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)


def records(srv):
    out = []
    for b in srv.bodies:
        for rl in b["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                out.extend(sl["logRecords"])
    return out


def attr(rec, key):
    for a in rec["attributes"]:
        if a["key"] == key:
            return a["value"]["stringValue"]
    return None


def main():
    ws = tempfile.mkdtemp(dir=T, prefix="ws.")
    os.chmod(ws, 0o755)

    # 1. Every record arrives, byte for byte.
    srv = start()
    log = os.path.join(T, "otlp1", "audit.jsonl")
    p = run(ws, log, f"http://127.0.0.1:{srv.server_address[1]}",
            ["/bin/bash", "-c", "for i in 1 2 3 4 5; do /bin/true; done"])
    srv.shutdown()
    ok(p.returncode == 0, "run with an OTLP endpoint succeeds", p.stdout)
    lines = open(log, "rb").read().decode().splitlines()
    got = records(srv)
    ok(len(lines) == 14, "log has start + 6 x (exec_request, exec) + end", len(lines))
    ok([r["body"]["stringValue"] for r in got] == lines,
       "collector received every record, body = the audit line", f"{len(got)} received")
    ok(all(p == "/v1/logs" and (t or "").startswith("application/json") for p, t in srv.paths),
       "POST /v1/logs with application/json", srv.paths)
    ok(len(srv.bodies) < len(lines), "records were batched", f"{len(srv.bodies)} requests")
    sid = json.loads(lines[0])["session"]
    ok(all(attr(r, "cordon.session") == sid for r in got), "cordon.session attribute")
    ok([attr(r, "cordon.type") for r in got] ==
       [json.loads(l)["type"] for l in lines], "cordon.type attribute")
    svc = srv.bodies[0]["resourceLogs"][0]["resource"]["attributes"][0]
    ok(svc["key"] == "service.name" and svc["value"]["stringValue"] == "cordon",
       "resource service.name = cordon")

    # 2. A collector that answers 503 at first: retried until accepted.
    srv = start(fail_first=2)
    log = os.path.join(T, "otlp2", "audit.jsonl")
    p = run(ws, log, f"http://127.0.0.1:{srv.server_address[1]}", ["/bin/true"])
    srv.shutdown()
    lines = open(log, "rb").read().decode().splitlines()
    got = [r["body"]["stringValue"] for r in records(srv)]
    ok(srv.requests > 2, "503 answers were retried", srv.requests)
    ok(sorted(got) == sorted(lines), "after retries every record arrived",
       f"{len(got)} of {len(lines)}")

    # 3. Nothing listening: the sandbox runs and the log is complete.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = os.path.join(T, "otlp3", "audit.jsonl")
    p = run(ws, log, f"http://127.0.0.1:{port}", ["/bin/sh", "-c", "exit 7"])
    ok(p.returncode == 7, "dead collector: command runs, its status comes through",
       p.stdout)
    lines = open(log).read().splitlines()
    ok(json.loads(lines[-1])["type"] == "session_end", "dead collector: log complete")

    # 4. A collector that accepts and never answers: same.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    log = os.path.join(T, "otlp4", "audit.jsonl")
    p = run(ws, log, f"http://127.0.0.1:{s.getsockname()[1]}", ["/bin/sh", "-c", "exit 5"])
    s.close()
    ok(p.returncode == 5, "silent collector: command runs, its status comes through",
       p.stdout)
    lines = open(log).read().splitlines()
    ok(json.loads(lines[-1])["type"] == "session_end", "silent collector: log complete")

    # 5. Bad endpoints are refused before anything runs.
    for url, why in (("https://127.0.0.1:1/", "https is not supported"),
                     ("ftp://x", "not an http:// URL")):
        p = subprocess.run([CORDON, "run", "--otlp-endpoint", url, "--audit-log",
                            os.path.join(T, "otlp5.jsonl"), "--", "/bin/true"], cwd=ws,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode()
        ok(p.returncode == 125 and why in out and "Hint:" in out,
           f"endpoint {url}: exit 125, '{why}'", out)

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
