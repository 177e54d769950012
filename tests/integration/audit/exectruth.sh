#!/bin/bash
# Exec records tell what ran: a path rewritten by a racing thread after
# cordon read it, a program run from a memfd, failed calls (not counted as
# programs run), and the ordinary record once per program.
. "$(dirname "$0")/../lib.sh"
A="$PY $(dirname "$0")/alog.py"

RACE=$(dirname "$CORDON")/cordon-execrace
if [ ! -x "$RACE" ]; then
	skip "exec audit truth" "cordon-execrace not built next to $CORDON"
	done_testing
	exit $?
fi
ws=$(new_ws)
cp "$RACE" "$ws/race-a"
cp "$RACE" "$ws/race-b"

# --- A thread flips the path between two programs while execve runs. ---
LOG=$T/race/audit.jsonl
N=60
(cd "$ws" && timeout 120 "$CORDON" run --audit-log "$LOG" -- \
	"$ws/race-a" race "$ws/race-a" "$ws/race-b" "$N" "$ws/marks") >/dev/null 2>&1
check "race: every child ran one of the two programs (markers: $N)" \
	test "$(wc -l < "$ws/marks" 2>/dev/null || echo 0)" -eq "$N"
cat > "$T/race.py" <<'PY'
import json, os, sys
log, ws, what = sys.argv[1], sys.argv[2], sys.argv[3]
recs = [json.loads(l) for l in open(log)]
calls = [r for r in recs if r["type"] == "exec" and r["argv"][1:2] == ["mark"]]
marks = open(os.path.join(ws, "marks")).read().split()
if what == "files":
    # In call order (the parent waits for each child): what each child
    # wrote as its own /proc/self/exe is what its record names.
    print("same" if [r.get("file", {}).get("path") for r in calls] == marks else
          "differs: %r vs %r" % ([r.get("file", {}).get("path") for r in calls][:5], marks[:5]))
elif what == "outcomes":
    print(" ".join(sorted(set(r["outcome"] for r in calls))))
elif what == "won":
    print(sum(1 for r in calls if r["path"] != r["file"]["path"]))
elif what == "flagged":
    bad = []
    for r in calls:
        differs = r["path"] != r["file"]["path"]
        if differs != bool(r.get("path_mismatch")):
            bad.append(r["seq"])
        elif differs and r["claimed"]["ino"] != os.stat(r["path"]).st_ino:
            bad.append(r["seq"])
        elif differs and not r.get("digest", "").startswith("sha256:"):
            bad.append(r["seq"])
    print("ok" if not bad else "wrong at seq %r" % bad)
PY
expect_output "race: $N exec records, all ran" "^ran$" $PY "$T/race.py" "$LOG" "$ws" outcomes
expect_output "race: each record names the program that actually ran (its own marker)" "^same$" \
	$PY "$T/race.py" "$LOG" "$ws" files
won=$($PY "$T/race.py" "$LOG" "$ws" won)
if [ "${won:-0}" -gt 0 ]; then
	# The attack worked on the call: the path cordon read is not what ran.
	ok "race: the path as read differs from what ran in $won of $N calls (the attack)"
	expect_output "race: exactly those say path_mismatch, with the claimed file and a digest" \
		"^ok$" $PY "$T/race.py" "$LOG" "$ws" flagged
	expect_output "race: cordon log shows the mismatch" "PATH MISMATCH: named .* ran $ws/race-" \
		"$CORDON" log --all --file "$LOG"
else
	skip "race: the path as read differs from what ran" "the flip never landed in $N calls"
	skip "race: those say path_mismatch" "no call raced"
	skip "race: cordon log shows the mismatch" "no call raced"
fi

# --- A program run from a memfd, by fd and by /proc/self/fd path. ---
cat > "$ws/memfd.py" <<'PY'
import os, sys
src, marks, how = sys.argv[1], sys.argv[2], sys.argv[3]
fd = os.memfd_create("innocent", 0)
os.write(fd, open(src, "rb").read())
# Run it from a read-only fd, with no writer left (as a careful loader does).
ro = os.open("/proc/self/fd/%d" % fd, os.O_RDONLY)
os.close(fd)
argv = ["/usr/bin/fake-name", "mark", marks]
if how == "fd":
    os.execve(ro, argv, {})
