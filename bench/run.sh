#!/bin/bash
# `make bench`: every benchmark, results as JSON in bench/results/, then a
# summary of ratios (cordon / peer) to copy into BENCHMARKS.md.
set -eu
CORDON=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/results
mkdir -p "$OUT"
"$HERE/startup.sh" "$CORDON" "$OUT"
if [ "$(id -u)" -eq 0 ] && id cordon-test >/dev/null 2>&1; then
	# The same as an unprivileged user, from a copy it can reach.
	tmp=$(mktemp -d /var/tmp/cordon-bench-user.XXXXXX)
	chmod 755 "$tmp"
	cp "$CORDON" "$HERE/startup.sh" "$tmp/"
	chown -R cordon-test "$tmp"
	(cd "$tmp" && setpriv --reuid=cordon-test --regid=cordon-test --init-groups \
		env HOME="$tmp" ./startup.sh "$tmp/cordon" "$tmp") || true
	cp "$tmp"/startup-*.json "$OUT/" 2>/dev/null || true
	rm -rf "$tmp"
fi
"$HERE/workload.sh" "$CORDON" "$OUT"
BUILD_DIR=$(dirname "$CORDON")
"$HERE/walls/run.sh" "$BUILD_DIR"          # start-up cost of seccomp + Landlock
"$HERE/audit/run.sh" "$CORDON" "$OUT"      # exec audit overhead
"$HERE/policy/glob.sh" "$CORDON"           # policy globs on a 100k-file workspace
"$HERE/proxy/run.sh" "$BUILD_DIR"          # proxy vs squid and tinyproxy
"$HERE/proxy/intercept.sh" "$BUILD_DIR"    # TLS interception vs a spliced tunnel
python3 "$HERE/summary.py" "$OUT"
