#!/bin/bash
# Files that run later outside the sandbox are not writable inside: bound
# read-only when they exist; when they do not exist yet (.git/hooks before
# `git init`), whatever appears is quarantined when the session ends.
. "$(dirname "$0")/../lib.sh"

if ! command -v git >/dev/null; then
	skip "protected paths" "git is not installed"
	done_testing
	exit
fi
home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
export HOME="$home" GIT_CONFIG_NOSYSTEM=1
G="git -c user.name=t -c user.email=t@example.test -c commit.gpgsign=false"
run_in() { local ws=$1; shift; (cd "$ws" && "$CORDON" run "$@"); }
plant='printf "#!/bin/sh\necho PWNED-BY-HOOK\n" > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit'

# Control: a planted hook does run on the next commit outside (so the
# checks below would see one).
ctl=$(new_ws)
(cd "$ctl" && git init -q . && sh -c "$plant" && echo a > a && git add a)
expect_output "control: a planted pre-commit hook runs at the next commit" "PWNED-BY-HOOK" \
	sh -c "cd '$ctl' && $G commit -qm c"

# 1. .git exists at start: hooks and config are read-only inside (EROFS).
ws=$(new_ws)
(cd "$ws" && git init -q . && echo a > a && git add a && $G commit -qm init)
expect_fail "existing .git/hooks: planting a hook fails with EROFS" "Read-only file system" \
	run_in "$ws" -- sh -c "$plant"
check "existing .git/hooks: no hook on the host" test ! -e "$ws/.git/hooks/pre-commit"
expect_fail "existing .git/config: git config cannot change it" \
	"could not (lock|write) config file|Read-only|busy" \
	run_in "$ws" -- git config core.hooksPath /tmp/evil
check "existing .git/config: no hooksPath on the host" test -z "$(cd "$ws" && git config core.hooksPath)"
expect_status "control: the rest of .git stays writable inside" 0 \
	run_in "$ws" -- sh -c 'echo x > .git/description'
expect_output "control: git commit works inside" "1 file changed" \
	run_in "$ws" -- sh -c "echo b > b && git add b && $G commit -m second"

# The protection is lifted only explicitly, by --rw (or allowWrite) of that path.
expect_status "explicit --rw .git/hooks lifts the built-in protection" 0 \
	run_in "$ws" --rw "$ws/.git/hooks" -- sh -c 'echo "#!/bin/sh" > .git/hooks/post-commit'
check "... and the hook the user allowed is kept" test -e "$ws/.git/hooks/post-commit"
rm -f "$ws/.git/hooks/post-commit"

# 2. No .git at start: `git init` + hook inside, quarantined at the end.
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c "git init -q . && $plant && git config core.hooksPath .evil && git config alias.st '!echo PWNED-BY-ALIAS' && echo inside-done"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q inside-done; then
	ok "new repo: the command itself ran and could write .git (no EROFS)"
else
	not_ok "new repo: the command itself ran"; diag "exit $RC: $OUT"
fi
check "new repo: report names the quarantined hook" \
	sh -c "printf '%s' \"\$1\" | grep -q 'quarantined .git/hooks/pre-commit'" _ "$OUT"
check "new repo: report names the stripped hooksPath" \
	sh -c "printf '%s' \"\$1\" | grep -q 'removed .core.hookspath. from .git/config'" _ "$OUT"
left=$(find "$ws/.git/hooks" -type f ! -name '*.sample' 2>/dev/null)
check "new repo: no hook left behind (only git's *.sample)" test -z "$left"
check "new repo: core.hooksPath stripped" test -z "$(cd "$ws" && git config core.hooksPath)"
check "new repo: alias stripped" test -z "$(cd "$ws" && git config alias.st)"
run_capture sh -c "cd '$ws' && echo a > a && git add a && $G commit -qm outside && git log --oneline | wc -l && { git st 2>&1; true; }"
if [ "$RC" -ne 0 ] || printf '%s' "$OUT" | grep -q PWNED; then
	not_ok "new repo: git commit outside runs no planted hook"; diag "exit $RC: $OUT"
else
	ok "new repo: git commit outside runs no planted hook"
fi
q=$(find "$home/.local/state/cordon/quarantine" -path '*/.git/hooks/pre-commit' 2>/dev/null | head -1)
check "new repo: the hook is kept for review outside the workspace" test -n "$q"

