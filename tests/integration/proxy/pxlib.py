"""Helpers for the proxy suites: TAP output, processes ended by pid, a test
network namespace with a veth pair ("the internet", root only), upstream
servers, the standalone proxy, raw CONNECT/SOCKS5 clients.

Nothing here talks to any address but loopback and the test's own
namespace (198.18.0.0/15 and TEST-NET ranges).
"""
import atexit
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

CORDON = os.environ.get("CORDON", "")
TMP = os.environ.get("CORDON_TEST_TMP", "")
AS = os.environ.get("CORDON_TEST_AS", "user")
HERE = os.path.dirname(os.path.abspath(__file__))
IS_ROOT = os.geteuid() == 0

HOST_IP = "198.18.0.1"     # host side of the veth pair
NS_IP = "198.18.0.2"       # the test "internet" host
PRIV_IP = "10.255.255.2"   # a private address with a live listener in the namespace

_n = 0
_failed = 0
_procs = []
_netns = []


def ok(cond, desc, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} - {desc}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_n} - {desc}", flush=True)
        if diag:
            for line in str(diag).splitlines()[:25]:
                print(f"#   {line}", flush=True)
    return cond


def skip(desc, why):
    global _n
    _n += 1
    print(f"ok {_n} - {desc} # SKIP {why}", flush=True)


def done():
    print(f"1..{_n}", flush=True)
    sys.exit(1 if _failed else 0)


def _cleanup():
    for p in _procs:
        try:
            p.kill()
            p.wait(timeout=5)
        except Exception:
            pass
    for ns in _netns:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "link", "del", "vh" + ns[-8:]], stderr=subprocess.DEVNULL)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def spawn(cmd, **kw):
    """Start a process, recorded to be killed by pid at exit."""
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def stop(p):
    try:
        p.kill()
        p.wait(timeout=5)
    except Exception:
        pass


def run(cmd, timeout=60, env=None, cwd=None, input=None):
    """Run to completion; returns (rc, stdout+stderr as text)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           env=env, cwd=cwd, input=input)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or b"").decode(errors="replace") + "\n[timeout]"


def test_env(**extra):
    env = dict(os.environ)
    env["CORDON_TEST_HOOKS"] = "1"
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
              "all_proxy", "NO_PROXY", "no_proxy"):
        env.pop(k, None)
    env.update(extra)
    return env


def test_netns():
    """The test's own network namespace (root), or None (a plain user: the
    upstreams then listen on loopback). A namespace that cannot be made is a
    failure: the suite ends there."""
    if not IS_ROOT:
        return None
    try:
        return NetNS()
    except Exception as e:
        ok(False, "create the test network namespace", e)
        done()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_line(p, pattern, timeout=10):
    """Read p.stdout until a line matches; returns the match or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            return None
        m = re.search(pattern, line.decode(errors="replace"))
        if m:
            return m
    return None


class NetNS:
    """A network namespace joined to the host by a veth pair (root only)."""

    def __init__(self):
        self.name = f"cordon-t{os.getpid()}"
        tag = self.name[-8:]
        self.vh, self.vn = "vh" + tag, "vn" + tag
        _netns.append(self.name)
        cmds = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.vh, "type", "veth", "peer", "name", self.vn],
            ["ip", "link", "set", self.vn, "netns", self.name],
            ["ip", "addr", "add", HOST_IP + "/30", "dev", self.vh],
            ["ip", "link", "set", self.vh, "up"],
            ["ip", "route", "replace", PRIV_IP + "/32", "dev", self.vh],
            self.ex(["ip", "addr", "add", NS_IP + "/30", "dev", self.vn]),
            self.ex(["ip", "addr", "add", PRIV_IP + "/32", "dev", self.vn]),
            self.ex(["ip", "link", "set", self.vn, "up"]),
            self.ex(["ip", "link", "set", "lo", "up"]),
            self.ex(["ip", "route", "add", "default", "via", HOST_IP]),
        ]
        for c in cmds:
            rc, out = run(c, timeout=10)
            if rc != 0:
                raise RuntimeError(f"{' '.join(c)}: {out}")

    def ex(self, cmd):
        return ["ip", "netns", "exec", self.name] + cmd

    def close(self):
        run(["ip", "netns", "del", self.name], timeout=10)
        run(["ip", "link", "del", self.vh], timeout=10)


