#!/usr/bin/env python3
"""Ports and TLS names through `cordon proxy`:

- an allow rule without a port opens 80 and 443 only: CONNECT and SOCKS5 to
  allowed.test:22 (a live TCP service) are refused, and the service sees
  nothing; allowed.test:22 allows it (the service speaks first, as SSH does);
- on every port, a tunnel whose first bytes are a TLS ClientHello must name
  the tunnel's host: a mismatched name (even another allowed host) and a
  hello without a name are cut before anything reaches the upstream; the
  hello is read whole however it is cut (one byte per TCP segment, 64-byte
  TLS records); plain HTTP over CONNECT on a non-TLS port passes;
- curl over https through the proxy with its own test CA.

As root the services live in a network namespace (ports 22, 80, 8443); as
the unprivileged user they are on loopback (random ports) behind the
test-only loopback switch, and the first test shows the switch is needed.
"""
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403


def reframe(hello, size):
    """The records of hello re-cut into records of at most size bytes."""
    body, i = b"", 0
    while i + 5 <= len(hello):
        n = int.from_bytes(hello[i + 3:i + 5], "big")
        body += hello[i + 5:i + 5 + n]
        i += 5 + n
    out = b""
    for off in range(0, len(body), size):
        part = body[off:off + size]
        out += hello[:3] + len(part).to_bytes(2, "big") + part
    return out


def tls_via(pport, target, sni, path, ca, split=None, onebyte=False):
    """CONNECT target, then TLS naming sni (None: no server name); the
    ClientHello re-cut into records of split bytes, and sent one byte per
    segment if onebyte. Returns the response, or "refused: WHY"."""
    sock, st, head = http_connect(pport, target)
    if st != 200:
        return f"refused: CONNECT {st} {head}"
    ctx = ssl.create_default_context(cafile=ca)
    if sni is None:
        ctx.check_hostname = False
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    if split:
        hello = reframe(hello, split)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(15)
    try:
        if onebyte:
            for b in hello:
                sock.send(bytes([b]))
                time.sleep(0.001)
        else:
            sock.sendall(hello)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                data = out.read()
                if data:
                    sock.sendall(data)
                d = sock.recv(65536)
                if not d:
                    return "refused: connection closed during the handshake"
                inc.write(d)
        obj.write(f"GET {path} HTTP/1.1\r\nHost: {sni or 'x'}\r\nConnection: close\r\n\r\n"
                  .encode())
        sock.sendall(out.read())
        resp = b""
        while True:
            try:
                resp += obj.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            d = sock.recv(65536)
            if not d:
                break
            inc.write(d)
        return resp.decode(errors="replace")
    except (ssl.SSLError, OSError) as e:
        return "refused: " + repr(e)
    finally:
        sock.close()


