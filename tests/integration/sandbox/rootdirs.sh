#!/bin/bash
# Workspaces the way users have them, when root runs cordon: in a 0700
# `mktemp -d`, under a 0750 home of another user, on an overlayfs (the root
# of most containers, without idmapped mounts); root's toolchains; the
# name of the inner uid; and, for every invoker, no set-uid file planted
# on the host.
. "$(dirname "$0")/../lib.sh"

A="$PY $CORDON_SRC/tests/integration/audit/alog.py"
ov=""
rootonly_etc=/etc/cordon-rootdirs-$$
rootonly_lib=/var/lib/cordon-rootdirs-$$
home_marker=""
suite_cleanup() {
	[ -n "$ov" ] && umount "$ov/merged" 2>/dev/null
	rm -f "$rootonly_etc"
	rm -rf "$rootonly_lib"
	[ -n "$home_marker" ] && rm -f "$home_marker"
	return 0
}

# run_in DIR CMD...: cordon run with DIR as the workspace.
run_in() {
	local dir=$1; shift
	(cd "$dir" && "$CORDON" run "$@")
}

# Set-uid bits cannot be set from inside (both invokers). Checked from
# outside, on the host file, with a control outside the sandbox.
ws=$(new_ws)
cp /bin/true "$ws/ctl" && chmod 4755 "$ws/ctl"
check "control: outside the sandbox, chmod 4755 sets the set-uid bit" \
	test "$(stat -c %a "$ws/ctl")" = 4755
cp /bin/true "$ws/tool"
expect_fail "chmod 4755 inside is refused (EPERM)" "Operation not permitted" \
	run_in "$ws" -- chmod 4755 tool
check "the host file has no set-uid bit" test "$(stat -c %a "$ws/tool")" = 755
expect_fail "chmod g+s inside is refused (EPERM)" "Operation not permitted" \
	run_in "$ws" -- chmod g+s tool
expect_output "a plain chmod still works inside" "^ok$" run_in "$ws" -- sh -c 'chmod 700 tool && echo ok'
expect_output "create with a set-uid mode (open, mkdir, fchmodat2) refused" "^EPERM EPERM EPERM$" \
	run_in "$ws" -- $PY -c '
import ctypes, errno, os
r = []
try:
    os.close(os.open("made", os.O_CREAT | os.O_WRONLY, 0o4755)); r.append("created")
except OSError as e:
    r.append(errno.errorcode[e.errno])
try:
    os.mkdir("d", 0o2755); r.append("made")
except OSError as e:
    r.append(errno.errorcode[e.errno])
libc = ctypes.CDLL(None, use_errno=True)
open("f", "w").close()
if libc.syscall(452, -100, b"f", 0o4755, 0) == 0:
    r.append("chmodded")
else:
    r.append(errno.errorcode[ctypes.get_errno()])
print(" ".join(r))'
check "no set-uid file appeared on the host" \
	test -z "$(find "$ws" -perm /6000 ! -name ctl)"

if [ "$(id -u)" -ne 0 ]; then
	# The unprivileged user: its own 0700 tree works as it always did.
	d=$(mktemp -d "$T/closed.XXXXXX")
	mkdir "$d/ws"
	expect_output "user: workspace in its own 0700 mktemp -d" "^ok$" run_in "$d/ws" -- sh -c 'touch x && echo ok'
	for what in "0700 mktemp -d workspace" "0750 home of another user" "overlayfs workspace" \
		"blocked path refused before start" "root's toolchains" "id -un"; do
		skip "root invoker: $what" "runs as root only: an unprivileged invoker's sandbox runs as itself"
	done
	done_testing
	exit
fi

# --- root: a workspace in a 0700 mktemp -d -----------------------------------
d=$(mktemp -d "$T/closed.XXXXXX")
check "the parent is 0700, as mktemp -d makes it" test "$(stat -c %a "$d")" = 700
mkdir "$d/ws"
echo root-only-content > "$d/secret"
chmod 600 "$d/secret"
check "control: root reads the file next to the workspace" grep -q root-only-content "$d/secret"
expect_output "0700 parent: the command runs" "^ran$" run_in "$d/ws" -- echo ran
run_in "$d/ws" -- sh -c 'echo data > made' >/dev/null 2>&1
check "a write lands on the host" grep -qx data "$d/ws/made"
check "owned by the workspace owner (root)" test "$(stat -c %u "$d/ws/made")" = 0
expect_fail "the root-only file next to it is out of sight" "No such file" \
	run_in "$d/ws" -- cat ../secret
