#!/bin/bash
# Sessions have one id each, and `cordon allow` widens only the session
# meant: run in a workspace where two sessions run, it refuses to guess
# (lists them, exit 125); with --session it widens that one and no other;
# it never widens a session of another workspace unless told by id.
# `cordon ps` lists the running sessions. Requests are judged from outside:
# the upstream's own log says which arrived.
. "$(dirname "$0")/../lib.sh"

if ! command -v curl >/dev/null; then
	skip "cordon allow and cordon ps" "curl is not installed"
	done_testing
	exit
fi
# Our own home, state and runtime directories: other cordon sessions of
# this machine are none of this test's (and must not be widened by it).
iso=$(mktemp -d "$T/iso.XXXXXX")
mkdir "$iso/home" "$iso/state" "$iso/run"
chmod 755 "$iso" "$iso/home"
chmod 700 "$iso/run"
export HOME="$iso/home" XDG_STATE_HOME="$iso/state" XDG_RUNTIME_DIR="$iso/run"

# The upstream logs each path it is asked for.
http_upstream "$T/upstream.log"
export CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1


# session NAME WS: `cordon run -v` in WS whose command fetches /NAME-before,
# waits for WS/go-NAME, then fetches /NAME-after; the HTTP codes go to
# WS/NAME.before and WS/NAME.after. Sets SID to its session id.
declare -A PIDS
session() {
	local name=$1 ws=$2
	(cd "$ws" && exec "$CORDON" run -v --resolve late.test:127.0.0.1 -- sh -c "
		curl -s -o /dev/null -w '%{http_code}' http://late.test:$port/$name-before >$name.before
		while [ ! -e go-$name ]; do sleep 0.1; done
		curl -s -o /dev/null -w '%{http_code}' http://late.test:$port/$name-after >$name.after") \
		>"$T/$name.err" 2>&1 &
	PIDS[$name]=$!
	track_pid $!
	wait_long test -s "$ws/$name.before"
	SID=$(sed -n 's/^cordon: session \([0-9a-f]\{32\}\)$/\1/p' "$T/$name.err")
}

w1=$(new_ws)
w2=$(new_ws)
w3=$(new_ws)
session A "$w1"
A=$SID
session B "$w1"
B=$SID
session C "$w2"
C=$SID
check "each session has its own id, shown by -v" \
	test -n "$A" -a -n "$B" -a -n "$C" -a "$A" != "$B" -a "$B" != "$C" -a "$A" != "$C"
check "control socket named by the session id" test -S "$XDG_RUNTIME_DIR/cordon/$A.sock"
check "... the same id as its audit records" grep -q "\"session\":\"$A\",\"seq\":0" \
	"$XDG_STATE_HOME/cordon/audit/audit.jsonl"

run_capture "$CORDON" ps
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "^${A:0:12} .* $w1 .*sh -c" &&
	printf '%s' "$OUT" | grep -q "^${B:0:12} .* $w1 " &&
	printf '%s' "$OUT" | grep -q "^${C:0:12} .* $w2 " && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 4 ]; then
	ok "cordon ps lists the running sessions (id, pid, start, workspace, command)"
else
	not_ok "cordon ps lists the running sessions (id, pid, start, workspace, command)"
	diag "exit $RC: $OUT"
fi
expect_output "cordon ps --no-trunc -q: the full ids" "$A" "$CORDON" ps --no-trunc -q

# Two sessions in this workspace: no guess.
run_capture sh -c "cd '$w1' && '$CORDON' allow late.test"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "2 cordon sessions run in $w1; refusing to guess" &&
	printf '%s' "$OUT" | grep -q "Hint: choose one with --session ID" &&
	printf '%s' "$OUT" | grep -q "^$A " && printf '%s' "$OUT" | grep -q "^$B "; then
	ok "two sessions in the workspace: cordon allow refuses to guess (125) and lists both"
else
	not_ok "two sessions in the workspace: cordon allow refuses to guess (125) and lists both"
	diag "exit $RC: $OUT"
