#!/bin/bash
# Network decisions reach the audit log through the proxy's decision
# callback: one `net` record per refused request, with exact fields.
. "$(dirname "$0")/../lib.sh"
A="$PY $(dirname "$0")/alog.py"

command -v curl >/dev/null || { skip "net records" "curl not installed"; done_testing; exit $?; }
ws=$(new_ws)
LOG=$T/net/audit.jsonl
(cd "$ws" && "$CORDON" run -q --audit-log "$LOG" --allow-domain allowed.test -- /bin/sh -c \
	'curl -s -o /dev/null https://denied.test/; curl -s -o /dev/null -w "%{http_code}" http://denied.test:8080/x') > "$T/net.out" 2>&1
check "control: the proxy answered the plain HTTP request with 403" grep -q "^403$" "$T/net.out"
expect_output "two net records" "^2$" $A count "$LOG" net
expect_output "CONNECT: host" '^"denied.test"$' $A get "$LOG" net 0 host
expect_output "CONNECT: port 443" '^443$' $A get "$LOG" net 0 port
expect_output "CONNECT: protocol http-connect" '^"http-connect"$' $A get "$LOG" net 0 protocol
expect_output "CONNECT: decision deny" '^"deny"$' $A get "$LOG" net 0 decision
expect_output "CONNECT: no rule allowed it" '^null$' $A get "$LOG" net 0 rule
expect_output "CONNECT: no address connected" '^null$' $A get "$LOG" net 0 address
expect_output "CONNECT: a reason" '^"[a-z].*"$' $A get "$LOG" net 0 reason
expect_output "CONNECT: no bytes relayed" '^0$' $A get "$LOG" net 0 bytes_up
expect_output "plain HTTP: port 8080, protocol http" '^"http"$' $A get "$LOG" net 1 protocol
expect_output "plain HTTP: port" '^8080$' $A get "$LOG" net 1 port
expect_output "session end counts 2 net, 2 denied" '^2 2$' $PY -c "
import json; e=[json.loads(l) for l in open('$LOG')][-1]['counters']; print(e['net'], e['net_denied'])"
expect_output "cordon log --net: summary row" "denied.test +443  denied   - +1" "$CORDON" log --file "$LOG" --all --net
expect_output "chain OK" "OK" "$CORDON" log verify --file "$LOG"

done_testing
