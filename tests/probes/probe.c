/* SPDX-License-Identifier: MIT */
/*
 * cordon-probe NAME: make one system call the sandbox's seccomp filter
 * refuses, and print "NAME: ok" or "NAME: <ERRNO>" (e.g. "mount: EPERM").
 *
 * Each call is made with arguments the kernel itself rejects with another
 * error (EFAULT, EINVAL, EBADF, ...) before it would do anything, so the
 * probe is harmless outside the sandbox, even as root, and the answer tells
 * the filter (EPERM/ENOSYS before the kernel looks at the arguments) from
 * the kernel. `cordon-probe list` prints the names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef NETLINK_KOBJECT_UEVENT
#define NETLINK_KOBJECT_UEVENT 15
#endif

static long
p_clone_newuser(void)
{
	long pid = syscall(SYS_clone, (unsigned long)CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid < 0 ? -1 : 0;
}

static long
p_clone_newns(void)
{
	long pid = syscall(SYS_clone, (unsigned long)CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid < 0 ? -1 : 0;
}

static long
p_socket(int af, int type, int proto)
{
	int fd = socket(af, type, proto);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

static long
p_socket_hibits(void)
{
	/* AF_INET with a high bit set: the kernel reads an int and sees AF_INET. */
	long fd = syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_STREAM, 0);

	if (fd >= 0)
		close((int)fd);
	return fd < 0 ? -1 : 0;
}

static long
p_x32(void)
{
	/* x32 ABI number of getpid: the filter kills the process (SIGSYS). */
	return syscall(0x40000000L | SYS_getpid);
}

static long
p_i386(void)
{
#if defined(__x86_64__)
	long ret;

	/* i386 getpid (20) through int 0x80: a foreign architecture. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return 0;
#else
	errno = ENOSYS;
	return -1;
#endif
}

static const char *const names[] = {
	"mount",
	"umount2",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"move_mount",
	"open_tree",
	"mount_setattr",
	"pivot_root",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"keyctl",
	"add_key",
	"request_key",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"swapon",
	"swapoff",
	"reboot",
	"acct",
	"quotactl",
	"quotactl_fd",
	"setns",
	"unshare-user",
	"unshare-net",
	"clone-newuser",
	"clone-newnet",
	"clone3",
	"ioctl-tiocsti",
	"ioctl-tiocsti-hibits",
	"ioctl-tioclinux",
	"personality-norandom",
	"personality-readexec",
	"personality-query",
	"personality-linux",
	"socket-vsock",
	"socket-packet",
	"socket-netlink-uevent",
	"socket-hibits",
	"socket-unix",
	"socket-inet",
	"socket-inet6",
	"socket-netlink-route",
	"ptrace",
	"x32",
	"i386",
};

/* Run probe name; returns the call's result (-1 with errno) or -2 when unknown. */
static long
run(const char *name)
{
#define P(n, expr)                                                                                 \
	if (strcmp(name, n) == 0)                                                                  \
	return (long)(expr)
	P("mount", syscall(SYS_mount, NULL, NULL, NULL, 0, NULL));
	P("umount2", syscall(SYS_umount2, "/nonexistent-cordon-probe", 0xffff));
	P("fsopen", syscall(SYS_fsopen, "cordon-no-such-fs", 0));
	P("fsconfig", syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
	P("fsmount", syscall(SYS_fsmount, -1, 0xffff, 0));
	P("fspick", syscall(SYS_fspick, -1, "", 0xffff));
	P("move_mount", syscall(SYS_move_mount, -1, "", -1, "", 0xffff));
	P("open_tree", syscall(SYS_open_tree, -1, "", 0xffff));
	P("mount_setattr", syscall(SYS_mount_setattr, -1, "", 0xffff, NULL, 0));
	P("pivot_root", syscall(SYS_pivot_root, NULL, NULL));
	P("bpf", syscall(SYS_bpf, 0x7fff, NULL, 0));
	P("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	P("userfaultfd", syscall(SYS_userfaultfd, 1 | 0x40000000));
	P("keyctl", syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
	P("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
	P("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));
	P("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
	P("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
	P("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
	P("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL));
	P("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xffff0000UL));
	P("init_module", syscall(SYS_init_module, NULL, 0, NULL));
	P("finit_module", syscall(SYS_finit_module, -1, "", 0xffff));
	P("delete_module", syscall(SYS_delete_module, NULL, 0));
	P("swapon", syscall(SYS_swapon, NULL, 0xffffffffU));
	P("swapoff", syscall(SYS_swapoff, NULL));
	P("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	P("acct", syscall(SYS_acct, "/nonexistent-cordon-probe/acct"));
	P("quotactl", syscall(SYS_quotactl, 0xffffffffU, NULL, 0, NULL));
	P("quotactl_fd", syscall(SYS_quotactl_fd, -1, 0xffffffffU, 0, NULL));
	P("setns", syscall(SYS_setns, -1, 0));
	P("unshare-user", syscall(SYS_unshare, CLONE_NEWUSER));
	P("unshare-net", syscall(SYS_unshare, CLONE_NEWNET));
	P("clone-newuser", p_clone_newuser());
	P("clone-newnet", p_clone_newns());
	P("clone3", syscall(SYS_clone3, NULL, 0));
	P("ioctl-tiocsti", syscall(SYS_ioctl, -1, TIOCSTI, "x"));
	P("ioctl-tiocsti-hibits", syscall(SYS_ioctl, -1, (1UL << 32) | TIOCSTI, "x"));
	P("ioctl-tioclinux", syscall(SYS_ioctl, -1, 0x541C, "x"));
	P("personality-norandom", syscall(SYS_personality, ADDR_NO_RANDOMIZE));
	P("personality-readexec", syscall(SYS_personality, READ_IMPLIES_EXEC));
	P("personality-query", syscall(SYS_personality, 0xffffffffUL));
	P("personality-linux", syscall(SYS_personality, PER_LINUX));
	P("socket-vsock", p_socket(AF_VSOCK, SOCK_STREAM, 0));
	P("socket-packet", p_socket(AF_PACKET, SOCK_DGRAM, 0));
	P("socket-netlink-uevent", p_socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT));
	P("socket-hibits", p_socket_hibits());
	P("socket-unix", p_socket(AF_UNIX, SOCK_STREAM, 0));
	P("socket-inet", p_socket(AF_INET, SOCK_STREAM, 0));
	P("socket-inet6", p_socket(AF_INET6, SOCK_DGRAM, 0));
	P("socket-netlink-route", p_socket(AF_NETLINK, SOCK_RAW, 0));
	P("ptrace", syscall(SYS_ptrace, PTRACE_PEEKDATA, getpid(), NULL, NULL));
	P("x32", p_x32());
	P("i386", p_i386());
#undef P
	return -2;
}

int
main(int argc, char **argv)
{
	long r;
	int e;

	if (argc != 2) {
		fprintf(stderr, "usage: cordon-probe NAME|list\n");
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			printf("%s\n", names[i]);
		return 0;
	}
	errno = 0;
	r = run(argv[1]);
	e = errno;
	if (r == -2) {
		fprintf(stderr, "cordon-probe: no probe named %s\n", argv[1]);
		return 2;
	}
	if (r >= 0)
		printf("%s: ok\n", argv[1]);
	else
		printf("%s: %s\n", argv[1], strerrorname_np(e) ? strerrorname_np(e) : "?");
	return 0;
}
