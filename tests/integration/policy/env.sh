#!/bin/bash
# Secrets in the environment never reach the sandbox.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
m="m$$"
dump='tr "\0" "\n" < /proc/self/environ'
run_capture env HOME="$home" GITHUB_TOKEN="tok-$m" AWS_SECRET_ACCESS_KEY="aws-$m" \
	DB_PASSWORD="pw-$m" SSH_AUTH_SOCK="/run/agent-$m" ANTHROPIC_API_KEY="ak-$m" \
	my_service_token="low-$m" VISIBLE_SETTING="vis-$m" \
	sh -c "cd '$ws' && '$CORDON' run -- sh -c '$dump'"
check "control: an ordinary variable is visible inside" sh -c "printf '%s' \"\$1\" | grep -q VISIBLE_SETTING=vis-$m" _ "$OUT"

for v in GITHUB_TOKEN AWS_SECRET_ACCESS_KEY DB_PASSWORD SSH_AUTH_SOCK ANTHROPIC_API_KEY my_service_token; do
	if printf '%s' "$OUT" | grep -q "^$v="; then
		not_ok "$v scrubbed from /proc/self/environ"
	else
		ok "$v scrubbed from /proc/self/environ"
	fi
done
check "no secret value anywhere in the environment" sh -c "! printf '%s' \"\$1\" | grep -Eq '(tok|aws|pw|ak|low)-$m'" _ "$OUT"
check "CORDON_SANDBOX=1 is set" sh -c "printf '%s' \"\$1\" | grep -qx CORDON_SANDBOX=1" _ "$OUT"

# A credential in a variable no rule names: scrubbed by its value.
run_capture env HOME="$home" DATABASE_URL="postgres://app:pw-$m@db.example.test/app" \
	MY_GH="ghp_abcdefghijklmnopqrstuvwxyz0123456789" PLAIN_URL="postgres://db.example.test/app" \
	sh -c "cd '$ws' && '$CORDON' run -- sh -c '$dump'"
check "value scrub: DATABASE_URL with a password is not inside" \
	sh -c "! printf '%s' \"\$1\" | grep -q '^DATABASE_URL='" _ "$OUT"
check "value scrub: a GitHub token under an unrelated name is not inside" \
	sh -c "! printf '%s' \"\$1\" | grep -q '^MY_GH='" _ "$OUT"
check "value scrub: control: a URL without a password is inside" \
	sh -c "printf '%s' \"\$1\" | grep -q '^PLAIN_URL=postgres://db.example.test/app'" _ "$OUT"
check "value scrub: stderr names what was kept out, never the value" \
	sh -c "printf '%s' \"\$1\" | grep 'kept out of the sandbox' | grep -q 'DATABASE_URL' && ! printf '%s' \"\$1\" | grep -q 'pw-$m'" _ "$OUT"
# Tokens and passwords inside a longer value, and names the patterns missed.
run_capture env HOME="$home" GH_ARGS="--token ghp_abcdefghijklmnopqrstuvwxyz0123456789" \
	CI_HEADER="Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl" \
	JSON_CONF='{"key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}' \
	SPRING_DATASOURCE_URL="jdbc:postgresql://app:pw-$m@db.example.test/app" \
	JAVA_OPTS="-Xmx1g -Ddb.url=mysql://app:pw-$m@db.example.test/app" \
	NPM_CONFIG__AUTH="dXNlcjpwdy0k" npm_config__authToken="plain-$m" \
	OP_SESSION_my="sess-$m" PLAIN_ARGS="--jobs 4 --name sk-short" \
	sh -c "cd '$ws' && '$CORDON' run -- sh -c '$dump'"
for v in GH_ARGS CI_HEADER JSON_CONF SPRING_DATASOURCE_URL JAVA_OPTS NPM_CONFIG__AUTH npm_config__authToken OP_SESSION_my; do
	check "scrubbed: $v" sh -c "! printf '%s' \"\$1\" | grep -q '^$v='" _ "$OUT"
