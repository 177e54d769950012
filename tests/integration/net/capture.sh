#!/bin/bash
# Transparent egress: programs that ignore the proxy variables (curl
# --noproxy, a raw Python socket, Node 20's fetch) are captured and judged
# like a CONNECT; the sandbox's DNS stub answers allowed names with
# synthetic addresses, refuses the others and never sends a query out.
. "$(dirname "$0")/../lib.sh"
# lastnet KEY...: those fields of the last `net` record in $LOG, as JSON
lastnet() {
	$PY -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in r if x["type"] == "net"][-1]
print(" ".join(json.dumps(r[k]) for k in sys.argv[2:]))' "$LOG" "$@"
}

command -v curl >/dev/null || { skip "transparent capture" "curl not installed"; done_testing; exit $?; }
ws=$(new_ws)
http_upstream
export CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1
LOG=$T/capture/audit.jsonl
# insb CMD...: run CMD in a sandbox that allows target.test (resolved to 127.0.0.1)
insb() {
	(cd "$ws" && "$CORDON" run --audit-log "$LOG" --resolve target.test:127.0.0.1 \
		--allow-domain "target.test:*" "$@")
}

# A kernel built without nf_tables NAT cannot capture (cordon then runs
# without it); anywhere else, a capture that does not work is a failure.
if [ -r /proc/config.gz ] && ! zcat /proc/config.gz | grep -Eq '^CONFIG_NFT_(REDIR|NAT)=[ym]'; then
	skip "transparent capture" "this kernel has no nf_tables NAT (CONFIG_NFT_NAT)"
	done_testing
	exit $?
fi
(cd "$ws" && "$CORDON" run -v -- true) > "$T/v.out" 2>&1
check "cordon sets capture up here (no 'no transparent capture' notice)" \
	sh -c '! grep -q "no transparent capture" "$1"' sh "$T/v.out"

expect_output "resolv.conf inside names the stub" "^nameserver 127.0.0.1$" \
	insb -- grep nameserver /etc/resolv.conf
expect_output "getent: an allowed name gets a synthetic address" "^198\.1[89]\.[0-9.]+ +target\.test$" \
	insb -- getent hosts target.test
expect_status "getent: a denied name does not resolve (exit 2)" 2 insb -- getent hosts denied.example
# Whatever port a rule opens, the name resolves: portless (80, 443), :PORT.
expect_output "getent: a portless rule's name resolves too" "^198\.1[89]\.[0-9.]+ +web\.test$" \
	sh -c "cd '$ws' && '$CORDON' run --allow-domain web.test -- getent hosts web.test"
expect_output "getent: a name allowed on one port resolves" "^198\.1[89]\.[0-9.]+ +ssh\.test$" \
	sh -c "cd '$ws' && '$CORDON' run --allow-domain ssh.test:22 -- getent hosts ssh.test"
expect_status "getent: a name a deny rule covers does not, though *.test is allowed" 2 \
	sh -c "cd '$ws' && '$CORDON' run --allow-domain '*.test' --deny-domain bad.test -- getent hosts bad.test"
expect_output "getent: the stub's refusal is recorded" \
	'^"dns" "deny" "denied.example" "denied: DNS query for a name no allow rule matches"$' \
	lastnet protocol decision host reason

expect_output "curl --noproxy '*' to an allowed name arrives upstream" "^upstream-reached$" \
	insb -- curl -sS --max-time 10 --noproxy '*' "http://target.test:$port/"
expect_output "its record: protocol transparent, allowed, name and port" \
	"^\"transparent\" \"allow\" \"target.test\" $port\$" lastnet protocol decision host port
expect_fail "curl --noproxy '*' to a denied name: not resolved (6)" "Could not resolve host: denied.example" \
	insb -- curl -sS --max-time 10 --noproxy '*' "http://denied.example:$port/"
expect_output "control: through the proxy variables the same URL still works" "^upstream-reached$" \
	insb -- curl -sS --max-time 10 "http://target.test:$port/"

py_connect='import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
print(s.makefile("rb").read().decode().splitlines()[-1])'
expect_output "python raw socket to an allowed name arrives upstream" "^upstream-reached$" \
	insb -- $PY -c "$py_connect" target.test "$port"
expect_fail "python raw socket to a denied name: name not known" "gaierror" \
	insb -- $PY -c "$py_connect" denied.example "$port"

if command -v node >/dev/null; then
	js='fetch(process.argv[1]).then(async r => console.log(r.status, (await r.text()).trim()))
	    .catch(e => { console.log("fetch failed", e.cause && e.cause.code); process.exit(1); })'
	expect_output "node fetch() to an allowed name arrives upstream" "^200 upstream-reached$" \
		insb -- node -e "$js" "http://target.test:$port/"
	expect_fail "node fetch() to a denied name fails (ENOTFOUND)" "fetch failed ENOTFOUND" \
		insb -- node -e "$js" "http://denied.example:$port/"
