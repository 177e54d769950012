#!/bin/bash
# House style: clang-format (.clang-format at the root) reports nothing.
. "$(dirname "$0")/../lib.sh"
src=$CORDON_SRC
if ! command -v clang-format >/dev/null; then
	skip "clang-format clean" "clang-format not installed"
	done_testing
	exit
fi
bad=0
for f in $(cd "$src" && git ls-files 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'tests/unit/*.h' 'fuzz/*.c' 'tests/probes/*.c' 2>/dev/null); do
	if ! (cd "$src" && clang-format --dry-run --Werror "$f" >/dev/null 2>&1); then
		diag "not formatted: $f"
		bad=$((bad + 1))
	fi
done
check "every C file is clang-format clean ($bad not)" test "$bad" -eq 0
done_testing
