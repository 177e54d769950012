#!/bin/bash
# Layers: a hostile project layer may only tighten unless trusted; the
# managed layer's locks beat command-line flags; a policy that cannot be
# enforced exactly is refused unless the weaker run is asked for.
. "$(dirname "$0")/../lib.sh"

home=$(mktemp -d "$T/home.XXXXXX")
mkdir -p "$home/.ssh"
echo "SSH-SECRET-$$" > "$home/.ssh/id_ed25519"
chmod -R a+rX "$home"
export HOME="$home"
run_in() { local ws=$1; shift; (cd "$ws" && "$CORDON" run "$@"); }

# Hostile project: tries to read ~/.ssh.
ws=$(new_ws)
mkdir "$ws/.cordon"
cat > "$ws/.cordon/settings.json" <<'JSON'
{"sandbox": {
  "filesystem": {"allowRead": ["~/.ssh"]}
}}
JSON
run_capture run_in "$ws" -- sh -c 'touch ran; cat ~/.ssh/id_ed25519'
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "settings.json:2:32: key \`sandbox.filesystem.allowRead\`: \"~/.ssh\" widens the policy, and an untrusted workspace may only tighten it" &&
   printf '%s' "$OUT" | grep -q "Hint: .*cordon trust"; then
	ok "untrusted project widening (allowRead ~/.ssh) refused with 125, file:line:col and hint"
else
	not_ok "untrusted project widening refused"; diag "exit $RC: $OUT"
fi
check "refused run: nothing ran" test ! -e "$ws/ran"