else
	skip "node fetch()" "node not installed"
	skip "node fetch() denied" "node not installed"
fi

# A literal address the policy does not allow: captured, judged, reset.
expect_fail "connect to a literal IP not allowed is refused" "reset|Couldn't connect|Connection refused|Recv failure" \
	insb -- curl -sS --max-time 10 --noproxy '*' "http://192.0.2.7:$port/"
expect_output "its record: transparent, deny, the address" '^"transparent" "deny" "192.0.2.7"$' \
	lastnet protocol decision host

py_udp='import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.connect((sys.argv[1], 53))
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06target\x04test\x00\x00\x01\x00\x01"
u.send(q)
d = u.recv(512)
print("answered", len(d), "rcode", d[3] & 15)'
expect_output "control: UDP to the stub is answered" "^answered [0-9]+ rcode 0$" \
	insb -- $PY -c "$py_udp" 127.0.0.1
expect_fail "UDP to any other address fails" "ConnectionRefused|timed out" \
	insb -- $PY -c "$py_udp" 192.0.2.53

# The stub over TCP (dig +tcp's framing: a two-byte length before each
# message), the same answers as over UDP; and AAAA: NOERROR with no record
# (NODATA) for an allowed name, so a client asking both uses A at once,
# NXDOMAIN for a refused one, as for A.
py_dns='import socket, struct, sys
name, qtype, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
m += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", qtype, 1)
if proto == "tcp":
    s = socket.create_connection(("127.0.0.1", 53), timeout=5)
    s.sendall(struct.pack(">H", len(m)) + m + struct.pack(">H", len(m)) + m)
    f = s.makefile("rb")
    d = [f.read(struct.unpack(">H", f.read(2))[0]) for _ in range(2)]
    assert d[0] == d[1], "two queries on one connection, two equal answers"
    d = d[0]
else:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
    u.sendto(m, ("127.0.0.1", 53)); d = u.recv(600)
an = struct.unpack(">H", d[6:8])[0]
print("rcode", d[3] & 15, "answers", an, ".".join(map(str, d[-4:])) if an and qtype == 1 else "-")'
expect_output "DNS over TCP: an allowed name gets its synthetic address" \
	"^rcode 0 answers 1 198\.1[89]\.[0-9.]+$" insb -- $PY -c "$py_dns" target.test 1 tcp
expect_output "control: the same over UDP" "^rcode 0 answers 1 198\.1[89]\.[0-9.]+$" \
	insb -- $PY -c "$py_dns" target.test 1 udp
expect_output "DNS over TCP: a denied name is NXDOMAIN" "^rcode 3 answers 0 -$" \
	insb -- $PY -c "$py_dns" denied.example 1 tcp
expect_output "AAAA of an allowed name: NOERROR, no record (NODATA), over UDP" \
	"^rcode 0 answers 0 -$" insb -- $PY -c "$py_dns" target.test 28 udp
expect_output "...and over TCP" "^rcode 0 answers 0 -$" insb -- $PY -c "$py_dns" target.test 28 tcp
expect_output "AAAA of a denied name: NXDOMAIN, as for A" "^rcode 3 answers 0 -$" \
	insb -- $PY -c "$py_dns" denied.example 28 udp
expect_output "getent ahosts (A and AAAA asked): the synthetic IPv4 address only" \
	"^198\.1[89]\.[0-9.]+ +STREAM target\.test$" sh -c "cd '$ws' && '$CORDON' run \
	--resolve target.test:127.0.0.1 --allow-domain 'target.test:*' -- getent ahosts target.test | head -1"
check "getent ahosts: no IPv6 address" sh -c "cd '$ws' && ! '$CORDON' run \
	--resolve target.test:127.0.0.1 --allow-domain 'target.test:*' -- getent ahosts target.test | grep -q :"
py_unspec='import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print("family", s.family.name)
s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
print(s.makefile("rb").read().decode().splitlines()[-1])'
expect_output "python create_connection (AF_UNSPEC) reaches an allowed name over IPv4" \
	"family AF_INET upstream-reached" sh -c "cd '$ws' && '$CORDON' run --resolve target.test:127.0.0.1 \
	--allow-domain 'target.test:*' -- $PY -c '$py_unspec' target.test $port | tr '\n' ' '"
expect_output "curl (asks A and AAAA) reaches it" "^upstream-reached$" \
	insb -- curl -sS --max-time 10 --noproxy '*' "http://target.test:$port/"
