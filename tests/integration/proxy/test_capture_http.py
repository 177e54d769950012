#!/usr/bin/env python3
"""Captured plain HTTP is read like a plain-HTTP forward: a client that
ignores the proxy variables (curl --noproxy '*') gets network.rules with
the same 403 and reason as one that uses the proxy, and every request read
(allowed or refused, captured or forwarded, plain or inside an intercepted
tunnel) has a record of its own: method, host, port, path, decision, rule,
status and bytes. A flood of them is bounded by the audit's rate like any
other net record.

As root the upstream listens on port 80 of the test network namespace (a
captured connection to port 80 is read whether or not a rule names its
host); as the unprivileged user it listens on loopback behind the
test-only switch, on a port the rules' host covers.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

PY = "/usr/bin/python3"


def net_records(path):
    return audit_records(path, "net")


def main():
    d = os.path.join(TMP, "capture_http")
    os.makedirs(d, exist_ok=True)
    if shutil.which("curl") is None:
        skip("captured plain HTTP", "curl is not installed")
        done()
    log = os.path.join(d, "upstream.log")
    ns = test_netns()
    if ns:
        upstream(log, bind="0.0.0.0", port=80, name="plain", ns=ns)
        ip, port, extra = NS_IP, 80, {}
    else:
        _, port = upstream(log, bind="127.0.0.1", name="plain")
        ip, extra = "127.0.0.1", {"CORDON_TEST_PROXY_LOOPBACK": "1"}
    hp = "" if port == 80 else f":{port}"
    policy = os.path.join(d, "policy.json")
    with open(policy, "w") as f:
        json.dump({"sandbox": {"network": {
            "allowedDomains": ["*.test:*"],
            "rules": [{"host": "rules.test", "methods": ["GET"], "paths": ["/ok/*"]}]}}}, f)
    alog = os.path.join(d, "audit.jsonl")
    base = ["--policy", policy, "--audit-log", alog]
    for h in ("rules.test", "free.test"):
        base += ["--resolve", f"{h}:{ip}"]
    env = test_env(**extra)
    ws = new_ws()

    def curl(args, captured):
        np = ["--noproxy", "*"] if captured else []
        return sandbox(ws, base, ["curl", "-sS", "--max-time", "20", "-w", "\ncode=%{http_code}\n"]
                       + np + args, env=env)[1]

    reason = (f"cordon: POST http://rules.test{hp}/other denied by network.rules: "
              "no rule for this host allows the method POST.")

    # ---- the attack: a client that ignores the proxy variables
    before = len(net_records(alog))
    out = curl(["-X", "POST", f"http://rules.test{hp}/other"], captured=True)
    ok("code=403" in out and reason in out,
       "captured: POST where the host's rule allows GET only is refused, 403 with the reason",
       out)
    ok("/other" not in read_log(log), "...and the upstream never saw it", read_log(log))
    recs = net_records(alog)[before:]
    deny = [r for r in recs if r.get("method") == "POST"]
    ok(len(deny) == 1 and deny[0].get("decision") == "deny" and deny[0].get("path") == "/other"
       and deny[0].get("status") == 403 and deny[0].get("protocol") == "transparent"
       and "rules.test: methods GET" in (deny[0].get("rule") or "")
       and "network.rules" in (deny[0].get("reason") or ""),
       "audit: the captured refusal is a request record (method, path, 403, rule, reason)", recs)

    # ---- control: the same request through the proxy is refused the same way
    out = curl(["-X", "POST", f"http://rules.test{hp}/other"], captured=False)
    ok("code=403" in out and reason in out,
       "control: through the explicit proxy the same request gets the same 403 and reason", out)

    # ---- an allowed GET arrives, captured and through the proxy
    before = len(net_records(alog))
    out = curl([f"http://rules.test{hp}/ok/captured"], captured=True)
    ok("hello from plain" in out and "code=200" in out and "plain GET /ok/captured" in read_log(log),
       "captured: an allowed GET arrives upstream (the upstream logs it)", out)
    out = curl([f"http://rules.test{hp}/ok/forwarded?token=s3cret"], captured=False)
    ok("hello from plain" in out and "plain GET /ok/forwarded" in read_log(log),
       "control: through the proxy too", out)
    recs = net_records(alog)[before:]
    reqs = {r.get("path"): r for r in recs if r.get("method") == "GET"}
    r = reqs.get("/ok/captured", {})
    ok(r.get("decision") == "allow" and r.get("status") == 200 and r.get("host") == "rules.test"
       and r.get("port") == port and r.get("protocol") == "transparent"
       and r.get("bytes_down", 0) > len("hello from plain") and r.get("bytes_up", 0) > 0
       and "rules.test: methods GET" in (r.get("rule") or "") and r.get("reason") is None,
       "audit: the allowed captured request has its record (status 200, bytes, the rule)", recs)
    r = reqs.get("/ok/forwarded", {})
    ok(r.get("decision") == "allow" and r.get("status") == 200 and r.get("protocol") == "http"
       and r.get("bytes_down", 0) > 0,
       "audit: ...and the forwarded one (protocol http), its path without the query", recs)
    ok(not any("s3cret" in json.dumps(x) for x in net_records(alog)),
       "audit: the query is in no net record")
    conns = [x for x in recs if x.get("method") is None and x.get("decision") == "allow"]
    ok(len(conns) == 2, "audit: each connection keeps its own record besides", recs)

    # ---- port 80 without a rule: still read, one record per request
    if port == 80:
        before = len(net_records(alog))
        out = curl(["http://free.test/a", "http://free.test/b"], captured=True)
        ok(out.count("hello from plain") == 2, "captured port 80, no rule: both requests served",
           out)
        recs = net_records(alog)[before:]
        paths = sorted(r.get("path") for r in recs if r.get("method") == "GET")
        conns = [x for x in recs if x.get("method") is None]
        ok(paths == ["/a", "/b"] and len(conns) == 1 and
           all(r.get("status") == 200 for r in recs if r.get("method")),
           "audit: one keep-alive connection, a record for each of its requests", recs)
    else:
        skip("captured port 80, no rule", "no network namespace (not root): no port 80 upstream")
        skip("audit: a record per request on port 80", "as above")

    # ---- a flood of allowed requests is rated like every net record
    flood = os.path.join(d, "flood.jsonl")
    n = 3300
    script = (
        "import http.client, sys\n"
        f"c = http.client.HTTPConnection('rules.test', {port}, timeout=20)\n"
        f"for i in range({n}):\n"
        "    c.request('GET', '/ok/f%d' % i)\n"
        "    c.getresponse().read()\n"
        "print('done', i + 1)\n")
    rc, out = sandbox(ws, ["--policy", policy, "--audit-log", flood, "--resolve",
                           f"rules.test:{ip}"], [PY, "-c", script], env=env, timeout=300)
    net, sup = audit_records(flood, "net"), audit_records(flood, "suppressed")
    counters = (audit_records(flood, "session_end") or [{}])[0].get("counters", {})
    ok(rc == 0 and f"done {n}" in out, f"{n} allowed captured requests on one connection", out[-300:])
    ok(len(net) == 3000 and all(r.get("method") == "GET" for r in net),
       f"the first 3000 request records are written ({len(net)})")
    ok(len(sup) == 1 and sup[0].get("kind") == "net" and sup[0].get("count", 0) >= n - 3000,
       "the rest are summarised in one suppressed record", sup)
    ok(counters.get("net", 0) >= n, "the session's counters count every request", counters)
    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
