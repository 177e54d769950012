#!/bin/bash
# The walls from a policy file (sandbox.resources, network.allowUnixSockets,
# network.allowLocalBinding), and the command line on top of it.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
host=$SHOWN/policy-sockets
mkdir -p "$host"
chmod 755 "$host"
sock=$host/agent.sock
$PY - "$sock" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(8)
s.settimeout(60)
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    c.sendall(b"hello-agent\n"); c.close()
PYEOF
track_pid $!
wait_for test -S "$sock" || { not_ok "socket server started"; done_testing; exit; }

client='import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); sys.exit(1)
print(s.recv(64).decode().strip())'
listen='import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 0)); s.listen(1); print("listening")
except OSError as e:
    print("bind:", e.strerror)'

cat > "$T/walls-policy.json" <<JSON
{"sandbox": {
  "network": {"allowUnixSockets": ["$host/*.sock"], "allowLocalBinding": false},
  "resources": {"memory": "256m", "pids": 300}}}
JSON
pol() { (cd "$ws" && "$CORDON" run --policy "$T/walls-policy.json" "$@"); }

expect_fail "without the policy the socket is refused" "connect: Permission denied" \
	sb "$ws" $PY -c "$client" "$sock"
expect_output "allowUnixSockets (glob) from the policy opens it" "^hello-agent$" \
	pol -- $PY -c "$client" "$sock"
expect_output "allowLocalBinding false: TCP listening refused" "^bind: Permission denied$" \
	pol -- $PY -c "$listen"
expect_output "allowLocalBinding unset (default): TCP listening works" "^listening$" \
	sb "$ws" $PY -c "$listen"
expect_output "resources from the policy are in force" "limits: (cgroup v[12]|rlimits)" \
	pol -v -- true
expect_output "--memory on the command line overrides the policy" "memory 536870912" \
	pol -v --memory 512m -- true

done_testing