if command -v node >/dev/null; then
	js_unspec='require("net").connect({host: process.argv[1], port: +process.argv[2]}, function () {
	  this.write("GET / HTTP/1.0\r\nHost: x\r\n\r\n"); }).on("data", d => process.stdout.write(d))
	  .on("error", e => { console.log("ERR", e.code); process.exit(1); })'
	expect_output "node net.connect (lookup of both families) reaches it" "upstream-reached" \
		insb -- node -e "$js_unspec" target.test "$port"
else
	skip "node net.connect" "node not installed"
fi

# Without nf_tables NAT (the test switch stands for such a kernel): said
# once on stderr, on the session's end record, and still fail-closed.
NLOG=$T/nocap.jsonl
(cd "$ws" && CORDON_TEST_NO_CAPTURE=1 "$CORDON" run --audit-log "$NLOG" --resolve target.test:127.0.0.1 \
	--allow-domain "target.test:*" -- sh -c "curl -sS --max-time 10 --noproxy '*' http://target.test:$port/;
	echo direct=\$?; curl -sS --max-time 10 http://target.test:$port/; echo proxied=\$?;
	$PY -c 'import socket; socket.create_connection((\"192.0.2.7\", $port), timeout=5)' 2>&1 | tail -1") \
	> "$T/nocap.out" 2>&1
expect_output "no capture: one notice on stderr, saying what it means" \
	"^1 .*no transparent capture.*ignore the proxy variables .* get no network at all" \
	sh -c "grep -c 'no transparent capture' '$T/nocap.out' | tr '\n' ' '; grep 'no transparent capture' '$T/nocap.out'"
expect_output "no capture: a client ignoring the proxy variables gets nothing (no name, no route)" \
	"direct=[1-9]" cat "$T/nocap.out"
expect_output "no capture: nor does a raw socket to an address" "(unreachable|refused|timed out)" \
	sh -c "grep -i 'Error' '$T/nocap.out'"
expect_output "control: through the proxy variables the same URL works" \
	"upstream-reached proxied=0" sh -c "tr '\n' ' ' < '$T/nocap.out'"
expect_output "no capture: the end record says so (layers.capture off)" '^"off"$' \
	$PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps(r[-1]["layers"]["capture"]))' "$NLOG"
expect_output "control: a session with capture records it on" '^"on"$' \
	$PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if "session_end" in l]; print(json.dumps(r[-1]["layers"]["capture"]))' "$LOG"

# The stub never forwards: in a network namespace of this test's own,
# cordon's host-side resolver would ask a counting server on 127.0.0.1:53.
if command -v unshare >/dev/null && command -v ip >/dev/null &&
	unshare -rnm --propagation private true 2>/dev/null; then
	printf 'nameserver 127.0.0.1\n' > "$T/resolv.conf"
	printf '%s\n' "$py_dns" > "$ws/dnsq.py"
	cat > "$T/dnscount.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").close()
while True:
    d, a = s.recvfrom(600)
    with open(sys.argv[1], "a") as f:
        f.write("query\n")
    s.sendto(d[:2] + b"\x81\x83" + d[4:6] + b"\0\0\0\0\0\0" + d[12:], a)
EOF
	(cd "$ws" && unshare -rnm --propagation private sh -c '
		ip link set lo up && mount --bind "$1" /etc/resolv.conf || exit 1
		'"$PY"' "$2" "$3" & p=$!
		for i in 1 2 3 4 5 6 7 8 9 10; do [ -e "$3" ] && break; sleep 0.2; done
		"$4" run --allow-domain "target.test:*" -- sh -c \
			"getent hosts denied.example; echo denied=\$?; getent hosts target.test >/dev/null; echo allowed=\$?;
			 '"$PY"' dnsq.py denied.example 1 tcp; '"$PY"' dnsq.py target.test 28 tcp"
		n=$(wc -l < "$3")
		getent hosts probe.test; echo "control=$?"
		m=$(wc -l < "$3")
		echo "inside=$n after=$m"
		kill $p' sh "$T/resolv.conf" "$T/dnscount.py" "$T/queries" "$CORDON") > "$T/ns.out" 2>&1
	check "no-forward scenario ran (denied exit 2, allowed exit 0, TCP: NXDOMAIN, NODATA)" \
		grep -qz 'denied=2.*allowed=0.*rcode 3 answers 0.*rcode 0 answers 0' "$T/ns.out"
	expect_output "no query left the stub for a denied or an allowed name" "^inside=0 " \
		grep '^inside=' "$T/ns.out"
	expect_output "control: a query outside cordon reaches the counting server" "^inside=0 after=[1-9]" \
		grep '^inside=' "$T/ns.out"
else
	skip "stub never forwards" "cannot make a user and network namespace here (unshare -rnm)"
fi

done_testing
