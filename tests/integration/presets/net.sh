#!/bin/bash
# Agents as users point them: the host of the agent's base URL is allowed
# with the same address checks as any domain, the user's NO_PROXY is kept,
# --allow-loopback PORT reaches a service on this machine's loopback through
# the proxy (and no other port), and cordon's options go before the agent's.
. "$(dirname "$0")/../lib.sh"

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset ANTHROPIC_BASE_URL ANTHROPIC_BEDROCK_BASE_URL ANTHROPIC_VERTEX_BASE_URL OPENAI_BASE_URL \
	GOOGLE_GEMINI_BASE_URL GOOGLE_VERTEX_BASE_URL NO_PROXY no_proxy
ws=$(new_ws)
show() { (cd "$ws" && "$CORDON" policy show "$@" 2>&1); }

# The base URL's host, on its port.
expect_output "ANTHROPIC_BASE_URL's host is allowed on its port" \
	"allowedDomains +llm-gateway.example.test:8443 +\(profile claude\)" \
	env ANTHROPIC_BASE_URL=https://llm-gateway.example.test:8443/anthropic sh -c "cd '$ws' && '$CORDON' policy show --profile claude"
expect_output "OPENAI_BASE_URL's host is allowed (https: port 443)" "allowedDomains +openai-gw.example.test:443 " \
	env OPENAI_BASE_URL=https://openai-gw.example.test/v1 sh -c "cd '$ws' && '$CORDON' policy show --profile codex"
expect_output "GOOGLE_GEMINI_BASE_URL's host is allowed" "allowedDomains +gemini-gw.example.test:8080 " \
	env GOOGLE_GEMINI_BASE_URL=http://gemini-gw.example.test:8080 sh -c "cd '$ws' && '$CORDON' policy show --profile gemini"
run_capture env ANTHROPIC_BASE_URL=http://10.1.2.3:4000 sh -c "cd '$ws' && '$CORDON' policy show --profile claude"
if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT" | grep -q "allowedDomains .*10.1.2.3" &&
	printf '%s' "$OUT" | grep -q "names 10.1.2.3, an address the proxy refuses for every host (private"; then
	ok "a private address in the base URL is not allowed (a note says how)"
else
	not_ok "a private address in the base URL is not allowed"; diag "$OUT"
fi
run_capture env ANTHROPIC_BASE_URL=http://localhost:4000 sh -c "cd '$ws' && '$CORDON' policy show --profile claude"
if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT" | grep -q "allowedDomains .*localhost" &&
	printf '%s' "$OUT" | grep -q "reaches only with --allow-loopback 4000"; then
	ok "a loopback base URL needs --allow-loopback (a note says so)"
else
	not_ok "a loopback base URL needs --allow-loopback"; diag "$OUT"
fi

# NO_PROXY: the user's entries next to cordon's.
expect_output "the user's NO_PROXY is kept inside, with cordon's loopback entries" \
	"^NO_PROXY=localhost,127.0.0.1,::1,corp.example.test,.internal.example.test no_proxy=localhost,127.0.0.1,::1,corp.example.test,.internal.example.test$" \
	env NO_PROXY=corp.example.test,localhost no_proxy=.internal.example.test sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo NO_PROXY=\$NO_PROXY no_proxy=\$no_proxy' </dev/null"

# --allow-loopback PORT: a service on this machine's 127.0.0.1.
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
srv="$T/srv"
mkdir -p "$srv"
echo loopback-ok > "$srv/hello.txt"
p1=$(free_port)
p2=$(free_port)
$PY -m http.server --bind 127.0.0.1 --directory "$srv" "$p1" 2>"$T/srv1.log" >/dev/null &
track_pid $!
$PY -m http.server --bind 127.0.0.1 --directory "$srv" "$p2" 2>"$T/srv2.log" >/dev/null &
track_pid $!
up() { $PY -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; }
if ! wait_for up "$p1" || ! wait_for up "$p2"; then
	not_ok "the test's loopback servers start"
	done_testing
	exit 1
fi
expect_output "control: the service answers on the host" "^loopback-ok$" curl -sS "http://127.0.0.1:$p1/hello.txt"
expect_fail "control: without --allow-loopback it is out of reach inside" "Couldn't connect|Connection refused|Failed to connect" \
	sh -c "cd '$ws' && '$CORDON' run -- curl -sS --max-time 10 http://127.0.0.1:$p1/hello.txt </dev/null"
