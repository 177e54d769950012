#!/bin/bash
# Messages that send the user the right way: each is checked for its exit
# status and its exact advice.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
run_in() { (cd "$ws" && "$CORDON" run "$@"); }

hint() { # DESC STATUS REGEX CMD...
	local desc=$1 want=$2 re=$3; shift 3
	run_capture "$@"
	if [ "$RC" -eq "$want" ] && printf '%s' "$OUT" | grep -Eq -- "$re"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC (wanted $want), output: $OUT"
	fi
}
# Like hint, with a second regex for the Hint: line.
hint2() { # DESC STATUS REGEX HINT-REGEX CMD...
	local desc=$1 want=$2 re=$3 hre=$4; shift 4
	run_capture "$@"
	if [ "$RC" -eq "$want" ] && printf '%s' "$OUT" | grep -Eq -- "$re" &&
		printf '%s' "$OUT" | grep -Eq -- "^Hint: $hre"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC (wanted $want), output: $OUT"
	fi
}

hint "a URL given to --allow-domain: 125, write the host" 125 \
	'a URL, not a domain: write `github.com`' run_in --allow-domain https://github.com/org/repo -- true
hint "a leading dot: 125, did you mean *.github.com" 125 \
	'did you mean `\*\.github\.com` \(its subdomains\) or `github\.com`' \
	run_in --allow-domain .github.com -- true
hint "*.com: runs, with a warning naming what it opens" 0 \
	'warning: allowed domain `\*\.com` lets the command reach every host under \.com' \
	run_in -q --allow-domain '*.com' -- true
hint "a metadata address: runs, with a warning" 0 \
	'warning: allowed `169\.254\.169\.254` opens cloud metadata' \
	run_in -q --allow-domain 169.254.169.254 -- true
hint "a private range: runs, with a warning" 0 \
	'warning: allowed `10\.0\.0\.0/8` opens private' run_in -q --allow-domain 10.0.0.0/8 -- true
run_capture run_in -q --allow-domain github.com --allow-domain 127.0.0.1:11434 -- true
check "control: an ordinary domain and a named loopback port give no warning" test -z "$OUT"
hint "--memory without a value: 125, names the option" 125 '^cordon: --memory needs a value' \
	run_in --memory
run_capture run_in --memory
check "--memory without a value: no 'unknown option' noise" \
	sh -c "! printf '%s' \"\$1\" | grep -q 'unknown option'" _ "$OUT"
hint "an unknown option is named" 125 "^cordon: unknown option '--bogus'" run_in --bogus -- true
echo '{}' > "$T/p1.json"
echo '{}' > "$T/p2.json"
hint2 "--policy twice: 125, not the last one silently" 125 '^cordon: --policy given more than once' \
	'give one --policy file' run_in --policy "$T/p1.json" --policy "$T/p2.json" -- true
hint2 "... the same in policy show" 125 '^cordon: --policy given more than once' \
	'give one --policy file' "$CORDON" policy show --policy "$T/p1.json" --policy "$T/p2.json"
expect_status "control: one --policy runs" 0 run_in -q --policy "$T/p1.json" -- true
hint "no command: 125 and the hint" 125 'no command given' run_in
hint "cordon inside cordon: says it is already inside a sandbox" 125 \
	'already inside a cordon sandbox' run_in -q -- "$CORDON" run --audit-log /tmp/a.jsonl -- true
expect_status "control: the same run outside a sandbox works" 0 run_in -q --audit-log "$T/nested.jsonl" -- true

# --pids out of bounds: the hint names both ends.
for v in 0 -5 99999999999; do
	hint2 "--pids $v: 125, the bounds" 125 "^cordon: bad --pids value '$v'$" \
		'give a number of processes from 8 to 4194304' \
		run_in --pids "$v" -- true
done
hint2 "run --: no command, 125 and the hint" 125 '^cordon: no command given$' 'see `cordon run --help`' \
	run_in --

# A script whose interpreter is missing: the interpreter is named, not the
# script called missing; 126 as a shell says it.
printf '#!/usr/bin/nonexistent-interp\necho ran\n' >"$ws/s.sh"
printf '#!/bin/sh\necho ran\n' >"$ws/ok.sh"
chmod +x "$ws/s.sh" "$ws/ok.sh"
hint2 "a script whose interpreter is missing: 126, names the interpreter" 126 \
	'^cordon: cannot run \./s\.sh: its interpreter /usr/bin/nonexistent-interp is missing$' \
	'the script.s first line \(#!/usr/bin/nonexistent-interp\) names a program' \
	run_in -q -- ./s.sh
