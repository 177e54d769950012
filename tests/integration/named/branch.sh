#!/bin/bash
# Branch mode: `cordon run --name NAME --branch B` works in a git worktree
# of the workspace's repository, on branch B. Commits made inside land on
# B; the main checkout (its files, HEAD, index, other branches) and every
# git control file stay as they were, checked with the host's own git
# after the session, next to controls showing that the same plants run
# without cordon. `cordon rm` removes the worktree, not the branch.
. "$(dirname "$0")/../lib.sh"

if ! command -v git >/dev/null; then
	skip "branch mode" "git is not installed"
	done_testing
	exit
fi
# The state directory off overlayfs, as in named.sh; the worktree lies
# beside it, and a workspace may not lie in /dev.
base=""
for d in /tmp /var/tmp; do
	[ "$(stat -f -c %T "$d" 2>/dev/null)" = overlayfs ] && continue
	base=$(mktemp -d "$d/cordon-branch.XXXXXX" 2>/dev/null) && break
done
if [ -z "$base" ]; then
	skip "branch mode" "no directory off overlayfs for the state and worktrees (tried /tmp, /var/tmp)"
	done_testing
	exit
fi
chmod 755 "$base"
suite_cleanup() { [ -n "${base:-}" ] && rm -rf "$base"; }
export XDG_DATA_HOME="$base/data"
WTS="$XDG_DATA_HOME/cordon/worktrees"
home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
export HOME="$home" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.test \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.test
marker="$T/PLANT-RAN.$$"
evil="$SHOWN/evil.sh"
printf '#!/bin/sh\ntouch "%s"\n' "$marker" >"$evil"
chmod 755 "$evil"
ident='-c user.name=t -c user.email=t@example.test'
mkrepo() { (cd "$1" && git init -q -b main . && echo a >a && git add a && git commit -qm init); }
ws=$(new_ws)
mkrepo "$ws"
run() { (cd "$ws" && "$CORDON" run -q "$@"); }
said() { printf '%s' "$OUT" | grep -qE -- "$1"; }
g() { git -C "$ws" "$@"; }
# (--no-optional-locks: git status would refresh the index it checks.)
state() {
	printf '%s\n' "$(cat "$ws/a")" "$(cat "$ws/.git/HEAD")" "$(sha256sum <"$ws/.git/index")" \
		"$(g rev-parse main)" "$(g --no-optional-locks status --porcelain)"
}
before=$(state)

# --- refusals ---
expect_status "--branch without --name is refused (125)" 125 run --branch b -- true
check "... saying a named sandbox is needed" said "--branch needs a named sandbox"
plain=$(new_ws)
expect_status "--branch in a workspace that is no git repository is refused (125)" 125 \
	run --name nr --branch b -w "$plain" -- true
check "... saying so" said "needs a git repository"
check "... and no sandbox was made for it" test ! -e "$XDG_DATA_HOME/cordon/sandboxes/nr"
expect_status "an invalid branch name is refused (125)" 125 run --name bad --branch 'a..b' -- true
expect_status "--branch with --review is refused (125)" 125 run --name rv --review --branch b -- true
run --name rv --review -- true >/dev/null 2>&1
expect_fail "--branch on a review sandbox is refused" "does not go with a review sandbox" run --name rv --branch b -- true
check "... and its branch was not made" sh -c '! git -C "$1" rev-parse -q --verify refs/heads/b' _ "$ws"
"$CORDON" rm rv >/dev/null 2>&1

many=$(new_ws)
mkrepo "$many"
head=$(git -C "$many" rev-parse HEAD)
for i in $(seq 1100); do echo "$head" >"$many/.git/refs/heads/r$i"; done
expect_fail "a repository with more loose refs than the rules hold is refused" "git pack-refs --all" \
	run --name many --branch b -w "$many" -- true
git -C "$many" pack-refs --all
expect_status "... packed into one file, the next run of the sandbox runs" 0 \
	run --name many --branch b -w "$many" -- true
"$CORDON" rm --yes many >/dev/null 2>&1

# --- commits land on the branch ---
commit="echo hi >new && git add new && git $ident commit -qm inside && echo COMMITTED"
expect_output "a commit inside a branch sandbox works" COMMITTED run --name agent --branch work -- \
	sh -c "$commit"
check "... the session end names the branch and its new commit" said "branch work: 1 new commit"
check "the host's git sees the commit on the branch" \
	sh -c '[ "$(git -C "$1" log -1 --format=%s work)" = inside ]' _ "$ws"
