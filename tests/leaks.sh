#!/bin/bash
# Leak checks for `make asan` (LeakSanitizer). LSan stops the world with
# ptrace, which the sandbox's seccomp filter refuses, so it cannot run in a
# program started inside a sandbox: the integration suites run with
# detect_leaks=0, and this script checks leaks where LSan works: the unit
# tests, the fuzz corpora, and the supervisor (cordon outside) over the
# main paths, with programs inside that are not sanitizer builds.
set -u
BUILD=${1:-build-asan}
CORDON=$(cd "$BUILD" && pwd)/cordon
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
ws=$(mktemp -d /var/tmp/cordon-leaks.XXXXXX)
chmod 755 "$ws"
trap 'rm -rf "$ws"' EXIT
if meson test -C "$BUILD" --suite unit --suite fuzz-regress --print-errorlogs >"$ws/meson.log" 2>&1; then
	ok "unit tests and fuzz corpora: no leak, no sanitizer error"
else
	not_ok "unit tests and fuzz corpora"; tail -30 "$ws/meson.log" | sed 's/^/# /'
fi
scenario() { # scenario DESC CMD...: the supervisor runs CMD; LSan reports leaks on stderr
	local desc=$1; shift
	if (cd "$ws" && "$@") >"$ws/out" 2>&1 && ! grep -q "Sanitizer" "$ws/out"; then
		ok "$desc"
	else
		not_ok "$desc"; grep -A12 "Sanitizer" "$ws/out" | head -30 | sed 's/^/# /'
	fi
}
scenario "run: a command, a denied fetch through the proxy, exec audit" \
	"$CORDON" run --audit-log "$ws/a.jsonl" -- sh -c 'curl -s -m 3 http://example.com/ >/dev/null; ls >/dev/null'
scenario "run: policy file, profile, limits" \
	"$CORDON" run --profile node --memory 512m --pids 128 --audit-log "$ws/a.jsonl" -- true
cat >"$ws/rules.json" <<'EOF_JSON'
{"sandbox": {"network": {"allowedDomains": ["example.com"],
  "rules": [{"host": "example.com", "methods": ["GET"], "paths": ["/ok/*"]}]},
 "credentials": {"inject": [{"host": "example.com", "header": "X-Key", "fromEnv": "LEAK_KEY"}]}}}
EOF_JSON
# refused by network.rules before any resolution: nothing leaves the machine
scenario "run: interception set up (CA made and loaded), a request refused by network.rules" \
	env CORDON_TEST_HOOKS=1 CORDON_TEST_CONFIG_DIR="$ws/config" LEAK_KEY=value \
	"$CORDON" run --policy "$ws/rules.json" --audit-log "$ws/a.jsonl" -- \
	sh -c 'curl -s -m 3 http://example.com/nope >/dev/null; sleep 0.3'
printf 'leak-file-value\n' >"$ws/key"
cat >"$ws/forms.json" <<EOF_JSON
{"sandbox": {"network": {"allowedDomains": ["example.com"],
  "rules": [{"host": "example.com", "methods": ["GET"], "paths": ["/ok/*"]}]},
 "credentials": {"inject": [
  {"host": "example.com", "basic": {"user": "u"}, "fromEnv": "LEAK_KEY"},
  {"host": "example.org", "basic": {"userFromEnv": "LEAK_USER"}, "fromFile": "$ws/key"},
  {"host": "example.net", "header": "X-Key", "fromFile": "$ws/key", "prefix": "k "}]}}}
EOF_JSON
scenario "run: basic and fromFile injections set up, the file masked" \
	env CORDON_TEST_HOOKS=1 CORDON_TEST_CONFIG_DIR="$ws/config" LEAK_KEY=value LEAK_USER=v \
	"$CORDON" run --policy "$ws/forms.json" --audit-log "$ws/a.jsonl" -- \
	sh -c "curl -s -m 3 http://example.com/nope >/dev/null; cat '$ws/key'"
scenario "policy show with the basic and fromFile forms" "$CORDON" policy show --policy "$ws/forms.json"
scenario "cordon ca show, rotate" env CORDON_TEST_HOOKS=1 CORDON_TEST_CONFIG_DIR="$ws/config" \
	sh -c "'$CORDON' ca show --pem && '$CORDON' ca rotate"
scenario "log verify and log --net" sh -c "'$CORDON' log verify --file '$ws/a.jsonl' && '$CORDON' log --net --file '$ws/a.jsonl'"
scenario "policy show --json" "$CORDON" policy show --json
echo "1..$n"
[ "$failed" -eq 0 ]
