#!/bin/bash
# Named sandboxes: `cordon run --name NAME` keeps what the command installs
# (the host's /usr, /etc, /var, /opt through an overlay with the sandbox's
# own upper layer) for its next run, in that sandbox only, until `cordon rm`.
# One run at a time per name; a killed cordon leaves nothing that blocks
# the next. Each result is checked from outside too: the host's /usr/local
# and the state directory.
. "$(dirname "$0")/../lib.sh"

. "$(dirname "$0")/state.bash"
if ! base=$(state_base cordon-named); then
	skip "named sandboxes" "no directory off overlayfs for the state (tried /tmp, /dev/shm)"
	done_testing
	exit
fi
suite_cleanup() {
	[ -n "${base:-}" ] && rm -rf "$base"
	[ -n "${ovl:-}" ] && { umount "$ovl/m" 2>/dev/null; rm -rf "$ovl"; }
}
export XDG_DATA_HOME="$base/data"
SBX="$XDG_DATA_HOME/cordon/sandboxes"
ws=$(new_ws)
# cordon itself, not a subshell: a background run's $! is cordon's pid.
run() { "$CORDON" run -q -w "$ws" "$@"; }
tag="pkg-$$-$RANDOM"

# wait_for COND...: poll up to 60 s.
wait_for() { wait_long "$@"; }

# --- names ---
expect_status "a bad name is a usage error (125)" 125 run --name '../x' -- true
check "... saying what a name may be" sh -c 'printf "%s" "$1" | grep -q "a name is 1 to 64 letters"' _ "$OUT"
expect_status "a name of 65 characters is refused" 125 run --name "$(printf 'a%.0s' $(seq 65))" -- true
check "nothing was made for refused names" test ! -e "$SBX"

# --- an install persists in its sandbox only ---
install="mkdir -p /usr/local/lib/$tag && echo v1 >/usr/local/lib/$tag/mod && printf '#!/bin/sh\necho tool-$tag\n' >/usr/local/bin/$tag && chmod 755 /usr/local/bin/$tag && echo INSTALLED"
check "control: the host has no $tag in /usr/local" test ! -e "/usr/local/bin/$tag"
expect_output "an install into /usr/local inside a named sandbox works" INSTALLED \
	run --name alpha -- sh -c "$install"
check "... and the host's /usr/local is untouched" test ! -e "/usr/local/bin/$tag" -a ! -e "/usr/local/lib/$tag"
check "... it lands in the sandbox's upper layer" test -f "$SBX/alpha/upper/usr/local/lib/$tag/mod"
check "... in a state directory only its owner can enter" \
	sh -c '[ "$(stat -c %a "$1")" = 700 ]' _ "$SBX/alpha"
expect_output "the next run of the same name finds it (and runs it)" "^v1
tool-$tag$" run --name alpha -- sh -c "cat /usr/local/lib/$tag/mod && $tag"
expect_fail "another named sandbox does not see it" "No such file" \
	run --name beta -- cat "/usr/local/lib/$tag/mod"
expect_fail "an ephemeral sandbox does not see it" "No such file" \
	run -- cat "/usr/local/lib/$tag/mod"
check "control: the layer is there on the host" test -f "$SBX/alpha/upper/usr/local/lib/$tag/mod"
expect_fail "another sandbox cannot read the layer by its host path (masked)" "No such file" \
	run --name beta -- cat "$SBX/alpha/upper/usr/local/lib/$tag/mod"
expect_fail "... nor can an ephemeral one" "No such file" \
	run -- cat "$SBX/alpha/upper/usr/local/lib/$tag/mod"

# --- the host's files keep their owners; walls still apply on the overlay ---
if [ "$(id -u)" = 0 ] && [ "$(root_identity "$ws")" = root-uid ]; then
	# No idmapped mounts here (an overlayfs root): the command runs as kernel
	# uid 0 without capabilities, which owns root's files. Its write to one
	# is a change of the sandbox's own, in its layer; the host's file stays.
	lic=/usr/share/common-licenses/GPL-3
	sum=$(cksum <"$lic")
	expect_status "root-uid: a write to a root-owned file in /usr is the sandbox's own" 0 \
		run --name alpha -- sh -c "echo x >>$lic"
	check "... the host's file is unchanged" sh -c '[ "$(cksum <"$1")" = "$2" ]' _ "$lic" "$sum"
	check "... the change is in the sandbox's layer" test -f "$SBX/alpha/upper$lic"
