#!/usr/bin/env python3
"""Print median, spread and cordon/peer ratios from hyperfine JSON files."""
import json
import os
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
for name in sorted(os.listdir(out)):
    if not name.endswith(".json"):
        continue
    data = json.load(open(os.path.join(out, name)))
    res = {r["command"]: r for r in data.get("results", [])}
    if "cordon" not in res:
        continue
    print(f"\n{name}")
    print(f"  {'command':10} {'median ms':>10} {'p10':>8} {'p90':>8}  cordon/x")
    c = statistics.median(res["cordon"]["times"])
    for cmd, r in res.items():
        t = sorted(r["times"])
        med = statistics.median(t)
        p10, p90 = t[len(t) // 10], t[(len(t) * 9) // 10]
        print(f"  {cmd:10} {med*1000:10.2f} {p10*1000:8.2f} {p90*1000:8.2f}  {c/med:6.2f}x")
    if "cordon-profile" in res:
        p = statistics.median(res["cordon-profile"]["times"])
        print(f"  cordon-profile / cordon: {p/c:.3f}")
