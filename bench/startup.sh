#!/bin/bash
# Start-up: `cordon run -- true` against bare `true`, bwrap with the same
# namespaces and a read-only root, and unshare(1). hyperfine, medians.
# Usage: bench/startup.sh CORDON OUTDIR
set -eu
CORDON=$1
OUT=${2:-bench/results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
trap 'rm -rf "$ws"' EXIT
cd "$ws"
BWRAP="bwrap --unshare-all --die-with-parent --new-session --ro-bind / / --dev /dev --proc /proc \
--tmpfs /tmp --tmpfs /run --bind $ws $ws --chdir $ws --cap-drop ALL --hostname cordon true"
UNSHARE="unshare --user --map-current-user --mount --pid --fork --net --ipc --uts --cgroup --mount-proc true"
hyperfine -N --warmup 20 --runs ${RUNS:-300} --export-json "$OUT/startup-$(id -un).json" \
	-n bare "true" \
	-n cordon "$CORDON run -- true" \
	-n bwrap "$BWRAP" \
	-n unshare "$UNSHARE"