else
	expect_fail "a root-owned host file in /usr stays unwritable inside" "Permission denied|Read-only" \
		run --name alpha -- sh -c 'echo x >>/usr/bin/env'
fi
expect_fail "set-id bits are refused in the overlay too" "Operation not permitted" \
	run --name alpha -- chmod u+s "/usr/local/bin/$tag"
check "... the layer's file has no set-id bit" \
	sh -c '[ "$(stat -c %a "$1")" = 755 ]' _ "$SBX/alpha/upper/usr/local/bin/$tag"
echo "secret-$tag" >"$SHOWN/secret"
chmod 644 "$SHOWN/secret"
expect_output "control: a host file under /var is readable in a named sandbox" "secret-$tag" \
	run --name alpha -- cat "$SHOWN/secret"
run_capture run --name alpha --mask "$SHOWN/secret" -- cat "$SHOWN/secret"
check "... and masked on top of the overlay with --mask (empty)" \
	sh -c '[ "$1" -eq 0 ] && [ -z "$2" ]' _ "$RC" "$OUT"
[ "$RC" -eq 0 ] && [ -z "$OUT" ] || diag "exit $RC: $OUT"

# --- one run at a time; ls; stop ---
"$CORDON" run -q -w "$ws" --name alpha -- sh -c 'touch /usr/local/lib/running-mark; exec sleep 300' >"$base/long.out" 2>&1 &
long=$!
track_pid $long
wait_for test -e "$SBX/alpha/upper/usr/local/lib/running-mark" || diag "the first run never started: $(cat "$base/long.out")"
expect_status "a second run on a running name is refused (125)" 125 run --name alpha -- true
check "... naming cordon stop" sh -c 'printf "%s" "$1" | grep -q "in use by another cordon.*" && printf "%s" "$1" | grep -q "cordon stop alpha"' _ "$OUT"
expect_output "control: another name runs meanwhile" "^ok$" run --name beta -- echo ok
expect_output "cordon ls shows it running" "^alpha +running" "$CORDON" ls
expect_output "cordon ls --json too" '"name":"alpha","state":"running"' "$CORDON" ls --json
expect_fail "cordon rm refuses a running sandbox" "sandbox 'alpha' is running" "$CORDON" rm alpha
check "... and left it" test -f "$SBX/alpha/upper/usr/local/lib/$tag/mod"
expect_status "cordon stop ends it" 0 "$CORDON" stop alpha
if wait_for sh -c "! kill -0 $long 2>/dev/null"; then
	wait $long
	RC=$?
	check "... the session ended with the signal's status (143)" test "$RC" -eq 143
else
	not_ok "... the session ended"
fi
expect_output "cordon ls shows it stopped" "^alpha +stopped" "$CORDON" ls
expect_output "it runs again after stop, its install kept" "^v1$" run --name alpha -- cat "/usr/local/lib/$tag/mod"

# --- a SIGKILLed cordon leaves nothing that blocks the next run ---
"$CORDON" run -q -w "$ws" --name alpha -- sh -c 'echo v2 >/usr/local/lib/killed-mark; exec sleep 300' >"$base/kill.out" 2>&1 &
k=$!
track_pid $k
wait_for test -e "$SBX/alpha/upper/usr/local/lib/killed-mark" || diag "the run never started: $(cat "$base/kill.out")"
kill -9 $k
wait $k 2>/dev/null
wait_for sh -c '! "$1" ls | grep -q "^alpha  *running"' _ "$CORDON"
expect_output "a SIGKILLed named session can be re-entered" "^v2$" \
	run --name alpha -- cat /usr/local/lib/killed-mark

# --- concurrent starts on one name: one runs, the others are refused ---
for i in 1 2 3 4; do
	(run --name gamma -- sh -c "echo $i >>/usr/local/lib/starts; sleep 1"; echo "rc=$?") >"$base/c$i.out" 2>&1 &
	track_pid $!
done
wait
ran=$(grep -l '^rc=0$' "$base"/c[1-4].out | wc -l)
refused=$(grep -l 'in use by another cordon' "$base"/c[1-4].out | wc -l)
check "concurrent runs on one name: each ran or was refused ($ran ran, $refused refused)" \
	test $((ran + refused)) -eq 4 -a "$ran" -ge 1
expect_output "... and the sandbox is intact: one line per run that ran" "^$ran$" \
	run --name gamma -- sh -c 'wc -l </usr/local/lib/starts'

