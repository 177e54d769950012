#!/bin/bash
# Exec audit overhead: a script that starts 2000 short processes, run bare,
# in cordon without exec audit, and in cordon with exec audit (default).
# hyperfine, medians; the ratio audit / no-audit is the cost of recording
# every execve (seccomp notification + argv read + one hashed record).
# Usage: bench/audit/run.sh CORDON [OUTDIR]
set -eu
CORDON=$1
OUT=${2:-bench/results}
N=${EXECS:-2000}
mkdir -p "$OUT"
ws=$(mktemp -d /var/tmp/cordon-bench-audit.XXXXXX)
chmod 755 "$ws"
trap 'rm -rf "$ws"' EXIT
cat > "$ws/execs.sh" <<SH
for ((i = 0; i < $N; i++)); do /bin/true; done
SH
cd "$ws"
LOG=$ws/log/audit.jsonl
hyperfine -N --warmup 2 --runs ${RUNS:-15} --export-json "$OUT/audit-exec.json" \
	-n bare "/bin/bash $ws/execs.sh" \
	-n cordon-no-exec-audit "$CORDON run --no-exec-audit --audit-log $LOG -- /bin/bash $ws/execs.sh" \
	-n cordon-exec-audit "$CORDON run --audit-log $LOG -- /bin/bash $ws/execs.sh"
# Paired runs, alternating order, so that a loaded machine's drift hits
# both variants alike; wall time and CPU time (user + system of cordon and
# everything it ran, from wait4) per run.
python3 - "$CORDON" "$ws" "$LOG" "$OUT/audit-exec-paired.json" "${PAIRS:-10}" "$N" <<'PY'
import json, os, statistics, subprocess, sys, time
cordon, ws, log, out, pairs, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
cmds = {
    "no-exec-audit": [cordon, "run", "--no-exec-audit", "--audit-log", log, "--", "/bin/bash", ws + "/execs.sh"],
    "exec-audit": [cordon, "run", "--audit-log", log, "--", "/bin/bash", ws + "/execs.sh"],
}
res = {k: {"wall": [], "cpu": []} for k in cmds}
for i in range(pairs):
    order = list(cmds) if i % 2 == 0 else list(reversed(list(cmds)))
    for k in order:
        t0 = time.monotonic()
        p = subprocess.Popen(cmds[k], stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        assert p.returncode == 0, (k, p.returncode)
        res[k]["wall"].append(time.monotonic() - t0)
        res[k]["cpu"].append(ru.ru_utime + ru.ru_stime)
json.dump(res, open(out, "w"), indent=1)
for m in ("wall", "cpu"):
    a = statistics.median(res["exec-audit"][m])
    b = statistics.median(res["no-exec-audit"][m])
    r = statistics.median(x / y for x, y in zip(res["exec-audit"][m], res["no-exec-audit"][m]))
    print(f"paired {m:4s}: no-exec-audit {b*1000:8.1f} ms, exec-audit {a*1000:8.1f} ms, "
          f"median pair ratio {r:.3f} (+{(a-b)/n*1e6:.1f} us per exec)")
PY
python3 - "$OUT/audit-exec.json" "$N" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
med = {k: v["median"] for k, v in r.items()}
for k, v in med.items():
    print(f"{k:24s} median {v*1000:8.1f} ms  ({v/n*1e6:6.1f} us per exec)")
a, b = med["cordon-exec-audit"], med["cordon-no-exec-audit"]
print(f"exec audit / no exec audit: {a/b:.3f}  (+{(a-b)/n*1e6:.1f} us per exec)")
PY