if printf '%s' "$OUT" | grep -q root-only-content; then not_ok "its content never appeared"; else ok "its content never appeared"; fi
expect_output "the parent shows only the way to the workspace" "^ws$" run_in "$d/ws" -- ls ..
# Shown through a read-only bind, the same file is refused by its mode.
open_d=$(mktemp -d "$T/open.XXXXXX")
chmod 755 "$open_d"
echo root-only-content > "$open_d/secret"
chmod 600 "$open_d/secret"
echo shown > "$open_d/public"
chmod 644 "$open_d/public"
expect_output "--ro of an open directory below a closed one shows it" "^shown$" \
	run_in "$d/ws" --ro "$open_d" -- cat "$open_d/public"
if [ "$(root_identity "$d/ws")" = idmap ]; then
	expect_fail "a root-only 0600 file in it: EACCES" "Permission denied" \
		run_in "$d/ws" --ro "$open_d" -- cat "$open_d/secret"
else
	expect_output "a root-only 0600 file in it: masked (root-uid: an empty file)" "^0 " \
		run_in "$d/ws" --ro "$open_d" -- wc -c "$open_d/secret"
fi
if printf '%s' "$OUT" | grep -q root-only-content; then not_ok "its content never appeared (--ro)"; else ok "its content never appeared (--ro)"; fi
# --rw and --ro below closed directories
mkdir "$d/cache" "$d/data"
echo shared > "$d/data/file"
chmod 644 "$d/data/file"
expect_output "--ro below a closed directory is readable" "^shared$" \
	run_in "$d/ws" --ro "$d/data" -- cat "$d/data/file"
expect_fail "... and read-only" "Read-only file system" \
	run_in "$d/ws" --ro "$d/data" -- touch "$d/data/new"
run_in "$d/ws" --rw "$d/cache" -- sh -c "echo c > '$d/cache/out'" >/dev/null 2>&1
check "--rw below a closed directory is writable" grep -qx c "$d/cache/out"
# The audit says which identity ran.
run_in "$d/ws" --audit-log "$T/audit.jsonl" -- true >/dev/null 2>&1
want=$(root_identity "$d/ws")
expect_output "audit: identity $want" "^\"$want\"\$" $A get "$T/audit.jsonl" session_start 0 layers.identity

# --- root: a blocked path is refused before start ------------------------------
mkdir "$d/closeddir"
chmod 700 "$d/closeddir"
expect_status "a --ro path closed to the sandbox uid: exit 125" 125 \
	run_in "$d/ws" --ro "$d/closeddir" -- touch ran-anyway
expect_fail "the refusal names the path and its mode" "cannot show $d/closeddir .*mode 0700" \
	run_in "$d/ws" --ro "$d/closeddir" -- touch ran-anyway
if printf '%s' "$OUT" | grep -q '^Hint: '; then ok "... and gives a Hint"; else not_ok "... and gives a Hint"; fi
check "nothing ran" test ! -e "$d/ws/ran-anyway"

# --- root: under a 0750 home of another user ----------------------------------
if id cordon-test >/dev/null 2>&1; then u=cordon-test; else u=nobody; fi
uid=$(id -u "$u")
gid=$(id -g "$u")
h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
mkdir -p "$h/$u/proj" "$h/$u/.ssh" "$h/$u/rootproj"
echo key > "$h/$u/.ssh/id_test"
chown -R "$uid:$gid" "$h/$u/proj" "$h/$u/.ssh" "$h/$u"
chown root:root "$h/$u/rootproj"
chmod 750 "$h/$u"
chmod 700 "$h/$u/.ssh"
chmod 600 "$h/$u/.ssh/id_test"
expect_output "the user's own workspace under its 0750 home runs, as that user" "^$u$" \
	run_in "$h/$u/proj" -- id -un
run_in "$h/$u/proj" -- touch made >/dev/null 2>&1
check "a write lands owned by the workspace owner" test "$(stat -c %u "$h/$u/proj/made" 2>/dev/null)" = "$uid"
expect_fail "the user's ~/.ssh stays out of sight" "No such file" \
	run_in "$h/$u/proj" -- cat "$h/$u/.ssh/id_test"
expect_output "a root-owned workspace under that home runs too" "^ok$" \
	run_in "$h/$u/rootproj" -- sh -c 'touch x && echo ok'

# --- root: the name of the inner uid ----------------------------------------------
expect_output "id -un names the sandbox user, not a host account" "^cordon$" run_in "$d/ws" -- id -un
expect_output "whoami agrees" "^cordon$" run_in "$d/ws" -- whoami
expect_output "its passwd entry has the home used inside" "^cordon:x:1000:1000:[^:]*:$HOME:" \
	run_in "$d/ws" -- sh -c 'getent passwd "$(id -u)"'
expect_output "root keeps its name" "^root$" run_in "$d/ws" -- sh -c 'getent passwd 0 | cut -d: -f1'

