#!/bin/bash
# Fail closed: no user namespaces, no sandbox, and the reason is given.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
# Inside a user namespace we own, max_user_namespaces can be set to 0 for
# our subtree: exactly what a distribution that disables them looks like.
if unshare -Ur true 2>/dev/null; then
	expect_status "no user namespaces: exit 125, nothing runs" 125 \
		unshare -Ur sh -c "echo 0 > /proc/sys/user/max_user_namespaces; cd '$ws'; exec '$CORDON' run -- touch ran"
	check "the command did not run" test ! -e "$ws/ran"
	# The failed attempt is on record: a start and an end saying setup-error.
	A="$PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps([x for x in r if x[\"type\"]==sys.argv[2]][0][sys.argv[3]]))'"
	LOG=$T/userns-audit.jsonl
	unshare -Ur sh -c "echo 0 > /proc/sys/user/max_user_namespaces; cd '$ws'; exec '$CORDON' run --audit-log '$LOG' -- touch ran" 2>/dev/null
	expect_output "audit: the attempt has a start record" '^\["touch", "ran"\]$' sh -c "$A \"\$1\" session_start argv" _ "$LOG"
	expect_output "audit: its end says setup-error" '^"setup-error"$' sh -c "$A \"\$1\" session_end reason" _ "$LOG"
	expect_output "audit: with status 125" '^125$' sh -c "$A \"\$1\" session_end status" _ "$LOG"
	expect_fail "the error names the cause and the fix" \
		"user namespaces are disabled.*sysctl -w user.max_user_namespaces" \
		unshare -Ur sh -c "echo 0 > /proc/sys/user/max_user_namespaces; cd '$ws'; exec '$CORDON' run -- true"
	expect_output "root of a nested user namespace still runs as non-zero uid" "^1000$" \
		unshare -Ur sh -c "cd '$ws'; exec '$CORDON' run -- id -u"
else
	skip "no user namespaces: exit 125" "cannot create a user namespace to simulate it"
	skip "the command did not run" "as above"
	skip "audit: the attempt is on record" "as above"
	skip "the error names the cause" "as above"
	skip "nested user namespace root" "as above"
fi
# A step that fails inside is reported as that step, with a hint, even when
# the filters the supervisor sent are still unread (the kernel then reports
# a reset ahead of the child's message). Test-only switch.
run_capture sh -c "cd '$ws' && CORDON_TEST_HOOKS=1 CORDON_TEST_FAIL_HOSTNAME=1 exec '$CORDON' run -- touch ran2"
check "a failing step: exit 125" test "$RC" -eq 125
expect_output "a failing step: named, with its errno" \
	"sandbox setup failed while setting the hostname: Operation not permitted" printf '%s' "$OUT"
check "a failing step: a Hint follows" sh -c "printf '%s' \"\$1\" | grep -q '^Hint: '" _ "$OUT"
check "a failing step: the command did not run" test ! -e "$ws/ran2"
done_testing
