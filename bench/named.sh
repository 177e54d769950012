#!/bin/bash
# Named sandboxes: `cordon run -- true` (ephemeral) against re-entering a
# named sandbox, `cordon run --name bench -- true` (its layers made by a
# first run before timing), and, when BASE names a cordon built without
# named sandboxes, that cordon's ephemeral start. hyperfine, medians, in
# alternating rounds as bench/startup.sh.
# Usage: bench/named.sh CORDON OUTDIR [BASE]   (RUNS=200 ROUNDS=5)
set -eu
CORDON=$1
OUT=${2:-bench/results}
BASE=${3:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
# The state off /var, which named sandboxes see through their overlay.
data=$(mktemp -d /tmp/cordon-bench-data.XXXXXX)
trap '"$CORDON" rm bench >/dev/null 2>&1; rm -rf "$ws" "$data"' EXIT
export XDG_DATA_HOME=$data
cd "$ws"
"$CORDON" run -q --name bench -- true
ROUNDS=${ROUNDS:-5}
per=$(( (${RUNS:-200} + ROUNDS - 1) / ROUNDS ))
for r in $(seq "$ROUNDS"); do
	hyperfine -N --warmup 10 --runs "$per" --export-json "$ws/round-$r.json" \
		${BASE:+-n before "$BASE run -- true"} \
		-n ephemeral "$CORDON run -- true" \
		-n named "$CORDON run --name bench -- true" >/dev/null
done
python3 - "$OUT/named-$(id -un).json" "$ws"/round-*.json <<'PY'
import json, sys
merged = None
for f in sys.argv[2:]:
    d = json.load(open(f))
    if merged is None:
        merged = d
        continue
    for a, b in zip(merged["results"], d["results"]):
        a["times"] += b["times"]
med = {}
for a in merged["results"]:
    t = sorted(a["times"])
    a.update(mean=sum(t) / len(t), median=t[len(t) // 2], min=t[0], max=t[-1])
    for k in ("stddev", "user", "system", "exit_codes"):
        a.pop(k, None)
    med[a["command"]] = a["median"]
json.dump(merged, open(sys.argv[1], "w"), indent=1)
for k, v in med.items():
    print(f"{k:10s} {v * 1000:7.2f} ms")
print(f"named / ephemeral {med['named'] / med['ephemeral']:.2f}")
if "before" in med:
    print(f"ephemeral / before {med['ephemeral'] / med['before']:.2f}")
PY
