#!/bin/bash
# The network keys of the JSON policy are the proxy's rules: an allowed
# domain from a settings file is reachable, deniedDomains beats it, and a
# managed lock on the list holds against --allow-domain.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
http_upstream
export CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1
fetch() { # fetch EXTRA-OPTS...: GET http://target.test:PORT/ through the sandbox's proxy
	(cd "$ws" && "$CORDON" run --resolve target.test:127.0.0.1 "$@" -- \
		$PY -c "import urllib.request; print(urllib.request.urlopen('http://target.test:$port/', timeout=10).read().decode().strip())")
}

# the upstream listens on a random port: ":*" allows every port (a rule
# without a port allows 80 and 443 only)
printf '{"sandbox": {"network": {"allowedDomains": ["target.test:*"]}}}\n' > "$T/allow.json"
printf '{"sandbox": {"network": {"allowedDomains": ["*.test:*", "target.test:*"], "deniedDomains": ["target.test"]}}}\n' > "$T/deny.json"

expect_output "allowedDomains from a settings file: request arrives upstream" "^upstream-reached$" \
	fetch --policy "$T/allow.json"
expect_fail "control: without the policy the same request is refused (403)" "403" fetch
expect_fail "deniedDomains beats allowedDomains (403)" "403" fetch --policy "$T/deny.json"
expect_fail "--deny-domain beats a settings file's allow (403)" "403" \
	fetch --policy "$T/allow.json" --deny-domain target.test
expect_output "--allow-domain alone still works" "^upstream-reached$" fetch --allow-domain 'target.test:*'
expect_output "a rule without a port does not open port $port (403 names the port)" \
	"port $port is not allowed for target.test" sh -c "cd '$ws' && '$CORDON' run \
	--resolve target.test:127.0.0.1 --allow-domain target.test -- \
	curl -sS --max-time 10 http://target.test:$port/"
expect_output "target.test:PORT opens exactly that port" "^upstream-reached$" \
	fetch --allow-domain "target.test:$port"

if [ -e /etc/cordon/managed-settings.json ]; then
	skip "managed lock on allowedDomains beats --allow-domain" "a real managed file exists"
else
	printf '{"sandbox": {"lock": ["network.allowedDomains"]}}\n' > "$T/managed.json"
	expect_status "managed lock on allowedDomains: --allow-domain refused (125)" 125 \
		env CORDON_TEST_MANAGED_SETTINGS="$T/managed.json" sh -c \
		"cd '$ws' && '$CORDON' run --allow-domain target.test -- true"
	expect_fail "the refusal names the lock" "locked" \
		env CORDON_TEST_MANAGED_SETTINGS="$T/managed.json" sh -c \
		"cd '$ws' && '$CORDON' run --allow-domain target.test -- true"
fi
done_testing
