#!/usr/bin/env python3
"""procs.py ROOT_PID NAME: the descendants of ROOT_PID whose command name is
NAME, one per line: "pid state pgrp tpgid ppid" as /proc/PID/stat gives them
(tpgid: the foreground process group of the process's terminal, -1 when
it has none). Reads the host's /proc, so sandboxed processes are seen with
their host pids."""
import os
import sys


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    # state ppid pgrp session tty_nr tpgid
    return comm, rest[0], int(rest[1]), int(rest[2]), int(rest[5])


def main():
    root, name = int(sys.argv[1]), sys.argv[2]
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = stat(d)
            except (OSError, ValueError):
                pass
    for pid, (comm, state, ppid, pgrp, tpgid) in sorted(procs.items()):
        if comm != name:
            continue
        p, seen = ppid, 0
        while p > 1 and p != root and seen < 1000:
            p = procs.get(p, (None, None, 0))[2]
            seen += 1
        if p == root:
            print(pid, state, pgrp, tpgid, ppid)


main()
