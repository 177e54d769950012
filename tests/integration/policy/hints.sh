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
hint "no command: 125 and the hint" 125 'no command given' run_in
hint "cordon inside cordon: says it is already inside a sandbox" 125 \
	'already inside a cordon sandbox' run_in -q -- "$CORDON" run --audit-log /tmp/a.jsonl -- true
expect_status "control: the same run outside a sandbox works" 0 run_in -q --audit-log "$T/nested.jsonl" -- true
done_testing
