#!/bin/bash
# Filesystem wall: host read-only, workspace writable, private /tmp.
. "$(dirname "$0")/../lib.sh"

ws=$(new_ws)
# Host directories the sandbox must see are made in $SHOWN: $T is 0700 for
# root, out of a root-invoked sandbox's sight.
outside=$(mktemp -d "$SHOWN/outside.XXXXXX")
chmod 777 "$outside"	# so that only the mount, not file modes, can refuse
sub=""
suite_cleanup() {
	[ -n "$sub" ] && umount "$sub" 2>/dev/null
	return 0
}

sb "$ws" sh -c 'echo hello > inside.txt'
check "workspace write lands on the host" grep -qx hello "$ws/inside.txt"
check "host sees the file owned by the invoking user" test "$(stat -c %u "$ws/inside.txt")" = "$(id -u)"

# Control: the invoking user can write there outside the sandbox.
check "control: outside dir writable without cordon" touch "$outside/control"
expect_fail "write to another host dir is refused (EROFS)" "Read-only file system" \
	sb "$ws" sh -c "echo x > '$outside/planted'"
check "nothing planted in the other dir" test ! -e "$outside/planted"

for p in /usr/cordon-probe /etc/cordon-probe /var/cordon-probe; do
	expect_fail "write to $p refused (EROFS)" "Read-only file system" sb "$ws" touch "$p"
done
check "nothing appeared under /etc" test ! -e /etc/cordon-probe

home=$(getent passwd "$(id -u)" | cut -d: -f6)
if [ "$(id -u)" -eq 0 ] && [ -d "$home" ] && [ "$(stat -c %a "$home" | cut -c3)" != 5 ] &&
	[ "$(stat -c %a "$home" | cut -c3)" != 7 ] && [ "$(stat -c %a "$home" | cut -c3)" != 1 ]; then
	# Invoked by root: root's home is closed to the sandbox uid, which gets
	# an empty private home instead. Writes there never reach the host.
	marker=".cordon-root-only-$$"
	echo secret > "$home/$marker"
	expect_output "root invoker: the private home is writable inside" "^written$" \
		sb "$ws" sh -c "echo x > \"\$HOME/cordon-probe\" && echo written"
	check "nothing planted in root's real home" test ! -e "$home/cordon-probe"
	expect_fail "root's own files are not in the private home" "No such file" \
		sb "$ws" cat "$home/$marker"
	rm -f "$home/$marker"
elif [ -d "$home" ] && [ "$home" != / ]; then
	expect_fail "write to the invoking user's home refused" "Read-only file system|Permission denied" \
		sb "$ws" touch "$home/cordon-probe"
	check "nothing planted in home" test ! -e "$home/cordon-probe"
else
	skip "write to home refused" "user has no home directory"
fi

# Every mount inside is read-only except the sandbox's own writable set.
# This covers every submount of the host root (/boot, /sys/fs/cgroup/...).
cat > "$ws/mounts.py" <<'PY'
import sys
ws = sys.argv[1]
allowed = {ws, "/tmp", "/run", "/dev/shm", "/dev/pts", "/proc"}
if len(sys.argv) > 2:
    allowed.add(sys.argv[2])  # root invoker's private home (a tmpfs)
bad = []
for line in open("/proc/self/mountinfo"):
    f = line.split()
    mnt, opts = f[4], f[5].split(",")
    if "ro" in opts:
        continue
    if mnt in allowed or mnt.startswith("/dev/") or mnt.startswith(ws + "/"):
        continue
    bad.append(mnt)
print("writable:", bad)
sys.exit(1 if bad else 0)
PY
expect_output "every host mount (submounts too) is read-only inside" "writable: \[\]" \
	sb "$ws" $PY "$ws/mounts.py" "$ws" $([ "$(id -u)" -eq 0 ] && echo "$home")

