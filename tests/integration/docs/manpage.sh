#!/bin/bash
# The man page and --help cannot drift apart: every command `cordon --help`
# lists and every long option a command's --help names is in cordon(1).
. "$(dirname "$0")/../lib.sh"
man="${CORDON_SRC:-}/man/cordon.1"
if [ ! -r "$man" ]; then
	skip "man page and --help agree" "cannot read $man (CORDON_SRC unset or not readable)"
	done_testing
	exit
fi

subs=$("$CORDON" --help | awk '/^Commands:/{f=1; next} f && /^  [a-z]/{print $1}')
check "cordon --help lists commands" test -n "$subs"
for sub in $subs; do
	if grep -qE "^\.Cm( .*[ |])? ?$sub( |$)" "$man"; then
		ok "cordon(1) names the command $sub"
	else
		not_ok "cordon(1) names the command $sub"
	fi
	[ "$sub" = help ] && continue
	opts=$("$CORDON" "$sub" --help 2>&1 | grep -oE -- '(^|[ ,(])--[a-z][a-z0-9-]+' |
		sed 's/^[ ,(]*//' | sort -u)
	missing=
	for o in $opts; do
		# mdoc writes --name as "Fl -name", and "-name" after a "|" in a list.
		grep -qE -- "(^|[ |])(Fl )?-${o#--}([^a-z0-9-]|$)" "$man" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "cordon(1) documents every option of cordon $sub --help"
	else
		not_ok "cordon(1) documents every option of cordon $sub --help"
		diag "missing from the man page:$missing"
	fi
done
# The check can fail: an option the page does not have is reported.
if grep -qE -- "(^|[ |])(Fl )?-no-such-option([^a-z0-9-]|$)" "$man"; then
	not_ok "control: an unknown option is not found in the page"
else
	ok "control: an unknown option is not found in the page"
fi
done_testing
