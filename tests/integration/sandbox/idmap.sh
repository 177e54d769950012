#!/bin/bash
# Invoked by root, the command runs as an unprivileged kernel uid. Where the
# workspace's file system cannot do idmapped mounts (overlayfs, as in many
# containers), cordon falls back to the workspace owner's uid when that is
# not root, and otherwise to kernel uid 0 without capabilities, with
# root-only host files masked.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "idmapped workspace (root only)" "runs as root only: unprivileged users need no idmap"
	done_testing
	exit
fi
ws=$(new_ws)
expect_output "root-invoked command has a non-zero uid" "^[1-9][0-9]*$" sb "$ws" id -u
sb "$ws" sh -c 'echo data > made-inside'
check "file made inside is owned by the workspace owner (root) on disk" \
	test "$(stat -c %u "$ws/made-inside")" = 0
# A root-only file of our own, in no mask list, in a directory shown
# read-only (the suite's own tree is 0700, out of the sandbox's sight):
# only the kernel uid keeps it.
shown=$(mktemp -d "$T/shown.XXXXXX")
chmod 755 "$shown"
secret="$shown/root-only"
echo root-only-content > "$secret"
chmod 600 "$secret"
check "control: root reads its 0600 file without cordon" grep -q root-only-content "$secret"
if [ "$(root_identity "$ws")" = idmap ]; then
	expect_fail "root-only host file unreadable inside (EACCES)" "Permission denied" \
		sh -c "cd '$ws' && '$CORDON' run --ro '$shown' -- cat '$secret'"
else
	# No idmapped mounts: uid 0 without capabilities owns root's files, so
	# the scan of what is shown masks this one (an empty file).
	expect_output "root-only host file masked inside (root-uid: an empty file)" "^0 " \
		sh -c "cd '$ws' && '$CORDON' run --ro '$shown' -- wc -c '$secret'"
fi
if printf '%s' "$OUT" | grep -q root-only-content; then
	not_ok "its content never appeared"
else
	ok "its content never appeared"
fi

# A toolchain under root's home (rustup's default): found through PATH and
# shown read-only in the private home, with or without a profile; the rest
# of the home stays out of sight.
if [ -x "$HOME/.cargo/bin/cargo" ] && [ -d "$HOME/.rustup" ]; then
	marker="$HOME/.cordon-idmap-$$"
	echo secret > "$marker"
	expect_output "without a profile, cargo from ~/.cargo (found in PATH) runs" "^cargo [0-9]" \
		env PATH="$HOME/.cargo/bin:$PATH" sh -c "cd '$ws' && '$CORDON' run -- cargo --version"
	expect_output "--profile rust: cargo from root's ~/.cargo runs" "^cargo [0-9]" \
		env PATH="$HOME/.cargo/bin:$PATH" sh -c "cd '$ws' && '$CORDON' run --profile rust -- cargo --version"
	expect_fail "--profile rust: ~/.cargo/bin is read-only" "Read-only file system" \
		sh -c "cd '$ws' && '$CORDON' run --profile rust -- touch '$HOME/.cargo/bin/planted'"
	expect_fail "--profile rust: root's other files stay hidden" "No such file" \
		sh -c "cd '$ws' && '$CORDON' run --profile rust -- cat '$marker'"
	rm -f "$marker"
else
	skip "toolchain under root's home" "no rustup installation in $HOME"
fi

ov=$(mktemp -d "$T/overlay.XXXXXX")
chmod 755 "$ov"
mkdir -p "$ov/lower" "$ov/upper" "$ov/work" "$ov/merged"
suite_cleanup() { umount "$ov/merged" 2>/dev/null; }
if mount -t overlay overlay -o "lowerdir=$ov/lower,upperdir=$ov/upper,workdir=$ov/work" "$ov/merged" 2>/dev/null; then
	mkdir "$ov/merged/rootws" "$ov/merged/userws"
	chmod 755 "$ov/merged/rootws" "$ov/merged/userws"
	# No idmapped mounts, root's workspace: kernel uid 0 without
	# capabilities, shown as 1000 (sandbox/rootdirs.sh has the masks).
	expect_output "root-owned workspace on overlayfs: runs, as 1000 inside" "^1000$" \
		sh -c "cd '$ov/merged/rootws' && '$CORDON' run -- id -u"
	sh -c "cd '$ov/merged/rootws' && '$CORDON' run -- touch x" >/dev/null 2>&1
	check "and writes land there, owned by root" test "$(stat -c %u "$ov/merged/rootws/x" 2>/dev/null)" = 0
	chown nobody "$ov/merged/userws"
	expect_output "user-owned workspace on overlayfs: runs as its owner" "^$(id -u nobody)$" \
		sh -c "cd '$ov/merged/userws' && '$CORDON' run -- id -u"
	sh -c "cd '$ov/merged/userws' && '$CORDON' run -- touch made" >/dev/null 2>&1
	check "and can write its workspace" test -e "$ov/merged/userws/made"
	umount "$ov/merged"
else
	skip "overlayfs fallback" "cannot mount overlayfs here"
fi
done_testing
