#!/bin/bash
# Documentation and help: man pages lint clean, every command has --help.
. "$(dirname "$0")/../lib.sh"
src=$CORDON_SRC

for m in "$src"/man/*.[1-8]; do
	[ -e "$m" ] || continue
	expect_status "mandoc -Tlint clean: $(basename "$m")" 0 mandoc -Tlint -Wwarning "$m"
done
expect_output "cordon --help lists run" "^  run " "$CORDON" --help
expect_output "cordon --version" "^cordon [0-9]+\.[0-9]+" "$CORDON" --version
for sub in $("$CORDON" --help | awk '/^Commands:/{f=1; next} f && /^  [a-z]/{print $1}'); do
	expect_output "cordon $sub --help prints usage" "[Uu]sage" "$CORDON" $sub --help
done
expect_status "unknown command is 125" 125 "$CORDON" no-such-command
expect_fail "unknown command hints at --help" "Hint: .*--help" "$CORDON" no-such-command
done_testing
