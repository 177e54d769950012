#!/bin/bash
# Start-up cost of the sealed home: `cordon run -- true` with a home as a
# developer's looks (dozens of dotfiles and dot-directories in ~, ~/.config
# and ~/.local/share, some credentials present, most absent), against the
# same binary with the seal off (CORDON_TEST_NO_SEAL) and, when given, a
# build without it. The home is open to others (0755), so that a root
# invoker shows it too. hyperfine: median and minimum wall time, and CPU
# time (user + system, which a loaded machine disturbs less).
# Usage: bench/seal.sh CORDON [BASELINE_CORDON]   (RUNS=200 ROUNDS=20)
set -eu
CORDON=$1
BASE=${2:-}
RUNS=${RUNS:-200}
ws=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
home=$(mktemp -d /var/tmp/cordon-bench-home.XXXXXX)
trap 'rm -rf "$ws" "$home"' EXIT
chmod 755 "$home" "$ws"
for i in $(seq 40); do echo x > "$home/.dotfile$i"; mkdir -p "$home/.dotdir$i/sub"; done
for i in $(seq 40); do mkdir -p "$home/.config/app$i"; echo x > "$home/.config/app$i.conf"; done
for i in $(seq 30); do mkdir -p "$home/.local/share/app$i"; done
mkdir -p "$home/.ssh" "$home/.docker" "$home/.cargo/bin" "$home/src" "$home/.cache/pip"
echo k > "$home/.ssh/id_ed25519"
echo '{}' > "$home/.docker/config.json"
echo m > "$home/.netrc"
ln -s .dotfile1 "$home/.link"
chmod -R a+rX "$home"
export HOME=$home
cd "$ws"
# The machine's speed drifts (neighbours): ROUNDS short rounds, each timing
# every command, pooled, so that drift reaches every command alike.
ROUNDS=${ROUNDS:-20}
per=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
for r in $(seq "$ROUNDS"); do
	args=(-N --warmup 3 --runs "$per" --export-json "$ws/round-$r.json"
	      -n sealed "env CORDON_BENCH=1 $CORDON run -- true"
	      -n seal-off "env CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SEAL=1 $CORDON run -- true")
	[ -n "$BASE" ] && args+=(-n baseline "env CORDON_BENCH=1 $BASE run -- true")
	hyperfine "${args[@]}" >/dev/null
done
python3 - "$ws"/round-*.json <<'PY'
import json, sys
pooled = {}
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        p = pooled.setdefault(r["command"], {"times": [], "cpu": []})
        p["times"] += r["times"]
        p["cpu"].append(r["user"] + r["system"])
for name, p in pooled.items():
    t = sorted(p["times"])
    print("%-10s n %d  median %.2f ms  p25 %.2f ms  min %.2f ms  cpu (user+system) %.2f ms" % (
        name, len(t), 1000 * t[len(t) // 2], 1000 * t[len(t) // 4], 1000 * t[0],
        1000 * sum(p["cpu"]) / len(p["cpu"])))
PY
echo "mounts inside: sealed $("$CORDON" run -- sh -c 'wc -l < /proc/self/mountinfo' 2>/dev/null)," \
	"seal off $(CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SEAL=1 "$CORDON" run -- sh -c 'wc -l < /proc/self/mountinfo' 2>/dev/null)"