def main():
    ns = test_netns()
    env = test_env() if ns else test_env(CORDON_TEST_PROXY_LOOPBACK="1")
    ip = NS_IP if ns else "127.0.0.1"
    bind = "0.0.0.0" if ns else "127.0.0.1"
    hlog, slog, tlog = (os.path.join(TMP, n) for n in ("http.log", "ssh.log", "tls.log"))
    _, http_port = upstream(hlog, bind=bind, port=80 if ns else 0, name="http", ns=ns)
    _, ssh_port = tcp_listener(slog, bind=bind, port=22 if ns else 0,
                               banner="SSH-2.0-cordon-test", ns=ns)
    tdir = os.path.join(TMP, "tls-ports")
    os.makedirs(tdir, exist_ok=True)
    ca, cert, key = make_ca(tdir, ["ok.test", "evil.test", "denied.test"])
    _, tls_port = upstream(tlog, bind=bind, port=8443 if ns else 0, name="tls", tls=(cert, key),
                           ns=ns)
    res = []
    for h in ("allowed.test", "ok.test", "evil.test", "denied.test"):
        res += ["--resolve", f"{h}:{ip}"]

    if not ns:
        p0, port0 = proxy(res + ["-a", f"allowed.test:{ssh_port}"])
        sock, st, body = http_connect(port0, f"allowed.test:{ssh_port}")
        ok(st == 403 and "loopback" in body,
           "without the test-only switch the loopback services are refused", body)
        stop(p0)

    # --- a rule without a port: 80 and 443 only
    p1, port1 = proxy(res + ["-v", "-a", "allowed.test", "-a", "ok.test"], env=env)
    sock, st, body = http_connect(port1, f"allowed.test:{ssh_port}")
    ok(st == 403 and f"port {ssh_port} is not allowed for allowed.test" in body
       and f"--allow-domain allowed.test:{ssh_port}" in body
       and "allows ports 80 and 443 only" in body,
       f"CONNECT allowed.test:{ssh_port} with rule allowed.test: 403, port not allowed, "
       "names --allow-domain allowed.test:PORT", body)
    sock, code = socks5(port1, "allowed.test", ssh_port)
    ok(code == 2, f"SOCKS5 allowed.test:{ssh_port} with rule allowed.test: reply 0x02", code)
    time.sleep(0.3)
    ok(read_log(slog) == "", "the service on that port saw no connection at all", read_log(slog))
    os.set_blocking(p1.stderr.fileno(), False)
    err = (p1.stderr.read() or b"").decode(errors="replace")
    ok(f"denied SOCKS5 allowed.test:{ssh_port}: port not allowed" in err,
       "--verbose names the reason for the SOCKS5 refusal", err[-1500:])
    rc, out = run(["curl", "-sS", "--max-time", "10", "-x", f"http://127.0.0.1:{port1}",
                   f"http://ok.test:{http_port}/portless"])
    if ns:
        ok("hello from http" in out, "control: the same rule allows port 80", out)
    else:
        ok(f"port {http_port} is not allowed" in out,
           "(user pass: the HTTP service is not on port 80, so it is refused too)", out)

    # --- host:PORT allows exactly that port; the service may speak first
    p2, port2 = proxy(res + ["-a", f"allowed.test:{ssh_port}"], env=env)
    # by hand: the banner may come in the same segment as the 200
    sock = socket.create_connection(("127.0.0.1", port2), timeout=10)
    sock.sendall(f"CONNECT allowed.test:{ssh_port} HTTP/1.1\r\nHost: allowed.test:{ssh_port}\r\n\r\n"
                 .encode())
    data = b""
    while b"\r\n\r\n" not in data:
        d = sock.recv(4096)
        if not d:
            break
        data += d
    head, _, banner = data.partition(b"\r\n\r\n")
    st = 200 if head.startswith(b"HTTP/1.1 200") else 0
    if st:
        sock.settimeout(10)
        try:
            while b"\n" not in banner:
                d = sock.recv(4096)
                if not d:
                    break
                banner += d
            sock.sendall(b"SSH-2.0-client\r\n")
            echo = sock.recv(4096)
        except OSError as e:
            echo = repr(e).encode()
    else:
        echo = b""
    sock.close()
    ok(st == 200 and banner.startswith(b"SSH-2.0-cordon-test") and b"echo: SSH-2.0-client" in echo,
       f"allowed.test:{ssh_port} allows it: the banner comes first, the client's line goes through",
       (st, banner, echo))
    ok("line SSH-2.0-client" in read_log(slog), "the service saw the client's line", read_log(slog))
    sock, st, body = http_connect(port2, f"allowed.test:{tls_port}")
    ok(st == 403 and f"port {tls_port} is not allowed" in body,
       f"allowed.test:{ssh_port} does not open another port", body)
    stop(p2)

    # --- TLS names on a non-443 port
    rules = ["-v", "-a", f"ok.test:{tls_port}", "-a", f"evil.test:{tls_port}",
             "-a", f"ok.test:{http_port}", "-a", f"{ip}/32:{tls_port}", "-d", "denied.test"]
    p3, port3 = proxy(res + rules, env=env)
    r = tls_via(port3, f"ok.test:{tls_port}", "ok.test", "/sni-ok", ca)
    ok("200 OK" in r and "hello from tls" in r,
       f"control: TLS through CONNECT ok.test:{tls_port} naming ok.test works", r)
    r = tls_via(port3, f"ok.test:{tls_port}", "evil.test", "/sni-evil", ca)
    ok(r.startswith("refused") and "ACCESS_DENIED" in r.upper().replace(" ", "_"),
       f"CONNECT ok.test:{tls_port} with SNI evil.test (itself allowed) is cut: TLS alert "
       "access denied", r)
    ok("/sni-evil" not in read_log(tlog), "...the upstream got no request", read_log(tlog))
    r = tls_via(port3, f"ok.test:{tls_port}", None, "/no-sni", ca)
    ok(r.startswith("refused"), "TLS without a server name to a name target is refused", r)
    ok("/no-sni" not in read_log(tlog), "...the upstream got no request", read_log(tlog))
    r = tls_via(port3, f"ok.test:{tls_port}", "ok.test", "/one-byte", ca, split=64, onebyte=True)
    ok("200 OK" in r and "/one-byte" in read_log(tlog),
       "a ClientHello in 64-byte TLS records, one byte per TCP segment, is read whole: passes", r)
    r = tls_via(port3, f"ok.test:{tls_port}", "evil.test", "/one-byte-evil", ca, split=64,
                onebyte=True)
    ok(r.startswith("refused") and "/one-byte-evil" not in read_log(tlog),
       "...and the same with SNI evil.test is refused", r)
    # an IP-literal target: allowed by an address rule, whatever name it serves
    r = tls_via(port3, f"{ip}:{tls_port}", "ok.test", "/ip-target", ca)
    ok("200 OK" in r, "IP-literal target allowed by CIDR: a TLS name is not compared", r)
    r = tls_via(port3, f"{ip}:{tls_port}", "denied.test", "/ip-denied", ca)
    ok(r.startswith("refused") and "/ip-denied" not in read_log(tlog),
       "...but a server name a deny rule names is refused", r)
    os.set_blocking(p3.stderr.fileno(), False)
    err = (p3.stderr.read() or b"").decode(errors="replace")
    ok("TLS server name evil.test does not match the tunnel's host ok.test" in err
       and "TLS without a server name" in err, "--verbose explains the TLS refusals", err[-2000:])
    # plain HTTP through CONNECT on an allowed port is not TLS: untouched
    rc, out = run(["curl", "-sS", "-p", "--max-time", "10", "-x", f"http://127.0.0.1:{port3}",
                   f"http://ok.test:{http_port}/plain-connect"])
    ok("hello from http" in out, f"plain HTTP through CONNECT ok.test:{http_port} passes", out)
    rc, out = run(["curl", "-sS", "--max-time", "10", "--cacert", ca, "-x",
                   f"http://127.0.0.1:{port3}", f"https://ok.test:{tls_port}/curl-tls"])
    ok("hello from tls" in out, "curl https through the proxy (test CA)", out)
    rc, out = run(["curl", "-sS", "--max-time", "10", "--cacert", ca, "-x",
                   f"socks5h://127.0.0.1:{port3}", f"https://ok.test:{tls_port}/curl-socks"])
    ok("hello from tls" in out, "curl https through SOCKS5 (test CA)", out)
    # a ClientHello begun and never finished is cut (PX_TIMEOUT_HELLO_MS, 10 s)
    sock, st, _ = http_connect(port3, f"ok.test:{tls_port}")
    got = b""
    if sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        sock.settimeout(30)
        try:
            got = sock.recv(100)
        except OSError as e:
            got = repr(e).encode()
        sock.close()
    ok(got[:1] == b"\x15", "an unfinished ClientHello is cut after the hello timeout (alert)", got)
    stop(p3)
    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
