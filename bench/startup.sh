#!/bin/bash
# Start-up: `cordon run -- true` against bare `true`, bwrap with the same
# namespaces and a read-only root, and unshare(1); and `cordon run --profile
# node,python,rust,go,java -- true` against `cordon run -- true` (the
# profiles read the tools' configuration; their caches are bound). hyperfine,
# medians.
# Usage: bench/startup.sh CORDON OUTDIR   (RUNS=300 ROUNDS=5)
set -eu
CORDON=$1
OUT=${2:-bench/results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
home=$(mktemp -d /var/tmp/cordon-bench-home.XXXXXX)
trap 'rm -rf "$ws" "$home"' EXIT
cd "$ws"
# A home as a developer's looks: closed to others, the toolchains' caches
# there (each one a bind mount under the profiles), no registry configured.
chmod 700 "$home"
mkdir -p "$home/.cache/pip" "$home/.cache/go-build" "$home/.cache/node-gyp" "$home/.npm" \
	"$home/.cargo/registry" "$home/.cargo/git" "$home/.local/share" "$home/go/pkg/mod" \
	"$home/.m2/repository" "$home/.gradle/caches"
export HOME=$home
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
		-n cordon-profile "$CORDON run --profile node,python,rust,go,java -- true" \
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