check "... its file is in the branch" sh -c '[ "$(git -C "$1" show work:new)" = hi ]' _ "$ws"
check "... the worktree lies in the data directory" test -f "$WTS/agent/new"
check "the main checkout, its HEAD, index and branch are unchanged" \
	test "$(state)" = "$before"
check "... and the main working tree has no new file" test ! -e "$ws/new"

# --- the main checkout and the other refs are read-only ---
# (A checkout in /var, as $T is, is seen through the named sandbox's overlay
# of /var, whose copy-up of another owner's file fails with EOVERFLOW.)
expect_fail "writing a file of the main checkout is denied" \
	"Read-only file system|Permission denied|Value too large" \
	run --name agent -- sh -c "echo changed >'$ws/a'"
check "... the host file is unchanged" sh -c '[ "$(cat "$1/a")" = a ]' _ "$ws"
check "control: the host can write it" sh -c 'cp "$1/a" "$1/.a" && echo a >"$1/a"' _ "$ws"
rm -f "$ws/.a"
expect_fail "moving another branch from inside is denied" "couldn't set|cannot lock|Read-only file system" \
	run --name agent -- git update-ref refs/heads/main HEAD
expect_fail "the main worktree's HEAD is read-only inside" "Read-only file system|Permission denied|Value too large" \
	run --name agent -- sh -c "echo 'ref: refs/heads/work' >'$ws/.git/HEAD'"
check "... main still points where it did" test "$(state)" = "$before"

expect_fail "the refs of other branches cannot be moved aside and replaced" "Device or resource busy|Read-only file system" \
	run --name agent -- sh -c "mv '$ws/.git/refs/heads' '$ws/.git/refs/h2' || mv '$ws/.git/refs' '$ws/.git/r2'"
check "... main still points where it did" test "$(state)" = "$before"

# --- the user works in the main checkout meanwhile ---
# The sandbox waits for go (in its worktree); the host commits on main.
rm -f "$WTS/agent/go" "$WTS/agent/started"
run --name agent -- sh -c 'touch started; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo WAITED' >"$T/bg.out" 2>&1 &
bg=$!
track_pid "$bg"
for i in $(seq 600); do [ -e "$WTS/agent/started" ] && break; sleep 0.1; done
check "the sandbox runs while the host commits" test -e "$WTS/agent/started"
echo b >"$ws/b"
g add b && g $ident commit -qm host-during
touch "$WTS/agent/go"
wait "$bg"
check "a commit on main on the host during the session stays" \
	sh -c '[ "$(git -C "$1" log -1 --format=%s main)" = host-during ] && [ -z "$(git -C "$1" status --porcelain)" ]' _ "$ws"
check "... nothing of it is taken for planted" sh -c '! grep -q quarantined "$1" && grep -q WAITED "$1"' _ "$T/bg.out"
rm -f "$WTS/agent/go" "$WTS/agent/started"
before=$(state)

