#!/bin/bash
# A SIGKILLed cordon leaves its snapshot in its session record; the next
# `cordon run` in that workspace finishes the clean-up from it, including
# the walk for git directories made in the session, and keeps what the
# user had in the repositories that were there. The proof is the host's
# own git afterwards.
. "$(dirname "$0")/../lib.sh"

if ! command -v git >/dev/null; then
	skip "killed sessions" "git is not installed"
	done_testing
	exit
fi
iso=$(mktemp -d "$T/iso.XXXXXX")
mkdir "$iso/home" "$iso/state" "$iso/run"
chmod 755 "$iso" "$iso/home"
chmod 700 "$iso/run"
export HOME="$iso/home" XDG_STATE_HOME="$iso/state" XDG_RUNTIME_DIR="$iso/run" GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.test GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@example.test
marker="$T/PLANT-RAN.$$"
evil="$T/evil-k.sh"
printf '#!/bin/sh\ntouch "%s"\n' "$marker" > "$evil"
chmod 755 "$evil"
mkrepo() { (cd "$1" && git init -q . && echo a > a && git add a && git commit -qm init); }
plant="git init -q made && git -C made config core.fsmonitor '$evil' && git -C made config alias.st '!$evil'"

ctl=$(new_ws); mkrepo "$ctl"
(cd "$ctl" && sh -c "$plant")
rm -f "$marker"
(cd "$ctl/made" && git status >/dev/null 2>&1)
check "control: a repository made with an fsmonitor runs it at the host's git status" test -e "$marker"
rm -f "$marker"

ws=$(new_ws); mkrepo "$ws"; mkdir "$ws/sub"; mkrepo "$ws/sub"
(cd "$ws/sub" && git config alias.co checkout)
"$CORDON" run -w "$ws" -- sh -c "$plant && touch planted && sleep 1000" >"$T/killed.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/planted"
kill -KILL $pid
wait $pid 2>/dev/null
check "SIGKILLed cordon: the fsmonitor it let through is on the host" \
	test "$(cd "$ws/made" && git config core.fsmonitor)" = "$evil"
run_capture sh -c "cd '$ws' && '$CORDON' run -- true"
check "the next cordon run finishes the clean-up: the new repository's fsmonitor is removed" \
	sh -c "printf '%s' \"\$1\" | grep -q 'removed .core.fsmonitor. from made/.git/config'" _ "$OUT"
check "... and its alias" \
	sh -c "printf '%s' \"\$1\" | grep -q 'removed .alias.st. from made/.git/config'" _ "$OUT"
rm -f "$marker"
(cd "$ws/made" && git status >/dev/null 2>&1; git st >/dev/null 2>&1)
check "SIGKILLed cordon: the host's git status in the new repository runs nothing" test ! -e "$marker"
check "the nested repository that was there keeps the user's alias" \
	test "$(cd "$ws/sub" && git config alias.co)" = checkout

# A tool config made in a folder below the workspace (a protected glob
# pattern, walked again at the end): the snapshot carries the pattern.
ws=$(new_ws); mkdir "$ws/pkg"
"$CORDON" run -w "$ws" -- sh -c "echo 'script-shell=$evil' > pkg/.npmrc && touch planted && sleep 1000" >"$T/killed2.out" 2>&1 &
pid=$!
track_pid $pid
wait_long test -e "$ws/planted"
kill -KILL $pid
wait $pid 2>/dev/null
check "SIGKILLed cordon: the pkg/.npmrc it let through is on the host" test -e "$ws/pkg/.npmrc"
run_capture sh -c "cd '$ws' && '$CORDON' run -- true"
check "the next cordon run quarantines pkg/.npmrc" \
	sh -c "printf '%s' \"\$1\" | grep -q 'quarantined pkg/.npmrc'" _ "$OUT"
check "... and it is gone from the workspace" test ! -e "$ws/pkg/.npmrc"
done_testing
