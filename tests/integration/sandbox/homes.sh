#!/bin/bash
# Root runs cordon: other users' homes are out of sight inside (their
# world-readable .npmrc, .env), while the invoker's own files and the
# workspace stay where they are.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "other users' homes are hidden" "only a root invoker could read them; this run is unprivileged"
	done_testing
	exit
fi
other=$(mktemp -d /home/cordon-t-other.XXXXXX) || { not_ok "make a home in /home"; done_testing; exit; }
suite_cleanup() { rm -rf "$other"; }
chmod 755 "$other"
echo '//registry/:_authToken=other-users-secret' > "$other/.npmrc"
chmod 644 "$other/.npmrc"
ws=$(new_ws)
echo mine > "$ws/own.txt"

check "control: outside, root reads the other user's .npmrc" grep -q other-users-secret "$other/.npmrc"
expect_fail "inside, the other user's home is empty: the .npmrc is not there" \
	"$other/\.npmrc: No such file or directory" sb "$ws" cat "$other/.npmrc"
OUT=$(sb "$ws" ls -A "$other" 2>/dev/null)
RC=$?
if [ "$RC" -eq 0 ] && [ -z "$OUT" ]; then
	ok "inside, ls of the other home lists nothing"
else
	not_ok "inside, ls of the other home lists nothing"
	diag "exit $RC: $OUT"
fi
expect_output "control: the workspace reads inside" "^mine$" sb "$ws" cat "$ws/own.txt"
# A workspace inside a home in /home: that home stays visible.
ws2=$(mktemp -d "$other/ws.XXXXXX")
chmod 755 "$ws2"
expect_output "a workspace inside a home in /home keeps that home" "other-users-secret" \
	sb "$ws2" cat "$other/.npmrc"
done_testing
