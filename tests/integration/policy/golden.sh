#!/bin/bash
# Golden tests: each bad policy is refused with exactly the expected text
# (file:line:col, key, what was expected, a hint) and exit 125; each good
# one validates.
. "$(dirname "$0")/../lib.sh"

data="${CORDON_SRC:-}/tests/data/policies"
if [ ! -r "$data/bad" ]; then
	skip "golden policies" "cannot read $data (CORDON_SRC unset or not readable)"
	done_testing
	exit
fi
# A private copy: the messages name the file as given on the command line.
cp -r "$data" "$T/policies"
cd "$T/policies/bad" || exit 1
for f in *.json; do
	want="${f%.json}.expected"
	got=$("$CORDON" policy validate "$f" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 125 ] && [ "$got" = "$(cat "$want")" ]; then
		ok "bad/$f refused with the expected message"
	else
		not_ok "bad/$f refused with the expected message"
		diag "exit $rc; got:"
		printf '%s\n' "$got" | sed 's/^/#   /'
		diag "wanted:"
		sed 's/^/#   /' "$want"
	fi
done
cd "$T/policies/ok" || exit 1
for f in *.json; do
	case $f in
	claude-*) opt=--claude ;;
	managed-*) opt=--managed ;;
	*) opt= ;;
	esac
	expect_output "ok/$f validates" "^$f: ok$" "$CORDON" policy validate $opt "$f"
done

# A bad policy stops `cordon run` before anything runs.
ws=$(new_ws)
home=$(mktemp -d "$T/home.XXXXXX")
mkdir -p "$home/.config/cordon"
cp "$T/policies/bad/wrong-type.json" "$home/.config/cordon/settings.json"
run_capture env HOME="$home" sh -c "cd '$ws' && '$CORDON' run -- touch ran"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "settings.json:4:42: key \`sandbox.filesystem.denyRead\[2\]\`: expected string, got number"; then
	ok "bad user settings: run refused with 125 and file:line:col"
else
	not_ok "bad user settings: run refused with 125 and file:line:col"
	diag "exit $RC: $OUT"
fi
check "bad user settings: nothing ran" test ! -e "$ws/ran"

# network.rules and credentials.inject are enforced: a user settings file
# with them runs, and an injected credential stays on the host (the sandbox
# sees a placeholder).
rm -f "$ws/ran"
cp "$T/policies/ok/net-rules.json" "$home/.config/cordon/settings.json"
run_capture env HOME="$home" sh -c "cd '$ws' && '$CORDON' run -- touch ran"
if [ "$RC" -eq 0 ] && [ -e "$ws/ran" ]; then
	ok "network.rules in user settings: the run goes on"
else
	not_ok "network.rules in user settings: the run goes on"
	diag "exit $RC: $OUT"
fi
cat >"$home/.config/cordon/settings.json" <<'EOF_JSON'
{"sandbox": {"credentials": {"inject": [
  {"host": "api.example.test", "header": "Authorization", "fromEnv": "GH_PAT", "prefix": "Bearer "}]}}}
EOF_JSON
run_capture env HOME="$home" GH_PAT=secret-value sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo \"GH_PAT=\$GH_PAT\"; cat /proc/self/environ | tr \"\\0\" \"\\n\"'"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "^GH_PAT=cordon-injected-GH_PAT$" &&
	! printf '%s' "$OUT" | grep -q "secret-value"; then
	ok "credentials.inject in user settings: the sandbox sees a placeholder, never the value"
else
	not_ok "credentials.inject in user settings: the sandbox sees a placeholder, never the value"
	diag "exit $RC: $OUT"
fi
echo '{}' >"$home/.config/cordon/settings.json"
run_capture env HOME="$home" GH_PAT=secret-value sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo \"GH_PAT=\$GH_PAT\"'"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "^GH_PAT=secret-value$"; then
	ok "control: without the inject entry the same variable is visible inside"
else
	not_ok "control: without the inject entry the same variable is visible inside"
	diag "exit $RC: $OUT"
fi

