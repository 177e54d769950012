#!/bin/bash
# The real Claude Code CLI under the claude preset, which keeps its API key
# on the host by itself (no inject rule of the user's): the CLI talks HTTPS
# through cordon's proxy to a fake model API (in the test's network
# namespace as root, on loopback for the unprivileged pass) named by
# ANTHROPIC_BASE_URL, whose certificate comes from a test CA that stands
# for the host's trust store. The answer arrives, the API receives the real
# key in x-api-key, and inside (the CLI's own environment, every process's,
# the files the session wrote) there is only the placeholder. The preset
# narrows the API host to the model's paths: a POST to another path there
# is answered 403 by the proxy, naming the rules, and the API sees nothing
# of it. Control: with the opt-out (credentials.envVars allows the variable)
# the key is passed in, and the same probe finds it inside.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
unset ANTHROPIC_API_KEY ANTHROPIC_BASE_URL ANTHROPIC_AUTH_TOKEN CLAUDE_CODE_OAUTH_TOKEN XDG_STATE_HOME

tests="the answer arrives|cordon says the key stays on the host|the API receives the real key|the CLI's environment holds the placeholder|no process or file inside holds the key|a POST to another path of the API host is refused|the API never sees the refused request|the CLI itself is refused nothing|the audit log records the injection|nothing on the host the session wrote holds the key|control: with the opt-out the probe finds the key"
if ! claude_cli; then
	IFS='|'
	for t in $tests; do skip "$t" "$CLAUDE_SKIP"; done
	done_testing
	exit $?
fi
# The install (when this suite is the first to need the CLI) uses the
# host's own npm setup; the sessions then trust only the test CA.
unset NODE_EXTRA_CA_CERTS
command -v openssl >/dev/null || {
	IFS='|'
	for t in $tests; do skip "$t" "openssl is not installed"; done
	done_testing
	exit $?
}

# The key, assembled at run time: no command line or script holds it whole.
real="sk-ant-host-only-$$-4242"
name=api.fake.test
ca="$SHOWN/ca"
mkdir -p "$ca"
(
	cd "$ca" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=cordon test CA" &&
		openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=$name" &&
		echo "subjectAltName=DNS:$name" >ext.cnf &&
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf
) >"$T/openssl.log" 2>&1 || {
	not_ok "make the test CA"
	diag "$(tail -5 "$T/openssl.log")"
	done_testing
	exit 1
}
chmod 644 "$ca/ca.pem"

# The probe the fake model has the CLI run (a Bash tool call, in bash): the
# key variable, the claude process's own environment, every process's
# environment and command line, and the files the agent writes. The key it
# looks for reaches grep through a pipe, never on a command line (which the
# exec audit records).
probe='k=sk-ant-host-only; k=$k-'$$'-4242
echo "var=$ANTHROPIC_API_KEY"
for p in /proc/[0-9]*; do
	[ "$(cat $p/comm 2>/dev/null)" = claude ] &&
		echo "claude-env=$(tr "\0" "\n" <$p/environ | sed -n "s/^ANTHROPIC_API_KEY=//p")"
done
echo "environ-hits=$(cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" "\n" | grep -cF -f <(printf "%s\n" "$k"))"
echo "file-hits=$(grep -rlF -f <(printf "%s\n" "$k") ~/.claude ~/.claude.json . /tmp 2>/dev/null | wc -l)"
echo "upload=$(printf probe-upload | curl -sS -o /tmp/up.txt -w "%{http_code}" -X POST --data-binary @- "$ANTHROPIC_BASE_URL/v1/files" 2>&1)"
echo "upload-body=$(tr "\n" " " </tmp/up.txt)"'

log="$T/fake.log"
if [ "$(id -u)" = 0 ]; then
	if ! test_netns; then
		not_ok "create the test network namespace"
		done_testing
		exit 1
	fi
	ip=$NS_IP fport=443 base="https://$name"
	wrap=(ip netns exec "$NETNS")
	extra=()
else
	ip=127.0.0.1
	fport=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	base="https://$name:$fport"
	wrap=()
	extra=(CORDON_TEST_PROXY_LOOPBACK=1)
fi
FAKE_LOG=$log FAKE_BASH_COMMAND=$probe "${wrap[@]}" $PY "$here/fake_anthropic.py" "$fport" --bind "$ip" \
	--tls "$ca/srv.pem" "$ca/srv.key" >"$T/fake.out" 2>&1 &
track_pid $!
disown
reach() { curl -sS --max-time 2 --cacert "$ca/ca.pem" --resolve "$name:$fport:$ip" "$base/" >/dev/null 2>&1; }
if ! wait_for grep -q ready "$T/fake.out" || ! wait_for reach; then
	not_ok "the fake model API answers at $base ($ip)"
	diag "$(cat "$T/fake.out")"
	done_testing
	exit 1
