#!/bin/sh
# Install the Debian packages named as arguments that are missing.
# As root: apt-get install them. Otherwise: print the exact command, fail.
set -eu
missing=""
for p in "$@"; do
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
