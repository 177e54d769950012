#!/usr/bin/env python3
"""`cordon proxy` scenarios: policy, address checks after resolution, every
spelling of loopback/metadata literals, SNI, SOCKS5, robustness.

As root the upstreams live in a network namespace behind a veth pair
(198.18.0.2, and a private 10.255.255.2 listener). As the unprivileged user
they live on loopback, reachable only through the test-only switch
CORDON_TEST_PROXY_LOOPBACK=1 — and every test that uses the switch first
shows that without it the same request is refused.
"""
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

LO_SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "0x7f.1", "127.1",
                "0177.0.0.1", "127.0.1", "[::1]", "[::ffff:127.0.0.1]", "[::127.0.0.1]",
                "[::ffff:7f00:1]", "127.0.0.1.", "[0:0:0:0:0:0:0:1]", "0.0.0.0", "0",
                # full-width digits and ideographic full stops: UTS #46 maps them to ASCII
                "\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11", "\uff11\uff12\uff17.1"]
MD_SPELLINGS = ["169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376",
                "169.254.43518", "0xa9.0xfe.0xa9.0xfe", "[::ffff:169.254.169.254]",
                "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]", "[fd00:ec2::254]",
                "\uff11\uff16\uff19\uff0e\uff12\uff15\uff14.169.254"]


