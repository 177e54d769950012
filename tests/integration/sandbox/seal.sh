#!/bin/bash
# Masks hold for the whole session, not just at its start: a credential
# file the host creates while the sandbox runs is not there inside, and a
# host rename over a masked file does not uncover the new content (the
# sealed home, src/sandbox/seal.c). Each scenario runs a sandbox that waits
# on a fifo while the test changes the host home, then reads.
#
# Controls: the files are readable outside; with the seal off
# (CORDON_TEST_NO_SEAL, test hooks only: masks as plain binds on the live
# home) the same probes read the credentials, so these tests see the hole;
# without a mask (allowRead) a rename inside a shown directory is seen.
. "$(dirname "$0")/../lib.sh"

# The home lies where a root-invoked sandbox may see it (SHOWN), as a home
# in /home would; the workspace is elsewhere.
new_home() {
	local h
	h=$(mktemp -d "$SHOWN/home.XXXXXX")
	chmod 755 "$h"
	mkdir -p "$h/.docker" "$h/.config" "$h/.claude" "$h/notes"
	echo "old note" > "$h/notes/old.txt"
	chmod -R a+rX "$h"
	echo "$h"
}

ws=$(new_ws)
sbpid=

# session HOME OUT CHANGE PATH... [-- CORDON ARGS]: start a sandbox with
# HOME that signals it is up, waits on a fifo, then reads each PATH
# ("READ path: content" or "DENIED path: error") into OUT; run CHANGE (a
# shell function) on the host meanwhile. Extra cordon arguments follow --.
session() {
	local home=$1 out=$2 change=$3 fifo ready probe
	shift 3
	local paths=() extra=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do paths+=("$1"); shift; done
	[ "${1:-}" = -- ] && { shift; extra=("$@"); }
	fifo="$SHOWN/fifo.$RANDOM$RANDOM"
	ready="$ws/ready.$RANDOM$RANDOM"
	mkfifo "$fifo"
	chmod 666 "$fifo"
	probe='ready=$1 fifo=$2; shift 2
echo up > "$ready"
read -r _ < "$fifo"
for f in "$@"; do
	if c=$(cat "$f" 2>&1); then echo "READ $f: $c"; else echo "DENIED $f: $c"; fi
done'
	(cd "$ws" && HOME="$home" exec "$CORDON" run "${extra[@]}" -- sh -c "$probe" sh "$ready" "$fifo" \
		"${paths[@]}") >"$out" 2>&1 &
	sbpid=$!
	track_pid "$sbpid"
	if ! wait_for test -s "$ready"; then
		diag "the sandbox did not come up: $(cat "$out")"
		kill -9 "$sbpid" 2>/dev/null
		wait "$sbpid" 2>/dev/null
		rm -f "$fifo"
		return 1
	fi
	"$change" "$home"
	echo go > "$fifo"
	wait "$sbpid"
	rm -f "$fifo" "$ready"
}

# line OUT PATH: the probe's line for PATH.
line() { grep -F " $2: " "$1" | head -1; }

