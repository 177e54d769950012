#!/bin/bash
# Review mode: `cordon run --name NAME --review` sees the workspace through
# overlayfs, the command's changes wait in the sandbox; `cordon diff` shows
# them, `cordon discard` drops them, `cordon apply` copies them exactly into
# the host's workspace, refusing protected paths, symlinks out of the
# workspace and paths changed on the host since the session.
. "$(dirname "$0")/../lib.sh"

. "$(dirname "$0")/state.bash"
if ! base=$(state_base cordon-review); then
	skip "review mode" "no directory off overlayfs for the state (tried /tmp, /dev/shm)"
	done_testing
	exit
fi
suite_cleanup() { [ -n "${base:-}" ] && rm -rf "$base"; }
export XDG_DATA_HOME="$base/data"
ws=$(new_ws)
run() { "$CORDON" run -q -w "$ws" "$@"; }
echo original >"$ws/a.txt"
mkdir "$ws/sub" "$ws/.git"
echo keep >"$ws/sub/b.txt"
chmod 644 "$ws/a.txt" "$ws/sub/b.txt"
snapshot() { (cd "$1" && find . -printf '%p %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
orig=$(snapshot "$ws")

expect_status "--review without --name is refused (125)" 125 run --review -- true
check "... with a hint naming --name" sh -c 'printf "%s" "$1" | grep -q "Hint: add --name NAME"' _ "$OUT"

# --- rm -rf inside costs nothing ---
expect_output "control: without review, the workspace is the host's" "^original$" run -- cat a.txt
expect_output "rm -rf of the workspace's contents inside a review sandbox" "^empty$" \
	run --name rv --review -- sh -c 'rm -rf ./* ./.git; [ -z "$(ls -A)" ] && echo empty'
check "... leaves the host's workspace intact" test "$(snapshot "$ws")" = "$orig"
check "... the changes lie in the sandbox's ws-upper" test -e "$XDG_DATA_HOME/cordon/sandboxes/rv/ws-upper"
expect_output "cordon diff lists the deletions" "^deleted +a\.txt$" "$CORDON" diff rv --stat
check "... each of them" sh -c 'printf "%s\n" "$1" | grep -q "^deleted  *sub/$" && printf "%s\n" "$1" | grep -q "^deleted  *\.git/$"' _ "$OUT"
run_capture run --name rv -- ls -A
check "re-entry without --review keeps them pending (review is remembered)" test "$RC" -eq 0 -a -z "$OUT"
[ "$RC" -eq 0 ] && [ -z "$OUT" ] || diag "exit $RC: $OUT"
"$CORDON" run -q -w "$ws" --name rv -- sh -c 'touch .running; exec sleep 300' >/dev/null 2>&1 &
long=$!
track_pid $long
wait_for test -e "$XDG_DATA_HOME/cordon/sandboxes/rv/ws-upper/.running" || diag "the run never started"
expect_fail "cordon discard is refused while it runs" "sandbox 'rv' is running" "$CORDON" discard rv
kill $long
wait $long 2>/dev/null
expect_status "cordon discard drops them" 0 "$CORDON" discard rv
run_capture "$CORDON" diff rv
check "... cordon diff is empty" test "$RC" -eq 0 -a -z "$OUT"
expect_output "... and the next run sees the original" "^original$" run --name rv -- cat a.txt
expect_fail "cordon diff of a sandbox that is not a review one" "is not a review sandbox" \
	sh -c '"$1" run -q -w "$2" --name plain -- true && "$1" diff plain' _ "$CORDON" "$ws"

# --- edits, a new file, chmod, a new directory, symlinks: apply reproduces them ---
edit='echo changed >a.txt && echo new >n.txt && chmod 700 sub/b.txt && mkdir -p d/e && chmod 750 d && echo deep >d/e/f && ln -s ../a.txt d/ln && ln -s /etc/passwd out && rm sub/b.txt && echo b2 >sub/b.txt && chmod 700 sub/b.txt && mkdir -p .git/hooks && printf "#!/bin/sh\necho evil\n" >.git/hooks/pre-commit && echo EDITED'
exp=$(mktemp -d "$base/exp.XXXXXX")
cp -a "$ws/." "$exp/"
expect_output "edits inside a review sandbox" "^EDITED$" run --name rv --review -- sh -c "$edit"
check "... the host's workspace is untouched" test "$(snapshot "$ws")" = "$orig"
expect_output "cordon diff shows a unified diff of a.txt" "^\+changed$" "$CORDON" diff rv
check "... with its removed line" sh -c 'printf "%s\n" "$1" | grep -q "^-original$"' _ "$OUT"
expect_fail "cordon apply refuses the protected hook and the symlink out" \
	"not applied: .git/hooks: protected path" "$CORDON" apply rv
check "... exit 1" test "$RC" -eq 1
check "... naming the outside symlink too" sh -c 'printf "%s" "$1" | grep -q "not applied: out: symlink to /etc/passwd, outside the workspace"' _ "$OUT"
check "... the hook is not on the host" test ! -e "$ws/.git/hooks/pre-commit" -a ! -e "$ws/.git/hooks"
check "... nor the symlink" test ! -L "$ws/out"
(cd "$exp" && echo changed >a.txt && echo new >n.txt && mkdir -p d/e && chmod 750 d && echo deep >d/e/f &&
	ln -s ../a.txt d/ln && echo b2 >sub/b.txt && chmod 700 sub/b.txt && chmod 644 a.txt n.txt d/e/f)
got=$(snapshot "$ws")
want=$(snapshot "$exp")
check "... and the rest is applied exactly (content, modes, dirs, symlink)" test "$got" = "$want"
[ "$got" = "$want" ] || diag "$(diff <(echo "$want") <(echo "$got"))"
expect_output "... applied changes left the sandbox: what is left is the refused" \
	"^added +\.git/hooks/$" "$CORDON" diff rv --stat
check "... only those" sh -c '[ "$(printf "%s\n" "$1" | grep -vc "\.git/hooks\|^added  *out ->")" = 0 ]' _ "$OUT"
"$CORDON" discard rv

# --- deletions, a chmod, a binary file, and what would drive a terminal ---
printf 'bin\0ary' >"$ws/blob"
echo gone >"$ws/gone.txt"
mkdir "$ws/olddir"
echo x >"$ws/olddir/x"
echo m >"$ws/m.sh"
chmod 644 "$ws/blob" "$ws/gone.txt" "$ws/olddir/x" "$ws/m.sh"
expect_output "deletions, a chmod, a binary edit and terminal escapes inside" "^DONE$" \
	run --name rv --review -- sh -c 'rm gone.txt && rm -r olddir && chmod 755 m.sh && printf "bin\0ary2" >blob && printf "x\033]0;EVIL\007y\n" >"$(printf "e\033[31mred")" && echo DONE'
expect_output "cordon diff --stat lists the mode change" "^mode +m\.sh 0644 -> 0755$" "$CORDON" diff rv --stat
check "... and the deleted file and directory" sh -c 'printf "%s\n" "$1" | grep -q "^deleted  *gone\.txt$" && printf "%s\n" "$1" | grep -q "^deleted  *olddir/$"' _ "$OUT"
expect_output "cordon diff summarises the binary file" "^Binary file blob differs, 8 bytes$" "$CORDON" diff rv
check "... shows the deleted file's lines removed" sh -c 'printf "%s\n" "$1" | grep -q "^-gone$"' _ "$OUT"
check "control: the new file's name and content hold ESC" sh -c 'ls "$1" | grep -q "$(printf "\033")" && grep -rq "$(printf "\033")" "$1"' _ "$XDG_DATA_HOME/cordon/sandboxes/rv/ws-upper"
check "... cordon diff shows them as ^[ and ^G, never raw" sh -c 'printf "%s\n" "$1" | grep -qF "added     e^[[31mred" && printf "%s\n" "$1" | grep -qF "+x^[]0;EVIL^Gy" && ! printf "%s" "$1" | grep -q "$(printf "\033")"' _ "$OUT"
expect_status "cordon apply applies them" 0 "$CORDON" apply rv
check "... the deletions" test ! -e "$ws/gone.txt" -a ! -e "$ws/olddir"
check "... the mode" test "$(stat -c %a "$ws/m.sh")" = 755
check "... the binary content" sh -c 'printf "bin\0ary2" | cmp -s - "$1"' _ "$ws/blob"
run_capture "$CORDON" diff rv
check "... nothing is left pending" test "$RC" -eq 0 -a -z "$OUT"

# --- a conflict: the host changed the file after the session ---
expect_output "an edit in the review sandbox" "^ok$" run --name rv -- sh -c 'echo mine >>a.txt && echo mine >n.txt && echo ok'
echo "host edit" >"$ws/a.txt"
expect_fail "cordon apply reports the conflict" "not applied: a.txt: changed on the host since the session" \
	"$CORDON" apply rv
check "... the host's file is not overwritten" test "$(cat "$ws/a.txt")" = "host edit"
check "control: the unconflicted file was applied" test "$(cat "$ws/n.txt")" = mine

# --- a workspace in a group the sandbox's user namespace does not map ---
# The user's own workspace in the host's root group (a directory root
# made and handed over): inside it shows as the overflow group, which the
# review layer's root cannot take; it keeps the user's group instead.
# (Editing a file of that group is EOVERFLOW: overlayfs cannot copy up an
# owner the user namespace does not map.)
if [ "$CORDON_TEST_AS" = root ] && id cordon-test >/dev/null 2>&1; then
	uid=$(id -u cordon-test)
	gid=$(id -g cordon-test)
	chmod 711 "$base"
	u=$(mktemp -d "$base/user.XXXXXX")
	chown "$uid:$gid" "$u"
	uws=$(mktemp -d "$SHOWN/uws.XXXXXX")
	gws=$(mktemp -d "$SHOWN/gws.XXXXXX")
	echo host >"$uws/f"
	echo host >"$gws/f"
	chown -R "$uid:$gid" "$uws"
	chown -R "$uid:0" "$gws"
	chmod 755 "$uws" "$gws"
	ucordon=$(mktemp "$SHOWN/cordon.XXXXXX")
	cp "$CORDON" "$ucordon"
	chmod 755 "$ucordon"
	as_user() { setpriv --reuid="$uid" --regid="$gid" --init-groups env HOME="$u" XDG_DATA_HOME="$u/data" "$@"; }
	expect_output "control: the user runs a review sandbox of its own workspace" "^host$" \
		as_user "$ucordon" run -q -w "$uws" --name rg0 --review -- cat f
	expect_output "a review sandbox of a workspace in the host's root group starts (a new file in it)" \
		"^made$" as_user "$ucordon" run -q -w "$gws" --name rg --review -- sh -c 'echo made >g && cat g'
	check "... pending in the sandbox, not on the host" test ! -e "$gws/g"
	# A host mount inside the workspace reaches the user's namespace locked:
	# overlayfs may not look under it. Mounted in a mount namespace of its own.
	mkdir "$uws/mnt"
	chown "$uid:$gid" "$uws/mnt"
	expect_fail "review of a workspace with a mount inside fails, saying why" \
		"Hint: review mode sees the workspace through overlayfs, which refuses one with a mount inside" \
		unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=0777 cordon-ws "$1/mnt" && shift && exec "$@"' \
		_ "$uws" setpriv --reuid="$uid" --regid="$gid" --init-groups env HOME="$u" XDG_DATA_HOME="$u/data" \
		"$ucordon" run -q -w "$uws" --name rg1 --review -- true
else
	skip "workspace in an unmapped group" "needs root and the test user cordon-test"
fi
done_testing