def upstream(log, bind="127.0.0.1", port=0, name="upstream", tls=None, git_root=None, ns=None,
             basic=None):
    """Start tests/integration/proxy/upstream.py; returns (proc, port). basic
    (USER:PASSWORD) guards the paths under /auth/."""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cmd = [py, os.path.join(HERE, "upstream.py"), "--bind", bind, "--port",
           str(port), "--log", log, "--name", name]
    if tls:
        cmd += ["--tls", tls[0], tls[1]]
    if git_root:
        cmd += ["--git-root", git_root]
    if basic:
        cmd += ["--basic", basic]
    if ns is not None:
        cmd = ns.ex(cmd)
    p = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = wait_line(p, r"^ready (\d+)")
    if m is None:
        raise RuntimeError("upstream did not start: " + " ".join(cmd))
    if ns is not None:
        # the veth link may take a moment to carry traffic: wait until it does
        ip = NS_IP if bind == "0.0.0.0" else bind
        for _ in range(100):
            try:
                socket.create_connection((ip, int(m.group(1))), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
    return p, int(m.group(1))


def tcp_listener(log, bind="127.0.0.1", port=0, banner="", sink=False, ns=None):
    """Start tests/integration/proxy/tcplisten.py; returns (proc, port)."""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cmd = [py, os.path.join(HERE, "tcplisten.py"), "--bind", bind, "--port", str(port),
           "--log", log]
    if banner:
        cmd += ["--banner", banner]
    if sink:
        cmd += ["--sink"]
    if ns is not None:
        cmd = ns.ex(cmd)
    p = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = wait_line(p, r"^ready (\d+)")
    if m is None:
        raise RuntimeError("tcp listener did not start: " + " ".join(cmd))
    return p, int(m.group(1))


def proxy(args, env=None, wrap=()):
    """Start `cordon proxy --listen 127.0.0.1:0 ARGS`; returns (proc, port)."""
    p = spawn(list(wrap) + [CORDON, "proxy", "--listen", "127.0.0.1:0"] + args, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, env=env or test_env())
    m = wait_line(p, r"listening on 127\.0\.0\.1:(\d+)")
    if m is None:
        raise RuntimeError("cordon proxy did not start: " + p.stderr.read().decode())
    return p, int(m.group(1))


def http_connect(pport, target, timeout=10):
    """Send CONNECT target; returns (socket or None, status, response head+body text)."""
    s = socket.create_connection(("127.0.0.1", pport), timeout=timeout)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    head = data.decode(errors="replace")
    m = re.match(r"HTTP/1\.\d (\d+)", head)
    status = int(m.group(1)) if m else 0
    if status != 200:
        # read the rest of the denial body
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                head += d.decode(errors="replace")
        except OSError:
            pass
        s.close()
        return None, status, head
    return s, status, head


def http_get_raw(pport, url, host_header=None, timeout=10):
    """Plain-HTTP proxy request with a raw socket; returns (status, text)."""
    hh = host_header if host_header is not None else re.sub(r"^http://([^/]*).*$", r"\1", url)
    s = socket.create_connection(("127.0.0.1", pport), timeout=timeout)
    s.sendall(f"GET {url} HTTP/1.1\r\nHost: {hh}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    text = data.decode(errors="replace")
    m = re.match(r"HTTP/1\.\d (\d+)", text)
    return (int(m.group(1)) if m else 0), text


def socks5(pport, host, port, timeout=10):
    """SOCKS5 CONNECT by domain name; returns (socket or None, reply code)."""
    s = socket.create_connection(("127.0.0.1", pport), timeout=timeout)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        s.close()
        return None, -1
    hb = host.encode()
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(hb)]) + hb + port.to_bytes(2, "big"))
    rep = b""
    while len(rep) < 10:
        d = s.recv(10 - len(rep))
        if not d:
            break
        rep += d
    code = rep[1] if len(rep) >= 2 else -1
    if code != 0:
        s.close()
        return None, code
    return s, code


def read_log(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def audit_records(path, kind=None):
    """The records of an audit log (of one type when kind is set); [] if unreadable."""
    import json
    try:
        with open(path) as f:
            recs = [json.loads(line) for line in f]
    except (OSError, ValueError):
        return []
    return [r for r in recs if kind is None or r.get("type") == kind]


def make_ca(d, names):
    """A CA and a server certificate for names (list); returns (ca, cert, key)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = os.path.join(d, "srv.key"), os.path.join(d, "srv.csr"), os.path.join(d, "srv.pem")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
    steps = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=cordon test CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=" + names[0]],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ]
    for c in steps:
        rc, out = run(c, timeout=60)
        if rc != 0:
            raise RuntimeError(out)
    os.chmod(ca, 0o644)
    return ca, cert, key


def cordon_dirs(d):
    """A configuration directory (for CORDON_TEST_CONFIG_DIR: the CA lives
    there) and a state directory (XDG_STATE_HOME) of a test's own, under d;
    returns (cfg, state)."""
    cfg = os.path.join(d, "config", "cordon")
    os.makedirs(os.path.dirname(cfg), exist_ok=True)
    return cfg, os.path.join(d, "state")


def new_ws():
    d = os.path.join(TMP, f"ws.{os.getpid()}.{time.monotonic_ns()}")
    os.mkdir(d)
    os.chmod(d, 0o755)
    return d


def sandbox(ws, args, cmd, env=None, timeout=60):
    """cordon run ARGS -- CMD in workspace ws; returns (rc, output)."""
    return run([CORDON, "run"] + args + ["--"] + cmd, cwd=ws, env=env or test_env(),
               timeout=timeout)
