#!/usr/bin/env python3
"""Real clients through the proxy inside `cordon run`: git clone over https
from a local `git http-backend` behind a TLS server (test CA), and
`npm install` of a small package from the user's configured npm registry
(its host is read at run time from `npm config get registry`).
"""
import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pxlib import *  # noqa: E402,F403


def git_test():
    if not IS_ROOT:
        skip("git clone over https through the proxy", "needs root for the test network namespace")
        skip("git clone of a denied host refused", "needs root for the test network namespace")
        return
    ns = NetNS()
    d = os.path.join(TMP, "git")
    os.makedirs(d, exist_ok=True)
    ca, cert, key = make_ca(d, ["git.test"])
    root = os.path.join(d, "srv")
    src = os.path.join(d, "src")
    genv = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.test",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.test", HOME=d)
    for c in (["git", "init", "-q", "-b", "main", src],
              ["sh", "-c", f"echo hello-from-git > {src}/README && git -C {src} add README && "
                           f"git -C {src} commit -qm init"],
              ["git", "clone", "-q", "--bare", src, os.path.join(root, "repo.git")],
              ["git", "config", "--file", os.path.join(root, "repo.git", "config"),
               "http.receivepack", "false"]):
        rc, out = run(c, env=genv)
        if rc != 0:
            ok(False, "prepare the git repository", out)
            return
    run(["git", "config", "--global", "--add", "safe.directory", "*"], env=genv)
    log = os.path.join(TMP, "git.log")
    upstream(log, bind="0.0.0.0", port=443, name="git", tls=(cert, key), git_root=root, ns=ns)
    ws = new_ws()
    env = test_env(GIT_SSL_CAINFO=ca, HOME=d, GIT_CONFIG_NOSYSTEM="1")
    rc, out = sandbox(ws, ["--resolve", f"git.test:{NS_IP}", "--allow-domain", "git.test"],
                      ["git", "clone", "-q", "https://git.test/git/repo.git", "clone"], env=env,
                      timeout=120)
    readme = os.path.join(ws, "clone", "README")
    ok(rc == 0 and os.path.exists(readme) and "hello-from-git" in open(readme).read(),
       "git clone over https through the proxy (CONNECT, SNI checked)", out)
    rc, out = sandbox(ws, ["--resolve", f"git.test:{NS_IP}"],
                      ["git", "clone", "-q", "https://git.test/git/repo.git", "clone2"], env=env,
                      timeout=120)
    ok(rc != 0 and "403" in out and not os.path.exists(os.path.join(ws, "clone2", "README")),
       "git clone of a host not allowed fails with the proxy's 403", out)
    ns.close()


def npm_test():
    if shutil.which("npm") is None:
        skip("npm install through the proxy", "npm is not installed")
        return
    rc, out = run(["npm", "config", "get", "registry"], timeout=60)
    urls = [l.strip() for l in out.splitlines() if re.match(r"^https?://", l.strip())]
    if rc != 0 or not urls:
        skip("npm install through the proxy", "npm has no registry configured")
        return
    reg = urls[-1]
    host = urlparse(reg).hostname
    # does the registry answer directly? if not, this is an outage, not our bug
    rc, code = run(["curl", "-sS", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code}",
                    reg.rstrip("/") + "/is-number"], timeout=30)
    if rc != 0 or code.strip() != "200":
        skip("npm install through the proxy", f"the npm registry does not answer directly ({code.strip()})")
        return
    ws = new_ws()
    with open(os.path.join(ws, "package.json"), "w") as f:
        f.write('{"name": "cordon-npm-test", "version": "1.0.0", "private": true}\n')
    env = test_env(npm_config_cache=os.path.join(ws, ".npm-cache"), npm_config_update_notifier="false",
                   npm_config_registry=reg)
    rc, out = sandbox(ws, ["--allow-domain", host],
                      ["npm", "install", "--no-audit", "--no-fund", "is-number@7.0.0"], env=env,
                      timeout=240)
    ok(rc == 0 and os.path.exists(os.path.join(ws, "node_modules", "is-number", "package.json")),
       "npm install of a small package through the proxy (registry host from npm config)", out)
    ws2 = new_ws()
    with open(os.path.join(ws2, "package.json"), "w") as f:
        f.write('{"name": "cordon-npm-test", "version": "1.0.0", "private": true}\n')
    env2 = test_env(npm_config_cache=os.path.join(ws2, ".npm-cache"), npm_config_update_notifier="false",
                    npm_config_registry=reg, npm_config_fetch_retries="0")
    rc, out = sandbox(ws2, [], ["npm", "install", "--no-audit", "--no-fund", "is-number@7.0.0"],
                      env=env2, timeout=240)
    ok(rc != 0 and not os.path.exists(os.path.join(ws2, "node_modules", "is-number")),
       "control: without --allow-domain the same install fails", out[-1500:])


def main():
    try:
        git_test()
    except Exception as e:
        ok(False, "git scenario", repr(e))
    npm_test()
    done()


if __name__ == "__main__":
    main()
