#!/bin/bash
# `cordon check`: every probe passes on this machine, and a probe fails when
# its wall is removed on purpose (test-only switches).
. "$(dirname "$0")/../lib.sh"

cd "$T" || exit 1
run_capture "$CORDON" check
check "cordon check passes on this machine (exit 0)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || printf '%s\n' "$OUT" | grep -E 'FAIL|cordon:' | sed 's/^/#   /'
for row in "not uid 0" "no capabilities" "no_new_privs" "seccomp filter" \
	"host processes invisible" "workspace writable" "write outside the workspace" \
	"host /usr read-only" "host socket unreachable" "host loopback unreachable" \
	"raw TCP out" "raw UDP out" "cloud metadata" "fail closed without user namespaces" \
	"proxy: unapproved domain" "proxy: cloud metadata address" "proxy: host loopback service" \
	"proxy: metadata in decimal spelling" "proxy: private range" "audit log unreadable inside" \
	"audit log unwritable inside" "Landlock available"; do
	if printf '%s\n' "$OUT" | grep -F -- "$row" | grep -q ' PASS$'; then
		ok "probe '$row' present and PASS"
	else
		not_ok "probe '$row' present and PASS"
		printf '%s\n' "$OUT" | grep -F -- "$row" | sed 's/^/#   /'
	fi
done
expect_output "summary line" "^[0-9]+ probes, [0-9]+ passed, 0 failed$" printf '%s\n' "$OUT"
expect_output "the output says what WARN and SKIP mean" "WARN: no hole, but a wall is weaker" \
	printf '%s\n' "$OUT"
# No cell is cut mid-word: every word of every cell (as --json gives them)
# stands whole in the table, long cells going on to the next line.
printf '%s\n' "$OUT" >"$T/check.table"
run_capture "$CORDON" check --json
printf '%s' "$OUT" >"$T/check.json"
run_capture $PY -c '
import json, re, sys
table = set(open(sys.argv[1]).read().split())
cut = []
for r in json.load(open(sys.argv[2])):
    for k in ("probe", "expected", "observed"):
        for w in r[k].split():
            # paths break after a "/", and pids differ from run to run
            if "/" not in w and not w.isdigit() and w not in table:
                cut.append(w)
print(" ".join(cut))
sys.exit(1 if cut else 0)' "$T/check.table" "$T/check.json"
check "no cell is cut mid-word (long cells go on to the next line)" test "$RC" -eq 0
[ "$RC" -eq 0 ] || diag "cut: $OUT"

run_capture "$CORDON" check --json
if printf '%s' "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert all({"probe","expected","observed","result"} <= set(r) for r in d); print(len(d))' >/dev/null 2>&1; then
	ok "--json is a JSON array of probe objects"
else
	not_ok "--json is a JSON array of probe objects"
fi

# Remove the read-only host root and Landlock (the two walls that stop a
# write outside the workspace) on purpose: the probe must notice.
run_capture env CORDON_TEST_HOOKS=1 CORDON_TEST_NO_RO_ROOT=1 CORDON_TEST_NO_LANDLOCK=1 "$CORDON" check
check "without the read-only root and Landlock, check exits 1" test "$RC" -eq 1
if printf '%s\n' "$OUT" | grep -F "write outside the workspace" | grep -q ' FAIL$'; then
	ok "without the read-only root and Landlock, 'write outside the workspace' FAILs"
else
	not_ok "without the read-only root and Landlock, 'write outside the workspace' FAILs"
	printf '%s\n' "$OUT" | grep -F "write outside" | sed 's/^/#   /'
fi
# The switch is inert unless test hooks are on.
run_capture env CORDON_TEST_NO_RO_ROOT=1 CORDON_TEST_NO_LANDLOCK=1 "$CORDON" check
if printf '%s\n' "$OUT" | grep -F "write outside the workspace" | grep -q ' PASS$'; then
	ok "test switch ignored without CORDON_TEST_HOOKS=1"
else
	not_ok "test switch ignored without CORDON_TEST_HOOKS=1"
fi
# An approved destination is reachable through the proxy. The upstream is a
# listener on this host's loopback, allowed only by the proxy's test switch.
$PY -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
s.settimeout(30)
end = time.time() + 30
while time.time() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        break
' > "$T/upstream.port" &
track_pid $!
wait_for test -s "$T/upstream.port"
uport=$(head -1 "$T/upstream.port")
run_capture env CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1 "$CORDON" check \
	--allow-domain "target.test:$uport" --resolve target.test:127.0.0.1 --target "target.test:$uport"
if printf '%s\n' "$OUT" | grep -F "approved target reachable" | grep -q ' PASS$'; then
	ok "approved target reachable through the proxy"
else
	not_ok "approved target reachable through the proxy"
	printf '%s\n' "$OUT" | grep -F "approved" | sed 's/^/#   /'
fi
run_capture "$CORDON" check --target "target.test:$uport"
if printf '%s\n' "$OUT" | grep -F "approved target reachable" | grep -q ' FAIL$' && [ "$RC" -eq 1 ]; then
	ok "a target the policy does not approve is reported as a failure"
else
	not_ok "a target the policy does not approve is reported as a failure"
fi
expect_output "cordon check --help" "Usage: cordon check" "$CORDON" check --help
# The probes' staged denials stay out of the user's audit log.
chome=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$chome"
env HOME="$chome" XDG_STATE_HOME= "$CORDON" check >/dev/null 2>&1
check "cordon check writes nothing into the user's audit log (its probes' denials are staged)" \
	test ! -e "$chome/.local/state/cordon/audit/audit.jsonl"
expect_status "control: a plain cordon run with that home does write the user's audit log" 0 \
	sh -c "cd '$T' && HOME='$chome' XDG_STATE_HOME= '$CORDON' run -- true && test -s '$chome/.local/state/cordon/audit/audit.jsonl'"
done_testing
