#!/usr/bin/env python3
"""Read a cordon audit log for the tests.

  alog.py session LOG                 id of the last session in LOG
  alog.py count LOG TYPE              records of TYPE in the last session
  alog.py get LOG TYPE N KEY[.KEY]    field of the Nth (0-based) TYPE record
                                      of the last session, printed as JSON
  alog.py ascii LOG                   exit 0 if every line is one JSON object
                                      of printable ASCII
  alog.py chain LOG SESSION           write the records on stdin (JSON lines,
                                      type and fields only) to LOG as one
                                      session's hash-chained log, one second
                                      apart from 2026-01-01T00:00:00Z
"""
import hashlib
import json
import sys


def records(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def last_session(recs):
    starts = [r for r in recs if r["type"] == "session_start"]
    return starts[-1]["session"]


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "chain":
        prev = "0" * 64
        with open(path, "w") as f:
            for i, r in enumerate(json.loads(l) for l in sys.stdin if l.strip()):
                line = json.dumps(dict(v=1, type=r.pop("type"),
                                       ts="2026-01-01T00:00:%02d.000000Z" % i,
                                       session=sys.argv[3], seq=i, **r, prev=prev),
                                  separators=(",", ":"))
                f.write(line + "\n")
                prev = hashlib.sha256(line.encode()).hexdigest()
        return 0
    if cmd == "ascii":
        with open(path, "rb") as f:
            data = f.read()
        for line in data.split(b"\n")[:-1]:
            if any(b < 0x20 or b > 0x7e for b in line):
                return 1
            if not isinstance(json.loads(line), dict):
                return 1
        return 0 if data.endswith(b"\n") else 1
    recs = records(path)
    sid = last_session(recs)
    mine = [r for r in recs if r["session"] == sid]
    if cmd == "session":
        print(sid)
    elif cmd == "count":
        print(sum(1 for r in mine if r["type"] == sys.argv[3]))
    elif cmd == "get":
        rs = [r for r in mine if r["type"] == sys.argv[3]]
        v = rs[int(sys.argv[4])]
        for k in sys.argv[5].split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
        print(json.dumps(v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