run_capture run_in -q -- ./s.sh
check "a script whose interpreter is missing: no 'No such file' for the script" \
	sh -c "! printf '%s' \"\$1\" | grep -q 'No such file'" _ "$OUT"
hint "found in PATH: the interpreter is named too" 126 'its interpreter /usr/bin/nonexistent-interp is missing' \
	env PATH="$ws:$PATH" sh -c "cd '$ws' && '$CORDON' run -q -- s.sh"
hint "control: a script whose interpreter exists runs" 0 '^ran$' run_in -q -- ./ok.sh
hint2 "control: a missing command is still 127, not found" 127 \
	"^cordon: cannot run \./nope: No such file or directory$" "no such command" run_in -q -- ./nope

# An agent that is not installed: how to install it, and no sandbox started.
bare=$(mktemp -d "$T/bare.XXXXXX")
mkdir -p "$bare/home" "$bare/bin"
for t in sh true; do ln -s "$(command -v $t)" "$bare/bin/$t"; done
hint2 "cordon claude without claude installed: 125 and the install command" 125 \
	'^cordon: claude \(Claude Code\) is not installed: not in PATH' \
	'install it with `npm install -g @anthropic-ai/claude-code`' \
	env HOME="$bare/home" PATH="$bare/bin" sh -c "cd '$ws' && '$CORDON' claude"
hint "cordon codex without codex installed: its own install command" 125 \
	'Hint: install it with `npm install -g @openai/codex`' \
	env HOME="$bare/home" PATH="$bare/bin" sh -c "cd '$ws' && '$CORDON' codex"
printf '#!/bin/sh\necho fake-claude "$@" >"%s/claude.ran"\n' "$ws" >"$bare/bin/claude"
chmod +x "$bare/bin/claude"
run_capture env HOME="$bare/home" PATH="$bare/bin" sh -c "cd '$ws' && '$CORDON' claude -q"
check "control: with claude in PATH, cordon claude runs it" test -e "$ws/claude.ran"

# --cpus with no cgroup to write: the hint names --allow-degraded.
run_capture run_in -q --cpus 1 -- true
if printf '%s' "$OUT" | grep -q 'no writable cgroup here'; then
	hint "--cpus without a writable cgroup: 125, names --allow-degraded" 125 \
		'Hint: .*--allow-degraded' run_in -q --cpus 1 -- true
	hint "control: --cpus with --allow-degraded runs, and says the limit is not enforced" 0 \
		'cpu limit not enforced' run_in -q --allow-degraded --cpus 1 -- true
else
	skip "--cpus without a writable cgroup names --allow-degraded" "a writable cgroup here (exit $RC)"
	skip "control: --cpus with --allow-degraded" "a writable cgroup here"
fi

# -v speaks the user's language: no C function names; -vv adds them.
run_capture run_in -v --audit-log "$T/v.jsonl" -- true
fn=$(printf '%s\n' "$OUT" | grep -E '^cordon: [a-z][a-z0-9]*_[a-z0-9_]*: ' || true)
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q '^cordon: walls: ' && [ -z "$fn" ]; then
	ok "-v: says what is set up, no function names"
else
	not_ok "-v: says what is set up, no function names"
	diag "exit $RC, lines with function names: $fn"
fi
hint "control: -vv names the functions" 0 '^cordon: session_[a-z_]+: ' \
	run_in -vv --audit-log "$T/v.jsonl" -- true

# cordon help COMMAND is cordon COMMAND --help; cordon alone is a usage error.
for c in run policy log check; do
	a=$("$CORDON" help "$c" 2>&1)
	b=$("$CORDON" "$c" --help 2>&1)
	check "cordon help $c prints cordon $c --help" sh -c "[ -n \"\$1\" ] && [ \"\$1\" = \"\$2\" ]" _ "$a" "$b"
done
run_capture sh -c "'$CORDON' 2>&1 >/dev/null"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q '^Usage: cordon COMMAND' &&
	printf '%s' "$OUT" | grep -q 'cordon help COMMAND'; then
	ok "cordon alone: the usage on stderr, 125"
