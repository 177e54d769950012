#!/bin/bash
# Workloads: a parallel C build (cordon's own sources) and an offline
# `npm ci`, bare vs cordon vs bwrap. Usage: bench/workload.sh CORDON OUTDIR
set -eu
CORDON=$1
OUT=${2:-bench/results}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
chmod 755 "$ws"
trap 'rm -rf "$ws"' EXIT
BWRAP="bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /run --bind $ws $ws --chdir $ws --cap-drop ALL"

# 1. C build: a clean parallel build of cordon itself (WORKLOADS=npm skips it).
if [ "${WORKLOADS:-cbuild npm}" != npm ]; then
git -C "$SRC" archive --format=tar HEAD | tar -x -C "$ws"
(cd "$ws" && meson setup b >/dev/null)
cd "$ws"
hyperfine --warmup 1 --runs ${RUNS:-5} --export-json "$OUT/workload-cbuild.json" \
	--prepare "ninja -C $ws/b -t clean >/dev/null" \
	-n bare "ninja -C $ws/b -j2" \
	-n cordon "$CORDON run -- ninja -C $ws/b -j2" \
	-n bwrap "$BWRAP ninja -C $ws/b -j2"
fi

# 2. npm ci, offline, from a cache inside the workspace (filled once online).
# The registry is named on the command line: inside the sandbox ~/.npmrc is
# masked (it may hold tokens), and npm's cache is keyed by registry URL;
# --userconfig /dev/null gives the bare runs the same configuration.
registry=$(npm config get registry 2>/dev/null || true)
if [ -z "$registry" ] || ! curl -fsS -m 10 -o /dev/null "$registry"; then
	echo "npm registry not reachable: skipping the npm ci workload" >&2
	exit 0
fi
mkdir -p "$ws/npmproj"
cd "$ws/npmproj"
cat > package.json <<'JSON'
{"name": "bench", "version": "1.0.0", "private": true,
 "dependencies": {"express": "4.21.2", "lodash": "4.17.21", "chalk": "4.1.2", "commander": "12.1.0"}}
JSON
# Fill the cache online once (install, then a ci that fetches what install
# did not keep), so that the measured runs need no network at all.
npm install --cache "$ws/npm-cache" --no-audit --no-fund --userconfig /dev/null >/dev/null 2>&1
rm -rf node_modules
npm ci --prefer-offline --cache "$ws/npm-cache" --no-audit --no-fund --userconfig /dev/null >/dev/null 2>&1
hyperfine --warmup 1 --runs ${RUNS:-5} --export-json "$OUT/workload-npmci.json" \
	--prepare "rm -rf $ws/npmproj/node_modules" \
	-n bare "npm ci --offline --registry $registry --cache $ws/npm-cache --no-audit --no-fund --userconfig /dev/null" \
	-n cordon "$CORDON run -- npm ci --offline --registry $registry --cache $ws/npm-cache --no-audit --no-fund --userconfig /dev/null" \
	-n bwrap "$BWRAP --chdir $ws/npmproj npm ci --offline --registry $registry --cache $ws/npm-cache --no-audit --no-fund --userconfig /dev/null"
