#!/bin/bash
# seccomp wall: every refused system call, probed inside (EPERM/ENOSYS, or
# killed for a foreign ABI) and outside (the kernel's own, different answer).
# The probe passes arguments the kernel rejects before doing anything, so
# the control outside is harmless even as root.
. "$(dirname "$0")/../lib.sh"

PROBE=$(dirname "$CORDON")/cordon-probe
ws=$(new_ws)
if [ ! -x "$PROBE" ]; then
	skip "seccomp probes" "cordon-probe not built next to $CORDON"
	done_testing
	exit
fi

eperm="mount umount2 fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr
pivot_root bpf perf_event_open userfaultfd keyctl add_key request_key kexec_load
kexec_file_load init_module finit_module delete_module swapon swapoff reboot acct quotactl
quotactl_fd setns unshare-user unshare-net clone-newuser clone-newnet ioctl-tiocsti
ioctl-tiocsti-hibits ioctl-tioclinux personality-norandom personality-readexec socket-vsock
socket-packet socket-netlink-uevent socket-hibits ptrace"
enosys="io_uring_setup io_uring_enter io_uring_register clone3"
allowed="personality-query personality-linux socket-unix socket-inet socket-inet6
socket-netlink-route"
# Refused by the kernel to anyone without a capability of the initial
# namespace: outside, an unprivileged user gets EPERM too, so the control
# for these runs in the root pass only.
privonly=" swapoff acct "

# Control: outside cordon. Root calls directly; a user calls from a user,
# mount, net and pid namespace of their own, so that "you are not root"
# does not mask the kernel's answer to the bad arguments.
control() {
	if [ "$(id -u)" = 0 ]; then
		"$PROBE" "$1"
	else
		unshare -Urmnp --fork "$PROBE" "$1"
	fi
}

# One sandbox runs every probe; one line each.
# shellcheck disable=SC2086
inside=$(sb "$ws" sh -c 'p=$1; shift; for n; do "$p" "$n"; done' sh "$PROBE" $eperm $enosys $allowed 2>&1)

probe_case() {
	local name=$1 want=$2 got ctl
	got=$(printf '%s\n' "$inside" | grep "^$name: ")
	if [ "$got" = "$name: $want" ]; then
		ok "$name inside: $want"
	else
		not_ok "$name inside: $want"
		diag "got: ${got:-nothing}"
	fi
	if [ "$want" = ok ]; then
		return
	fi
	if [ "$(id -u)" != 0 ] && [[ "$privonly" == *" $name "* ]]; then
		skip "$name outside is not $want" "needs a capability of the initial namespace; checked in the root pass"
		return
	fi
	ctl=$(control "$name" 2>&1)
	if [[ "$ctl" == "$name: "* ]] && [ "$ctl" != "$name: $want" ]; then
		ok "$name outside: ${ctl#"$name: "} (the kernel's answer, not $want)"
	else
		not_ok "$name outside is not $want"
		diag "got: $ctl"
	fi
}

for n in $eperm; do probe_case "$n" EPERM; done
for n in $enosys; do probe_case "$n" ENOSYS; done
for n in $allowed; do probe_case "$n" ok; done

# Foreign ABIs: the filter kills the process (SIGSYS, 128+31).
# A kernel without that ABI's emulation (ia32_emulation=0, CONFIG_X86_X32_ABI
# off) answers the probe outside with SIGSEGV: nothing to compare against.
for abi in x32 i386; do
	"$PROBE" "$abi" >/dev/null 2>&1
	if [ $? -eq 139 ]; then
		skip "$abi system call inside is killed by SIGSYS (159)" \
			"this kernel has no $abi emulation (the probe segfaults outside too)"
		skip "$abi system call outside is not killed" "no $abi emulation here"
		continue
	fi
	expect_status "$abi system call inside is killed by SIGSYS (159)" 159 sb "$ws" "$PROBE" "$abi"
	expect_output "$abi system call outside is not killed" "^$abi: " "$PROBE" "$abi"
done

# ptrace: a policy key lets debuggers work.
expect_output "ptrace allowed with --allow-ptrace (ESRCH: not traced)" "^ptrace: ESRCH$" \
	sh -c "cd '$ws' && exec '$CORDON' run --allow-ptrace -- '$PROBE' ptrace"

# Real tools.
expect_fail "nested unshare -U fails inside" "Operation not permitted" sb "$ws" unshare -U true
expect_status "nested unshare -U works outside (control)" 0 unshare -U true
expect_fail "unshare -Ur (nested user ns as root) fails inside" "Operation not permitted" \
	sb "$ws" unshare -Ur true
expect_fail "setarch -R (ASLR off) fails inside" "Operation not permitted" sb "$ws" setarch -R true
expect_status "setarch -R works outside (control)" 0 setarch -R true
expect_output "threads work inside (clone3 ENOSYS -> clone fallback)" "^thread ok$" \
	sb "$ws" $PY -c 'import threading; t = threading.Thread(target=print, args=("thread ok",)); t.start(); t.join()'
expect_output "ip (netlink route) works inside" "lo" sb "$ws" ip -o link show
expect_output "seccomp is on inside" "^Seccomp:[[:space:]]+2$" sb "$ws" grep "^Seccomp:" /proc/self/status

# The test switch turns the filter off: proves the probes see the filter.
expect_output "with the filter off (test switch), mount inside gets the kernel's EFAULT" \
	"^mount: EFAULT$" \
	sh -c "cd '$ws' && CORDON_TEST_HOOKS=1 CORDON_TEST_NO_SECCOMP=1 exec '$CORDON' run -- '$PROBE' mount"
expect_output "test switch ignored without CORDON_TEST_HOOKS=1" "^mount: EPERM$" \
	sh -c "cd '$ws' && CORDON_TEST_NO_SECCOMP=1 exec '$CORDON' run -- '$PROBE' mount"

done_testing