# --- hooks and redirects do not land ---
plant_hook="mkdir -p '$ws/.git/hooks' && printf '#!/bin/sh\ntouch %s\n' >'$ws/.git/hooks/pre-commit' && chmod +x '$ws/.git/hooks/pre-commit'"
ctl=$(new_ws)
mkrepo "$ctl"
(cd "$ctl" && sh -c "$(printf "${plant_hook//$ws/$ctl}" "$marker")")
rm -f "$marker"
git -C "$ctl" $ident commit -q --allow-empty -m c >/dev/null 2>&1
check "control: a hook planted in .git/hooks runs at the host's commit" test -e "$marker"
rm -f "$marker"
expect_fail "planting a hook in the main .git/hooks is denied" "Read-only file system|Permission denied|Value too large" \
	run --name agent -- sh -c "$(printf "$plant_hook" "$marker")"
git -C "$ws" $ident commit -q --allow-empty -m host-after >/dev/null 2>&1
check "... the host's commit in the main checkout runs no hook" test ! -e "$marker"
git -C "$WTS/agent" $ident commit -q --allow-empty -m host-wt >/dev/null 2>&1
check "... nor the host's commit in the worktree" test ! -e "$marker"
g reset -q --soft HEAD~1
git -C "$WTS/agent" reset -q --soft HEAD~1
before=$(state)

admin=$(git -C "$WTS/agent" rev-parse --absolute-git-dir)
redirect="cp -r '$ws/.git/.' fake && printf '[core]\n\tfsmonitor = $evil\n' >>fake/config && echo \"\$PWD/fake\" >'$admin/commondir'"
ctl=$(new_ws)
mkrepo "$ctl"
git -C "$ctl" worktree add -q "$ctl.wt" -b c 2>/dev/null
cadmin=$(git -C "$ctl.wt" rev-parse --absolute-git-dir)
cp -r "$ctl/.git/." "$ctl.fake" && printf '[core]\n\tfsmonitor = %s\n' "$evil" >>"$ctl.fake/config" &&
	echo "$ctl.fake" >"$cadmin/commondir"
rm -f "$marker"
git -C "$ctl.wt" status >/dev/null 2>&1
check "control: a worktree's commondir redirected runs that fsmonitor at git status" test -e "$marker"
rm -rf "$marker" "$ctl.wt" "$ctl.fake"
expect_fail "redirecting the worktree's commondir from inside is denied" \
	"commondir: (Read-only file system|Permission denied)" run --name agent -- sh -c "$redirect"
check "... the copy was made (the wall, not the copy, stopped it)" test -f "$WTS/agent/fake/config"
git -C "$WTS/agent" status >/dev/null 2>&1
check "... the host's git status in the worktree runs nothing" test ! -e "$marker"
rm -rf "$WTS/agent/fake"
# The main git directory is read-only inside but for objects and the
# branch's own ref: a commondir cannot be written there (control: plant.sh
# shows it runs without cordon), nor a rebase todo list the host's
# `git rebase --continue` would run.
main_redirect="cp -r '$ws/.git/.' fake && printf '[core]\n\tfsmonitor = $evil\n' >>fake/config && echo \"\$PWD/fake\" >'$ws/.git/commondir' && echo planted"
run_capture run --name agent -- sh -c "$main_redirect"
check "a commondir cannot be written in the main .git inside" \
	sh -c '! printf "%s" "$1" | grep -q "^planted" && [ ! -e "$2/.git/commondir" ]' _ "$OUT" "$ws"
expect_fail "a rebase-merge todo list cannot be made in the main .git" \
	"Read-only file system|Permission denied|Value too large" \
	run --name agent -- sh -c "mkdir '$ws/.git/rebase-merge' && echo 'exec touch $marker' >'$ws/.git/rebase-merge/git-rebase-todo'"
check "... nothing of it on the host" test ! -e "$ws/.git/rebase-merge"
expect_fail "a new tag cannot be made from inside" "Read-only file system|Permission denied|Value too large|cannot lock" \
	run --name agent -- git tag planted-tag
check "... no such tag on the host" sh -c '! git -C "$1" rev-parse -q --verify refs/tags/planted-tag >/dev/null' _ "$ws"
rm -f "$marker"
g status >/dev/null 2>&1
check "... the host's git status in the main checkout runs nothing" test ! -e "$marker"
rm -rf "$WTS/agent/fake"
run_capture run --name agent -- sh -c "mkdir -p '$admin/hooks' && printf '#!/bin/sh\ntouch $marker\n' >'$admin/hooks/pre-commit' && chmod +x '$admin/hooks/pre-commit' && echo planted"
check "a hook made in the worktree's git directory is quarantined at the end" \
	sh -c '[ ! -e "$1/hooks/pre-commit" ]' _ "$admin"
check "... the end of the session says so" said "quarantined"
git -C "$WTS/agent" $ident commit -q --allow-empty -m host-wt2 >/dev/null 2>&1
check "... the host's commit in the worktree runs no hook" test ! -e "$marker"
git -C "$WTS/agent" reset -q --soft HEAD~1
check "the main checkout is still unchanged" test "$(state)" = "$before"

# --- re-entry ---
expect_output "re-entry without --branch continues on the branch" "^work$" \
	run --name agent -- git branch --show-current
expect_output "GIT_DIR of the caller does not send git inside to the main checkout" "^work$" \
	env GIT_DIR="$ws/.git" GIT_WORK_TREE="$ws" sh -c 'cd "$1" && "$2" run -q --name agent -- git branch --show-current' _ "$ws" "$CORDON"
expect_output "a second commit on re-entry" COMMITTED run --name agent --branch work -- \
	sh -c "echo two >>new && git $ident commit -qam second && echo COMMITTED"
check "... the branch has both commits" sh -c '[ "$(git -C "$1" rev-list --count main..work)" = 2 ]' _ "$ws"
expect_fail "--review on re-entry of a branch sandbox is refused" "does not go with a review sandbox" \
	run --name agent --review -- true
expect_status "another --branch on re-entry is refused (125)" 125 run --name agent --branch other -- true
check "... naming the sandbox's branch" said "works on branch work, not other"
check "... and no branch other was made" sh -c '! git -C "$1" rev-parse --verify -q refs/heads/other' _ "$ws"
expect_status "a branch checked out elsewhere is refused (125)" 125 run --name twin --branch work -- true
check "... as git says" said "already"
check "... and leaves no sandbox behind" test ! -e "$XDG_DATA_HOME/cordon/sandboxes/twin"

# --- from a linked worktree: the branch starts at its commit ---
lw=$(new_ws)
rmdir "$lw"
g worktree add -q "$lw" -b side 2>/dev/null
git -C "$lw" $ident commit -q --allow-empty -m on-side
run_capture sh -c 'cd "$1" && "$2" run -q --name lw --branch from-side -- git log -1 --format=%s' _ "$lw" "$CORDON"
check "a branch made from a linked worktree starts at that worktree's commit" \
	sh -c 'printf "%s" "$1" | grep -q "^on-side" && [ "$(git -C "$2" rev-parse from-side)" = "$(git -C "$2" rev-parse side)" ]' _ "$OUT" "$ws"
check "... and the session end names it for git log" said "git log side\.\.from-side"
"$CORDON" rm --yes lw >/dev/null 2>&1
g worktree remove --force "$lw"
before=$(state)

# --- ls and rm ---
expect_output "cordon ls shows the branch" "^agent +stopped .* work " "$CORDON" ls
expect_output "cordon ls --json too" '"name":"agent".*"branch":"work"' "$CORDON" ls --json
expect_status "cordon rm without a terminal and without --yes is refused" 125 "$CORDON" rm agent </dev/null
check "... naming the worktree" said "has the worktree"
check "... which stays" test -f "$WTS/agent/new"
if command -v script >/dev/null; then
	# On a terminal (script(1) gives it one) cordon asks; n keeps everything.
	run_capture sh -c 'printf "n\n" | script -qec "\"$1\" rm agent" /dev/null' _ "$CORDON"
	check "cordon rm on a terminal asks before removing the worktree" \
		said "remove worktree $WTS/agent \(branch work stays\)\? \[y/N\]"
	check "... n keeps the sandbox and its worktree" \
		sh -c '[ "$1" -ne 0 ] && [ -f "$2/agent/new" ] && [ -e "$3/agent" ]' _ "$RC" "$WTS" \
		"$XDG_DATA_HOME/cordon/sandboxes"
else
	skip "cordon rm on a terminal asks" "script(1) is not installed"
fi
expect_output "cordon rm --yes removes it" "branch work kept" "$CORDON" rm --yes agent
check "... the worktree is gone" test ! -e "$WTS/agent"
check "... the host's git lists it no more" sh -c '! git -C "$1" worktree list | grep -q "$2"' _ "$ws" "$WTS/agent"
check "... the branch and its commits stay" sh -c '[ "$(git -C "$1" rev-list --count main..work)" = 2 ]' _ "$ws"
check "... the sandbox is gone" test ! -e "$XDG_DATA_HOME/cordon/sandboxes/agent"
if command -v script >/dev/null; then
	run --name asked --branch asked -- true >/dev/null 2>&1
	run_capture sh -c 'printf "y\n" | script -qec "\"$1\" rm asked" /dev/null' _ "$CORDON"
	check "cordon rm on a terminal, answered y, removes the worktree" \
		sh -c '[ "$1" -eq 0 ] && [ ! -e "$2/asked" ]' _ "$RC" "$WTS"
	check "... and keeps the branch" git -C "$ws" rev-parse -q --verify refs/heads/asked
else
	skip "cordon rm on a terminal, answered y" "script(1) is not installed"
fi
expect_output "a new sandbox on the kept branch continues it" "^second$" \
	run --name again --branch work -- git log -1 --format=%s
"$CORDON" rm --yes again >/dev/null 2>&1
gone=$(new_ws)
mkrepo "$gone"
run --name gone --branch g -w "$gone" -- true >/dev/null 2>&1
rm -rf "$gone"
expect_status "cordon rm of a branch sandbox whose repository is gone still works" 0 \
	"$CORDON" rm --yes gone
check "... its worktree's files are gone" test ! -e "$WTS/gone"
check "the main checkout is unchanged at the end" test "$(state)" = "$before"

done_testing