fi
# No session here: the sessions of other workspaces are not candidates.
run_capture sh -c "cd '$w3' && '$CORDON' allow late.test"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "no running cordon session in $w3; not widening a session of another workspace"; then
	ok "no session in this directory: cordon allow widens none of another workspace (125)"
else
	not_ok "no session in this directory: cordon allow widens none of another workspace (125)"
	diag "exit $RC: $OUT"
fi
expect_fail "--name is not an option (there are no named sandboxes to name)" "unrecognized option" \
	sh -c "cd '$w1' && '$CORDON' allow --name x late.test"
run_capture sh -c "cd '$w1' && '$CORDON' allow --help"
check "cordon allow --help names --session, not --name" \
	sh -c "printf '%s' \"\$1\" | grep -q -- '--session ID' && ! printf '%s' \"\$1\" | grep -q -- '--name'" _ "$OUT"

# Told which: that one, by a prefix of its id.
# The upstream listens on a port of its own: a portless rule would open
# only 80 and 443, so the rule names the port.
expect_output "cordon allow --session ID-PREFIX widens that session" \
	"session ${A:0:12}: late.test:$port is now allowed" \
	sh -c "cd '$w1' && '$CORDON' allow --session '${A:0:12}' late.test:$port"
# Told, from elsewhere: another host for C, so that late.test stays denied there.
expect_output "a session of another workspace is widened when named" "other.test is now allowed" \
	sh -c "cd '$w3' && '$CORDON' allow --session '$C' other.test"

touch "$w1/go-A" "$w1/go-B" "$w2/go-C"
for n in A B C; do
	wait_long sh -c "! kill -0 ${PIDS[$n]} 2>/dev/null"
done
up=$(cat "$T/upstream.log")
check "before cordon allow, A's request was denied (403) and never arrived" \
	sh -c "[ \"\$(cat '$w1/A.before')\" = 403 ] && ! grep -qx /A-before '$T/upstream.log'"
check "after it, A's request arrived (200)" \
	sh -c "[ \"\$(cat '$w1/A.after')\" = 200 ] && grep -qx /A-after '$T/upstream.log'"
check "B, in the same workspace, was not widened (403, nothing arrived)" \
	sh -c "[ \"\$(cat '$w1/B.after')\" = 403 ] && ! grep -qx /B-after '$T/upstream.log'"
check "C, in another workspace, was not widened for late.test (403, nothing arrived)" \
	sh -c "[ \"\$(cat '$w2/C.after')\" = 403 ] && ! grep -qx /C-after '$T/upstream.log'"
diag "upstream saw: $(echo $up)"
# Control: the upstream answers, so a 403 above is the proxy's policy.
expect_output "control: the upstream answers from the host" "upstream-reached" \
	curl -s "http://127.0.0.1:$port/control"
expect_output "the audit log: A's widening is a policy record of session A" \
	"\"session\":\"$A\".*\"type\":\"policy\"|\"type\":\"policy\".*\"session\":\"$A\"" \
	sh -c "'$CORDON' log --json --session '$A' | grep '\"late.test:$port\"'"
expect_status "... and B has none" 1 \
	sh -c "'$CORDON' log --json --session '$B' | grep -q '\"type\":\"policy\"'"
expect_output "cordon ps: nothing runs any more" "^SESSION +PID +STARTED +WORKSPACE +COMMAND$" \
	"$CORDON" ps

# --- the end of a session: the hosts refused, and how to allow them ----------
unset XDG_CONFIG_HOME
w4=$(new_ws)
run_capture sh -c "cd '$w4' && '$CORDON' run --resolve saved.test:127.0.0.1 -- sh -c 'curl -s -o /dev/null http://saved.test:$port/s1; curl -s -o /dev/null http://saved.test:$port/s2; exit 3'"
want="cordon: refused, no rule names them: saved.test:$port (2 times); to allow them in later sessions: cordon allow --save saved.test:$port"
if [ "$RC" -eq 3 ] && printf '%s\n' "$OUT" | grep -qxF "$want"; then
	ok "at the end: one line names the refused host and the command to allow it; the status is the command's"