if [ "$(id -u)" -eq 0 ]; then
	# A real writable submount of / on the host: must be read-only inside.
	sub=$(mktemp -d "$SHOWN/submount.XXXXXX")
	chmod 755 "$sub"
	if mount -t tmpfs -o mode=0777 cordon-test "$sub"; then
		check "control: host submount writable outside" touch "$sub/control"
		expect_fail "host tmpfs submount is read-only inside" "Read-only file system" \
			sb "$ws" touch "$sub/planted"
		umount "$sub"
	else
		skip "host tmpfs submount read-only inside" "cannot mount tmpfs"
	fi
else
	skip "host tmpfs submount read-only inside (real mount)" "needs root to mount; mountinfo check above covers it"
fi

# Private /tmp: what the sandbox writes there never reaches the host.
marker="cordon-tmp-$$-$RANDOM"
sb "$ws" sh -c "echo x > /tmp/$marker" >/dev/null 2>&1
check "sandbox /tmp is private (file not on host /tmp)" test ! -e "/tmp/$marker"
touch "/tmp/$marker.host"
expect_fail "host /tmp content invisible inside" "No such file" sb "$ws" cat "/tmp/$marker.host"
rm -f "/tmp/$marker.host"
expect_output "/dev has only the minimal nodes" "^full null ptmx pts random shm tty urandom zero$" \
	sb "$ws" sh -c 'ls /dev | grep -vE "^(fd|stdin|stdout|stderr|core)$" | tr "\n" " " | sed "s/ $//"'
expect_fail "/dev is read-only (no new device nodes)" "Read-only file system" sb "$ws" touch /dev/evil
# /proc/sys entries that exist on every kernel; the host's value is written
# back unchanged so that even a failed wall changes nothing.
for f in /proc/sys/vm/overcommit_memory /proc/sys/kernel/pid_max; do
	expect_fail "$f is read-only" "Read-only file system" \
		sb "$ws" sh -c "cat $f > $f"
done
for f in /proc/keys /proc/timer_list /proc/kallsyms /proc/kcore; do
	if [ -e "$f" ]; then
		expect_output "$f is masked (empty)" "^0$" sb "$ws" sh -c "wc -c < $f"
	else
		skip "$f is masked" "not present on this kernel"
	fi
done
expect_output "the workspace is the working directory" "^$ws\$" sb "$ws" pwd

# Refusals that protect the user from a mistaken workspace.
expect_status "workspace / is refused with 125" 125 "$CORDON" run --workspace / -- true
expect_fail "workspace / refusal explains itself" "Hint:" "$CORDON" run --workspace / -- true
expect_status "missing workspace is 125" 125 "$CORDON" run --workspace "$T/does-not-exist" -- true

# --ro inside the workspace and --mask.
mkdir -p "$ws/locked" "$ws/secret"
echo s3cret > "$ws/secret/key"
expect_fail "--ro path inside the workspace is read-only" "Read-only file system" \
	sh -c "cd '$ws' && '$CORDON' run --ro '$ws/locked' -- touch '$ws/locked/x'"
expect_fail "--mask hides a directory's content" "No such file" \
	sh -c "cd '$ws' && '$CORDON' run --mask '$ws/secret' -- cat '$ws/secret/key'"
expect_fail "--mask holds through /proc/self/root" "No such file" \
	sh -c "cd '$ws' && '$CORDON' run --mask '$ws/secret' -- cat '/proc/self/root$ws/secret/key'"
ln -s "$ws/secret" "$ws/alias"
expect_fail "--mask holds through a symlink" "No such file" \
	sh -c "cd '$ws' && '$CORDON' run --mask '$ws/secret' -- cat '$ws/alias/key'"
expect_fail "--mask holds through .. games" "No such file" \
	sh -c "cd '$ws' && '$CORDON' run --mask '$ws/secret' -- cat '$ws/locked/../secret/key'"
check "masked file untouched on the host" grep -qx s3cret "$ws/secret/key"

done_testing
