#!/usr/bin/env python3
"""The proxy inside `cordon run`: the listener handed over from the
sandbox's network namespace, the environment, denials with the `cordon
allow` hint, live widening over the control socket, no other way out (raw
TCP, UDP, DNS), and the first connection after start (100 runs).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

PY = "/usr/bin/python3"


def main():
    log = os.path.join(TMP, "upstream.log")
    ns = test_netns()
    if ns:
        _, port = upstream(log, bind="0.0.0.0", port=80, name="internet", ns=ns)
        up_ip = NS_IP
        env = test_env()
    else:
        _, port = upstream(log, bind="127.0.0.1", name="internet")
        up_ip = "127.0.0.1"
        env = test_env(CORDON_TEST_PROXY_LOOPBACK="1")
    ws = new_ws()
    res = ["--resolve", f"ok.test:{up_ip}", "--resolve", f"late.test:{up_ip}",
           "--resolve", f"evil.test:{up_ip}"]
    # as root the upstream is on port 80, which a rule without a port allows; as the
    # unprivileged user it is on a random loopback port: the rules say ":*" (every port)
    ps = "" if ns else ":*"
    base = res + ["--allow-domain", "ok.test" + ps]

    # the environment
    rc, out = sandbox(ws, base, ["env"], env=env)
    want = ["HTTP_PROXY=http://127.0.0.1:3128", "https_proxy=http://127.0.0.1:3128",
            "ALL_PROXY=socks5h://127.0.0.1:3128", "NO_PROXY=localhost,127.0.0.1,::1",
            "NODE_USE_ENV_PROXY=1", "-Dhttps.proxyHost=127.0.0.1", "-Dhttps.proxyPort=3128"]
    ok(rc == 0 and all(w in out for w in want), "proxy variables set inside", out)

    # allowed name, through the environment (curl honours http_proxy)
    rc, out = sandbox(ws, base, ["curl", "-sS", "--max-time", "10", f"http://ok.test:{port}/in"],
                      env=env)
    ok(rc == 0 and "hello from internet" in out, "curl inside reaches an allowed name", out)
    rc, out = sandbox(ws, base, ["curl", "-sS", "-p", "--max-time", "10",
                                 f"http://ok.test:{port}/in-connect"], env=env)
    ok(rc == 0 and "hello from internet" in out, "curl -p (CONNECT) inside", out)
    rc, out = sandbox(ws, base, [PY, "-c", f"import urllib.request;print(urllib.request.urlopen("
                                 f"'http://ok.test:{port}/urllib', timeout=10).read().decode())"],
                      env=env)
    ok(rc == 0 and "hello from internet" in out, "python urllib inside (env proxy)", out)
    rc, out = sandbox(ws, base, ["curl", "-sS", "--max-time", "10", "-x",
                                 "socks5h://127.0.0.1:3128", f"http://ok.test:{port}/in-socks"],
                      env=env)
    ok(rc == 0 and "hello from internet" in out, "SOCKS5 on the same port inside", out)

    # every decision is an audit record (host, port, rule, decision, bytes)
    alog = os.path.join(TMP, "audit.jsonl")
    rc, out = sandbox(ws, base + ["--audit-log", alog], ["sh", "-c",
                      f"curl -sS http://ok.test:{port}/audited; curl -sS http://evil.test:{port}/audited"],
                      env=env)
    import json
    recs = []
    try:
        with open(alog) as f:
            recs = [json.loads(l) for l in f if '"net"' in l]
    except (OSError, ValueError) as e:
        recs = []
    allow = [r for r in recs if r.get("type") == "net" and r.get("host") == "ok.test"
             and "method" not in r]
    req = [r for r in recs if r.get("type") == "net" and r.get("host") == "ok.test"
           and "method" in r]
    deny = [r for r in recs if r.get("type") == "net" and r.get("host") == "evil.test"]
    ok(len(allow) == 1 and allow[0].get("decision") == "allow" and allow[0].get("rule") == "ok.test" + ps
       and allow[0].get("port") == port and allow[0].get("bytes_down", 0) > 0
       and allow[0].get("address") == up_ip,
       "audit: the allowed connection is one net record (rule, address, bytes)", recs)
    ok(len(req) == 1 and req[0].get("method") == "GET" and req[0].get("path") == "/audited"
       and req[0].get("status") == 200 and req[0].get("decision") == "allow",
       "audit: ...and its request one of its own (method, path, status)", recs)
    ok(len(deny) == 1 and deny[0].get("decision") == "deny" and deny[0].get("bytes_up") == 0,
       "audit: the denied request is one net record with decision deny", recs)

    # a client that hangs up mid-download must not take the supervisor down
    rc, out = sandbox(ws, base, ["sh", "-c",
                                 f"curl -sS -p http://ok.test:{port}/big | head -c 100 >/dev/null; "
                                 f"curl -sS -p --max-time 10 http://ok.test:{port}/after-hangup"],
                      env=env)
    ok(rc == 0 and "hello from internet" in out,
       "a client closing mid-tunnel: the session goes on (no SIGPIPE in the supervisor)", out)

    # denied name: the 403 says what to run
    rc, out = sandbox(ws, base, ["curl", "-sS", "--max-time", "10", f"http://evil.test:{port}/no"],
                      env=env)
    ok("denied" in out and "cordon allow evil.test" in out,
       "denied name inside: 403 with the exact `cordon allow evil.test`", out)
    ok("/no" not in read_log(log), "the upstream never saw it")
    if not ns:
        rc, out = sandbox(ws, base, ["curl", "-sS", "--max-time", "10", f"http://ok.test:{port}/sw"],
                          env=test_env())
        ok("loopback" in out and "/sw" not in read_log(log),
           "without the test-only switch the same allowed name (on loopback) is refused", out)
    rc, out = sandbox(ws, base + ["-v"], ["curl", "-sS", "--max-time", "10",
                                          f"http://evil.test:{port}/v"], env=env)
    ok("cordon: proxy: denied HTTP evil.test" in out, "--verbose: the denial on stderr", out)

    # nothing else leaves: raw TCP is captured and judged (an address the
    # policy does not name is refused), UDP reaches nothing, DNS is the stub
    rc, out = sandbox(ws, base, [PY, "-c", f"import socket; socket.create_connection(('{up_ip}', {port}), timeout=3).recv(1); print('connected')"], env=env)
    if ns:
        ok(rc != 0 and "reset" in out.lower(),
           "raw TCP from inside to an address not allowed: captured and refused (reset)", out)
        rc2, out2 = run(["curl", "-sS", "--max-time", "5", f"http://{NS_IP}:{port}/direct"])
        ok("hello from internet" in out2, "control: the same address answers from the host", out2)
    else:
        ok(rc != 0 and "refused" in out.lower(),
           "raw TCP from inside to the host's loopback fails (own network namespace)", out)
    rc, out = sandbox(ws, base, [PY, "-c", f"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.connect(('{NS_IP}', 53)); s.send(b'x'); s.recv(10); print('answered')"], env=env)
    ok(rc != 0 and "refused" in out.lower(), "UDP from inside fails (nothing listens there)", out)
    rc, out = sandbox(ws, base, [PY, "-c", "import socket; print(socket.getaddrinfo('evil.test', 80))"],
                      env=env)
    ok(rc != 0 and "gaierror" in out, "DNS from inside: a name not allowed resolves to nothing", out)
    rc, out = sandbox(ws, base, [PY, "-c", "import socket; print(socket.gethostbyname('ok.test'))"],
                      env=env)
    ok(rc == 0 and re.search(r"^198\.1[89]\.\d+\.\d+$", out, re.M) is not None,
       "control: an allowed name gets the stub's synthetic address", out)

    # live widening: `cordon allow`
    flag = os.path.join(ws, "go")
    script = (f"curl -sS --max-time 10 http://late.test:{port}/before; echo; touch first-done; "
              f"while [ ! -e go ]; do sleep 0.1; done; "
              f"curl -sS --max-time 10 http://late.test:{port}/after")
    xdg = os.path.join(TMP, "xdg")
    os.makedirs(xdg, mode=0o700, exist_ok=True)
    env_x = dict(env, XDG_RUNTIME_DIR=xdg)
    alog2 = os.path.join(TMP, "audit-allow.jsonl")
    p = spawn([CORDON, "run", "-v", "--audit-log", alog2] + base + ["--", "sh", "-c", script],
              cwd=ws, env=env_x,
              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sock_dir = os.path.join(xdg, "cordon")
    sid = None
    for _ in range(600):
        if os.path.isdir(sock_dir) and os.listdir(sock_dir):
            sid = os.listdir(sock_dir)[0][:-5]
            break
        time.sleep(0.1)
    ok(sid is not None, "the session's control socket exists", sock_dir)
    if sid:
        st = os.stat(os.path.join(sock_dir, sid + ".sock"))
        dst = os.stat(sock_dir)
        ok((st.st_mode & 0o777) == 0o600 and (dst.st_mode & 0o777) == 0o700,
           "control socket 0600 in a 0700 directory", oct(st.st_mode))
    for _ in range(1200):
        if os.path.exists(os.path.join(ws, "first-done")):
            break
        time.sleep(0.05)
    # in the session's workspace, as a user would: the session running there
    rc, out = run([CORDON, "allow", "late.test" + ps], env=env_x, cwd=ws)
    ok(rc == 0 and f"late.test{ps} is now allowed" in out, "cordon allow late.test", out)
    open(flag, "w").close()
    try:
        out = p.communicate(timeout=30)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        stop(p)
        out = "timeout"
    ok("cordon allow late.test" in out and out.count("hello from internet") == 1 and
       "/after" in read_log(log) and "/before" not in read_log(log),
       "denied before, allowed after `cordon allow` (same session)", out)
    pol = [l for l in read_log(alog2).splitlines() if f'"late.test{ps}"' in l and '"policy' in l]
    ok(len(pol) == 1 and "allow-domain" in pol[0] and "cordon allow" in pol[0],
       "audit: the live widening is a policy record", read_log(alog2)[-1500:])
    rc, out = run([CORDON, "allow", "--session", "nosuch", "x.test"], env=env_x)
    ok(rc == 125 and "connect to session nosuch" in out and "Hint:" in out,
       "cordon allow to a session that is not running explains itself", out)
    rc, out = run([CORDON, "allow", "x.test"], env=env_x)
    ok(rc == 125 and "no running cordon session" in out, "cordon allow with no session", out)

    # from inside the sandbox, the control socket is out of reach
    before = set(os.listdir(sock_dir)) if os.path.isdir(sock_dir) else set()
    p = spawn([CORDON, "run"] + base + ["--", "sh", "-c",
              f"while [ ! -e go2 ]; do sleep 0.1; done; curl -sS --max-time 10 http://evil.test:{port}/still"],
              cwd=ws, env=env_x, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    outer = None
    for _ in range(100):
        now = set(os.listdir(sock_dir)) - before if os.path.isdir(sock_dir) else set()
        if now:
            outer = sorted(now)[0][:-5]
            break
        time.sleep(0.1)
    rc, out = sandbox(ws, base, [CORDON, "allow", "--session", str(outer), "evil.test"], env=env_x)
    ok(rc != 0 and ("refused" in out or "Permission denied" in out or "not permitted" in out
                    or "No such file" in out),
       "`cordon allow` from inside a sandbox is refused", out)
    open(os.path.join(ws, "go2"), "w").close()
    try:
        out = p.communicate(timeout=30)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        stop(p)
        out = "timeout"
    ok("denied" in out and "/still" not in read_log(log),
       "...and the session's policy is unchanged (evil.test still denied)", out)

    # the first connection after start always succeeds (listener is up before exec)
    fails = 0
    for i in range(100):
        rc, out = sandbox(ws, base, ["curl", "-sS", "--max-time", "10", f"http://ok.test:{port}/first{i}"],
                          env=env, timeout=30)
        if rc != 0 or "hello from internet" not in out:
            fails += 1
            last = out
    ok(fails == 0, f"first connection after start: 100 of 100 succeed ({fails} failed)",
       last if fails else None)
    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