def main():
    log = os.path.join(TMP, "standalone-upstream.log")  # test_sandbox.py has its own
    lo_log = os.path.join(TMP, "lo-upstream.log")
    ns = test_netns()
    # an upstream on the host's loopback: the thing loopback refusal protects
    _, lo_port = upstream(lo_log, bind="127.0.0.1", name="loopback")
    if ns:
        _, up_port = upstream(log, bind="0.0.0.0", port=80, name="internet", ns=ns)
        up_ip = NS_IP
    else:
        _, up_port = upstream(log, bind="127.0.0.1", name="internet")
        up_ip = "127.0.0.1"

    common = ["--resolve", f"ok.test:{up_ip}", "--resolve", f"a.example.test:{up_ip}",
              "--resolve", f"evil-example.test:{up_ip}", "--resolve",
              f"example.test.evil.test:{up_ip}", "--resolve", f"example.test:{up_ip}",
              "--resolve", f"evil.test:{up_ip}", "--resolve", f"lo.test:127.0.0.1",
              "--resolve", f"lo-port.test:127.0.0.1", "--resolve", "md.test:169.254.169.254",
              "--resolve", f"priv.test:{PRIV_IP}", "--resolve", f"mixed.test:{up_ip}",
              "--resolve", "mixed.test:127.0.0.1",
              # ":*": the upstreams listen on ports other than 80 and 443
              "-a", "ok.test:*", "-a", "*.example.test:*", "-a", "lo.test:*",
              "-a", "lo-port.test:*", "-a", "md.test:*", "-a", "priv.test:*", "-a", "mixed.test:*",
              "-a", "0.0.0.0/0:*", "-a", "[::]/0:*", "-d", "deny.ok.test"]
    # A: no switch. B: loopback switch (user pass: the "internet" is on loopback).
    pa, port_a = proxy(common + ["-v"])
    pb, port_b = proxy(common, env=test_env(CORDON_TEST_PROXY_LOOPBACK="1"))
    port = port_a if ns else port_b
    curl = ["curl", "-sS", "--max-time", "10"]

    # --- the switch is needed (user pass) / loopback upstreams refused (both)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", f"http://lo.test:{lo_port}/x"])
    ok(rc == 0 and "loopback" in out and "lo.test" in out,
       "a name resolving to 127.0.0.1 is refused (403 names the address and why)", out)
    ok("/x" not in read_log(lo_log), "the loopback listener received nothing", read_log(lo_log))
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_b}", f"http://lo.test:{lo_port}/via-switch"])
    ok(rc == 0 and "hello from loopback" in out,
       "control: the same request passes with the test-only loopback switch", out)
    ok("/via-switch" in read_log(lo_log), "control: the loopback listener saw it")
    rc, out = run(curl + ["-o", "/dev/null", "-w", "%{http_code}", "-x",
                          f"http://127.0.0.1:{port_a}", f"http://lo.test:{lo_port}/x"])
    ok(out.strip() == "403", "the refusal is an HTTP 403", out)

    # --- allowed name: CONNECT, plain HTTP, SOCKS5
    rc, out = run(curl + ["-p", "-x", f"http://127.0.0.1:{port}", f"http://ok.test:{up_port}/connect"])
    ok(rc == 0 and "hello from internet" in out, "allowed name through CONNECT (curl -p)", out)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port}", f"http://ok.test:{up_port}/plain"])
    ok(rc == 0 and "hello from internet" in out, "allowed name through plain HTTP", out)
    rc, out = run(curl + ["-x", f"socks5h://127.0.0.1:{port}", f"http://ok.test:{up_port}/socks"])
    ok(rc == 0 and "hello from internet" in out, "allowed name through SOCKS5 (socks5h)", out)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port}", f"http://ok.test:{up_port}/chunked"])
    ok(rc == 0 and "chunked body from internet" in out, "chunked response relayed", out)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port}", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", "x" * 100000, f"http://ok.test:{up_port}/post"])
    ok(rc == 0 and out.startswith("echo xxx") and len(out) == 100005, "chunked 100 kB POST relayed",
       out[:200])
    up = read_log(log)
    ok(all(p in up for p in ("/connect", "/plain", "/socks", "/chunked", "/post")),
       "the upstream saw all of them", up)

    # keep-alive: three requests on one client connection, then a denied one
    rc, out = run(curl + ["-v", "-x", f"http://127.0.0.1:{port}", f"http://ok.test:{up_port}/k1",
                          f"http://ok.test:{up_port}/k2", f"http://a.example.test:{up_port}/k3"])
    ok(rc == 0 and out.count("hello from internet") == 3 and "Re-using existing connection" in out,
       "keep-alive: several requests on one proxy connection", out)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET http://ok.test:{up_port}/ka1 HTTP/1.1\r\nHost: ok.test:{up_port}\r\n\r\n"
              f"GET http://evil.test:{up_port}/ka2 HTTP/1.1\r\nHost: evil.test:{up_port}\r\n\r\n".encode())
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    s.close()
    text = data.decode(errors="replace")
    ok("hello from internet" in text and "403 Forbidden" in text and "/ka2" not in read_log(log),
       "every request on a keep-alive connection is checked (pipelined denied one gets 403)", text)

    # --- denied names explain themselves
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port}", f"http://evil.test:{up_port}/evil"])
    ok("denied" in out and "evil.test" in out and "--allow-domain evil.test" in out,
       "denied name: 403 body names the host and how to allow it", out)
    sock, status, body = http_connect(port, f"evil.test:{up_port}")
    ok(status == 403 and "evil.test" in body and "X-Cordon: denied" in body,
       "denied CONNECT: 403 with the explanation", body)
    sock, code = socks5(port, "evil.test", up_port)
    ok(code == 2, "denied SOCKS5: reply 0x02 (not allowed by ruleset)", code)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port}", f"http://deny.ok.test:{up_port}/"])
    ok("deny.ok.test" in out and "denied by rule" in out, "a deny rule is named in the 403", out)
    ok("/evil" not in read_log(log), "the upstream never saw a denied request")
    run(curl + ["-x", f"http://127.0.0.1:{port_a}", f"http://evil.test:{up_port}/evil-a"])
    err = pa.stderr
    os.set_blocking(err.fileno(), False)
    verbose = (err.read() or b"").decode(errors="replace")
    ok("denied HTTP evil.test" in verbose, "--verbose explains denials on stderr", verbose[-2000:])

    # --- wildcards
    for host, want in (("a.example.test", True), ("example.test", False),
                       ("evil-example.test", False), ("example.test.evil.test", False)):
        st, text = http_get_raw(port, f"http://{host}:{up_port}/wild-{host}")
        ok((st == 200) == want, f"*.example.test {'matches' if want else 'does not match'} {host}",
           text[:300])
    ok("/wild-evil-example.test" not in read_log(log), "evil-example.test reached nothing")

    # --- literals: every spelling of loopback and metadata, despite 0.0.0.0/0
    for sp in LO_SPELLINGS:
        _, st, body = http_connect(port_a, f"{sp}:{lo_port}")
        ok(st == 403 and ("loopback" in body or "unspecified" in body),
           f"CONNECT {sp}:PORT refused as loopback", body)
    for sp in MD_SPELLINGS:
        _, st, body = http_connect(port_a, f"{sp}:80")
        ok(st == 403 and ("metadata" in body or "link-local" in body or "NAT64" in body),
           f"CONNECT {sp}:80 refused as metadata", body)
    ok("/x" not in read_log(lo_log).replace("/via-switch", ""), "loopback listener still untouched")
    if ns:
        sock, st, body = http_connect(port_a, f"{NS_IP}:{up_port}")
        ok(st == 200, "control: a public literal (198.18.0.2) passes the same rule", body)
        if sock:
            sock.close()
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", "http://md.test/latest/meta-data"])
    ok("cloud metadata" in out and "169.254.169.254" in out,
       "a name resolving to 169.254.169.254 is refused as cloud metadata", out)
    rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", f"http://mixed.test:{up_port}/mixed"])
    ok("loopback" in out and "/mixed" not in read_log(log),
       "a name with one public and one loopback address is refused", out)

    # --- private range: refused although a listener is there; allowed by an explicit CIDR
    if ns:
        plog = os.path.join(TMP, "priv.log")
        upstream(plog, bind=PRIV_IP, port=8080, name="private", ns=ns)
        rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", "http://priv.test:8080/p1"])
        ok("private" in out and "/p1" not in read_log(plog),
           "a name resolving to 10.255.255.2 is refused, its listener saw nothing", out)
        rc, out = run(curl + ["http://" + PRIV_IP + ":8080/direct"])
        ok("hello from private" in out, "control: the private listener answers directly", out)
        pc, port_c = proxy(["--resolve", f"priv.test:{PRIV_IP}", "-a", "priv.test:8080",
                            "-a", PRIV_IP + "/32:8080"])
        rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_c}", "http://priv.test:8080/p2"])
        ok("hello from private" in out, "a CIDR inside the private range allows it explicitly", out)
        stop(pc)
    else:
        skip("private range with a live listener", "needs root for the network namespace")

    # --- SNI must match the CONNECT host (port 443)
    if ns:
        tdir = os.path.join(TMP, "tls")
        os.makedirs(tdir, exist_ok=True)
        ca, cert, key = make_ca(tdir, ["ok.test", "evil.test"])
        tlog = os.path.join(TMP, "tls.log")
        upstream(tlog, bind="0.0.0.0", port=443, name="tls", tls=(cert, key), ns=ns)
        ctx = ssl.create_default_context(cafile=ca)
        sock, st, _ = http_connect(port_a, "ok.test:443")
        try:
            t = ctx.wrap_socket(sock, server_hostname="ok.test")
            t.sendall(b"GET /sni-ok HTTP/1.1\r\nHost: ok.test\r\nConnection: close\r\n\r\n")
            resp = t.recv(4096).decode(errors="replace")
            t.close()
        except Exception as e:
            resp = repr(e)
        ok("200 OK" in resp, "control: TLS through CONNECT with a matching SNI works", resp)
        sock, st, _ = http_connect(port_a, "ok.test:443")
        try:
            ctx2 = ssl.create_default_context(cafile=ca)
            t = ctx2.wrap_socket(sock, server_hostname="evil.test")
            t.sendall(b"GET /sni-evil HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n")
            resp = t.recv(4096).decode(errors="replace")
        except Exception as e:
            resp = "refused: " + repr(e)
        ok(resp.startswith("refused") and "/sni-evil" not in read_log(tlog),
           "CONNECT ok.test:443 with SNI evil.test is cut before reaching the upstream", resp)
        rc, out = run(curl + ["--cacert", ca, "-x", f"http://127.0.0.1:{port_a}",
                              "https://ok.test/curl-tls"])
        ok("hello from tls" in out, "curl https through CONNECT", out)
    else:
        skip("SNI mismatch refused", "needs root (port 443 in a network namespace)")

    # --- SOCKS5 details
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x05\x01\x00\x05\x02\x00\x01\xc6\x12\x00\x02\x00\x50")
    rep = s.recv(12)
    s.close()
    ok(rep[:2] == b"\x05\x00" and rep[2:4] == b"\x05\x07", "SOCKS5 BIND refused with 0x07", rep)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x05\x01\x02")
    rep = s.recv(4)
    s.close()
    ok(rep == b"\x05\xff", "SOCKS5 without no-auth offered: 0xFF", rep)

    # --- robustness: bad input never kills the proxy, no fd leak
    pid = pa.pid
    fds_before = len(os.listdir(f"/proc/{pid}/fd"))
    for junk in (b"\x00" * 100, b"GET http://ok.test/ HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 1\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n", b"X" * 20000, b"\x16\x03\x01\xff\xff",
                 b"CONNECT :0 HTTP/1.1\r\n\r\n", b"\x05\x01\x00\x05\x01\x00\x03\x00"):
        try:
            s = socket.create_connection(("127.0.0.1", port_a), timeout=5)
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
            s.close()
        except OSError:
            pass
    st, text = http_get_raw(port_a, f"http://ok.test:{up_port}/smuggle", host_header="other.test")
    ok(st == 400 and "Host header does not match" in text, "Host must match the request target", text)
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port_a), timeout=5)
        s.close()
    s = socket.create_connection(("127.0.0.1", port_a), timeout=5)
    s.sendall(b"GET http://ok.test/ HTTP/1.1\r\nHost: ok.test\r\nX: " + b"a" * 17000 + b"\r\n\r\n")
    big = s.recv(4096).decode(errors="replace")
    s.close()
    ok("431" in big, "a request head over 16 kB gets 431", big[:200])
    if ns:
        rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", f"http://ok.test:{up_port}/alive"])
        ok("hello from internet" in out, "the proxy still serves after hostile input", out)
    else:
        rc, out = run(curl + ["-x", f"http://127.0.0.1:{port_a}", f"http://evil.test:{up_port}/alive"])
        ok("denied" in out, "the proxy still serves after hostile input", out)
    for _ in range(50):
        fds_after = len(os.listdir(f"/proc/{pid}/fd"))
        if fds_after <= fds_before:
            break
        time.sleep(0.1)
    ok(fds_after <= fds_before, f"no fd leak ({fds_before} fds before, {fds_after} after)")
    ok(pa.poll() is None and pb.poll() is None, "both proxies still running")

    # --- limits: the connection count, refusals beyond it, then accept pauses; EMFILE
    pl, port_l = proxy(["-a", "ok.test", "--max-connections", "5"])
    held = [socket.create_connection(("127.0.0.1", port_l), timeout=5) for _ in range(5)]
    time.sleep(0.3)

    def ask(s, host="evil.test"):
        s.sendall(f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        try:
            return s.recv(4096)
        except socket.timeout:
            return None

    extra = socket.create_connection(("127.0.0.1", port_l), timeout=5)
    got = ask(extra) or b""
    extra.close()
    ok(b"503" in got and b"too many proxy connections" in got and b"5 open" in got
       and b"X-Cordon: limit" in got,
       "beyond --max-connections 5 a sixth connection is refused with 503 and the reason", got)
    got = ask(held[0]) or b""
    ok(b"403" in got and b"evil.test" in got,
       "control: the five connections within the limit are served (a policy answer)", got)
    held[0].close()
    held[0] = socket.create_connection(("127.0.0.1", port_l), timeout=5)
    # 64 more are only held to be refused; beyond them accept pauses (backlog)
    refusing = [socket.create_connection(("127.0.0.1", port_l), timeout=5) for _ in range(64)]
    time.sleep(0.3)
    waiting = socket.create_connection(("127.0.0.1", port_l), timeout=5)
    waiting.settimeout(1.0)
    got = ask(waiting)
    ok(got is None, "beyond the limit and the 64 refusal slots a connection waits in the backlog",
       got)
    refusing[0].close()
    waiting.settimeout(10)
    got = b""
    try:
        got = waiting.recv(4096)
    except OSError as e:
        got = repr(e).encode()
    ok(b"503" in got, "...and is refused with 503 once a refusal slot frees", got)
    for h in held + refusing[1:] + [waiting]:
        h.close()
    stop(pl)
    err = pl.stderr.read().decode(errors="replace")
    ok(err.count("limit proxy.connections reached") == 1 and "5 proxy connections open" in err,
       "the bound is reported once (stderr of cordon proxy)", err[-1500:])
    rc, out = run([CORDON, "proxy", "--max-connections", "0"])
    ok(rc == 125 and "max-connections" in out, "--max-connections 0 is a usage error", out)

    pe, port_e = proxy(["-a", "ok.test"], wrap=["prlimit", "--nofile=24:24"])
    many = []
    for _ in range(60):
        try:
            many.append(socket.create_connection(("127.0.0.1", port_e), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    ok(pe.poll() is None, f"out of fds (limit 24, {len(many)} clients): the proxy keeps running")
    for h in many:
        h.close()
    got = b""
    for _ in range(50):
        try:
            st, text = http_get_raw(port_e, "http://evil.test/after-emfile")
            got = text.encode()
            if st == 403:
                break
        except OSError:
            pass
        time.sleep(0.1)
    ok(b"403" in got, "...and serves again once fds are free (accept resumed)", got[:300])
    stop(pe)
    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