: > "$T/srv1.log"
expect_output "with --allow-loopback $p1 the command reaches it at the same address" "^loopback-ok$" \
	sh -c "cd '$ws' && '$CORDON' run --allow-loopback $p1 -- curl -sS --max-time 10 http://127.0.0.1:$p1/hello.txt </dev/null"
check "the host's service logged the request" grep -q '"GET /hello.txt' "$T/srv1.log"
expect_output "localhost:$p1 works too" "^loopback-ok$" \
	sh -c "cd '$ws' && '$CORDON' run --allow-loopback $p1 -- curl -sS --max-time 10 http://localhost:$p1/hello.txt </dev/null"
: > "$T/srv2.log"
expect_fail "another loopback port is refused by the proxy" "access to 127.0.0.1:$p2 denied" \
	sh -c "cd '$ws' && '$CORDON' run --allow-loopback $p1 -- curl -sS --fail-with-body --max-time 10 --noproxy '' -x http://127.0.0.1:3128 http://127.0.0.1:$p2/hello.txt </dev/null"
check "and its service (listening) received nothing" sh -c "! grep -q GET '$T/srv2.log'"
expect_output "policy show lists exactly the loopback rules" \
	"allowedDomains +127.0.0.1:$p1 +\(command line\).*allowedDomains +\[::1\]:$p1 +\(command line\)" \
	sh -c "cd '$ws' && '$CORDON' policy show --allow-loopback $p1 | tr '\n' ' '"
expect_fail "a bad port is refused" "--allow-loopback 70000: not a port number" \
	sh -c "cd '$ws' && '$CORDON' run --allow-loopback 70000 -- true </dev/null"

# An agent whose API is on the loopback, as the user set it up.
probe="$SHOWN/probe-agent"
printf '#!/bin/sh\n[ "$1" = --settings ] && shift 2\nexec sh -c "$1"\n' > "$probe"
chmod 755 "$probe"
expect_output "cordon claude --allow-loopback: the agent reaches ANTHROPIC_BASE_URL on loopback" "^loopback-ok$" \
	env ANTHROPIC_BASE_URL=http://127.0.0.1:$p1 sh -c "cd '$ws' && '$CORDON' claude --allow-loopback $p1 --bin '$probe' -- 'curl -sS --max-time 10 \$ANTHROPIC_BASE_URL/hello.txt' </dev/null"

# cordon's options first, the agent's after, `--` optional.
argv_probe="$T/argv-probe"
printf '#!/bin/sh\nfor a in "$@"; do printf "arg:%%s\\n" "$a"; done\ncurl -sS --noproxy "" -x http://127.0.0.1:3128 http://allowed-x.test/\n' > "$argv_probe"
chmod 755 "$argv_probe"
run_capture sh -c "cd '$ws' && '$CORDON' claude --bin '$argv_probe' --allow-domain allowed-x.test --version </dev/null"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -qx 'arg:--version' && ! printf '%s' "$OUT" | grep -q 'arg:--allow-domain' &&
	! printf '%s' "$OUT" | grep -q 'arg:allowed-x.test' && printf '%s' "$OUT" | grep -q 'allowed-x.test:80: name does not resolve'; then
	ok "cordon claude --allow-domain X --version: X is cordon's (the proxy allows it), --version the agent's"
else
	not_ok "cordon claude --allow-domain X --version"; diag "exit $RC: $OUT"
fi
expect_output "control: without --allow-domain the proxy refuses X" "access to allowed-x.test:80 denied" \
	sh -c "cd '$ws' && '$CORDON' claude --bin '$argv_probe' --version </dev/null"
expect_fail "a cordon option after the agent's arguments is refused" "--allow-domain comes after the agent's arguments" \
	sh -c "cd '$ws' && '$CORDON' claude --bin '$argv_probe' -p hi --allow-domain allowed-x.test </dev/null"
check "with exit 125" [ "$RC" -eq 125 ]
expect_output "after \`--\` it is the agent's" "^arg:--allow-domain$" \
	sh -c "cd '$ws' && '$CORDON' claude --bin '$argv_probe' -- -p hi --allow-domain allowed-x.test </dev/null"

done_testing