# The basic and fromFile forms from the user's settings: `~/` is the
# invoker's home; policy show names the forms and never a value; the run
# reads the file on the host and the command cannot.
printf 'file-secret-%s\n' "$$" >"$home/.api-key"
chmod 600 "$home/.api-key"
cat >"$home/.config/cordon/settings.json" <<'EOF_JSON'
{"sandbox": {"credentials": {"inject": [
  {"host": "git.example.test", "basic": {"user": "x-access-token"}, "fromEnv": "GH_PAT"},
  {"host": "api.example.test", "header": "X-Api-Key", "fromFile": "~/.api-key"}]}}}
EOF_JSON
run_capture env HOME="$home" GH_PAT=secret-value sh -c "cd '$ws' && '$CORDON' policy show"
if [ "$RC" -eq 0 ] &&
	printf '%s' "$OUT" | grep -q 'git.example.test Authorization Basic user x-access-token: from \$GH_PAT' &&
	printf '%s' "$OUT" | grep -q 'api.example.test X-Api-Key: from file ~/.api-key' &&
	! printf '%s' "$OUT" | grep -q -e secret-value -e file-secret; then
	ok "policy show: the basic and fromFile forms, no value"
else
	not_ok "policy show: the basic and fromFile forms, no value"
	diag "exit $RC: $OUT"
fi
run_capture env HOME="$home" GH_PAT=secret-value sh -c "cd '$ws' && '$CORDON' run -- sh -c 'echo \"GH_PAT=\$GH_PAT\"; cat \"$home/.api-key\"; echo rc=\$?; cat /proc/self/environ | tr \"\\0\" \"\\n\"'"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "^GH_PAT=cordon-injected-GH_PAT$" &&
	printf '%s' "$OUT" | grep -q "injected by the proxy for api.example.test (masked inside): $home/.api-key" &&
	! printf '%s' "$OUT" | grep -q -e secret-value -e file-secret; then
	ok "basic and fromFile in user settings: a placeholder inside, the file's content nowhere"
else
	not_ok "basic and fromFile in user settings: a placeholder inside, the file's content nowhere"
	diag "exit $RC: $OUT"
fi
check "control: the file is readable on the host" grep -q "^file-secret-$$\$" "$home/.api-key"
rm "$home/.api-key"
run_capture env HOME="$home" sh -c "cd '$ws' && rm -f ran && '$CORDON' run -- touch ran"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "credentials.inject: read $home/.api-key (fromFile for api.example.test): No such file or directory" &&
	[ ! -e "$ws/ran" ]; then
	ok "fromFile missing: the run stops with 125 before anything runs"
else
	not_ok "fromFile missing: the run stops with 125 before anything runs"
	diag "exit $RC: $OUT"
fi
echo '{}' >"$home/.config/cordon/settings.json"
# tls.bypass of a host an agent preset reads (its rules and credentials):
# the two layers conflict, and the run stops before anything runs.
echo '{"sandbox": {"tls": {"bypass": ["api.anthropic.com"]}}}' >"$home/.config/cordon/settings.json"
run_capture env HOME="$home" sh -c "cd '$ws' && rm -f ran && '$CORDON' run --profile claude -- touch ran"
if [ "$RC" -eq 125 ] && [ ! -e "$ws/ran" ] &&
	printf '%s' "$OUT" | grep -q "settings.json:1:33: key \`sandbox.tls.bypass\`: \"api.anthropic.com\" conflicts with network.rules \"api.anthropic.com\" (profile claude), which needs the tunnel read" &&
	printf '%s' "$OUT" | grep -q "^Hint: remove one of the two"; then
	ok "tls.bypass of a host the claude profile reads: 125, both entries named, nothing ran"
else
	not_ok "tls.bypass of a host the claude profile reads: 125, both entries named, nothing ran"
	diag "exit $RC: $OUT"
fi
run_capture env HOME="$home" sh -c "cd '$ws' && rm -f ran && '$CORDON' run -- touch ran"
if [ "$RC" -eq 0 ] && [ -e "$ws/ran" ]; then
	ok "control: the same bypass without the profile runs"
else
	not_ok "control: the same bypass without the profile runs"
	diag "exit $RC: $OUT"
fi
echo '{}' >"$home/.config/cordon/settings.json"
done_testing