# 3. Other protected paths created inside (.vscode, .mcp.json, .envrc).
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c 'mkdir .vscode && echo "{}" > .vscode/tasks.json && echo "{}" > .mcp.json && echo "export X=1" > .envrc && echo ok > normal.txt'
check "created .vscode quarantined" test ! -e "$ws/.vscode"
check "created .mcp.json quarantined" test ! -e "$ws/.mcp.json"
check "created .envrc quarantined" test ! -e "$ws/.envrc"
check "control: an ordinary new file stays" grep -qx ok "$ws/normal.txt"

# 4. Existing protected files are read-only inside.
ws=$(new_ws)
mkdir "$ws/.vscode" && echo '{}' > "$ws/.vscode/settings.json" && echo '{}' > "$ws/.mcp.json"
expect_fail "existing .vscode is read-only" "Read-only file system" \
	run_in "$ws" -- sh -c 'echo "{\"evil\":1}" > .vscode/settings.json'
expect_fail "existing .mcp.json is read-only" "Read-only file system" \
	run_in "$ws" -- sh -c 'echo x > .mcp.json'
check "existing .vscode unchanged" grep -qx '{}' "$ws/.vscode/settings.json"

# 5. core.hooksPath pointing elsewhere in the workspace (husky style).
ws=$(new_ws)
(cd "$ws" && git init -q . && mkdir .husky && echo '#!/bin/sh' > .husky/pre-commit && git config core.hooksPath .husky)
expect_fail "core.hooksPath directory is read-only too" "Read-only file system" \
	run_in "$ws" -- sh -c 'echo "echo PWNED" > .husky/pre-commit'
check "hooksPath hook unchanged on the host" test "$(cat "$ws/.husky/pre-commit")" = '#!/bin/sh'

# 6. Renaming .git around the read-only mounts is caught at the end.
ws=$(new_ws)
(cd "$ws" && git init -q . && echo a > a && git add a && $G commit -qm init)
run_capture run_in "$ws" -- sh -c "mv .git .git-old && cp -r .git-old .git && $plant"
left=$(find "$ws/.git/hooks" -type f ! -name '*.sample' 2>/dev/null)
check "renamed .git: the hook planted in the copy is quarantined" test -z "$left"

# 7b. `.git` swapped for a symlink to another repository: the clean-up
# must not touch that repository (it acts only where paths resolved at start).
ws=$(new_ws)
other=$(new_ws)
(cd "$ws" && git init -q .)
(cd "$other" && git init -q . && git config core.pager less && printf '#!/bin/sh\nexit 0\n' > .git/hooks/pre-commit)
run_capture run_in "$ws" -- sh -c "mv .git .git-old && ln -s '$other/.git' .git"
check "swapped .git: the symlink is moved aside" test ! -L "$ws/.git"
check "swapped .git: the other repository's config is untouched" test "$(cd "$other" && git config core.pager)" = less
check "swapped .git: the other repository's hook is untouched" test -e "$other/.git/hooks/pre-commit"

# 7. A `.git` pointer file (gitdir:) written inside is moved aside.
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c 'git init -q --bare evil && printf "#!/bin/sh\necho PWNED\n" > evil/hooks/pre-commit && chmod +x evil/hooks/pre-commit && echo "gitdir: evil" > .git'
check "a .git pointer file written inside is quarantined" test ! -e "$ws/.git"
# 5. A background writer that outlives the command: it must be dead before
# the quarantine pass, or it could plant a hook right after it.
ws=$(new_ws)
run_capture run_in "$ws" -- sh -c 'git init -q . && (while :; do printf "#!/bin/sh\necho PWNED-LATE\n" > .git/hooks/pre-commit.tmp && chmod +x .git/hooks/pre-commit.tmp && mv .git/hooks/pre-commit.tmp .git/hooks/pre-commit; done) >/dev/null 2>&1 & sleep 0.3; echo leaving'
check "outliving writer: the command ended normally" test "$RC" -eq 0
check "outliving writer: its hook was quarantined" \
	sh -c "printf '%s' \"\$1\" | grep -q 'quarantined .git/hooks/pre-commit'" _ "$OUT"
sleep 0.5
left=$(find "$ws/.git/hooks" -type f ! -name '*.sample' 2>/dev/null)
check "outliving writer: nothing in .git/hooks afterwards" \
	test -z "$left"
diag "left: $left"

done_testing