# --- rm ---
expect_status "cordon rm removes a stopped sandbox" 0 "$CORDON" rm alpha
check "... its state directory is gone" test ! -e "$SBX/alpha"
expect_fail "... and a new run of the name starts clean" "No such file" \
	run --name alpha -- cat "/usr/local/lib/$tag/mod"
expect_fail "cordon rm of an unknown name fails" "no sandbox named 'nope'" "$CORDON" rm nope
"$CORDON" run -q -w "$ws" --name beta -- sleep 300 >/dev/null 2>&1 &
b=$!
track_pid $b
wait_for sh -c '"$1" ls | grep -q "^beta  *running"' _ "$CORDON"
expect_status "cordon rm --force stops and removes a running one" 0 "$CORDON" rm --force beta
check "... its state directory is gone" test ! -e "$SBX/beta"
wait $b 2>/dev/null

# --- a host mount below an overlaid directory ---
# The host's mounts reach the sandbox's user namespace locked, and overlayfs
# refuses a lower layer with a locked mount below it ("failed to clone
# lowerpath"): /var is overlaid around such a mount instead. The tmpfs is
# mounted in a mount namespace of its own, so no other run on this host
# sees it; its directories lie in $SHOWN, under /var/tmp.
if [ "$CORDON_TEST_AS" = root ]; then
	sub=$(mktemp -d "$SHOWN/sub.XXXXXX")
	side=$(mktemp -d "$SHOWN/side.XXXXXX")
	chmod 777 "$side"
	# with_sub CMD...: CMD in a mount namespace where a tmpfs holding f is mounted on $sub.
	with_sub() {
		unshare -m --propagation private sh -c \
			'mount -t tmpfs -o mode=0777 cordon-sub "$1" && echo "host-$2" >"$1/f" && shift 2 && exec "$@"' \
			_ "$sub" "$tag" "$@"
	}
	expect_output "a named sandbox starts with a host mount below /var and shows it" "^host-$tag$" \
		with_sub "$CORDON" run -q -w "$ws" --name eps -- cat "$sub/f"
	expect_output "... a directory beside the mount is still overlaid (writable inside)" "^wrote$" \
		with_sub "$CORDON" run -q -w "$ws" --name eps -- sh -c "echo in >$side/new && echo wrote"
	check "... the write kept in the sandbox's upper layer, not on the host" \
		sh -c 'test ! -e "$1/new" && test -f "$2/eps/upper$1/new"' _ "$side" "$SBX"
	expect_output "... and seen on the next run" "^in$" \
		with_sub "$CORDON" run -q -w "$ws" --name eps -- cat "$side/new"
	expect_output "control: the host mount is writable outside" "^ok$" \
		with_sub sh -c 'touch "$1/g" && echo ok' _ "$sub"
	expect_fail "the host mount is read-only inside" "Read-only file system" \
		with_sub "$CORDON" run -q -w "$ws" --name eps -- touch "$sub/g"
else
	skip "host mount below an overlaid directory" "mounting one needs root"
fi

# --- where overlayfs cannot put its upper layer ---
expect_fail "a state directory in /var (overlaid itself) is refused" \
	"lies in /var, which the sandbox sees through the same overlay" \
	env XDG_DATA_HOME="$SHOWN/data" "$CORDON" run -w "$ws" --name delta -- true
[ "$RC" -eq 125 ] || diag "exit $RC"
if [ "$CORDON_TEST_AS" = root ]; then
	ovl=$(mktemp -d "$base/ovl.XXXXXX")
	mkdir "$ovl/l" "$ovl/u" "$ovl/w" "$ovl/m"
	if mount -t overlay overlay -o "lowerdir=$ovl/l,upperdir=$ovl/u,workdir=$ovl/w" "$ovl/m"; then
		expect_status "a state directory on overlayfs is refused (125)" 125 \
			env XDG_DATA_HOME="$ovl/m" "$CORDON" run -w "$ws" --name delta -- true
		check "... saying why and where to put it" sh -c 'printf "%s" "$1" | grep -q "is on overlayfs" && printf "%s" "$1" | grep -q "Hint: set XDG_DATA_HOME"' _ "$OUT"
		umount "$ovl/m"
	else
		skip "state directory on overlayfs" "this machine cannot mount overlayfs"
	fi
else
	skip "state directory on overlayfs" "mounting one needs root"
fi
done_testing
