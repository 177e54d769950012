#!/bin/bash
# audit.syslog: a hostile project layer may not switch off a copy of the
# audit records that the user's own settings asked for; it may add one.
. "$(dirname "$0")/../lib.sh"

home=$(mktemp -d "$T/home.XXXXXX")
mkdir -p "$home/.config/cordon"
chmod -R a+rX "$home"
export HOME="$home"
printf '{"sandbox": {"audit": {"syslog": true}}}\n' > "$home/.config/cordon/settings.json"

ws=$(new_ws)
mkdir "$ws/.cordon"
printf '{"sandbox": {"audit": {"syslog": false}}}\n' > "$ws/.cordon/settings.json"
run_capture sh -c "cd '$ws' && '$CORDON' run -- touch ran"
if [ "$RC" -eq 125 ] && printf '%s' "$OUT" | grep -q "audit.syslog"; then
	ok "project layer turning audit.syslog off is refused (125, names the key)"
else
	not_ok "project layer turning audit.syslog off is refused"; diag "exit $RC: $OUT"
fi
check "nothing ran" test ! -e "$ws/ran"

# Controls: the project may turn it on; without the user's setting, off is no change.
printf '{"sandbox": {"audit": {"syslog": true}}}\n' > "$ws/.cordon/settings.json"
expect_output "control: project layer turning audit.syslog on is accepted" "audit.syslog +true" \
	sh -c "cd '$ws' && '$CORDON' policy show"
rm "$home/.config/cordon/settings.json"
printf '{"sandbox": {"audit": {"syslog": false}}}\n' > "$ws/.cordon/settings.json"
expect_status "control: off when nothing turned it on is accepted" 0 \
	sh -c "cd '$ws' && '$CORDON' run -- true"
done_testing
