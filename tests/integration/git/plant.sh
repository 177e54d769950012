#!/bin/bash
# Git, everywhere it looks: every plant that would make the user's next
# `git status` or `git commit` run a program, proven from outside with the
# host's own git after the session, each next to a control showing that
# the same plant runs without cordon. See docs/git.md.
. "$(dirname "$0")/../lib.sh"

if ! command -v git >/dev/null; then
	skip "git plants" "git is not installed"
	done_testing
	exit
fi
home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
export HOME="$home" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.test \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.test
marker="$T/PLANT-RAN.$$"
evil="$T/evil.sh"
printf '#!/bin/sh\ntouch "%s"\n' "$marker" > "$evil"
chmod 755 "$evil"
run_in() { local ws=$1; shift; (cd "$ws" && "$CORDON" run "$@"); }
# A repository with one commit.
mkrepo() { (cd "$1" && git init -q . && echo a > a && git add a && git commit -qm init); }
# ran DESC CMD...: the host command runs the plant (a control).
ran() {
	local desc=$1; shift
	rm -f "$marker"
	(cd "$ws" && "$@") >/dev/null 2>&1
	check "$desc" test -e "$marker"
	rm -f "$marker"
}
# not_ran DESC CMD...: the host command after the session runs no plant.
not_ran() {
	local desc=$1; shift
	rm -f "$marker"
	(cd "$ws" && "$@") >/dev/null 2>&1
	check "$desc" test ! -e "$marker"
	rm -f "$marker"
}
said() { printf '%s' "$OUT" | grep -qE -- "$1"; }

# 1. .git/commondir -> a folder of the workspace: git reads config (and
# hooks) there, so the user's next `git status` runs its core.fsmonitor.
commondir_plant="cp -r .git/. evil && printf '[core]\n\tfsmonitor = $evil\n' >> evil/config && echo ../evil > .git/commondir"
ws=$(new_ws); mkrepo "$ws"
(cd "$ws" && sh -c "$commondir_plant")
ran "control: a .git/commondir redirect runs the folder's fsmonitor at git status" git status
ws=$(new_ws); mkrepo "$ws"
run_capture run_in "$ws" -- sh -c "$commondir_plant && echo planted"
check "commondir: the plant itself ran inside" said planted
check "commondir: the end of the session names it" said 'quarantined .git/commondir'
not_ran "commondir: the host's git status after the session runs nothing" git status
check "commondir: the host's git still works on the repository" \
	sh -c "cd '$ws' && git log --oneline | grep -q init"

# 2. A nested repository (`sub/.git`) the user later enters: existing at
# start, its hooks and config are read-only; made in the session, what it
# plants is removed.
ws=$(new_ws); mkrepo "$ws"; mkdir "$ws/sub"; mkrepo "$ws/sub"
hook_plant='printf "#!/bin/sh\ntouch %s\n" > sub/.git/hooks/pre-commit && chmod +x sub/.git/hooks/pre-commit'
expect_fail "nested sub/.git/hooks is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "$(printf "$hook_plant" "$marker")"
expect_fail "nested sub/.git/config is read-only inside" "could not (lock|write) config file|Read-only|busy" \
	run_in "$ws" -- git -C sub config core.fsmonitor "$evil"
not_ran "nested: the host's git status in sub runs nothing" git -C sub status
not_ran "nested: the host's commit in sub runs no hook" \
	sh -c 'cd sub && echo b > b && git add b && git commit -qm b'
