#!/bin/bash
# Workloads: a parallel C build (cordon's own sources) and an offline
# `npm ci`, bare vs cordon vs bwrap. Usage: bench/workload.sh CORDON OUTDIR
set -eu
CORDON=$1
OUT=${2:-bench/results}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
chmod 755 "$ws"
trap 'rm -rf "$ws"' EXIT
BWRAP="bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /run --bind $ws $ws --chdir $ws --cap-drop ALL"

# 1. C build: a clean parallel build of cordon itself.
git -C "$SRC" archive --format=tar HEAD | tar -x -C "$ws"
(cd "$ws" && meson setup b >/dev/null)
cd "$ws"
hyperfine --warmup 1 --runs ${RUNS:-5} --export-json "$OUT/workload-cbuild.json" \
	--prepare "ninja -C $ws/b -t clean >/dev/null" \
	-n bare "ninja -C $ws/b -j2" \
	-n cordon "$CORDON run -- ninja -C $ws/b -j2" \
	-n bwrap "$BWRAP ninja -C $ws/b -j2"

# 2. npm ci, offline, from a cache inside the workspace (filled once online).
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
npm install --cache "$ws/npm-cache" --no-audit --no-fund >/dev/null 2>&1
hyperfine --warmup 1 --runs ${RUNS:-5} --export-json "$OUT/workload-npmci.json" \
	--prepare "rm -rf $ws/npmproj/node_modules" \
	-n bare "npm ci --offline --cache $ws/npm-cache --no-audit --no-fund" \
	-n cordon "$CORDON run -- npm ci --offline --cache $ws/npm-cache --no-audit --no-fund" \
	-n bwrap "$BWRAP --chdir $ws/npmproj npm ci --offline --cache $ws/npm-cache --no-audit --no-fund"
