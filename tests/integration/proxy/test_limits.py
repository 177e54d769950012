#!/usr/bin/env python3
"""What a sandbox can make the host hold or write through the proxy is bounded:

- connections: inside `cordon run`, 1024 connections with a request head
  begun are held (the default limit) and 50 more are refused with 503 and
  the reason; one limit
  record; the supervisor's RSS stays under a ceiling; a connection within
  the limit is still served;
- buffers: tunnels to a server that never reads, each client writing as
  much as it can: the proxy's socket queues stay near the 64 MiB budget
  (measured from outside with `ss -tm` on the proxy's sockets), stalled
  tunnels are cut; the control with --max-buffered 4096 shows the same load
  holds far more;
- the audit log: a flood of denied requests is written up to the rate
  bound (3000 net records a minute), then one limit record and one
  suppressed record ("N similar net records suppressed in T s"); the log's
  size stays bounded and the session's counters count every request.

As root the "internet" is a network namespace; as the unprivileged user,
loopback behind the test-only switch.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

PY = "/usr/bin/python3"
MIB = 1 << 20


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        return -1


def socket_bytes(pid):
    """Bytes queued in the sockets of process pid (skmem r + w, from ss), and their count."""
    out = subprocess.run(["ss", "-tmnpH"], stdout=subprocess.PIPE).stdout.decode()
    lines, total, n = out.split("\n"), 0, 0
    for i, line in enumerate(lines):
        if f"pid={pid}," in line and i + 1 < len(lines):
            m = re.search(r"skmem:\(r(\d+),rb\d+,t\d+,tb\d+,f\d+,w(\d+)", lines[i + 1])
            if m:
                n += 1
                total += int(m.group(1)) + int(m.group(2))
    return total, n


def sink_load(extra, env, sink_ip, sink_port, n=150):
    """n tunnels to a never-reading server, each fed until it takes no more.
    Returns (bytes queued in the proxy's sockets, tunnels still open, rss kB, stderr)."""
    p, port = proxy(["--resolve", f"sink.test:{sink_ip}", "-a", f"sink.test:{sink_port}"]
                    + extra, env=env)
    socks = []
    for _ in range(n):
        s, st, _ = http_connect(port, f"sink.test:{sink_port}")
        if s is None:
            break
        s.setblocking(False)
        socks.append(s)
    chunk = b"x" * 65536
    end = time.monotonic() + 6
    while time.monotonic() < end:
        moved = 0
        for s in list(socks):
            try:
                moved += s.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                socks.remove(s)
        if not moved:
            time.sleep(0.05)
    time.sleep(1.5)
    for s in list(socks):  # cut tunnels: the proxy closed them
        try:
            if s.recv(1) == b"":
                socks.remove(s)
        except BlockingIOError:
            pass
        except OSError:
            socks.remove(s)
    held, _ = socket_bytes(p.pid)
    rss = rss_kb(p.pid)
    for s in socks:
        s.close()
    stop(p)
    return held, len(socks), rss, p.stderr.read().decode(errors="replace")


def main():
    ns = test_netns()
    env = test_env() if ns else test_env(CORDON_TEST_PROXY_LOOPBACK="1")
    ip = NS_IP if ns else "127.0.0.1"
    bind = "0.0.0.0" if ns else "127.0.0.1"
    # a server that accepts and never reads (small receive buffer: its window closes early)
    _, hport = upstream(os.path.join(TMP, "http.log"), bind=bind, port=80 if ns else 0, ns=ns)
    _, sink_port = tcp_listener(os.path.join(TMP, "sink.log"), bind=bind, sink=True, ns=ns)

    # --- buffers: tunnels to a server that never reads (over the veth link a stalled
    # tunnel holds less than over loopback: more tunnels for the same load)
    n = 600 if ns else 150
    held, alive, rss, err = sink_load([], env, ip, sink_port, n)
    ok(held <= 72 * MIB,
       f"{n} tunnels to a never-reading server: the proxy's sockets hold {held / MIB:.0f} MiB "
       "(budget 64 MiB, ceiling 72)", err[-1500:])
    ok(alive < n and err.count("limit proxy.buffers reached") == 1,
       f"stalled tunnels were cut ({n - alive} of {n}) and the bound reported once", err[-1500:])
    ok(0 < rss < 32 * 1024, f"proxy RSS {rss // 1024} MiB (ceiling 32 MiB)")
    held_c, alive_c, _, err_c = sink_load(["--max-buffered", "4096"], env, ip, sink_port, n)
    ok(held_c > 2 * held and held_c > 100 * MIB and alive_c == n,
       f"control: with --max-buffered 4096 the same load holds {held_c / MIB:.0f} MiB, "
       "nothing cut", err_c[-800:])

    # --- connections, inside `cordon run`
    ws = new_ws()
    alog = os.path.join(TMP, "limits.jsonl")
    script = r'''
import json, os, resource, socket, time
s, h = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
idle = [socket.create_connection(("127.0.0.1", 3128), timeout=20) for _ in range(1024)]
for c in idle:  # a request head begun: each connection holds a buffer
    c.sendall(b"GET http://evil.test/ HTTP/1.1\r\n")
time.sleep(0.5)
answers = []
for _ in range(50):
    c = socket.create_connection(("127.0.0.1", 3128), timeout=20)
    c.sendall(b"CONNECT ok.test:80 HTTP/1.1\r\nHost: ok.test:80\r\n\r\n")
    data = b""
    while True:
        d = c.recv(4096)
        if not d:
            break
        data += d
    answers.append(data.decode(errors="replace"))
    c.close()
open("phase1", "w").close()
while not os.path.exists("go"):
    time.sleep(0.05)
idle[0].sendall(b"Host: evil.test\r\n\r\n")
control = idle[0].recv(4096).decode(errors="replace")
print(json.dumps({"refused": sum("503" in a and "too many proxy connections" in a for a in answers),
                  "first": answers[0], "control": control}))
'''
    with open(os.path.join(ws, "conns.py"), "w") as f:
        f.write(script)
    p = spawn([CORDON, "run", "-q", "--audit-log", alog, "--resolve", f"ok.test:{ip}",
               "--allow-domain", "ok.test", "--", PY, "conns.py"], cwd=ws, env=env,
              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    rss0 = -1
    for _ in range(200):
        if rss0 < 0 and os.path.exists(f"/proc/{p.pid}"):
            time.sleep(0.2)
            rss0 = rss_kb(p.pid)
        if os.path.exists(os.path.join(ws, "phase1")):
            break
        time.sleep(0.1)
    rss1 = rss_kb(p.pid)
    open(os.path.join(ws, "go"), "w").close()
    try:
        out = p.communicate(timeout=60)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        stop(p)
        out = "timeout"
    res = {}
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pass
    ok(res.get("refused") == 50 and "1024 open" in res.get("first", ""),
       "1024 connections held inside cordon run: 50 more refused with 503 and the reason", out[-1500:])
    ok("403" in res.get("control", "") and "evil.test" in res.get("control", ""),
       "control: a connection within the limit is served (403 for a denied name)", out[-800:])
    ok(0 < rss1 < 24 * 1024,
       f"supervisor RSS with 1074 connections: {rss1 // 1024} MiB (at start {rss0 // 1024} MiB, "
       "ceiling 24 MiB)")
    recs = []
    try:
        with open(alog) as f:
            recs = [json.loads(line) for line in f]
    except (OSError, ValueError):
        pass
    lim = [r for r in recs if r.get("type") == "limit" and r.get("limit") == "proxy.connections"]
    refused = [r for r in recs if r.get("type") == "net" and "proxy connections open, its limit"
               in (r.get("reason") or "")]
    ok(len(lim) == 1 and lim[0].get("max") == 1024 and "refused" in lim[0].get("message", ""),
       "audit: one limit record for proxy.connections (max 1024)", lim)
    ok(len(refused) == 50 and all(r["decision"] == "deny" for r in refused),
       "audit: each refused connection is a net record with the reason", len(refused))

    # --- the audit log: a flood of denied requests
    ws = new_ws()
    flog = os.path.join(TMP, "flood.jsonl")
    n_flood = 3600
    script = r'''
import socket, sys
n = int(sys.argv[1])
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", 3128), timeout=20)
    c.sendall(b"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")
    while c.recv(4096):
        pass
    c.close()
print("done", n)
'''
    with open(os.path.join(ws, "flood.py"), "w") as f:
        f.write(script)
    rc, out = run([CORDON, "run", "--audit-log", flog, "--", PY, "flood.py", str(n_flood)],
                  cwd=ws, env=env, timeout=240)
    recs = []
    try:
        with open(flog) as f:
            recs = [json.loads(line) for line in f]
    except (OSError, ValueError):
        pass
    net = [r for r in recs if r.get("type") == "net"]
    lim = [r for r in recs if r.get("type") == "limit"]
    sup = [r for r in recs if r.get("type") == "suppressed"]
    end = [r for r in recs if r.get("type") == "session_end"]
    counters = end[0].get("counters", {}) if end else {}
    ok(rc == 0 and f"done {n_flood}" in out, f"{n_flood} denied requests made", out[-500:])
    ok(len(net) == 3000, f"control: the first 3000 net records are written one by one ({len(net)})")
    ok(len(lim) == 1 and lim[0].get("limit") == "audit.records" and lim[0].get("kind") == "net",
       "one limit record says the net record rate was reached", lim)
    ok(len(sup) == 1 and sup[0].get("count") == n_flood - 3000 and
       f"{n_flood - 3000} similar net records suppressed in" in sup[0].get("message", ""),
       "one suppressed record stands for the rest", sup)
    ok(counters.get("net") == n_flood and counters.get("suppressed") == n_flood - 3000,
       "the session's counters count every request", counters)
    size = os.path.getsize(flog) if os.path.exists(flog) else 0
    ok(0 < size < 3000 * 600 + 20000, f"log size bounded: {size} bytes for {n_flood} requests")
    rc, out = run([CORDON, "log", "verify", "--file", flog])
    ok(rc == 0 and "OK" in out, "the chain verifies", out)
    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