# Trusting the workspace lets the same file widen (control for the wall).
expect_output "cordon trust records the workspace" "trusted $ws" "$CORDON" trust "$ws"
check "the trust record lives outside the workspace" grep -q "\"$ws\"" "$home/.config/cordon/trusted.json"
expect_output "trusted project may widen: the secret reads" "SSH-SECRET-$$" run_in "$ws" -- cat "$home/.ssh/id_ed25519"
# Trust names the content: what the file allows is shown, and a change
# (a `git pull`) makes cordon ask again, while the same bytes do not.
run_capture "$CORDON" trust "$ws"
if [ "$RC" -eq 0 ] && [ "$OUT" = "trusted $ws: its .cordon/settings.json (sha256 $(sha256sum "$ws/.cordon/settings.json" | cut -c1-16)) may now widen the policy
beyond your other settings it allows:
  sandbox.filesystem.allowRead: ~/.ssh (line 2)
when the file changes, it is not trusted until \`cordon trust\` is run again" ]; then
	ok "cordon trust names the file's digest and shows what it allows"
else
	not_ok "cordon trust names the file's digest and shows what it allows"; diag "exit $RC: $OUT"
fi
check "the trust record holds the file's SHA-256" \
	grep -q "\"$(sha256sum "$ws/.cordon/settings.json" | cut -d' ' -f1)\"" "$home/.config/cordon/trusted.json"
touch "$ws/.cordon/settings.json"
expect_output "same content, new mtime: still trusted" "SSH-SECRET-$$" run_in "$ws" -- cat "$home/.ssh/id_ed25519"
cat > "$ws/.cordon/settings.json" <<'JSON'
{"sandbox": {
  "filesystem": {"allowRead": ["~/.ssh"]},
  "network": {"allowedDomains": ["exfil.test"]}
}}
JSON
run_capture run_in "$ws" -- sh -c 'touch ran2; cat ~/.ssh/id_ed25519'
if [ "$RC" -eq 125 ] && [ "$OUT" = "cordon: $ws/.cordon/settings.json:2:32: key \`sandbox.filesystem.allowRead\`: \"~/.ssh\" widens the policy, and an untrusted workspace may only tighten it
Hint: this workspace was trusted, but its .cordon/settings.json has changed since: review what it allows now (\`cordon trust --show\`), then run \`cordon trust\` again" ]; then
	ok "a changed settings file is no longer trusted: refused (125), and told why"
else
	not_ok "a changed settings file is no longer trusted"; diag "exit $RC: $OUT"
fi
check "... and nothing ran" test ! -e "$ws/ran2"
run_capture sh -c "cd '$ws' && '$CORDON' trust --show"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "changed since it was trusted: not trusted" &&
   printf '%s' "$OUT" | grep -q "^  sandbox.network.allowedDomains: exfil.test (line 3)$"; then
	ok "cordon trust --show names the change and the new widening"
else
	not_ok "cordon trust --show names the change and the new widening"; diag "exit $RC: $OUT"
fi
expect_output "trusting the new content again" "trusted $ws" "$CORDON" trust "$ws"
expect_output "... lets it widen again" "SSH-SECRET-$$" run_in "$ws" -- cat "$home/.ssh/id_ed25519"
# A record from before trust named content (a bare directory) is asked again.
printf '{"trusted": ["%s"]}\n' "$ws" > "$home/.config/cordon/trusted.json"
expect_fail "a trust record without a digest is asked again" "has changed since" run_in "$ws" -- true
"$CORDON" trust "$ws" >/dev/null
expect_output "cordon untrust" "untrusted $ws" "$CORDON" untrust "$ws"
expect_status "untrusted again: refused" 125 run_in "$ws" -- true

# Hostile project: adds a domain.
ws=$(new_ws)
mkdir "$ws/.cordon"
echo '{"sandbox": {"network": {"allowedDomains": ["exfil.test"]}}}' > "$ws/.cordon/settings.json"
expect_fail "untrusted project adding a domain is refused" \
	"key \`sandbox.network.allowedDomains\`: \"exfil.test\" widens the policy" run_in "$ws" -- true
# ... and one that turns off failIfUnavailable.
echo '{"sandbox": {"failIfUnavailable": false}}' > "$ws/.cordon/settings.json"
expect_fail "untrusted project weakening failIfUnavailable is refused" \
	"key \`sandbox.failIfUnavailable\`: \"false\" widens the policy" run_in "$ws" -- true
# ... and one that keeps a host's TLS unread (tls.bypass), while inspect,
# which only adds visibility, may come from anywhere.
echo '{"sandbox": {"tls": {"bypass": ["pinned.test"]}}}' > "$ws/.cordon/settings.json"
expect_fail "untrusted project adding tls.bypass is refused" \
	"key \`sandbox.tls.bypass\`: \"pinned.test\" widens the policy, and an untrusted workspace may only tighten it" run_in "$ws" -- true
echo '{"sandbox": {"tls": {"inspect": ["docs.test"]}}}' > "$ws/.cordon/settings.json"
expect_status "untrusted project adding tls.inspect runs" 0 run_in "$ws" -- true
# The project cannot rewrite its own settings from inside either.
echo '{"sandbox": {"filesystem": {"denyRead": ["private.txt"]}}}' > "$ws/.cordon/settings.json"
expect_fail "the project settings are read-only inside" "Read-only file system" \
	run_in "$ws" -- sh -c 'echo "{}" > .cordon/settings.json'

# Tightening is always allowed: the project hides one of its files.
echo "PRIVATE-$$" > "$ws/private.txt"
OUT=$(run_in "$ws" -- cat private.txt 2>/dev/null)
RC=$?
if [ "$RC" -eq 0 ] && [ -z "$OUT" ]; then
	ok "untrusted project may tighten: its denyRead masks private.txt"
else
	not_ok "untrusted project may tighten"; diag "exit $RC: $OUT"
fi
rm "$ws/.cordon/settings.json"
expect_output "control: without the project rule private.txt reads" "PRIVATE-$$" run_in "$ws" -- cat private.txt
expect_output "policy show names the project file and position" \
	"filesystem.denyRead +private.txt +\(project $ws/.cordon/settings.json:1:42\)" \
	sh -c "echo '{\"sandbox\": {\"filesystem\": {\"denyRead\": [\"private.txt\"]}}}' > '$ws/.cordon/settings.json' && cd '$ws' && '$CORDON' policy show"
expect_output "policy show --json carries the origin" '"source": "'"$ws"'/.cordon/settings.json:1:42"' \
	sh -c "cd '$ws' && '$CORDON' policy show --json"

# Claude Code's settings: the sandbox block counts only with --claude-settings.
ws=$(new_ws)
mkdir -p "$home/.claude" "$home/claude-secret"
echo "CLAUDE-SECRET-$$" > "$home/claude-secret/x"
chmod -R a+rX "$home"
cat > "$home/.claude/settings.json" <<'JSON'
{"permissions": {"allow": ["Bash(ls)"]},
 "sandbox": {"enabled": true, "filesystem": {"denyRead": ["~/claude-secret"]}}}
JSON
expect_output "control: without --claude-settings the file is not read" "CLAUDE-SECRET-$$" \
	run_in "$ws" -- cat "$home/claude-secret/x"
expect_fail "--claude-settings: its denyRead masks the directory" "No such file" \
	run_in "$ws" --claude-settings -- cat "$home/claude-secret/x"
expect_output "policy show --claude-settings names the claude layer" \
	"filesystem.denyRead +~/claude-secret +\(claude $home/.claude/settings.json:2:59\)" \
	sh -c "cd '$ws' && '$CORDON' policy show --claude-settings"

# Managed lock beats flags (test hook: a managed file outside /etc).
if [ -e /etc/cordon/managed-settings.json ]; then
	skip "managed lock beats --rw" "a real /etc/cordon/managed-settings.json exists; the test hook is off"
else
	ws=$(new_ws)
	# In $SHOWN: $T is 0700 for root, and a directory the sandbox cannot
	# see would not show the lock's wall.
	extra=$(mktemp -d "$SHOWN/extra.XXXXXX")
	chmod 777 "$extra"
	expect_status "control: --rw makes a directory writable" 0 run_in "$ws" --rw "$extra" -- touch "$extra/control"
	cat > "$T/managed.json" <<'JSON'
{"sandbox": {"lock": ["filesystem.allowWrite"]}}
JSON
	export CORDON_TEST_HOOKS=1 CORDON_TEST_MANAGED_SETTINGS="$T/managed.json"
	run_capture run_in "$ws" --rw "$extra" -- touch "$extra/planted"
	if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "command line: key \`sandbox.filesystem.allowWrite\` is locked by the managed settings (managed $T/managed.json:1:23)"; then
		ok "managed lock beats --rw: refused with 125 and the lock's origin"
	else
		not_ok "managed lock beats --rw"; diag "exit $RC: $OUT"
	fi
	check "managed lock: nothing written" test ! -e "$extra/planted"
	mkdir -p "$home/.config/cordon"
	printf '{"sandbox": {"filesystem": {"allowWrite": ["%s"]}}}\n' "$extra" > "$home/.config/cordon/settings.json"
	expect_fail "managed lock beats the user file: write refused" "Read-only file system" \
		run_in "$ws" -- touch "$extra/planted2"
	check "managed lock: nothing written by the user file's rule" test ! -e "$extra/planted2"
	expect_output "policy show notes the ignored user entry" "ignored .sandbox.filesystem.allowWrite" \
		sh -c "cd '$ws' && '$CORDON' policy show"
	rm "$home/.config/cordon/settings.json"
	unset CORDON_TEST_HOOKS CORDON_TEST_MANAGED_SETTINGS
	# The hook is honoured only with CORDON_TEST_HOOKS=1.
	expect_status "without CORDON_TEST_HOOKS the managed override is ignored" 0 \
		env CORDON_TEST_MANAGED_SETTINGS="$T/managed.json" sh -c "cd '$ws' && '$CORDON' run --rw '$extra' -- true"
fi

# failIfUnavailable: more masks than the sandbox can apply.
ws=$(new_ws)
mkdir "$ws/many"
(cd "$ws/many" && for i in $(seq 1 1100); do echo "S$i" > "secret-$i"; done)
echo '{"sandbox": {"filesystem": {"denyRead": ["many/secret-*"]}}}' > "$T/many.json"
expect_fail "policy that cannot be enforced exactly is refused" \
	"the policy cannot be enforced exactly: more than 1024 path rules" \
	run_in "$ws" --policy "$T/many.json" -- touch ran
check "refused: nothing ran" test ! -e "$ws/ran"
expect_output "--allow-degraded runs it, and says so" "warning: DEGRADED" \
	run_in "$ws" --allow-degraded --policy "$T/many.json" -- sh -c 'touch ran; echo ran'
leaked=$(run_in "$ws" --allow-degraded --policy "$T/many.json" -- sh -c 'cat many/secret-*' 2>/dev/null | wc -l)
check "--allow-degraded: the masks that fit still hold ($leaked of 1100 readable)" test "$leaked" -lt 200
done_testing
