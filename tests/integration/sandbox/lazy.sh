#!/bin/bash
# A workspace the caller cannot name any more: its file system was lazily
# unmounted under the current directory. The kernel then writes the
# directory's path as if from the detached file system's own root, which
# can be the name of a different directory on the host. cordon must refuse,
# not mount that other directory read-write.
. "$(dirname "$0")/../lib.sh"

if ! unshare -Urm true 2>/dev/null; then
	skip "lazily unmounted workspace" "cannot create a user and mount namespace"
	done_testing
	exit
fi
# The decoy: a host directory whose absolute path equals the workspace's
# path inside the detached tmpfs (tmp/cordon-lazy-*).
decoy=$(mktemp -d /tmp/cordon-lazy-XXXXXX)
chmod 777 "$decoy"
suite_cleanup() { rm -rf "$decoy"; }
mnt=$(mktemp -d "$T/mnt.XXXXXX")
run_capture unshare -Urm sh -c "mount -t tmpfs none '$mnt' && mkdir -p '$mnt$decoy' && cd '$mnt$decoy' && umount -l '$mnt' && exec '$CORDON' run -- touch planted"
check "detached workspace: refused (exit 125)" test "$RC" -eq 125
expect_output "detached workspace: the message names the workspace" "workspace" \
	sh -c "printf '%s\n' \"\$1\" | head -1" _ "$OUT"
check "detached workspace: the host's look-alike directory got nothing" test ! -e "$decoy/planted"
# Control: the same, not detached, runs and writes where it should.
run_capture unshare -Urm sh -c "mount -t tmpfs none '$mnt' && mkdir -p '$mnt$decoy' && cd '$mnt$decoy' && '$CORDON' run -- touch planted && test -e planted && echo wrote-inside"
expect_output "control: a mounted workspace works" "wrote-inside" printf '%s' "$OUT"
done_testing