fi

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
ws=$(new_ws)
# The opt-out: the key itself passed into the sandbox.
optout="$T/optout.json"
cat >"$optout" <<JSON
{"sandbox": {"credentials": {"envVars": [{"name": "ANTHROPIC_API_KEY", "mode": "allow"}]}}}
JSON
# session [ARGS...]: the real CLI under the claude preset (`cordon run
# --profile claude --as-agent` is what `cordon claude` runs; the test
# name's address needs run's --resolve), the host's key and the fake API's
# URL in the environment, the test CA as the host's trust store; senv:
# more variables. No policy of the test's own: the preset alone.
senv=()
session() {
	: >"$log"
	(cd "$ws" && env HOME="$h" CORDON_TEST_HOOKS=1 "${extra[@]}" "${senv[@]}" SSL_CERT_FILE="$ca/ca.pem" \
		CORDON_TEST_CONFIG_DIR="$h/.config/cordon" ANTHROPIC_API_KEY="$real" ANTHROPIC_BASE_URL="$base" \
		timeout 120 "$CORDON" run --profile claude --as-agent --resolve "$name:$ip" "$@" -- "$CLAUDE" -p hi </dev/null 2>&1)
}
# What the CLI sent back as the tool's output.
tool_result() {
	$PY - "$log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    for m in json.loads(line)["body"].get("messages", []):
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if b.get("type") == "tool_result":
                c = b.get("content")
                print(c if isinstance(c, str) else "\n".join(x.get("text", "") for x in c))
PY
}
keys() { $PY -c 'import json, sys; print(" ".join(sorted({str(json.loads(l)["x-api-key"]) for l in open(sys.argv[1])})))' "$log"; }

run_capture session
res=$(tool_result 2>&1)
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q FAKE-DONE; then
	ok "the answer arrives: the CLI printed the fake model's text"
else
	not_ok "the answer arrives"
	diag "exit $RC: $(printf '%s' "$OUT" | tail -8)"
fi
check "cordon says the key stays on the host" sh -c "printf '%s' \"\$1\" | grep -q 'injected by the proxy (the sandbox sees a placeholder): ANTHROPIC_API_KEY'" sh "$OUT"
n=$(grep -c . "$log")
if [ "$(keys)" = "$real" ] && [ "$n" -ge 2 ]; then
	ok "the API receives the real key in x-api-key ($n requests, all of them)"
else
	not_ok "the API receives the real key"
	diag "x-api-key values: $(keys | sed "s/$real/<the real key>/")"
fi
if printf '%s' "$res" | grep -qx "claude-env=cordon-injected-ANTHROPIC_API_KEY" &&
	printf '%s' "$res" | grep -qx "var=cordon-injected-ANTHROPIC_API_KEY"; then
	ok "the CLI's environment (/proc/PID/environ of claude) holds the placeholder"
else
	not_ok "the CLI's environment holds the placeholder"
	diag "tool result: $res"
fi
if printf '%s' "$res" | grep -qx "environ-hits=0" && printf '%s' "$res" | grep -qx "file-hits=0"; then
	ok "no process or file inside holds the key (every environ and cmdline; ~/.claude, ~/.claude.json, the workspace, /tmp)"
else
	not_ok "no process or file inside holds the key"
	diag "tool result: $res"
fi
if printf '%s' "$res" | grep -qx "upload=403" &&
	printf '%s' "$res" | grep "^upload-body=" | grep -F "POST https://$name" | grep -F "/v1/files denied by network.rules" |
	grep -F "paths /v1/messages, /v1/messages/count_tokens" | grep -qF "(profile claude)"; then
	ok "a POST to another path of the API host is refused: 403 from the proxy, naming the preset's rule"
else
	not_ok "a POST to another path of the API host is refused"
	diag "tool result: $res"
fi
check "the API never sees the refused request (no request for /v1/files in its log)" $PY -c '
import json, sys
p = [json.loads(l)["path"] for l in open(sys.argv[1])]
print("# paths the API saw:", sorted(set(p)))
sys.exit(not p or any(x.startswith("/v1/files") for x in p))' "$log"
check "the CLI itself is refused nothing (every path it used is the model's): one refusal, the probe's" $PY -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
d = [x for x in r if x.get("decision") == "deny" or x.get("verdict") == "deny"]
bad = [x for x in d if "/v1/files" not in json.dumps(x)]
print("# refused:", [x.get("path") for x in d])
sys.exit(len(d) < 1 or len(bad) > 0)' "$h/.local/state/cordon/audit/audit.jsonl"
check "the session wrote its transcript (the probe's output is in it)" \
	sh -c "grep -rqF claude-env=cordon-injected '$h/.claude/projects'"
alog="$h/.local/state/cordon/audit/audit.jsonl"
check "the audit log records the injection, by name and host" $PY -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not any(x["type"] == "credential" and x["name"] == "ANTHROPIC_API_KEY" and
                 x["host"] == sys.argv[2] and x["header"].lower() == "x-api-key" for x in r))' "$alog" "$name"
if ! grep -rqF -e "$real" "$h" "$ws"; then
	ok "nothing on the host the session wrote holds the key (home, workspace)"
else
	not_ok "nothing on the host the session wrote holds the key"
	grep -rF -e "$real" "$h" "$ws" | grep -o ".\{200\}$real.\{100\}" | sed "s/$real/<the real key>/g; s/^/#   /"
fi

# Control: the opt-out, credentials.envVars allowing the variable by name,
# passes the key itself in (the preset adds no inject entry for it), and a
# file in the workspace holds it: the same probe finds both.
printf '%s\n' "$real" >"$ws/key.txt"
run_capture session --policy "$optout"
res=$(tool_result 2>&1)
if [ "$RC" -eq 0 ] && printf '%s' "$res" | grep -qx "claude-env=$real" &&
	! printf '%s' "$res" | grep -qx "environ-hits=0" && ! printf '%s' "$res" | grep -qx "file-hits=0"; then
	ok "control: with the opt-out the probe finds the key in the CLI's environment, and in a file"
else
	not_ok "control: with the opt-out the probe finds the key"
	diag "exit $RC: $(printf '%s' "$OUT" | tail -5 | sed "s/$real/<the real key>/g")"
	diag "tool result: $(printf '%s' "$res" | sed "s/$real/<the real key>/g")"
fi

done_testing
