#!/bin/sh
# Start-up cost of the kernel walls: `cordon run -- true` with every wall,
# and with seccomp and/or Landlock turned off by the test-only switches.
# Usage: bench/walls/run.sh BUILD_DIR [RUNS]   (needs hyperfine)
set -eu
build=${1:?usage: run.sh BUILD_DIR [RUNS]}
runs=${2:-50}
cordon=$(cd "$build" && pwd)/cordon
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
trap 'rm -rf "$ws"' EXIT
cd "$ws"
export CORDON_TEST_HOOKS=1
hyperfine -N --warmup 5 --runs "$runs" --export-markdown "$ws/out.md" \
	-n "all walls" "$cordon run -- true" \
	-n "no seccomp deny filter" "env CORDON_TEST_NO_SECCOMP=1 $cordon run -- true" \
	-n "no Landlock" "env CORDON_TEST_NO_LANDLOCK=1 $cordon run -- true" \
	-n "neither" "env CORDON_TEST_NO_SECCOMP=1 CORDON_TEST_NO_LANDLOCK=1 $cordon run -- true" \
	-n "all walls + connect policy off" "env CORDON_TEST_NO_CONNECT_POLICY=1 $cordon run -- true" \
	-n "all walls + cgroup limits" "$cordon run --memory 4g --pids 512 -- true"
cat "$ws/out.md"
