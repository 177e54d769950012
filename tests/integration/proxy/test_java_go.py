#!/usr/bin/env python3
"""Java and Go clients inside `cordon run` with TLS interception on, with
no flags of their own: a single-file Java program (java.net.http.HttpClient,
through the proxy variables and, with the proxy turned off in the program,
captured) and a Go program with its own http.Transport{Proxy: nil}
(captured). Each reaches an allowed, intercepted test host (the upstream
receives the injected credential) and is refused elsewhere; controls show
the JVM and Go refuse cordon's certificate without the trust cordon adds
(the host's original Java store; the host's original PEM bundle), so the
trust is what the test proves.

The JVM reads its own trust store, not the PEM bundle: cordon binds a copy
of each host Java store with its CA added over the original. Checked here
too: the copy keeps the host's certificates, is reused while neither the
store nor the CA changes, follows `cordon ca rotate`, and a PKCS12 store
(keytool's format; Debian's own is JKS) is read as well as a JKS one.

Upstreams run in the test network namespace (root) or on loopback (the
unprivileged pass, with the test-only loopback switch); their certificates
come from a test CA that stands for the host's store (SSL_CERT_FILE of the
`cordon run` process). The Go program is built here, outside the sandbox,
from the standard library only (no module is fetched).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403

SECRET = "j4va-and-g0-cred-7351"
HOST_JAVA_STORE = "/etc/ssl/certs/java/cacerts"

JAVA_MAIN = r"""
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class Main {
    public static void main(String[] a) throws Exception {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20));
        if (a.length > 1 && a[1].equals("direct"))
            b.proxy(HttpClient.Builder.NO_PROXY);
        try {
            HttpResponse<String> r = b.build().send(
                HttpRequest.newBuilder(URI.create(a[0])).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
            System.out.println("status=" + r.statusCode() + " body=" + r.body().trim());
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause())
                System.out.println("error=" + t.getClass().getName() + ": " + t.getMessage());
            System.exit(1);
        }
    }
}
"""

GO_MAIN = r"""
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	tr := &http.Transport{
		Proxy:       nil, // the proxy variables are ignored: only capture brings it to cordon
		DialContext: (&net.Dialer{Timeout: 20 * time.Second}).DialContext,
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	r, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	b, _ := io.ReadAll(r.Body)
	fmt.Printf("status=%d body=%s\n", r.StatusCode, strings.TrimSpace(string(b)))
}
"""


def capture_works(ws, env):
    """Transparent capture is set up on this kernel (cordon says when not)."""
    rc, out = sandbox(ws, ["-v"], ["true"], env=env)
    return rc == 0 and "no transparent capture" not in out


def main():
    d = os.path.join(TMP, "javago")
    os.makedirs(d, exist_ok=True)
    ca, cert, key = make_ca(d, ["api.test", "denied.test"])
    for f in (cert, key):
        os.chmod(f, 0o644)
    log = os.path.join(d, "upstream.log")
    ns = test_netns()
    if ns:
        upstream(log, bind="0.0.0.0", port=443, name="good", tls=(cert, key), ns=ns)
        ip, port, extra = NS_IP, 443, {}
    else:
        _, port = upstream(log, bind="127.0.0.1", name="good", tls=(cert, key))
        ip, extra = "127.0.0.1", {"CORDON_TEST_PROXY_LOOPBACK": "1"}

    def url(host, path):
        return f"https://{host}{'' if port == 443 else ':' + str(port)}{path}"

    cfg, state = cordon_dirs(d)
    policy = os.path.join(d, "policy.json")
    with open(policy, "w") as f:
        json.dump({"sandbox": {
            "network": {"allowedDomains": [f"api.test:{port}"]},
            "credentials": {"inject": [
                {"host": "api.test", "header": "Authorization", "fromEnv": "INJ_CRED",
                 "prefix": "Bearer "}]}}}, f)
    base = ["--resolve", f"api.test:{ip}", "--resolve", f"denied.test:{ip}",
            "--policy", policy]
    env = test_env(SSL_CERT_FILE=ca, CORDON_TEST_CONFIG_DIR=cfg, XDG_STATE_HOME=state,
                   INJ_CRED=SECRET, **extra)
    env.pop("JAVA_HOME", None)
    ws = new_ws()
    captured = capture_works(ws, env)

    def arrived(path):
        return [l for l in read_log(log).splitlines() if f" {path} " in l]

    def injected(path):
        got = arrived(path)
        return len(got) == 1 and f"authorization=Bearer {SECRET}" in got[0]

    java = shutil.which("java")
    if java is None or not os.path.isfile(HOST_JAVA_STORE):
        why = "java is not installed" if java is None else f"no {HOST_JAVA_STORE} on this host"
        for t in ("HttpClient through the proxy variables", "HttpClient captured (NO_PROXY)",
                  "HttpClient to a denied host", "HttpClient captured to a denied host",
                  "control: the host's original store refuses the interception",
                  "the copy holds the host's certificates and the CA",
                  "the copy is reused", "a PKCS12 store is read too",
                  "rotation: a new copy"):
            skip(f"java: {t}", why)
    else:
        java_tests(ws, d, base, env, url, arrived, injected, captured, state)

    go = shutil.which("go")
    if go is None:
        for t in ("build", "captured to an allowed host", "through the system bundle",
                  "to a denied host",
                  "control: the host's original bundle refuses the interception"):
            skip(f"go: {t}", "go is not installed (golang-go)")
    else:
        go_tests(ws, d, go, base, env, url, arrived, injected, captured)
    if ns:
        ns.close()
    done()


def java_tests(ws, d, base, env, url, arrived, injected, captured, state):
    with open(os.path.join(ws, "Main.java"), "w") as f:
        f.write(JAVA_MAIN)
    jrun = ["java", "Main.java"]

    rc, out = sandbox(ws, base, jrun + [url("api.test", "/java-proxy")], env=env, timeout=180)
    ok(rc == 0 and "status=200 body=hello from good" in out and injected("/java-proxy"),
       "java: HttpClient through the proxy variables reaches the intercepted host, which "
       "receives the injected credential", out)
    if captured:
        rc, out = sandbox(ws, base, jrun + [url("api.test", "/java-direct"), "direct"], env=env,
                          timeout=180)
        ok(rc == 0 and "status=200 body=hello from good" in out and injected("/java-direct"),
           "java: HttpClient with NO_PROXY is captured, trusts the CA, the upstream receives "
           "the injected credential", out)
    else:
        skip("java: HttpClient captured (NO_PROXY)", "no transparent capture on this kernel")
    rc, out = sandbox(ws, base, jrun + [url("denied.test", "/java-denied")], env=env,
                      timeout=180)
    ok(rc == 1 and "403" in out and not arrived("/java-denied"),
       "java: HttpClient to a host no rule allows: the proxy's 403 refuses the tunnel, "
       "the upstream gets nothing", out)
    if captured:
        rc, out = sandbox(ws, base, jrun + [url("denied.test", "/java-denied-direct"), "direct"],
                          env=env, timeout=180)
        ok(rc == 1 and ("UnresolvedAddressException" in out or "UnknownHost" in out or
                        "ConnectException" in out) and not arrived("/java-denied-direct"),
           "java: captured, a denied name does not resolve and the upstream gets nothing", out)
    else:
        skip("java: HttpClient captured to a denied host", "no transparent capture on this kernel")

    # control: the host's own store (a copy in the workspace) lacks cordon's CA
    shutil.copy(HOST_JAVA_STORE, os.path.join(ws, "host-cacerts"))
    rc, out = sandbox(ws, base, ["java", "-Djavax.net.ssl.trustStore=host-cacerts", "Main.java",
                                 url("api.test", "/java-untrusted")], env=env, timeout=180)
    ok(rc == 1 and "SSLHandshakeException" in out and "PKIX path building failed" in out and
       not arrived("/java-untrusted"),
       "java: control: with the host's original store the JVM refuses the interception", out)

    # the copy: the host's certificates plus the CA, trusted entries
    copies = glob.glob(os.path.join(state, "cordon", "tls", "java-*.p12"))
    rc, host_list = run(["keytool", "-list", "-keystore", HOST_JAVA_STORE, "-storepass",
                         "changeit"])
    n_host = host_list.count("trustedCertEntry")
    lists = [run(["keytool", "-list", "-keystore", c, "-storepass", "changeit"])[1]
             for c in copies]
    ok(len(copies) == 1 and n_host > 0 and lists[0].count("trustedCertEntry") == n_host + 1 and
       "cordon-sandbox-ca," in lists[0] and "Keystore type: PKCS12" in lists[0],
       f"java: the copy holds the host's {n_host} certificates and the CA, as trusted entries "
       "(keytool, password changeit)", (copies, lists[0][:600] if lists else ""))
    rc, out = sandbox(ws, base, ["sh", "-c", f"grep -c ' {HOST_JAVA_STORE} ' /proc/self/mountinfo; "
                                 f"cmp {HOST_JAVA_STORE} host-cacerts; echo cmp=$?"], env=env)
    ok(re.search(r"^1$", out, re.M) is not None and "cmp=1" in out,
       "java: inside, the host store's path is the copy (a mount of its own)", out)
    st = [os.stat(c) for c in copies]
    rc, out = sandbox(ws, base, ["true"], env=env)
    again = glob.glob(os.path.join(state, "cordon", "tls", "java-*.p12"))
    ok(again == copies and [(s.st_ino, s.st_mtime_ns) for s in st] ==
       [(os.stat(c).st_ino, os.stat(c).st_mtime_ns) for c in again],
       "java: the next session reuses the copy (same file, not rewritten)", (copies, again))

    # a PKCS12 store (a JDK's own, here under JAVA_HOME) holding only the test CA
    jh = os.path.join(ws, "jdk")
    os.makedirs(os.path.join(jh, "lib", "security"))
    p12 = os.path.join(jh, "lib", "security", "cacerts")
    rc, out = run(["keytool", "-importcert", "-noprompt", "-alias", "test-ca", "-file",
                   os.path.join(d, "ca.pem"), "-keystore", p12, "-storetype", "PKCS12",
                   "-storepass", "changeit"])
    if rc != 0:
        ok(False, "java: a PKCS12 store is read too (make it with keytool)", out)
    else:
        rc, out = sandbox(ws, base, ["sh", "-c",
                                     f"keytool -list -keystore {p12} -storepass changeit; "
                                     f"java -Djavax.net.ssl.trustStore={p12} Main.java "
                                     f"{url('api.test', '/java-p12')}"],
                          env=dict(env, JAVA_HOME=jh), timeout=180)
        ok("test-ca," in out and "cordon-sandbox-ca," in out and
           "Your keystore contains 2 entries" in out and
           "status=200 body=hello from good" in out and injected("/java-p12"),
           "java: a PKCS12 store ($JAVA_HOME's, certificates encrypted with changeit) gets "
           "its copy too, which the JVM trusts", out)

    # rotation: a new CA, a new copy, the old one gone
    rc, out = run([CORDON, "ca", "rotate"], env=env)
    rc, out = sandbox(ws, base, jrun + [url("api.test", "/java-rotated")], env=env, timeout=180)
    prefix = os.path.basename(copies[0])[:len("java-12345678-")] if copies else "none"
    now = glob.glob(os.path.join(state, "cordon", "tls", prefix + "*.p12"))
    ok(rc == 0 and "status=200" in out and injected("/java-rotated") and len(now) == 1 and
       now != copies,
       "java: after cordon ca rotate the next session makes a new copy (the old one removed) "
       "and the JVM trusts the new CA", (out, copies, now))


def go_tests(ws, d, go, base, env, url, arrived, injected, captured):
    src = os.path.join(d, "gosrc")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "main.go"), "w") as f:
        f.write(GO_MAIN)
    prog = os.path.join(ws, "gohttp")
    genv = dict(os.environ, GOCACHE=os.path.join(d, "gocache"), GOPATH=os.path.join(d, "gopath"),
                GOFLAGS="-mod=mod", GOPROXY="off", GO111MODULE="off", HOME=d)
    rc, out = run([go, "build", "-o", prog, "main.go"], env=genv, cwd=src, timeout=240)
    if not ok(rc == 0 and os.path.exists(prog), "go: the test program builds (standard library "
              "only, nothing fetched)", out):
        return
    if not captured:
        for t in ("captured to an allowed host", "through the system bundle", "to a denied host",
                  "control: the host's original bundle refuses the interception"):
            skip(f"go: {t}", "no transparent capture on this kernel")
        return
    rc, out = sandbox(ws, base, ["./gohttp", url("api.test", "/go-direct")], env=env, timeout=90)
    ok(rc == 0 and "status=200 body=hello from good" in out and injected("/go-direct"),
       "go: a Transport with Proxy nil is captured, trusts the CA, the upstream receives the "
       "injected credential", out)
    rc, out = sandbox(ws, base, ["env", "-u", "SSL_CERT_FILE", "./gohttp",
                                 url("api.test", "/go-system")], env=env, timeout=90)
    ok(rc == 0 and "status=200 body=hello from good" in out and injected("/go-system"),
       "go: without SSL_CERT_FILE it trusts the CA through the system bundle (bound over)", out)
    rc, out = sandbox(ws, base, ["./gohttp", url("denied.test", "/go-denied")], env=env,
                      timeout=90)
    ok(rc == 1 and "no such host" in out and not arrived("/go-denied"),
       "go: a denied name does not resolve and the upstream gets nothing", out)
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if not os.path.isfile(bundle):
        skip("go: control: the host's original bundle refuses the interception", f"no {bundle}")
        return
    shutil.copy(bundle, os.path.join(ws, "host-bundle.pem"))
    os.makedirs(os.path.join(ws, "no-certs"), exist_ok=True)
    # Go reads SSL_CERT_FILE and every file of /etc/ssl/certs (SSL_CERT_DIR): both the host's
    rc, out = sandbox(ws, base, ["sh", "-c", "SSL_CERT_FILE=host-bundle.pem SSL_CERT_DIR=no-certs "
                                 "exec ./gohttp \"$1\"",
                                 "sh", url("api.test", "/go-untrusted")], env=env, timeout=90)
    ok(rc == 1 and "certificate signed by unknown authority" in out and
       not arrived("/go-untrusted"),
       "go: control: with the host's original bundle Go refuses the interception", out)


if __name__ == "__main__":
    main()
