#!/usr/bin/env python3
"""cordon's test runner.

Runs, and reads the TAP of:
  - unit and fuzz-regress tests, as meson knows them (meson introspect);
  - integration suites: tests/integration/*/*.sh (bash TAP) and
    tests/integration/*/test_*.py (python TAP). Suites in a directory with a
    file named AS_USER run twice when we are root: once as root and once as
    an unprivileged user created here ("cordon-test"), from a copy of the
    binary and the suite under a world-traversable temporary directory
    (the checkout may sit where that user cannot go). Root's scratch
    (CORDON_TEST_TMP, where workspaces are made) is 0700, as `mktemp -d`
    makes it.

Ends with the line "N passed, N failed, N skipped". Exit 1 on any failure.
Usage: tests/run.py BUILD_DIR [FILTER]
"""
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

TEST_USER = "cordon-test"
TIMEOUT = int(os.environ.get("CORDON_TEST_TIMEOUT", "300"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

totals = {"passed": 0, "failed": 0, "skipped": 0}
failures = []

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")


def parse_tap(name, out, rc):
    """Count TAP results; a crash or a plan mismatch is one more failure."""
    n = 0
    plan = None
    for line in out.splitlines():
        m = TAP_LINE.match(line)
        if m:
            n += 1
            desc = m.group(3)
            if re.search(r"#\s*SKIP", desc, re.I):
                totals["skipped"] += 1
            elif m.group(1) == "ok":
                totals["passed"] += 1
            else:
                totals["failed"] += 1
                failures.append(f"{name}: {line}")
            continue
        pm = re.match(r"^1\.\.(\d+)", line)
        if pm:
            plan = int(pm.group(1))
    if plan is None or plan != n:
        totals["failed"] += 1
        failures.append(f"{name}: plan {plan} but {n} results (exit {rc})")
    elif rc != 0 and not any(f.startswith(name + ":") for f in failures):
        totals["failed"] += 1
        failures.append(f"{name}: exit status {rc}")


def run(name, cmd, env=None, cwd=None):
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, cwd=cwd, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + f"\nnot ok - timeout after {TIMEOUT}s\n"
        rc = 124
    dt = time.monotonic() - start
    sys.stdout.write(f"## {name} ({dt:.1f}s)\n")
    for line in out.splitlines():
        sys.stdout.write(f"   {line}\n")
    sys.stdout.flush()
    parse_tap(name, out, rc)


def meson_tests(build):
    out = subprocess.run(["meson", "introspect", "--tests", build],
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def ensure_user():
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh",
                        "--home-dir", "/nonexistent", TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


def integration_suites():
    base = os.path.join(ROOT, "tests", "integration")
    suites = []
    if not os.path.isdir(base):
        return suites
    for d in sorted(os.listdir(base)):
        path = os.path.join(base, d)
        if not os.path.isdir(path):
            continue
        files = sorted(f for f in os.listdir(path)
                       if (f.endswith(".sh") and f != "lib.sh") or
                       (f.startswith("test_") and f.endswith(".py")))
        if files:
            suites.append((d, path, files, os.path.exists(os.path.join(path, "AS_USER"))))
    return suites


def interpreter(f):
    return ["bash"] if f.endswith(".sh") else [sys.executable]


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    flt = sys.argv[2] if len(sys.argv) > 2 else None
    cordon = os.path.join(build, "cordon")

    for t in meson_tests(build):
        suite = ",".join(t.get("suite", []))
        name = f"{suite}/{t['name']}"
        if flt and flt not in name:
            continue
        env = dict(os.environ)
        env.update(t.get("env") or {})
        run(name, t["cmd"], env=env, cwd=t.get("workdir") or build)

    if not os.access(cordon, os.X_OK):
        totals["failed"] += 1
        failures.append(f"build: {cordon} missing: the build failed")
        sys.stdout.write(f"\nFailures:\n  build: {cordon} missing\n")
        sys.stdout.write(f"{totals['passed']} passed, {totals['failed']} failed, "
                         f"{totals['skipped']} skipped\n")
        return 1
    is_root = os.geteuid() == 0
    # Not under /tmp: the sandbox has a private /tmp, and tests need host
    # directories that are visible (read-only) inside.
    scratch = tempfile.mkdtemp(prefix="cordon-test.", dir="/var/tmp")
    os.chmod(scratch, 0o755)
    # What suites share within one run (CORDON_TEST_SHARED): a tool installed
    # once, e.g. the Claude Code CLI (lib.sh claude_cli). Root's, readable by
    # the test user; a pass that cannot write there installs its own copy.
    shared = os.path.join(scratch, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o755)
    try:
        for suite, path, files, as_user in integration_suites():
            passes = [("root" if is_root else "user", None)]
            if is_root and as_user:
                passes.append(("user", ensure_user()))
            for label, user in passes:
                # A private copy of the binary and the suite, reachable by the
                # test user, so the checkout's location does not matter.
                d = tempfile.mkdtemp(prefix=f"{suite}-{label}.", dir=scratch)
                os.chmod(d, 0o755)
                shutil.copy2(cordon, os.path.join(d, "cordon"))
                # C probes (tests/probes) go next to the binary.
                probes = os.path.join(build, "tests", "probes")
                if os.path.isdir(probes):
                    for p in os.listdir(probes):
                        pp = os.path.join(probes, p)
                        if p.startswith("cordon-") and os.path.isfile(pp) and os.access(pp, os.X_OK):
                            shutil.copy2(os.path.join(probes, p), os.path.join(d, p))
                shutil.copytree(path, os.path.join(d, "suite"))
                for extra in ("tests/integration/lib.sh",):
                    if os.path.exists(os.path.join(ROOT, extra)):
                        shutil.copy2(os.path.join(ROOT, extra), os.path.join(d, "lib.sh"))
                # The terminal helpers, for suites beside terminal/ that drive tmux
                # ("$(dirname "$0")/../terminal/tmux.bash").
                helpers = os.path.join(ROOT, "tests", "integration", "terminal")
                if suite != "terminal" and os.path.isdir(helpers):
                    os.mkdir(os.path.join(d, "terminal"))
                    for h in ("tmux.bash", "procs.py"):
                        shutil.copy2(os.path.join(helpers, h), os.path.join(d, "terminal", h))
                work = os.path.join(d, "work")
                os.mkdir(work)
                # Root's scratch, where its workspaces are made, is 0700, as
                # `mktemp -d` makes it and as users have theirs: a
                # root-invoked sandbox must reach them through a directory
                # its uid cannot search. The binary and the probes beside it
                # stay where anyone may run them, as installed tools are.
                # The test user's tree is its own (chowned below).
                os.chmod(work, 0o755 if user is not None else 0o700)
                env = dict(os.environ)
                env.update({"CORDON": os.path.join(d, "cordon"), "CORDON_TEST_AS": label,
                            "CORDON_TEST_TMP": work, "CORDON_SRC": ROOT,
                            "CORDON_BUILD": build, "TMPDIR": work,
                            "CORDON_TEST_SHARED": shared})
                prefix = []
                if user is not None:
                    for root_dir, dirs, fnames in os.walk(d):
                        for x in dirs + fnames:
                            os.lchown(os.path.join(root_dir, x), user.pw_uid, user.pw_gid)
                    os.chown(d, user.pw_uid, user.pw_gid)
                    env.update({"HOME": work, "USER": TEST_USER, "LOGNAME": TEST_USER})
                    prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                              "--init-groups"]
                for f in files:
                    name = f"{suite}/{f} [{label}]"
                    if flt and flt not in name:
                        continue
                    run(name, prefix + interpreter(f) + [os.path.join(d, "suite", f)],
                        env=env, cwd=work)
            if not is_root and as_user:
                sys.stdout.write(f"## {suite} [root] skipped: not running as root\n")
                totals["skipped"] += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if failures:
        sys.stdout.write("\nFailures:\n")
        for f in failures:
            sys.stdout.write(f"  {f}\n")
    sys.stdout.write(f"{totals['passed']} passed, {totals['failed']} failed, "
                     f"{totals['skipped']} skipped\n")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