ctl=$(new_ws); mkrepo "$ctl"; mkdir "$ctl/sub"; mkrepo "$ctl/sub"
(cd "$ctl" && sh -c "$(printf "$hook_plant" "$marker")" && git -C sub config core.fsmonitor "$evil")
ws=$ctl
ran "control: a nested repository's planted fsmonitor runs at git status there" git -C sub status
ws=$(new_ws); mkrepo "$ws"
run_capture run_in "$ws" -- sh -c "git init -q newsub && mkdir -p newsub/.git/hooks && $(printf "${hook_plant//sub/newsub}" "$marker") && git -C newsub config core.fsmonitor '$evil' && echo planted"
check "new nested repository: the plant ran inside" said planted
check "new nested repository: its hook is quarantined" said 'quarantined newsub/.git/hooks/pre-commit'
check "new nested repository: its fsmonitor is removed" said 'removed .core.fsmonitor. from newsub/.git/config'
not_ran "new nested repository: the host's git status there runs nothing" git -C newsub status
not_ran "new nested repository: the host's commit there runs no hook" \
	sh -c 'cd newsub && echo b > b && git add b && git commit -qm b'

# 3. A submodule's .git/modules/x/config: an fsmonitor there fires at the
# top-level `git status`.
up=$(new_ws); mkrepo "$up"
mksuper() {
	mkrepo "$1"
	(cd "$1" && git -c protocol.file.allow=always submodule add -q "$up" x &&
		git commit -qm sub)
}
sub_plant="printf '[core]\n\tfsmonitor = $evil\n' >> .git/modules/x/config"
ws=$(new_ws); mksuper "$ws"
(cd "$ws" && sh -c "$sub_plant")
ran "control: fsmonitor in .git/modules/x/config fires at the top-level git status" git status
ws=$(new_ws); mksuper "$ws"
expect_fail "submodule: .git/modules/x/config is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "$sub_plant"
expect_fail "submodule: .git/modules/x/hooks is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "echo '#!/bin/sh' > .git/modules/x/hooks/post-checkout"
expect_fail "submodule: the x/.git file is read-only inside" "Read-only file system|Permission denied|busy" \
	run_in "$ws" -- sh -c "echo 'gitdir: ../evil' > x/.git"
run_capture run_in "$ws" -- sh -c "mv .git/modules/x .git/modules/x-old && cp -r .git/modules/x-old .git/modules/x && $sub_plant && echo planted"
check "submodule, renamed around the mounts: the plant ran inside" said planted
check "submodule, renamed around the mounts: the fsmonitor is removed" \
	said 'removed .core.fsmonitor. from .git/modules/x/config'
not_ran "submodule: the host's top-level git status after the session runs nothing" git status

# 4. Worktrees: the x/.git file and .git/worktrees/x/commondir name where
# git reads config and hooks.
mkwt() { mkrepo "$1" && (cd "$1" && git worktree add -q wt 2>/dev/null && mkdir evil && cp -r .git/. evil/ && printf '[core]\n\tfsmonitor = %s\n' "$evil" >> evil/config); }
ws=$(new_ws); mkwt "$ws"
(cd "$ws" && echo "gitdir: $ws/evil" > wt/.git)
ran "control: a worktree's .git file pointed elsewhere runs that fsmonitor" git -C wt status
ws=$(new_ws); mkwt "$ws"
(cd "$ws" && echo "../../../evil" > .git/worktrees/wt/commondir)
ran "control: a worktree's commondir pointed elsewhere runs that fsmonitor" git -C wt status
ws=$(new_ws); mkwt "$ws"
expect_fail "worktree: its .git file is read-only inside" "Read-only file system|Permission denied|busy" \
	run_in "$ws" -- sh -c "echo 'gitdir: $ws/evil' > wt/.git"
expect_fail "worktree: its commondir is read-only inside" "Read-only file system|Permission denied|busy" \
	run_in "$ws" -- sh -c 'echo ../../../evil > .git/worktrees/wt/commondir'
expect_fail "worktree: its gitdir file is read-only inside" "Read-only file system|Permission denied|busy" \
	run_in "$ws" -- sh -c 'echo /tmp/x/.git > .git/worktrees/wt/gitdir'
not_ran "worktree: the host's git status in it after the session runs nothing" git -C wt status
run_capture run_in "$ws" -- sh -c "git worktree add -q wt2 && mkdir -p wt3 && echo 'gitdir: $T' > wt3/.git && echo made"
check "worktree made inside: git worktree add works" said made
check "worktree made inside: kept (its commondir names its repository)" \
	sh -c "cd '$ws' && git worktree list | grep -q wt2 && git -C wt2 status >/dev/null"
check "a .git file pointing outside the workspace is quarantined" said 'quarantined wt3/.git'

# 5. Husky: core.hooksPath is .husky/_, whose scripts run .husky/<hook>.
mkhusky() {
	mkrepo "$1"
	(cd "$1" && mkdir -p .husky/_ &&
		printf '#!/bin/sh\nn=$(basename "$0"); s=$(dirname "$(dirname "$0")")/$n; [ -f "$s" ] && sh -e "$s"; exit 0\n' > .husky/_/h &&
		printf '#!/bin/sh\n. "$(dirname "$0")/h"\n' > .husky/_/pre-commit &&
		printf '*\n' > .husky/_/.gitignore &&
		chmod +x .husky/_/h .husky/_/pre-commit && git config core.hooksPath .husky/_)
}
ws=$(new_ws); mkhusky "$ws"
printf 'touch "%s"\n' "$marker" > "$ws/.husky/pre-commit"
ran "control: a script in .husky/ runs at the next commit" \
	sh -c 'echo b > b && git add b && git commit -qm b'
ws=$(new_ws); mkhusky "$ws"
expect_fail "husky: .husky/ is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "printf 'touch $marker\n' > .husky/pre-commit"
expect_fail "husky: .husky/_ is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "printf 'touch $marker\n' > .husky/_/h"
not_ran "husky: the host's commit after the session runs nothing planted" \
	sh -c 'echo b > b && git add b && git commit -qm b'
check "husky: the user's own files in .husky/_ stay (dot files too)" \
	test -e "$ws/.husky/_/.gitignore" -a -e "$ws/.husky/_/h"

# 6. A repository made in the session whose config starts with a UTF-8 BOM
# (git skips it; core.hooksPath right after it must not survive).
bom_plant="git init -q . && mkdir evilhooks && printf '#!/bin/sh\ntouch $marker\n' > evilhooks/pre-commit && chmod +x evilhooks/pre-commit && { printf '\357\273\277[core]\n\thooksPath = evilhooks\n'; cat .git/config; } > c && mv c .git/config"
ws=$(new_ws)
(cd "$ws" && sh -c "$bom_plant")
ran "control: a BOM-prefixed config's core.hooksPath runs at the next commit" \
	sh -c 'echo b > b && git add b && git commit -qm b'
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c "$bom_plant && echo planted"
check "BOM: the plant ran inside" said planted
check "BOM: core.hooksPath is removed" said 'removed .core.hookspath. from .git/config'
not_ran "BOM: the host's commit after the session runs nothing" \
	sh -c 'echo b > b && git add b && git commit -qm b'

# 7. gpg.ssh.defaultKeyCommand runs at the next signed commit.
gpg_plant="git init -q . && git config gpg.format ssh && git config commit.gpgsign true && git config gpg.ssh.defaultKeyCommand '$evil'"
ws=$(new_ws)
(cd "$ws" && sh -c "$gpg_plant")
ran "control: gpg.ssh.defaultKeyCommand runs at the next commit" \
	sh -c 'echo b > b && git add b && git commit -qm b'
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c "$gpg_plant && echo planted"
check "gpg: the plant ran inside" said planted
check "gpg: defaultKeyCommand is removed" said 'removed .gpg\.ssh\.defaultkeycommand. from .git/config'
not_ran "gpg: the host's commit after the session runs nothing" \
	sh -c 'echo b > b && git add b && git commit -qm b'

# 8. include.path: a workspace file the repository's config includes is
# itself a config (bound read-only when it exists, checked when it appears).
mkinc() { mkrepo "$1" && (cd "$1" && git config include.path ../team.gitconfig && git config --add include.path ../local.gitconfig && printf '[user]\n\tname = team\n' > team.gitconfig); }
inc_plant="printf '[core]\n\tfsmonitor = $evil\n'"
ws=$(new_ws); mkinc "$ws"
(cd "$ws" && sh -c "$inc_plant >> team.gitconfig")
ran "control: fsmonitor in an included workspace file runs at git status" git status
ws=$(new_ws); mkinc "$ws"
expect_fail "include: an included file that exists is read-only inside" "Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c "$inc_plant >> team.gitconfig"
run_capture run_in "$ws" -- sh -c "$inc_plant > local.gitconfig && echo planted"
check "include: creating the missing included file ran inside" said planted
check "include: its fsmonitor is removed" said 'removed .core.fsmonitor. from local.gitconfig'
not_ran "include: the host's git status after the session runs nothing" git status
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c "git init -q . && git config include.path ../inc.cfg && $inc_plant > inc.cfg && echo planted"
check "include added in the session: removed" said 'removed .include\.path. from .git/config'
not_ran "include added in the session: the host's git status runs nothing" git status

# 9. Control: ordinary git work inside still works, and what the user had
# (and what the session may add) stays.
ws=$(new_ws); mkrepo "$ws"
(cd "$ws" && git config alias.co checkout && git config core.pager less &&
	git config remote.origin.url https://example.test/r.git)
run_capture run_in "$ws" -- sh -c 'echo b > b && git add b && git commit -qm inside && git init -q made && cd made && git remote add origin https://example.test/m.git && echo c > c && git add c && git commit -qm made && echo done'
check "git commit inside works (existing repository and a new one)" said done
check "the commit made inside is there" sh -c "cd '$ws' && git log --oneline | grep -q inside"
check "the user's alias survives" test "$(cd "$ws" && git config alias.co)" = checkout
check "the user's core.pager survives" test "$(cd "$ws" && git config core.pager)" = less
check "the user's remote survives" test "$(cd "$ws" && git config remote.origin.url)" = https://example.test/r.git
check "a new repository keeps its allowlisted keys (remote added inside)" \
	test "$(cd "$ws/made" && git config remote.origin.url)" = https://example.test/m.git
check "nothing was reported for ordinary work" sh -c "! printf '%s' \"\$1\" | grep -q 'quarantined\|removed'" _ "$OUT"
# 10. A git directory needs no `.git` name: a folder holding HEAD, objects/
# and refs/ is one, and git takes it when the user runs git there (no
# `.git` on the way up comes first). Its config's fsmonitor runs at
# `git status` in that folder (core.worktree gives it a work tree).
bare_plant="mkdir -p src/objects src/refs && echo 'ref: refs/heads/master' > src/HEAD && printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = ..\n\tfsmonitor = $evil\n' > src/config"
ws=$(new_ws); mkdir "$ws/src"
(cd "$ws" && sh -c "$bare_plant")
ran "control: a folder made a git directory runs its fsmonitor at git status there" git -C src status
ws=$(new_ws); mkrepo "$ws"; mkdir "$ws/src"
run_capture run_in "$ws" -- sh -c "$bare_plant && echo planted"
check "no .git name: the plant ran inside" said planted
check "no .git name: its fsmonitor is removed" said 'removed .core.fsmonitor. from src/config'
not_ran "no .git name: the host's git status in that folder runs nothing" git -C src status
ws=$(new_ws); mkdir "$ws/src"
(cd "$ws/src" && git init -q --bare .)
expect_fail "no .git name, existing at start: its config is read-only inside" \
	"Read-only file system|Permission denied|could not (lock|write) config file" \
	run_in "$ws" -- git -C src config core.fsmonitor "$evil"
expect_fail "no .git name, existing at start: its hooks are read-only inside" \
	"Read-only file system|Permission denied" \
	run_in "$ws" -- sh -c 'echo "#!/bin/sh" > src/hooks/reference-transaction'
# 11. Hook frameworks: the hook `pre-commit install` or `lefthook install`
# writes runs, at every commit, the commands of the repository's
# .pre-commit-config.yaml or lefthook.yml. The hooks here stand in for
# theirs (the same marker line, the same config file, the command run by
# the host's own git commit).
mkframework() {
	mkrepo "$1"
	case $2 in
	pre-commit)
		printf '#!/bin/sh\n# File generated by pre-commit: https://pre-commit.com\nARGS="hook-impl --config=.pre-commit-config.yaml --hook-type=pre-commit"\nc=$(sed -n "s/^ *entry: *//p" .pre-commit-config.yaml)\n[ -n "$c" ] && sh -c "$c"\nexit 0\n' > "$1/.git/hooks/pre-commit"
		printf 'repos: []\n' > "$1/.pre-commit-config.yaml" ;;
	lefthook)
		printf '#!/bin/sh\n# lefthook runner\ncall_lefthook() { c=$(sed -n "s/^ *run: *//p" lefthook.yml); [ -n "$c" ] && sh -c "$c"; }\ncall_lefthook run "pre-commit" "$@"\nexit 0\n' > "$1/.git/hooks/pre-commit" ;;
	esac
	chmod +x "$1/.git/hooks/pre-commit"
}
pc_plant="printf 'repos:\n- repo: local\n  hooks:\n  - id: x\n    entry: $evil\n' > .pre-commit-config.yaml"
lh_plant="printf 'pre-commit:\n  commands:\n    x:\n      run: $evil\n' > lefthook.yml"
for fw in pre-commit lefthook; do
	if [ $fw = pre-commit ]; then plant=$pc_plant; f=.pre-commit-config.yaml; else plant=$lh_plant; f=lefthook.yml; fi
	ws=$(new_ws); mkframework "$ws" $fw
	(cd "$ws" && sh -c "$plant")
	ran "control: $f planted runs at the next commit through the $fw hook" \
		sh -c 'echo b > b && git add b && git commit -qm b'
	ws=$(new_ws); mkframework "$ws" $fw
	run_capture run_in "$ws" -- sh -c "$plant && echo planted"
	if [ $fw = pre-commit ]; then
		check "$fw in use: an existing $f is read-only inside" \
			sh -c "! printf '%s' \"\$1\" | grep -q planted && printf '%s' \"\$1\" | grep -Eq 'Read-only file system|Permission denied'" _ "$OUT"
	else
		check "$fw in use: $f made in the session is quarantined" said "quarantined $f"
	fi
	not_ran "$fw in use: the host's commit after the session runs nothing planted" \
		sh -c 'echo b > b && git add b && git commit -qm b'
done
ws=$(new_ws); mkrepo "$ws"
expect_output "control: without a framework's hook, $f stays ordinary source (writable)" "^ok$" \
	run_in "$ws" -- sh -c "$lh_plant && $pc_plant && echo ok"
done_testing