else
	not_ok "cordon alone: the usage on stderr, 125"
	diag "exit $RC: $OUT"
fi
expect_output "control: cordon --help prints the usage on stdout" '^Usage: cordon COMMAND' "$CORDON" --help
hint "cordon help with an unknown command: 125" 125 "^cordon: unknown command 'bogus'" "$CORDON" help bogus

# policy validate with no file checks what run reads here, and agrees with run.
pw=$(new_ws)
ph=$(mktemp -d "$T/ph.XXXXXX")
mkdir -p "$pw/.cordon"
echo '{"sandbox":{"network":{"allowedDomains":["evil.test"]}}}' >"$pw/.cordon/settings.json"
run_capture env HOME="$ph" sh -c "cd '$pw' && '$CORDON' run -q -- true"
run_out=$(printf '%s\n' "$OUT" | grep '^cordon: ')
run_rc=$RC
hint2 "policy validate, no file, a widening project file: 125 as run" 125 \
	'evil\.test" widens the policy, and an untrusted workspace may only tighten it' \
	'.*cordon trust DIR' env HOME="$ph" sh -c "cd '$pw' && '$CORDON' policy validate"
check "... with the same message and status as run" \
	sh -c "[ '$run_rc' = 125 ] && [ \"\$1\" = \"\$2\" ]" _ "$run_out" "$(printf '%s\n' "$OUT" | grep '^cordon: ')"
hint "control: policy validate, no file, a workspace without settings: ok" 0 ': ok \(the settings' \
	env HOME="$ph" sh -c "cd '$ws' && '$CORDON' policy validate"

# policy show takes run's domain options and shows the merged result.
hint "policy show --allow-domain: the rule, from the command line" 0 \
	'network\.allowedDomains +x\.test +\(command line\)' "$CORDON" policy show -w "$ws" --allow-domain x.test
hint "policy show --deny-domain: the rule, from the command line" 0 \
	'network\.deniedDomains +y\.test +\(command line\)' "$CORDON" policy show -w "$ws" --deny-domain y.test
hint "policy show --allow-domain URL: refused as run refuses it" 125 \
	'a URL, not a domain: write `x\.test`' "$CORDON" policy show -w "$ws" --allow-domain https://x.test/a

# allowLocalBinding is shown as it behaves: not set, binding works and show says true.
hint "policy show: allowLocalBinding not set reads true" 0 \
	'network\.allowLocalBinding +true +\(built-in\)' "$CORDON" policy show -w "$ws"
hint "... and a listening socket inside works" 0 '^bound$' run_in -q -- $PY -c \
	'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("bound")'
echo '{"sandbox":{"network":{"allowLocalBinding":false}}}' >"$T/nobind.json"
hint "control: set to false, policy show says false" 0 \
	'network\.allowLocalBinding +false +\(command line' "$CORDON" policy show -w "$ws" --policy "$T/nobind.json"

# A workspace cordon cannot read or enter says so, not a settings file in it.
if [ "$(id -u)" -ne 0 ]; then
	closed=$(mktemp -d "$T/closed.XXXXXX")
	chmod 000 "$closed"
	hint2 "an unreadable workspace: 125, says so" 125 "^cordon: workspace $closed cannot be read" \
		'.*make the directory readable' "$CORDON" run -q -w "$closed" -- true
	chmod 600 "$closed"
	hint2 "a workspace without search permission: 125, says so" 125 \
		"^cordon: workspace $closed cannot be entered \(no search permission\)" '.*chmod u\+x' \
		"$CORDON" run -q -w "$closed" -- true
	run_capture "$CORDON" run -q -w "$closed" -- true
	check "... and names no settings file" sh -c "! printf '%s' \"\$1\" | grep -q 'settings.json'" _ "$OUT"
	chmod 700 "$closed"
	expect_status "control: the same workspace, open again, runs" 0 "$CORDON" run -q -w "$closed" -- true
else
	skip "an unreadable workspace says so" "root reads every directory"
	skip "a workspace without search permission says so" "root reads every directory"
	skip "... and names no settings file" "root reads every directory"
	skip "control: the same workspace, open again, runs" "root reads every directory"
fi
done_testing
