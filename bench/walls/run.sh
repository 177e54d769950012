#!/bin/sh
# Start-up cost of the kernel walls: `cordon run -- true` with every wall,
# and with seccomp and/or Landlock turned off by the test-only switches.
# Usage: bench/walls/run.sh BUILD_DIR [RUNS]   (needs hyperfine)
set -eu
build=${1:?usage: run.sh BUILD_DIR [RUNS]}
runs=${2:-50}
build=$(cd "$build" && pwd)
cordon=$build/cordon
here=$(cd "$(dirname "$0")" && pwd)
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
trap 'rm -rf "$ws"' EXIT
cd "$ws"
cp "$here/connect.py" "$here/send.py" "$ws/"
export CORDON_TEST_HOOKS=1
hyperfine -N --warmup 5 --runs "$runs" --export-markdown "$ws/out.md" --export-json "$ws/out.json" \
	-n "all walls" "$cordon run -- true" \
	-n "no seccomp deny filter" "env CORDON_TEST_NO_SECCOMP=1 $cordon run -- true" \
	-n "no Landlock" "env CORDON_TEST_NO_LANDLOCK=1 $cordon run -- true" \
	-n "neither" "env CORDON_TEST_NO_SECCOMP=1 CORDON_TEST_NO_LANDLOCK=1 $cordon run -- true" \
	-n "all walls + connect policy off" "env CORDON_TEST_NO_CONNECT_POLICY=1 $cordon run -- true" \
	-n "all walls + cgroup limits" "$cordon run --memory 4g --pids 512 -- true"
cat "$ws/out.md"
# Medians and minima: less sensitive to a busy machine than means.
python3 - "$ws/out.json" <<'PYEOF'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
base = statistics.median(res[0]["times"])
print("| Command | Median [ms] | Min [ms] | Median vs all walls | CPU user+sys [ms] |")
print("|:---|---:|---:|---:|---:|")
for r in res:
    m = statistics.median(r["times"])
    cpu = (r["user"] + r["system"]) * 1e3
    print("| %s | %.1f | %.1f | %+.1f ms | %.1f |" % (r["command"], m * 1e3, min(r["times"]) * 1e3, (m - base) * 1e3, cpu))
PYEOF

# Per-connect cost of the unix-socket policy (supervisor does the call).
echo
echo "connect() inside, policy on:"
"$cordon" run -- python3 connect.py
echo "connect() inside, policy off (test switch):"
env CORDON_TEST_NO_CONNECT_POLICY=1 "$cordon" run -- python3 connect.py

# Per-send cost of the same policy for addressed sends and sendmsg (the
# supervisor makes those), next to send() and TCP throughput (kernel).
echo
echo "sends outside cordon:"
python3 send.py
echo "sends inside, policy on:"
"$cordon" run -- python3 send.py
echo "sends inside, policy off (test switch):"
env CORDON_TEST_NO_CONNECT_POLICY=1 "$cordon" run -- python3 send.py

# The walls' own work, in-process (compile/prepare in the supervisor, load
# in a child), against this build's library.
echo
src=$(cd "$here/../.." && pwd)
# shellcheck disable=SC2046
cc -O2 -I"$src/src" -I"$build" -o "$ws/micro" "$here/micro.c" \
	"$build/libcordon.a" $(pkg-config --libs libseccomp jansson libcares libidn2 libcrypto)
"$ws/micro"
