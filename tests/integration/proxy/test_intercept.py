#!/usr/bin/env python3
"""TLS interception inside `cordon run`, for the hosts network.rules and
credentials.inject name: the credential stays on the host (a placeholder
inside, the real value only on requests to its host), method/path rules
answered with a 403 that names the rule, upstream certificates verified
against the host's store, the CA key out of the sandbox's reach, real
clients (curl, python, node, git) trusting the CA with no flags, and every
other host an opaque tunnel.

Upstreams run in the test network namespace (root) or on loopback (the
unprivileged pass, with the test-only loopback switch); their certificates
come from a test CA made here, which stands for the host's trust store
(SSL_CERT_FILE of the `cordon run` process).
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

PY = "/usr/bin/python3"
SECRET = "s3cr3t-0f-the-h0st-4242"
GIT_SECRET = "ghp-t0ken-0f-the-h0st-7777"
FILE_SECRET = "f1le-s3cret-0f-the-h0st-9191"
BASIC_USER = "x-access-token"


def git_repo(d):
    """A bare repository under d/srv/repo.git; returns the root, or None."""
    src, root = os.path.join(d, "src"), os.path.join(d, "srv")
    genv = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.test",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.test", HOME=d)
    for c in (["git", "init", "-q", "-b", "main", src],
              ["sh", "-c", f"echo hello-from-git > {src}/README && git -C {src} add README && "
                           f"git -C {src} commit -qm init"],
              ["git", "clone", "-q", "--bare", src, os.path.join(root, "repo.git")]):
        rc, out = run(c, env=genv)
        if rc != 0:
            return None
    return root


def records(path, kind):
    return audit_records(path, kind)


def main():
    d = os.path.join(TMP, "intercept")
    os.makedirs(d, exist_ok=True)
    good = os.path.join(d, "good")
    evil = os.path.join(d, "evil")
    os.makedirs(good, exist_ok=True)
    os.makedirs(evil, exist_ok=True)
    names = ["api.test", "other.test", "rules.test", "git.test", "bad.test", "file.test"]
    ca, cert, key = make_ca(good, names)
    eca, ecert, ekey = make_ca(evil, ["bad.test"])
    for f in (cert, key, ecert, ekey):
        os.chmod(f, 0o644)
    groot = git_repo(os.path.join(d, "git"))
    log = os.path.join(d, "upstream.log")
    ns = test_netns()
    if ns:
        upstream(log, bind="0.0.0.0", port=443, name="good", tls=(cert, key), git_root=groot,
                 ns=ns, basic=f"{BASIC_USER}:{GIT_SECRET}")
        upstream(log, bind="0.0.0.0", port=8443, name="bad", tls=(ecert, ekey), ns=ns)
        upstream(log, bind="0.0.0.0", port=80, name="plain", ns=ns)
        ip, tls_port, bad_port, plain_port = NS_IP, 443, 8443, 80
        extra = {}
    else:
        _, tls_port = upstream(log, bind="127.0.0.1", name="good", tls=(cert, key),
                               git_root=groot, basic=f"{BASIC_USER}:{GIT_SECRET}")
        _, bad_port = upstream(log, bind="127.0.0.1", name="bad", tls=(ecert, ekey))
        _, plain_port = upstream(log, bind="127.0.0.1", name="plain")
        ip = "127.0.0.1"
        extra = {"CORDON_TEST_PROXY_LOOPBACK": "1"}

    def url(host, path, scheme="https", port=None):
        p = port or {"https": tls_port, "http": plain_port}[scheme]
        dflt = {"https": 443, "http": 80}[scheme]
        return f"{scheme}://{host}{'' if p == dflt else ':' + str(p)}{path}"

    def s_client(name_opt, lines=5):
        """openssl s_client to api.test through the proxy, inside a session."""
        return sandbox(ws, base, ["sh", "-c",
                                  f"echo | openssl s_client -proxy 127.0.0.1:3128 -connect "
                                  f"api.test:{tls_port} {name_opt} 2>&1 | head -{lines}"],
                       env=env)[1]

    cfg, state = cordon_dirs(d)
    policy = os.path.join(d, "policy.json")
    with open(policy, "w") as f:
        json.dump({"sandbox": {
            "network": {
                # every port: the test's upstreams listen on 8443 and, without a
                # network namespace, on free loopback ports
                "allowedDomains": ["*.test:*"],
                "rules": [
                    {"host": "rules.test", "methods": ["GET", "HEAD"], "paths": ["/allowed/*"]},
                    {"host": "rules.test", "methods": ["POST"], "paths": ["/upload"]},
                    {"host": "git.test", "methods": ["GET", "POST"], "paths": ["/git/*"]},
                    {"host": "plain.test", "methods": ["GET"], "paths": ["/ok/*"]},
                ]},
            "credentials": {"inject": [
                {"host": "api.test", "header": "Authorization", "fromEnv": "INJ_CRED",
                 "prefix": "Bearer "},
                {"host": "bad.test", "header": "Authorization", "fromEnv": "INJ_CRED",
                 "prefix": "Bearer "},
            ]}}}, f)
    res = []
    for h in names + ["plain.test"]:
        res += ["--resolve", f"{h}:{ip}"]
    alog = os.path.join(d, "audit.jsonl")
    base = res + ["--policy", policy, "--audit-log", alog]
    env = test_env(SSL_CERT_FILE=ca, CORDON_TEST_CONFIG_DIR=cfg, XDG_STATE_HOME=state,
                   INJ_CRED=SECRET, **extra)
    ws = new_ws()
    # the value to look for, in a file: on a command line it would be in the exec records
    with open(os.path.join(ws, "secret.pattern"), "w") as f:
        f.write(SECRET + "\n")

    # ---- the credential: a placeholder inside, the value on its host's requests only
    script = (
        'echo "inside=$INJ_CRED"; '
        f'curl -sS -H "Authorization: Bearer $INJ_CRED" {url("api.test", "/cred")}; '
        f'curl -sS -H "Authorization: Bearer $INJ_CRED" {url("other.test", "/cred-other")}; '
        f'curl -sS -H "Authorization: Bearer $INJ_CRED" {url("rules.test", "/allowed/cred-rules")}; '
        f'curl -sS -x socks5h://127.0.0.1:3128 {url("api.test", "/cred-socks")}; '
        'for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $f; done 2>/dev/null | '
        'grep -c -F -f secret.pattern || true; '
        'echo fds=$(ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -c cordon-inject)')
    rc, out = sandbox(ws, base + ["-v"], ["sh", "-c", script], env=env, timeout=90)
    lines = read_log(log).splitlines()
    cred = [l for l in lines if " /cred " in l]
    other = [l for l in lines if "/cred-other" in l]
    rules = [l for l in lines if "/cred-rules" in l]
    ok(rc == 0 and "inside=cordon-injected-INJ_CRED" in out,
       "the variable holds a placeholder inside", out)
    ok(len(cred) == 1 and f"authorization=Bearer {SECRET}" in cred[0] and "hello from good" in out,
       "the upstream of the credential's host receives the real value", (out, cred))
    ok(len(other) == 1 and "authorization=Bearer cordon-injected-INJ_CRED" in other[0]
       and SECRET not in other[0],
       "a request to another allowed host does not carry it (the placeholder goes as sent)",
       other)
    ok(len(rules) == 1 and SECRET not in rules[0],
       "nor does a request to another intercepted host", rules)
    socks = [l for l in lines if "/cred-socks" in l]
    ok(len(socks) == 1 and f"authorization=Bearer {SECRET}" in socks[0],
       "through SOCKS5 too (curl sends no header of its own there)", socks)
    tail = out.strip().split("\n")
    ok(len(tail) >= 2 and tail[-2] == "0", "no /proc/*/environ inside holds the value", out[-300:])
    ok(tail[-1] == "fds=0", "no process inside holds the stash the value was kept in", out[-300:])
    ok(SECRET not in out, "the value is on no output of the run, -v included", out)
    creds = records(alog, "credential")
    ok(len(creds) >= 1 and creds[0].get("name") == "INJ_CRED" and creds[0].get("host") == "api.test"
       and creds[0].get("header") == "Authorization",
       "audit: a credential record names the variable, the host and the header", creds)
    try:
        whole = open(alog).read()
    except OSError:
        whole = ""
    ok(whole != "" and SECRET not in whole, "audit: the value is nowhere in the log")

    # control: the same variable without the inject entry is visible inside
    nopol = os.path.join(d, "noinject.json")
    with open(nopol, "w") as f:
        json.dump({"sandbox": {"network": {"allowedDomains": ["*.test"]}}}, f)
    rc, out = sandbox(ws, res + ["--policy", nopol], ["sh", "-c", 'echo "inside=$INJ_CRED"'],
                      env=env)
    ok(rc == 0 and f"inside={SECRET}" in out,
       "control: without credentials.inject the value is inside (the name is no secret)", out)

    # ---- HTTP Basic (from a variable) and a value read from a file
    import base64
    want_basic = "Basic " + base64.b64encode(f"{BASIC_USER}:{GIT_SECRET}".encode()).decode()
    # in the workspace (which the command could otherwise read and write), so that
    # the mask is what keeps it out, for root as for a user
    os.makedirs(os.path.join(ws, "keys"), exist_ok=True)
    keyfile = os.path.join(ws, "keys", "api-key")
    with open(keyfile, "w") as f:
        f.write(FILE_SECRET + "\n")
    os.chmod(keyfile, 0o600)
    with open(os.path.join(ws, "secret.pattern"), "w") as f:
        f.write(f"{GIT_SECRET}\n{FILE_SECRET}\n")
    policy2 = os.path.join(d, "policy-forms.json")
    with open(policy2, "w") as f:
        json.dump({"sandbox": {
            "network": {"allowedDomains": ["*.test:*"]},
            "credentials": {"inject": [
                {"host": "git.test", "basic": {"user": BASIC_USER}, "fromEnv": "GIT_TOKEN"},
                {"host": "file.test", "header": "X-Api-Key", "fromFile": keyfile,
                 "prefix": "k1 "},
                # the same file, as a Basic password with the user from a variable
                {"host": "rules.test", "basic": {"userFromEnv": "B_USER"}, "fromFile": keyfile},
            ]}}}, f)
    alog3 = os.path.join(d, "audit-forms.jsonl")
    base3 = res + ["--policy", policy2, "--audit-log", alog3]
    env3 = dict(env, GIT_TOKEN=GIT_SECRET, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
                B_USER="alice")
    script = (
        'echo "inside=$GIT_TOKEN"; '
        f'curl -sS -u "u:$GIT_TOKEN" -w " code=%{{http_code}}\n" {url("git.test", "/auth/basic-env")}; '
        f'curl -sS -u "u:$GIT_TOKEN" -w " code=%{{http_code}}\n" {url("other.test", "/basic-other")}; '
        f'curl -sS -H "X-Api-Key: mine" -w " code=%{{http_code}}\n" {url("file.test", "/from-file")}; '
        f'curl -sS -H "X-Api-Key: mine" {url("other.test", "/file-other")}; '
        f'curl -sS {url("rules.test", "/basic-file")}; '
        f'git ls-remote {url("git.test", "/auth/git/repo.git")} 2>&1; echo ls-remote=$?; '
        f'git clone -q {url("git.test", "/auth/git/repo.git")} basic-clone 2>&1; echo clone=$?; '
        f'wc -c < {keyfile}; cat {keyfile}; echo cat=$?; '
        f'(echo x > {keyfile}) 2>&1; echo write=$?; '
        'echo environ=$(for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $f; done 2>/dev/null | '
        'grep -c -F -f secret.pattern)')
    rc, out = sandbox(ws, base3 + ["-v"], ["sh", "-c", script], env=env3, timeout=120)
    up = read_log(log).splitlines()
    benv = [l for l in up if "/auth/basic-env" in l]
    ok(rc == 0 and "inside=cordon-injected-GIT_TOKEN" in out,
       "basic from a variable: the variable holds a placeholder inside", out)
    ok(len(benv) == 1 and f"authorization={want_basic} " in benv[0] and "code=200" in out,
       "...the upstream receives Authorization: Basic base64(user:value), the client's own "
       "Authorization replaced", (out, benv))
    bother = [l for l in up if "/basic-other" in l]
    ok(len(bother) == 1 and GIT_SECRET not in bother[0] and want_basic not in bother[0] and
       "authorization=Basic " + base64.b64encode(b"u:cordon-injected-GIT_TOKEN").decode() in bother[0],
       "...another allowed host gets what the client sent (the placeholder), not the credential",
       bother)
    gl = [l for l in up if "/auth/git/repo.git" in l]
    ok("ls-remote=0" in out and "refs/heads/main" in out and len(gl) >= 2 and
       all(f"authorization={want_basic} " in l for l in gl),
       "git ls-remote over HTTPS: every request carries the Basic credential", (out, gl))
    readme = os.path.join(ws, "basic-clone", "README")
    ok("clone=0" in out and os.path.exists(readme) and "hello-from-git" in open(readme).read(),
       "git clone over HTTPS with the injected Basic credential", out)
    ff = [l for l in up if "/from-file" in l]
    ok(len(ff) == 1 and ff[0].endswith(f"x-api-key=k1 {FILE_SECRET}") and "code=200" in out,
       "fromFile: the upstream receives the file's content (newline dropped, prefix put before), "
       "the client's own header replaced", ff)
    bf = [l for l in up if "/basic-file" in l]
    want_bf = "Basic " + base64.b64encode(f"alice:{FILE_SECRET}".encode()).decode()
    ok(len(bf) == 1 and f"authorization={want_bf} " in bf[0],
       "basic with the user from a variable and the password from a file", bf)
    fo = [l for l in up if "/file-other" in l]
    ok(len(fo) == 1 and fo[0].endswith("x-api-key=mine") and FILE_SECRET not in fo[0],
       "...another allowed host does not receive it", fo)
    ok(re.search(r"^0\ncat=0\n", out, re.M) is not None and FILE_SECRET not in out,
       "fromFile: inside, the file is masked (it reads empty) and the value is on no output", out)
    ok(re.search(r"(Read-only file system|Permission denied)\nwrite=[12]", out) is not None,
       "...and it cannot be written to either (read-only mask)", out)
    ok(open(keyfile).read() == FILE_SECRET + "\n",
       "control: outside, the file is readable and unchanged")
    ok("environ=0\n" in out, "no /proc/*/environ inside holds either value", out[-300:])
    cr = records(alog3, "credential")
    ok(any(r.get("name") == "GIT_TOKEN" and r.get("host") == "git.test" and
           r.get("header") == "Authorization" for r in cr) and
       any(r.get("name") == keyfile and r.get("host") == "file.test" and
           r.get("header") == "X-Api-Key" for r in cr),
       "audit: credential records name the variable, and the file for fromFile", cr)
    whole = read_log(alog3)
    ok(whole != "" and GIT_SECRET not in whole and FILE_SECRET not in whole and
       base64.b64encode(f"{BASIC_USER}:{GIT_SECRET}".encode()).decode() not in whole,
       "audit: neither value (nor the Basic encoding) is in the log")
    # control: without the injection the endpoint refuses git
    shutil.copy(ca, os.path.join(ws, "test-ca.pem"))  # reachable inside, root's run too
    nopol2 = os.path.join(d, "noinject-ports.json")
    with open(nopol2, "w") as f:
        json.dump({"sandbox": {"network": {"allowedDomains": ["*.test:*"]}}}, f)
    rc, out = sandbox(ws, res + ["--policy", nopol2],
                      ["sh", "-c", f'git ls-remote {url("git.test", "/auth/git/repo.git")} 2>&1; '
                                   'echo ls-remote=$?'],
                      env=dict(env3, GIT_SSL_CAINFO=os.path.join(ws, "test-ca.pem")),
                      timeout=60)
    ok("ls-remote=128" in out and ("401" in out or "Authentication failed" in out or
                                   "could not read Username" in out),
       "control: without the injection the same git ls-remote gets a 401", out)
    # a fromFile that cannot be read stops the run before anything runs
    missing = os.path.join(d, "policy-missing.json")
    with open(missing, "w") as f:
        json.dump({"sandbox": {"credentials": {"inject": [
            {"host": "file.test", "header": "X-Api-Key",
             "fromFile": os.path.join(d, "no-such-key")}]}}}, f)
    rc, out = sandbox(ws, res + ["--policy", missing], ["touch", "ran-missing"], env=env)
    ok(rc == 125 and "credentials.inject: read " in out and "no-such-key" in out and
       "No such file or directory" in out and not os.path.exists(os.path.join(ws, "ran-missing")),
       "fromFile missing: the run is refused (125, the path and the reason), nothing runs", out)
    os.chmod(keyfile, 0o600)
    with open(keyfile, "w") as f:
        f.write("x" * 5000)
    rc, out = sandbox(ws, base3, ["touch", "ran-big"], env=env3)
    ok(rc == 125 and "at most 4096 bytes" in out and not os.path.exists(os.path.join(ws, "ran-big")),
       "fromFile larger than 4 KiB: refused", out)
    with open(keyfile, "w") as f:
        f.write(f"{FILE_SECRET}\nX-Evil: 1\n")
    rc, out = sandbox(ws, base3, ["touch", "ran-lines"], env=env3)
    ok(rc == 125 and "holds more than one line or a control character" in out and
       FILE_SECRET not in out and not os.path.exists(os.path.join(ws, "ran-lines")),
       "fromFile of two lines for a header: refused, the value not quoted", out)

    # ---- the CA: made on first use, key 0600, unreachable from inside
    keyf = os.path.join(cfg, "ca", "ca.key")
    crtf = os.path.join(cfg, "ca", "ca.crt")
    st = os.stat(keyf) if os.path.exists(keyf) else None
    ok(st is not None and (st.st_mode & 0o777) == 0o600 and
       (os.stat(os.path.dirname(keyf)).st_mode & 0o777) == 0o700,
       "the CA was made on first use: key 0600 in a 0700 directory", st)
    with open(keyf) as f:
        host_key = f.read()
    ok("PRIVATE KEY" in host_key, "control: the key is readable outside, by its owner")
    cadir = os.path.dirname(keyf)
    rc, out = sandbox(ws, base, ["sh", "-c",
                                 f"cat {keyf}; echo rc=$?; cat /proc/self/root{keyf}; echo rc=$?; "
                                 f"ls -A {cadir} | wc -l; "
                                 f"grep -c ' {cadir} ' /proc/self/mountinfo"],
                      env=env)
    # as the invoker's uid the mask hides the file; run by root, the command's own uid
    # cannot even enter root's 0700 directory
    # cannot even enter root's 0700 directory, or (under a closed parent) not see it
    denied = out.count("No such file or directory") + out.count("Permission denied")
    ok("PRIVATE KEY" not in out and denied >= 2 and out.count("rc=1\n") == 2,
       "the CA key cannot be read inside, by its path or by /proc/self/root", out)
    ok((out.rstrip().endswith("\n1") and (IS_ROOT or "\n0\n" in out)) or
       (IS_ROOT and f"cannot access '{cadir}'" in out),
       "...the CA's directory is masked (a mount of its own, empty) or not there at all", out)
    rc2, ca_path = run([CORDON, "ca", "path"], env=env)
    rc3, key_path = run([CORDON, "ca", "path", "--key"], env=env)
    ok(rc2 == 0 and ca_path.strip() == crtf and rc3 == 0 and key_path.strip() == keyf,
       "cordon ca path [--key] names the files", (ca_path, key_path))
    rc, out = run([CORDON, "ca", "show"], env=env)
    fp = subprocess.run(["openssl", "x509", "-in", crtf, "-noout", "-fingerprint", "-sha256"],
                        stdout=subprocess.PIPE).stdout.decode().strip().split("=")[-1]
    ok(rc == 0 and fp and fp in out and "cordon sandbox CA" in out,
       "cordon ca show prints the CA's SHA-256 fingerprint (as openssl sees it)", out)

    # ---- a bad upstream certificate is refused, on record
    before = len(records(alog, "net"))
    rc, out = sandbox(ws, base, ["curl", "-sS", "-w", "\ncode=%{http_code}\n",
                                 url("bad.test", "/never", port=bad_port)], env=env)
    ok("code=502" in out and "certificate not trusted" in out,
       "an upstream whose certificate the host does not trust: 502 naming the reason", out)
    ok("/never" not in read_log(log), "...and the upstream never got the request (nor the credential)")
    deny = [r for r in records(alog, "net")[before:] if r.get("decision") == "deny"
            and r.get("host") == "bad.test"]
    ok(len(deny) == 1 and "certificate not trusted" in (deny[0].get("reason") or ""),
       "audit: a deny record with the certificate's failure", deny)
    both = os.path.join(d, "both.pem")
    with open(both, "w") as f:
        f.write(open(ca).read() + open(eca).read())
    rc, out = sandbox(ws, base, ["curl", "-sS", "-w", "\ncode=%{http_code}\n",
                                 url("bad.test", "/trusted-now", port=bad_port)],
                      env=dict(env, SSL_CERT_FILE=both))
    ok("code=200" in out and "hello from bad" in out,
       "control: the same upstream passes once the host's store trusts its CA", out)

    # ---- method and path rules, inside TLS and on plain HTTP
    before = len(records(alog, "net"))
    script = (
        f'curl -sS {url("rules.test", "/allowed/a")}; '
        f'curl -sS -w "\\ncode=%{{http_code}}\\n" {url("rules.test", "/secret/b")}; '
        f'curl -sS -w "\\ncode=%{{http_code}}\\n" -X DELETE {url("rules.test", "/allowed/c")}; '
        f'curl -sS --path-as-is -w "\\ncode=%{{http_code}}\\n" {url("rules.test", "/allowed/../secret/d")}; '
        f'curl -sS -d x=1 {url("rules.test", "/upload")}; echo; '
        f'curl -sS {url("plain.test", "/ok/e", scheme="http")}; '
        f'curl -sS -w "\\ncode=%{{http_code}}\\n" {url("plain.test", "/nope/f", scheme="http")}')
    rc, out = sandbox(ws, base, ["sh", "-c", script], env=env, timeout=90)
    up = read_log(log)
    ok("hello from good" in out and "good GET /allowed/a" in up, "an allowed GET goes through", out)
    m = re.search(r"cordon: GET https://rules\.test(:\d+)?/secret/b denied by network\.rules: "
                  r"no rule for this host allows the path /secret/b with GET\.\n"
                  r"Rules for this host:\n  rules\.test: methods GET, HEAD; paths /allowed/\* "
                  r"\(command line .*policy\.json:\d+:\d+\)\n  rules\.test: methods POST; paths "
                  r"/upload", out)
    ok(m is not None and "code=403" in out,
       "a path no rule allows: 403 naming the method, the path and the host's rules", out)
    ok("method DELETE" in out and "/secret/b" not in up and "DELETE" not in up,
       "a method no rule allows: 403, and the upstream saw neither", out)
    ok("`.` or `..` segment" in out and "/secret/d" not in up and "/allowed/../" not in up,
       "a dot segment cannot walk out of the allowed path", out)
    ok("echo x=1" in out and "good POST /upload" in up, "POST to the path its rule allows", out)
    ok("hello from plain" in out and "plain GET /ok/e" in up,
       "plain HTTP: an allowed path goes through", out)
    ok("GET http://plain.test" in out and "/nope/f denied by network.rules" in out
       and "/nope/f" not in up, "plain HTTP: a denied path gets the 403, the upstream nothing", out)
    denies = [r for r in records(alog, "net")[before:] if r.get("decision") == "deny"]
    by_path = {r.get("path"): r for r in denies}
    r = by_path.get("/secret/b", {})
    ok(r.get("method") == "GET" and r.get("host") == "rules.test" and r.get("intercepted") and
       "network.rules" in (r.get("reason") or "") and "rules.test: methods GET" in (r.get("rule") or ""),
       "audit: the refused request is a deny record (method, path, rule, reason)", denies)
    r = by_path.get("/nope/f", {})
    ok(r.get("protocol") == "http" and r.get("method") == "GET" and not r.get("intercepted"),
       "audit: the plain-HTTP refusal too", denies)
    allows = {r.get("path"): r for r in records(alog, "net")[before:]
              if r.get("decision") == "allow" and r.get("method")}
    r = allows.get("/allowed/a", {})
    ok(r.get("method") == "GET" and r.get("host") == "rules.test" and r.get("status") == 200
       and r.get("intercepted") and r.get("bytes_down", 0) > 0 and r.get("bytes_up", 0) > 0
       and "rules.test: methods GET, HEAD" in (r.get("rule") or ""),
       "audit: an allowed request inside the intercepted tunnel has its record (status, bytes, rule)",
       allows)
    r = allows.get("/upload", {})
    ok(r.get("method") == "POST" and r.get("status") == 200 and "methods POST" in (r.get("rule") or ""),
       "audit: ...each request its own, with the rule that allowed it", allows)

    # ---- real clients trust the CA with no flags (and other hosts stay opaque)
    script = (
        f'curl -sS -v {url("api.test", "/issuer-intercepted")} 2>&1 | grep -i "issuer:"; '
        f'curl -sS -v {url("other.test", "/issuer-opaque")} 2>&1 | grep -i "issuer:"; '
        f'curl -sS --http2 -o /dev/null -w "version=%{{http_version}}\\n" {url("api.test", "/h2")}')
    rc, out = sandbox(ws, base, ["sh", "-c", script], env=env)
    iss = [l for l in out.splitlines() if "issuer:" in l.lower()]
    ok(len(iss) == 2 and "cordon sandbox CA" in iss[0] and "cordon test CA" in iss[1],
       "curl: an intercepted host shows cordon's CA, another host the upstream's own certificate",
       out)
    ok("version=1.1" in out, "ALPN: HTTP/2 is not negotiated on an intercepted tunnel", out)
    pyc = (f"import urllib.request;print(urllib.request.urlopen('{url('api.test', '/python')}', "
           f"timeout=20).read().decode())")
    rc, out = sandbox(ws, base, [PY, "-c", pyc], env=env)
    ok(rc == 0 and "hello from good" in out and "good GET /python" in read_log(log),
       "python urllib trusts it with no flags", out)
    node = shutil.which("node")
    if node is None:
        skip("node trusts it with no flags", "node is not installed")
    else:
        js = ("const http=require('http'),https=require('https');"
              "http.request({host:'127.0.0.1',port:3128,method:'CONNECT',"
              f"path:'api.test:{tls_port}',headers:{{host:'api.test:{tls_port}'}}}})"
              ".on('connect',(res,socket)=>{"
              "https.get({socket,servername:'api.test',host:'api.test',path:'/node'},r=>{"
              "let b='';r.on('data',c=>b+=c);r.on('end',()=>{console.log(r.statusCode,b);"
              "process.exit(0)})}).on('error',e=>{console.log('ERR',e.message);process.exit(1)})"
              "}).end()")
        rc, out = sandbox(ws, base, [node, "-e", js], env=env)
        ok(rc == 0 and "200 hello from good" in out and "good GET /node" in read_log(log),
           "node trusts it with no flags (NODE_EXTRA_CA_CERTS)", out)
    if groot is None:
        skip("git trusts it with no flags", "could not prepare a git repository")
    else:
        rc, out = sandbox(ws, base, ["git", "clone", "-q", url("git.test", "/git/repo.git"),
                                     "clone"], env=dict(env, GIT_CONFIG_NOSYSTEM="1"),
                          timeout=120)
        readme = os.path.join(ws, "clone", "README")
        ok(rc == 0 and os.path.exists(readme) and "hello-from-git" in open(readme).read(),
           "git clone over an intercepted tunnel (GIT_SSL_CAINFO), its rules allowing it", out)
    rc, out = sandbox(ws, base, ["sh", "-c", "echo SSL_CERT_FILE=$SSL_CERT_FILE; "
                                 "echo NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; "
                                 "grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt "
                                 "/run/cordon/ca-bundle.pem"], env=env)
    ok("SSL_CERT_FILE=/run/cordon/ca-bundle.pem" in out and
       "NODE_EXTRA_CA_CERTS=/run/cordon/ca.crt" in out,
       "the CA variables point at the bundle and the CA inside", out)
    rc, out = sandbox(ws, res + ["--policy", nopol], ["sh", "-c", "echo SSL_CERT_FILE=$SSL_CERT_FILE"],
                      env=env)
    ok(f"SSL_CERT_FILE={ca}" in out,
       "control: without rules or injections nothing is intercepted and the variables are the user's",
       out)

    # ---- HTTP/1.1 through the interception: keep-alive, chunked, bodies both ways
    big = os.path.join(ws, "up.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(300000))
    script = (
        f'curl -sS -v {url("api.test", "/ka1")} {url("api.test", "/chunked")} 2>&1 | '
        'grep -E "Re-using|hello|chunked body"; '
        f'curl -sS --data-binary @up.bin {url("api.test", "/post")} | wc -c; '
        f'curl -sS -H "Transfer-Encoding: chunked" --data-binary @up.bin {url("api.test", "/post")} | wc -c; '
        f'curl -sS {url("api.test", "/big")} | wc -c')
    rc, out = sandbox(ws, base, ["sh", "-c", script], env=env, timeout=120)
    ok(("Re-using" in out or "Reusing" in out) and "hello from good" in out and
       "chunked body from good" in out, "keep-alive: two requests on one intercepted connection",
       out)
    counts = [l.strip() for l in out.splitlines() if l.strip().isdigit()]
    ok(counts[:2] == ["300005", "300005"],
       "a 300 kB request body, by length and chunked, reaches the upstream whole", out)
    ok(len(counts) >= 3 and counts[2] == str(32 << 20), "a 32 MB response comes back whole", out)

    # ---- no fronting: the Host header and the TLS server name must be the tunnel's host
    rc, out = sandbox(ws, base, ["curl", "-sS", "-H", "Host: other.test", "-w", "\ncode=%{http_code}\n",
                                 url("api.test", "/fronted")], env=env)
    ok("code=403" in out and "Host header names other.test" in out and
       "/fronted" not in read_log(log), "a Host header naming another host is refused", out)
    out = s_client("-servername evil.test")
    ok("alert" in out.lower() or "error" in out.lower(),
       "a TLS server name other than the CONNECT host ends the handshake", out)
    # refused by the ClientHello check every tunnel gets, before the proxy reads it
    ok(any(r.get("host") == "api.test" and r.get("decision") == "deny" and
           "TLS server name evil.test does not match the tunnel's host api.test"
           in (r.get("reason") or "") for r in records(alog, "net")),
       "audit: the mismatch is a deny record")

    # ---- the ClientHello check runs before the proxy reads the tunnel
    out = s_client("-noservername")
    ok("alert" in out.lower() or "error" in out.lower(),
       "TLS without a server name to an intercepted host is refused", out)
    ok(any(r.get("host") == "api.test" and r.get("decision") == "deny" and
           "TLS without a server name (SNI) to api.test" in (r.get("reason") or "")
           for r in records(alog, "net")),
       "audit: refused by the ClientHello check, not read by the proxy")
    out = s_client("-servername api.test", 20)
    ok("CONNECTED" in out and "alert" not in out.lower(),
       "control: the same probe with the server name is intercepted", out)

    # ---- intercepted tunnels count against the session's 64 MiB buffer budget
    hold = (
        "import os, socket, ssl, sys\n"
        "n = int(sys.argv[1]); port = int(sys.argv[2]); ctx = ssl.create_default_context()\n"
        "held, good, refused = [], 0, 0\n"
        "for i in range(n):\n"
        "    s = socket.create_connection(('127.0.0.1', 3128))\n"
        "    s.sendall(b'CONNECT api.test:%d HTTP/1.1\\r\\nHost: api.test:%d\\r\\n\\r\\n' % (port, port))\n"
        "    s.recv(4096)\n"
        "    try:\n"
        "        held.append(ctx.wrap_socket(s, server_hostname='api.test')); good += 1\n"
        "    except (OSError, ssl.SSLError):\n"
        "        refused += 1; s.close()\n"
        "print(f'held={good} refused={refused}')\n")
    with open(os.path.join(ws, "hold.py"), "w") as f:
        f.write(hold)
    alog2 = os.path.join(d, "audit-budget.jsonl")
    base2 = res + ["--policy", policy, "--audit-log", alog2]
    rc, out = sandbox(ws, base2, ["/usr/bin/python3", "hold.py", "100", str(tls_port)], env=env,
                      timeout=120)
    ok("held=100 refused=0" in out, "control: 100 intercepted tunnels held at once", out)
    rc, out = sandbox(ws, base2, ["/usr/bin/python3", "hold.py", "400", str(tls_port)], env=env,
                      timeout=180)
    m = re.search(r"held=(\d+) refused=(\d+)", out)
    held, refused = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    ok(m and 150 <= held < 400 and refused > 0 and held + refused == 400,
       f"400 intercepted tunnels at once: {held} held within the budget, {refused} refused", out)
    ok(any(r.get("host") == "api.test" and
           "refused: the session's proxy buffers are full" in (r.get("reason") or "")
           for r in records(alog2, "net")) and
       any(r.get("limit") == "proxy.buffers" for r in records(alog2, "limit")),
       "audit: the refused tunnels say why, and one proxy.buffers limit record",
       [r for r in records(alog2, "net") if r.get("decision") == "deny"][:2] +
       records(alog2, "limit")[:2])

    # ---- tls.inspect: a host no rule names is read (a record per request, with its
    # path); tls.bypass keeps one unread, even when inspect names it too
    def tls_policy(name, tls, rules=None):
        path = os.path.join(d, name)
        net = {"allowedDomains": ["*.test:*"]}
        if rules:
            net["rules"] = rules
        with open(path, "w") as f:
            json.dump({"sandbox": {"network": net, "tls": tls}}, f)
        return path

    def issuer(pol, host, path, audit):
        return sandbox(ws, res + ["--policy", pol, "--audit-log", audit],
                       ["sh", "-c", f'curl -sS -v {url(host, path)} 2>&1 | '
                                    'grep -i -e "issuer:" -e "hello from"'], env=env)

    ilog = os.path.join(d, "audit-inspect.jsonl")
    rc, out = issuer(tls_policy("inspect.json", {"inspect": ["other.test"]}), "other.test",
                     "/inspected/p1", ilog)
    ok(rc == 0 and "cordon sandbox CA" in out and "hello from good" in out,
       "tls.inspect alone: the client sees cordon's CA (the tunnel is read) and trusts it", out)
    reqs = [r for r in records(ilog, "net") if r.get("path") == "/inspected/p1"]
    ok(len(reqs) == 1 and reqs[0].get("method") == "GET" and reqs[0].get("intercepted") and
       reqs[0].get("status") == 200 and reqs[0].get("host") == "other.test",
       "audit: the inspected request has its own record (method, path, status)", reqs)
    blog = os.path.join(d, "audit-bypass.jsonl")
    rc, out = issuer(tls_policy("bypass.json", {"inspect": ["*.test"], "bypass": ["other.test"]}),
                     "other.test", "/bypassed/p2", blog)
    ok(rc == 0 and "cordon test CA" in out and "cordon sandbox CA" not in out and
       "hello from good" in out,
       "tls.bypass wins over tls.inspect: the client sees the upstream's own certificate", out)
    ok("good GET /bypassed/p2" in read_log(log) and
       not [r for r in records(blog, "net") if r.get("path") == "/bypassed/p2"] and
       any(r.get("host") == "other.test" and not r.get("intercepted") and not r.get("path")
           for r in records(blog, "net")),
       "...its record is the tunnel's, unread (no path)", records(blog, "net"))
    rc, out = issuer(tls_policy("bypass-api.json", {"inspect": ["*.test"], "bypass": ["other.test"]}),
                     "api.test", "/inspected-beside", blog)
    ok(rc == 0 and "cordon sandbox CA" in out,
       "control: another host under the same inspect pattern is read", out)
    rc, out = sandbox(ws, res + ["--policy", tls_policy(
        "bypass-rule.json", {"bypass": ["rules.test"]},
        rules=[{"host": "rules.test", "methods": ["GET"]}])], ["touch", "ran-bypass"], env=env)
    ok(rc == 125 and 'key `sandbox.tls.bypass`: "rules.test" conflicts with network.rules '
       '"rules.test"' in out and "Hint: remove one of the two" in out and
       not os.path.exists(os.path.join(ws, "ran-bypass")),
       "tls.bypass of a host a network.rules entry names: refused (125, both named), nothing ran",
       out)

    # ---- rotation: the next session trusts and uses the new CA
    rc, out = run([CORDON, "ca", "rotate"], env=env)
    fp2 = subprocess.run(["openssl", "x509", "-in", crtf, "-noout", "-fingerprint", "-sha256"],
                         stdout=subprocess.PIPE).stdout.decode().strip().split("=")[-1]
    ok(rc == 0 and "made a new interception CA" in out and fp2 and fp2 != fp and fp2 in out,
       "cordon ca rotate makes a new CA (new fingerprint)", out)
    rc, out = sandbox(ws, base, ["sh", "-c", f"curl -sS {url('api.test', '/after-rotate')}; "
                                 "tail -c 2000 /run/cordon/ca-bundle.pem | grep -c -F -f /run/cordon/ca.crt; "
                                 "cat /run/cordon/ca.crt"], env=env)
    ok(rc == 0 and "hello from good" in out and open(crtf).read().strip() in out,
       "...and the next session's proxy and bundle use it (even within the same second)", out)

    if ns:
        ns.close()
    done()


if __name__ == "__main__":
    main()
