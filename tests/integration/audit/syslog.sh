#!/bin/bash
# --syslog: every record also goes to syslog(3). A fake /dev/log (a unix
# datagram socket) in a private mount namespace receives them.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "records reach syslog" "needs root for a private /dev/log (unshare -m)"
	done_testing
	exit $?
fi
ws=$(new_ws)
LOG=$T/syslog/audit.jsonl
OUTF=$T/syslog.out
cat > "$T/listen.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
PY
cat > "$T/inner.sh" <<'SH'
set -eu
T=$1 CORDON=$2 ws=$3 LOG=$4 OUTF=$5 HOW=$6
mkdir -p "$T/hostdev"
mount --rbind /dev "$T/hostdev"
mount -t tmpfs -o mode=0755 cordon-devtest /dev
for n in null zero full random urandom tty; do
	touch "/dev/$n"
	mount --bind "$T/hostdev/$n" "/dev/$n"
done
/usr/bin/python3 "$T/listen.py" /dev/log "$OUTF" &
lp=$!
trap 'kill $lp 2>/dev/null' EXIT
for i in $(seq 50); do [ -e "$OUTF.ready" ] && break; sleep 0.1; done
# $HOW: --syslog, or --policy FILE with "audit": {"syslog": true}
(cd "$ws" && "$CORDON" run $HOW --audit-log "$LOG" -- /bin/bash -c '/bin/echo syslog-probe')
for i in $(seq 50); do [ "$(wc -l < "$OUTF" 2>/dev/null || echo 0)" -ge 6 ] && break; sleep 0.1; done
SH
if ! timeout 60 unshare -m --propagation private bash "$T/inner.sh" "$T" "$CORDON" "$ws" "$LOG" "$OUTF" --syslog >"$T/inner.log" 2>&1; then
	not_ok "syslog test environment"
	sed 's/^/#   /' "$T/inner.log" | head -10
	done_testing
	exit $?
fi
check "run with --syslog succeeded and wrote the log" test "$(wc -l < "$LOG")" -eq 6
expect_output "6 syslog messages (start, 2 x (exec_request, exec), end)" "^6$" sh -c "grep -c 'cordon\\[[0-9]*\\]: {\"v\":1' '$OUTF'"
expect_output "syslog message carries the audit line unchanged" "^same$" $PY -c "
import re
got = [re.sub(r'^.*?cordon\[\d+\]: ', '', l.rstrip('\n')) for l in open('$OUTF') if 'cordon[' in l]
print('same' if got == open('$LOG').read().splitlines() else 'differs')"
expect_output "facility authpriv, severity info (<86>)" "^<86>" head -1 "$OUTF"

# The same from the policy key instead of the flag.
printf '{"sandbox": {"audit": {"syslog": true}}}\n' > "$T/syslog-policy.json"
if timeout 60 unshare -m --propagation private bash "$T/inner.sh" "$T" "$CORDON" "$ws" \
	"$T/syslog2/audit.jsonl" "$T/syslog2.out" "--policy $T/syslog-policy.json" >"$T/inner2.log" 2>&1; then
	expect_output "audit.syslog: true in a policy file sends the records too" "^6$" \
		sh -c "grep -c 'cordon\\[[0-9]*\\]: {\"v\":1' '$T/syslog2.out'"
else
	not_ok "audit.syslog: true in a policy file sends the records too"
	sed 's/^/#   /' "$T/inner2.log" | head -10
fi

done_testing