else
	not_ok "at the end: one line names the refused host and the command to allow it; the status is the command's"
	diag "exit $RC: $OUT"
fi
check "... and the refused requests never arrived" sh -c "! grep -qx /s1 '$T/upstream.log'"
run_capture sh -c "cd '$w4' && '$CORDON' run -q --resolve saved.test:127.0.0.1 -- curl -s -o /dev/null http://saved.test:$port/s1"
check "with -q, no such line" sh -c "! printf '%s' \"\$1\" | grep -q 'refused, no rule'" _ "$OUT"
run_capture sh -c "cd '$w4' && '$CORDON' run --resolve saved.test:127.0.0.1 -- curl -s -o /dev/null http://127.0.0.1:$port/none"
check "a refusal of an address (not a missing rule) is not offered for allowing" \
	sh -c "! printf '%s' \"\$1\" | grep -q 'refused, no rule'" _ "$OUT"

# cordon allow --save: the user's own settings file, never the project's.
cfg="$HOME/.config/cordon/settings.json"
expect_output "cordon allow --save, no session running: saved in the user's settings" \
	"^cordon: saved saved.test:$port in $cfg: later sessions allow it$" \
	sh -c "cd '$w4' && '$CORDON' allow --save saved.test:$port"
expect_output "... the file lists it under sandbox.network.allowedDomains" "^\[\"saved.test:$port\"\]$" \
	$PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["sandbox"]["network"]["allowedDomains"]))' "$cfg"
check "... 0600, and nothing written into the workspace" sh -c "[ \"\$(stat -c %a '$cfg')\" = 600 ] && [ ! -e '$w4/.cordon' ]"
run_capture sh -c "cd '$w4' && '$CORDON' run --resolve saved.test:127.0.0.1 -- curl -s -w '%{http_code}' -o /dev/null http://saved.test:$port/s3"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q '^200' && grep -qx /s3 "$T/upstream.log" &&
	! printf '%s' "$OUT" | grep -q 'refused, no rule'; then
	ok "the next session allows it: the request arrives upstream"
else
	not_ok "the next session allows it: the request arrives upstream"
	diag "exit $RC: $OUT"
fi
expect_output "saving it again says it is there already" "saved.test:$port is already allowed in $cfg" \
	"$CORDON" allow --save "saved.test:$port"
cp "$cfg" "$T/cfg.before"
expect_fail "a URL is refused with the hint, nothing saved" 'a URL, not a domain: write `x.test`' \
	"$CORDON" allow --save ok.test https://x.test/
expect_status "... exit 125" 125 "$CORDON" allow --save ok.test https://x.test/
check "... and the file is unchanged (not even the valid pattern)" cmp -s "$cfg" "$T/cfg.before"
# A settings file kept elsewhere (a dotfiles repository), its keys kept.
mkdir -p "$iso/dotfiles"
printf '{"sandbox": {"filesystem": {"denyRead": ["~/private"]}, "network": {"allowedDomains": ["a.test"]}}}\n' >"$iso/dotfiles/cordon.json"
rm "$cfg"
ln -s "$iso/dotfiles/cordon.json" "$cfg"
run_capture "$CORDON" allow --save b.test
expect_output "a symlinked settings file is written where it points, its other keys kept" \
	'^\["~/private"\] \["a.test", "b.test"\]$' \
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))["sandbox"]; print(json.dumps(d["filesystem"]["denyRead"]), json.dumps(d["network"]["allowedDomains"]))' "$iso/dotfiles/cordon.json"
check "... and the link stays a link" test -L "$cfg"
printf '{"sandbox": {"network": []}}\n' >"$iso/dotfiles/cordon.json"
expect_fail "a settings file of another shape is not rewritten" "sandbox.network is not an object" \
	"$CORDON" allow --save c.test

done_testing