# denied DESC OUT PATH SECRET: PATH was not read, with the reason.
denied() {
	local desc=$1 out=$2 path=$3 secret=$4 l
	l=$(line "$out" "$path")
	if grep -q -- "$secret" "$out"; then
		not_ok "$desc"
		diag "secret read inside: $l"
	elif printf '%s' "$l" | grep -Eq "^DENIED .*No such file or directory$" ||
	     [ "$l" = "READ $path: " ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "unexpected: $l"
		sed 's/^/#   /' "$out" | head -20
	fi
}

# read_back DESC OUT PATH CONTENT: PATH was read with CONTENT.
read_back() {
	local desc=$1 out=$2 path=$3 want=$4
	if [ "$(line "$out" "$path")" = "READ $path: $want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "wanted READ $path: $want; got: $(line "$out" "$path")"
		sed 's/^/#   /' "$out" | head -20
	fi
}

# --- 1. Credential files created on the host during the session ---------
creds=(.aws/credentials .netrc .git-credentials .config/gh/hosts.yml .docker/config.json
       .claude/.credentials.json)
create_creds() {
	local h=$1 f
	mkdir -p "$h/.aws" "$h/.config/gh"
	for f in "${creds[@]}"; do echo "LATE-SECRET-$$-$f" > "$h/$f"; done
	chmod -R a+rX "$h"
	echo "late note" > "$h/notes/late.txt"
	chmod a+r "$h/notes/late.txt"
}
h1=$(new_home)
out1="$T/seal1.out"
paths=()
for f in "${creds[@]}"; do paths+=("$h1/$f"); done
session "$h1" "$out1" create_creds "${paths[@]}" "$h1/notes/late.txt"
for f in "${creds[@]}"; do
	check "control: ~/$f, created during the session, is readable outside" \
		grep -q "LATE-SECRET-$$-$f" "$h1/$f"
	denied "~/$f created on the host during the session is not there inside" \
		"$out1" "$h1/$f" "LATE-SECRET-$$-$f"
done
read_back "control: a note created during the session in a shown directory is read inside" \
	"$out1" "$h1/notes/late.txt" "late note"

# The same with the seal off: the probes see the hole.
h2=$(new_home)
out2="$T/seal2.out"
paths=()
for f in "${creds[@]}"; do paths+=("$h2/$f"); done
CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SEAL=1 session "$h2" "$out2" create_creds "${paths[@]}"
for f in "${creds[@]}"; do
	read_back "control: seal off, ~/$f created during the session is read inside" \
		"$out2" "$h2/$f" "LATE-SECRET-$$-$f"
done

# --- 2. A host rename over a masked file --------------------------------
old_creds() {
	local h=$1 f
	mkdir -p "$h/.aws"
	for f in .aws/credentials .netrc .docker/config.json; do
		echo "OLD-SECRET-$$" > "$h/$f"
	done
	chmod -R a+rX "$h"
}
rename_over() {
	local h=$1 f
	for f in .aws/credentials .netrc .docker/config.json; do
		echo "NEW-SECRET-$$-$f" > "$h/$f.new"
		chmod a+r "$h/$f.new"
		mv "$h/$f.new" "$h/$f"
	done
}
h3=$(new_home)
old_creds "$h3"
out3="$T/seal3.out"
session "$h3" "$out3" rename_over "$h3/.aws/credentials" "$h3/.netrc" "$h3/.docker/config.json"
for f in .aws/credentials .netrc .docker/config.json; do
	check "control: ~/$f renamed over is new outside" grep -q "NEW-SECRET-$$-$f" "$h3/$f"
	denied "~/$f renamed over on the host during the session stays masked inside" \
		"$out3" "$h3/$f" "SECRET-$$"
done

h4=$(new_home)
old_creds "$h4"
out4="$T/seal4.out"
CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SEAL=1 session "$h4" "$out4" rename_over "$h4/.netrc" \
	"$h4/.docker/config.json"
for f in .netrc .docker/config.json; do
	read_back "control: seal off, the rename over ~/$f drops its mask: the new content is read" \
		"$out4" "$h4/$f" "NEW-SECRET-$$-$f"
done
h5=$(new_home)
old_creds "$h5"
out5="$T/seal5.out"
printf '{"sandbox": {"filesystem": {"allowRead": ["%s/.aws"]}}}\n' "$h5" > "$T/seal-allow.json"
session "$h5" "$out5" rename_over "$h5/.aws/credentials" -- --policy "$T/seal-allow.json"
read_back "control: without the mask (allowRead ~/.aws) the rename over ~/.aws/credentials is seen" \
	"$out5" "$h5/.aws/credentials" "NEW-SECRET-$$-.aws/credentials"

# --- 3. What the seal keeps working --------------------------------------
h6=$(new_home)
echo "plain" > "$h6/.gitconfig-like"
ln -s notes/old.txt "$h6/note-link"
chmod -R a+rX "$h6"
hws=$(mktemp -d "$h6/proj.XXXXXX")
chmod 755 "$hws"
OUT=$(cd "$hws" && HOME="$h6" "$CORDON" run -- sh -c 'echo w > "$0/written" && cat "$0/written" ~/.gitconfig-like ~/note-link ~/notes/old.txt' "$hws" 2>/dev/null)
RC=$?
if [ "$RC" -eq 0 ] && [ "$OUT" = "$(printf 'w\nplain\nold note\nold note')" ] && [ -f "$hws/written" ]; then
	ok "a workspace in the sealed home is writable; the home's files, links and directories read"
else
	not_ok "a workspace in the sealed home is writable; the home's files, links and directories read"
	diag "exit $RC: $OUT"
fi
expect_fail "the sealed home itself is read-only inside" "Read-only file system" \
	sh -c "cd '$hws' && HOME='$h6' exec '$CORDON' run -- touch '$h6/new-file'"
check "control: ... and nothing was created on the host" test ! -e "$h6/new-file"
expect_output "an existing ~/.netrc reads as an empty file inside (its mask on the stub)" "^0$" \
	sh -c "echo s > '$h6/.netrc'; chmod a+r '$h6/.netrc'; cd '$hws' && HOME='$h6' exec '$CORDON' run -- sh -c 'wc -c < ~/.netrc'"

# An agent's state directory under the sealed home stays writable and live.
h7=$(new_home)
note() { echo "host note" > "$1/.claude/host-note"; chmod a+r "$1/.claude/host-note"; }
out9="$T/seal9.out"
session "$h7" "$out9" note "$h7/.claude/host-note" -- --profile claude
read_back "claude profile: a file the host writes in ~/.claude during the session is read inside" \
	"$out9" "$h7/.claude/host-note" "host note"
(cd "$ws" && HOME="$h7" "$CORDON" run --profile claude -- sh -c 'echo inside > ~/.claude/from-inside') >/dev/null 2>&1
check "claude profile: ~/.claude stays writable in the sealed home" \
	grep -qx inside "$h7/.claude/from-inside"

# --- 4. Root with home and workspace on an overlayfs (root-uid identity) --
if [ "$(id -u)" != 0 ]; then
	skip "sealed home on overlayfs (root-uid identity)" "root only: an unprivileged user cannot mount an overlayfs here"
else
	ovl=$(mktemp -d "$SHOWN/ovl.XXXXXX")
	chmod 755 "$ovl"
	mkdir -p "$ovl/l" "$ovl/u" "$ovl/w" "$ovl/m"
	if mount -t overlay overlay -o "lowerdir=$ovl/l,upperdir=$ovl/u,workdir=$ovl/w" "$ovl/m"; then
		suite_cleanup() { umount "$ovl/m" 2>/dev/null; }
		chmod 755 "$ovl/m"
		mkdir -p "$ovl/m/home/.docker" "$ovl/m/home/notes" "$ovl/m/ws"
		chmod -R 755 "$ovl/m/home" "$ovl/m/ws"
		diag "identity for this workspace: $(root_identity "$ovl/m/ws")"
		ws=$ovl/m/ws
		late() {
			mkdir -p "$1/.aws"
			echo "OVL-SECRET-$$" > "$1/.aws/credentials"
			echo "OVL-SECRET-$$" > "$1/.docker/config.json"
			chmod -R a+rX "$1"
		}
		out7="$T/seal7.out"
		session "$ovl/m/home" "$out7" late "$ovl/m/home/.aws/credentials" "$ovl/m/home/.docker/config.json"
		denied "overlayfs home: ~/.aws/credentials created during the session is not there inside" \
			"$out7" "$ovl/m/home/.aws/credentials" "OVL-SECRET-$$"
		denied "overlayfs home: ~/.docker/config.json created during the session is not there inside" \
			"$out7" "$ovl/m/home/.docker/config.json" "OVL-SECRET-$$"
		rm -rf "$ovl/m/home/.aws" "$ovl/m/home/.docker/config.json"
		out8="$T/seal8.out"
		CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SEAL=1 session "$ovl/m/home" "$out8" late \
			"$ovl/m/home/.aws/credentials"
		read_back "control: overlayfs home, seal off: the late ~/.aws/credentials is read inside" \
			"$out8" "$ovl/m/home/.aws/credentials" "OVL-SECRET-$$"
	else
		skip "sealed home on overlayfs (root-uid identity)" "this kernel refused the overlayfs mount"
	fi
fi
done_testing
