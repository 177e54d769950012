#!/bin/bash
# Start-up: `cordon run -- true` against bare `true`, bwrap with the same
# namespaces and a read-only root, and unshare(1). hyperfine, medians.
# Usage: bench/startup.sh CORDON OUTDIR   (RUNS=300 ROUNDS=5)
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
# The machine's speed drifts over a minute (a virtual machine's neighbours):
# ROUNDS short rounds, each timing every command, then pooled, so that
# drift reaches cordon and its peers alike.
ROUNDS=${ROUNDS:-5}
per=$(( (${RUNS:-300} + ROUNDS - 1) / ROUNDS ))
for r in $(seq "$ROUNDS"); do
	hyperfine -N --warmup 20 --runs "$per" --export-json "$ws/round-$r.json" \
		-n bare "true" \
		-n cordon "$CORDON run -- true" \
		-n bwrap "$BWRAP" \
		-n unshare "$UNSHARE" >/dev/null
done
python3 - "$OUT/startup-$(id -un).json" "$ws"/round-*.json <<'PY'
import json, sys
merged = None
for f in sys.argv[2:]:
    d = json.load(open(f))
    if merged is None:
        merged = d
        continue
    for a, b in zip(merged["results"], d["results"]):
        a["times"] += b["times"]
for a in merged["results"]:
    t = sorted(a["times"])
    a.update(mean=sum(t) / len(t), median=t[len(t) // 2], min=t[0], max=t[-1])
    for k in ("stddev", "user", "system", "exit_codes"):
        a.pop(k, None)
json.dump(merged, open(sys.argv[1], "w"), indent=1)
PY