# --- root: toolchains under /root -----------------------------------------------
if [ -x "$HOME/.cargo/bin/cargo" ]; then
	want=$("$HOME/.cargo/bin/cargo" --version 2>&1)
	expect_output "rustup's cargo from root's home runs inside" "^$(printf '%s' "$want" | sed 's/[].[()*+?^$|]/\\&/g')$" \
		env PATH="$HOME/.cargo/bin:$PATH" sh -c "cd '$d/ws' && '$CORDON' run -- cargo --version"
	expect_fail "root's ~/.cargo is read-only inside" "Read-only file system" \
		env PATH="$HOME/.cargo/bin:$PATH" sh -c "cd '$d/ws' && '$CORDON' run -- touch '$HOME/.cargo/planted'"
	check "nothing planted in ~/.cargo" test ! -e "$HOME/.cargo/planted"
	expect_output "--ro ~/.cargo lists it" "bin" run_in "$d/ws" --ro "$HOME/.cargo" -- ls "$HOME/.cargo"
else
	skip "rustup's cargo from root's home" "no rustup installation in $HOME/.cargo"
	skip "root's ~/.cargo is read-only inside" "no rustup installation"
	skip "nothing planted in ~/.cargo" "no rustup installation"
	skip "--ro ~/.cargo lists it" "no rustup installation"
fi
py=$(command -v python3 || true)
if [ -n "$py" ] && [ "${py#"$HOME"/}" != "$py" ]; then
	want=$(python3 -c 'import sys; print(sys.executable)')
	expect_output "python3 from root's home (pyenv) is the same binary inside" "^$want$" \
		run_in "$d/ws" -- python3 -c 'import sys; print(sys.executable)'
else
	skip "python3 from root's home is the same binary inside" "python3 is not installed under $HOME"
fi
home_marker="$HOME/.cordon-rootdirs-$$"
echo root-home-secret > "$home_marker"
chmod 600 "$home_marker"
expect_fail "the rest of root's home stays out of sight" "No such file" run_in "$d/ws" -- cat "$home_marker"

# --- root: a workspace on overlayfs (no idmapped mounts) ---------------------------
ov=$(mktemp -d "$d/overlay.XXXXXX")
mkdir -p "$ov/lower" "$ov/upper" "$ov/work" "$ov/merged"
if mount -t overlay overlay -o "lowerdir=$ov/lower,upperdir=$ov/upper,workdir=$ov/work" "$ov/merged" 2>/dev/null; then
	mkdir "$ov/merged/ws"
	echo etc-secret > "$rootonly_etc"
	chmod 600 "$rootonly_etc"
	mkdir "$rootonly_lib"
	chmod 700 "$rootonly_lib"
	echo lib-secret > "$rootonly_lib/key"
	check "control: root reads the files it made in /etc and /var/lib" \
		sh -c "grep -q etc-secret '$rootonly_etc' && grep -q lib-secret '$rootonly_lib/key'"
	expect_output "overlayfs workspace: the command runs, as uid 1000 inside" "^1000$" \
		run_in "$ov/merged/ws" -- id -u
	run_in "$ov/merged/ws" -- sh -c 'echo ov > made' >/dev/null 2>&1
	check "overlayfs: a write lands on the host" grep -qx ov "$ov/merged/ws/made"
	run_in "$ov/merged/ws" --audit-log "$T/audit-ov.jsonl" -- true >/dev/null 2>&1
	expect_output "audit: identity root-uid" '^"root-uid"$' $A get "$T/audit-ov.jsonl" session_start 0 layers.identity
	expect_output "audit: host masks counted" '^[1-9][0-9]*$' $A get "$T/audit-ov.jsonl" session_start 0 layers.host_masks
	expect_output "a root-only file in /etc reads as empty inside" "^size=0$" \
		run_in "$ov/merged/ws" -- sh -c "printf 'size=%s\n' \$(wc -c < '$rootonly_etc')"
	if printf '%s' "$OUT" | grep -q etc-secret; then not_ok "its content never appeared"; else ok "its content never appeared"; fi
	expect_fail "a root-only directory in /var/lib is empty inside" "No such file" \
		run_in "$ov/merged/ws" -- cat "$rootonly_lib/key"
	expect_fail "root's home content stays out of sight" "No such file" \
		run_in "$ov/merged/ws" -- cat "$home_marker"
	expect_fail "overlayfs: set-uid bits still refused" "Operation not permitted" \
		run_in "$ov/merged/ws" -- chmod 4755 made
	check "overlayfs: the host file has no set-uid bit" test "$(stat -c %a "$ov/merged/ws/made")" = 644
	expect_output "overlayfs: id -un names the sandbox user" "^cordon$" run_in "$ov/merged/ws" -- id -un
	umount "$ov/merged"
	ov=""
else
	for what in "runs" "write lands" "identity" "masks counted" "/etc" "content" "/var/lib" "home" "set-uid" "set-uid host" "id -un"; do
		skip "overlayfs: $what" "cannot mount overlayfs here"
	done
fi
done_testing
