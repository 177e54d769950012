#!/bin/sh
# Install the Debian packages named as arguments that are missing.
# As root: apt-get install them. Otherwise: print the exact command, fail.
# PKG:COMMAND names a package that is not needed when COMMAND is already on
# PATH from elsewhere (a node from another source brings its own npm, and
# Debian's npm would conflict with it).
set -eu
missing=""
for arg in "$@"; do
	p=${arg%%:*}
	case "$arg" in
	*:*) command -v "${arg#*:}" >/dev/null 2>&1 && continue ;;
	esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "cordon: installing missing packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Lists may be absent on a fresh machine; refresh once, then install.
	apt-get update -qq >/dev/null || apt-get update
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		apt-get install -y --no-install-recommends $missing
else
	echo "cordon: missing packages:$missing" >&2
	echo "Hint: sudo apt-get install -y$missing" >&2
	exit 1
fi
