#!/bin/bash
# Multi-threaded programs: syscalls the supervisor handles through seccomp
# notifications (connect, execve) must work from any thread, not only the
# main one (node, the JVM and Go connect from worker threads).
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
cat > "$ws/threads.py" <<'PY'
import os, socket, subprocess, sys, threading
out = {}
def worker():
    srv = socket.socket(socket.AF_UNIX)
    srv.bind("/tmp/own.sock"); srv.listen(1)
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect("/tmp/own.sock"); out["unix"] = "ok"
    except OSError as e:
        out["unix"] = e.strerror
    t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)
    c2 = socket.socket()
    try:
        c2.connect(t.getsockname()); out["tcp"] = "ok"
    except OSError as e:
        out["tcp"] = e.strerror
    try:
        out["exec"] = subprocess.run(["/bin/echo", "ok"], capture_output=True, text=True).stdout.strip()
    except OSError as e:
        out["exec"] = e.strerror
th = threading.Thread(target=worker); th.start(); th.join()
print(" ".join(f"{k}={v}" for k, v in sorted(out.items())))
PY
expect_output "control: outside, a thread connects and execs" "^exec=ok tcp=ok unix=ok$" \
	sh -c "cd '$ws' && mkdir -p tmp && sed 's#/tmp/own.sock#$ws/tmp/own.sock#' threads.py > t2.py && $PY t2.py"
expect_output "inside, a thread's unix connect, TCP connect and exec work" "^exec=ok tcp=ok unix=ok$" \
	sb "$ws" $PY "$ws/threads.py"
done_testing