os.set_inheritable(ro, True)
os.execve("/proc/self/fd/%d" % ro, argv, {})
PY
want=$(sha256sum "$ws/race-a" | cut -d' ' -f1)
for how in fd path; do
	MLOG=$T/memfd-$how/audit.jsonl
	rm -f "$ws/marks"
	(cd "$ws" && timeout 60 "$CORDON" run --audit-log "$MLOG" -- \
		$PY "$ws/memfd.py" "$ws/race-a" "$ws/marks" "$how") >/dev/null 2>&1
	expect_output "memfd ($how): control: the program ran from the memfd" "^/memfd:innocent" \
		cat "$ws/marks"
	get() { $PY -c "
import json, sys
r = [json.loads(l) for l in open('$MLOG')]
e = [x for x in r if x['type'] == 'exec' and x['argv'][:1] == ['/usr/bin/fake-name']]
v = e[0] if len(e) == 1 else {'records': len(e)}
for k in sys.argv[1].split('.'):
    v = v.get(k) if isinstance(v, dict) else None
print(json.dumps(v))" "$1"; }
	expect_output "memfd ($how): one exec record, ran" '^"ran"$' get outcome
	expect_output "memfd ($how): marked as an fd exec" '^true$' get fd_exec
	expect_output "memfd ($how): names the memfd, not the fake argv" '^"/memfd:innocent \(deleted\)"$' \
		get file.path
	expect_output "memfd ($how): digest is the SHA-256 of the content" "^\"sha256:$want\"\$" get digest
done
expect_output "memfd: cordon log shows the file and the digest" \
	"/usr/bin/fake-name .* -> /memfd:innocent \\(deleted\\)  \\[fd exec\\]  \\[sha256:${want:0:16}\\]" \
	"$CORDON" log --all --file "$MLOG"

# --- Failed calls: recorded as failed, not counted as programs run. ---
FLOG=$T/failed/audit.jsonl
printf 'echo hi\n' > "$ws/noexec"
chmod 644 "$ws/noexec"
(cd "$ws" && timeout 60 "$CORDON" run --audit-log "$FLOG" -- \
	/bin/sh -c 'env nonexistent-cmd-xyz; ./noexec; /bin/true') >/dev/null 2>&1
cat > "$T/failed.py" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ex = [r for r in recs if r["type"] == "exec"]
what = sys.argv[2]
if what == "missing":
    m = [r for r in ex if (r["path"] or "").endswith("/nonexistent-cmd-xyz")]
    # ENOENT, or EACCES for a PATH directory this user cannot search
    print(any(r.get("error") == "ENOENT" for r in m) and
          all(r["outcome"] == "failed" and r.get("error") in ("ENOENT", "EACCES")
              and "file" not in r for r in m))
elif what == "noexec":
    print(" ".join("%s %s" % (r["outcome"], r.get("error")) for r in ex if r["path"] == "./noexec"))
elif what == "true":
    req = [r for r in recs if r["type"] == "exec_request" and r["path"] == "/bin/true"]
    t = [r for r in ex if r["path"] == "/bin/true"]
    print(len(req), len(t), t[0]["outcome"] if t else None, t[0]["request"] == req[0]["seq"] if t and req else None)
elif what == "counters":
    c = [r for r in recs if r["type"] == "session_end"][-1]["counters"]
    failed = sum(1 for r in ex if r["outcome"] == "failed")
    print(c["exec"], c["exec_failed"] == failed, c["exec_unknown"])
PY
expect_output "failed: every PATH try of a missing command is failed (ENOENT, EACCES where unsearchable)" "^True$" \
	$PY "$T/failed.py" "$FLOG" missing
expect_output "failed: a file without execute permission is failed with EACCES" "^failed EACCES$" \
	$PY "$T/failed.py" "$FLOG" noexec
expect_output "control: /bin/true has one request and one exec record, ran, linked" "^1 1 ran True$" \
	$PY "$T/failed.py" "$FLOG" true
expect_output "failed: counters count 3 programs run (sh, env, true), the rest as failed" \
	"^3 True 0$" $PY "$T/failed.py" "$FLOG" counters
expect_output "failed: cordon log marks the failure" "nonexistent-cmd-xyz .*\\[failed: ENOENT\\]" \
	"$CORDON" log --all --file "$FLOG"
expect_output "failed: cordon log counts programs run, and failed ones apart" \
	"end   session .* 3 execs, 0 connections, [0-9]+ failed execs" "$CORDON" log --all --file "$FLOG"

# --- Control: an ordinary program, one request and one exec record. ---
OLOG=$T/plain/audit.jsonl
(cd "$ws" && timeout 60 "$CORDON" run --audit-log "$OLOG" -- "$ws/race-b" mark "$ws/plain-mark") >/dev/null 2>&1
expect_output "plain: one exec_request" "^1$" $A count "$OLOG" exec_request
expect_output "plain: one exec record" "^1$" $A count "$OLOG" exec
expect_output "plain: it ran the file its path names, no mismatch, no digest" \
	"^\"ran\" \"$ws/race-b\" None None\$" $PY -c "
import json
r = [json.loads(l) for l in open('$OLOG') if '\"type\":\"exec\"' in l][0]
print(json.dumps(r['outcome']), json.dumps(r['file']['path']), r.get('path_mismatch'), r.get('digest'))"
expect_output "plain: the file's identity is the path's" "^same$" $PY -c "
import json, os
r = [json.loads(l) for l in open('$OLOG') if '\"type\":\"exec\"' in l][0]
print('same' if r['file']['ino'] == os.stat('$ws/race-b').st_ino else 'differs')"
expect_output "plain: the log verifies" "OK" "$CORDON" log verify --file "$OLOG"

done_testing