done
check "control: ordinary arguments stay (PLAIN_ARGS)" \
	sh -c "printf '%s' \"\$1\" | grep -q '^PLAIN_ARGS=--jobs 4 --name sk-short$'" _ "$OUT"
run_capture env HOME="$home" DATABASE_URL="postgres://app:pw-$m@db.example.test/app" \
	sh -c "cd '$ws' && '$CORDON' run --quiet -- true"
check "--quiet: no note on stderr" test -z "$OUT"
OUT=$(env HOME="$home" GITHUB_TOKEN="tok-$m" sh -c "cd '$ws' && '$CORDON' run -- sh -c 'cat /proc/1/environ; echo; echo done'" 2>/dev/null)
check "pid 1 inside does not leak the original environment" \
	sh -c "printf '%s' \"\$1\" | grep -q done && ! printf '%s' \"\$1\" | grep -q tok-$m" _ "$OUT"

# pid 1 inside is a clone of cordon: the scrubbed values must not be in
# its memory either.
cat > "$ws/memscan.py" <<'PY'
import re, sys
found = 0
# The needle comes in two parts so that this command line does not hold it.
needle = (sys.argv[1] + sys.argv[2]).encode()
try:
    maps = open("/proc/1/maps").readlines()
except OSError:
    maps = []
for line in maps:
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
    if not m:
        continue
    a, b = int(m.group(1), 16), int(m.group(2), 16)
    try:
        with open("/proc/1/mem", "rb") as f:
            f.seek(a)
            if needle in f.read(min(b - a, 1 << 24)):
                found += 1
    except OSError:
        pass
print("found", found)
PY
expect_output "no scrubbed value in pid 1's memory" "^found 0$" \
	env HOME="$home" GITHUB_TOKEN="tok-$m" sh -c "cd '$ws' && '$CORDON' run -- $PY '$ws/memscan.py' tok- $m 2>/dev/null"

# An explicit allow keeps one (credentials.envVars mode allow), and a
# policy deny removes an ordinary one.
cat > "$T/env.json" <<'JSON'
{"sandbox": {"credentials": {"envVars": [
  {"name": "GITHUB_TOKEN", "mode": "allow"},
  {"name": "VISIBLE_SETTING", "mode": "deny"}]}}}
JSON
run_capture env HOME="$home" GITHUB_TOKEN="tok-$m" VISIBLE_SETTING="vis-$m" \
	sh -c "cd '$ws' && '$CORDON' run --policy '$T/env.json' -- sh -c '$dump'"
check "explicit allow keeps GITHUB_TOKEN" sh -c "printf '%s' \"\$1\" | grep -q GITHUB_TOKEN=tok-$m" _ "$OUT"
check "policy deny removes VISIBLE_SETTING" sh -c "! printf '%s' \"\$1\" | grep -q ^VISIBLE_SETTING=" _ "$OUT"
check "the scrubbed name is said once on stderr" sh -c "printf '%s' \"\$1\" | grep -c 'kept out of the sandbox:.*VISIBLE_SETTING' | grep -qx 1" _ "$OUT"
# The strict profile keeps only a short list.
run_capture env HOME="$home" VISIBLE_SETTING="vis-$m" sh -c "cd '$ws' && '$CORDON' run --profile strict -- sh -c '$dump'"
check "--profile strict drops ordinary variables" sh -c "! printf '%s' \"\$1\" | grep -q ^VISIBLE_SETTING=" _ "$OUT"
check "--profile strict keeps PATH" sh -c "printf '%s' \"\$1\" | grep -q '^PATH='" _ "$OUT"
expect_fail "unknown profile: 125 with the known names" "no profile named \"nope\".*|known profiles" \
	sh -c "cd '$ws' && '$CORDON' run --profile nope -- true"
done_testing
