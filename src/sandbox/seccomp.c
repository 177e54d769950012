/* SPDX-License-Identifier: MIT */
/*
 * seccomp: the second wall. The filter is compiled with libseccomp in the
 * supervisor (libseccomp allocates) and loaded in the child with one
 * syscall, last before exec.
 *
 * Default allow, with a deny list. The answer is EPERM, except where
 * callers probe for a feature and fall back when the kernel lacks it: those
 * get ENOSYS (clone3 -> the C library falls back to clone, whose flags a
 * filter can see; io_uring -> runtimes fall back to epoll/threads).
 *
 * Foreign architectures (i386 on x86_64) and the x32 ABI are killed: their
 * syscall numbers would slip past a list written for the native ABI.
 *
 * Set-uid and set-gid bits cannot be set from inside: chmod, fchmod,
 * fchmodat and fchmodat2 with a mode carrying 04000 or 02000, and open,
 * openat, creat, mkdir, mkdirat, mknod, mknodat creating with such a mode,
 * get EPERM. The command's files land on the host (when root invoked
 * cordon, owned by root through an idmapped mount or kernel uid 0), and a
 * set-uid root file left in the workspace would run as root for whoever
 * starts it later. openat2 passes its mode in memory, out of a filter's
 * sight: it gets ENOSYS, to which callers (glibc does not use it) fall back
 * with openat. The mounts inside are nosuid as well, so such a bit never
 * works inside.
 *
 * personality() is checked by a second, hand-written filter (see
 * personality_filter below): libseccomp cannot say "this bit set, and the
 * value is not the 0xffffffff query" in one rule.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/steps.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NETLINK_ROUTE
#define NETLINK_ROUTE 0
#endif
/* Highest address family allowed (AF_NETLINK); everything above is refused. */
#define SB_AF_LAST AF_NETLINK

struct deny {
	const char *name;
	int err;
};

/* Whole syscalls refused. */
static const struct deny deny_list[] = {
	/* mount family, old and new API: the mount tree is the first wall */
	{ "mount", EPERM },
	{ "umount", EPERM },
	{ "umount2", EPERM },
	{ "fsopen", EPERM },
	{ "fsconfig", EPERM },
	{ "fsmount", EPERM },
	{ "fspick", EPERM },
	{ "move_mount", EPERM },
	{ "open_tree", EPERM },
	{ "mount_setattr", EPERM },
	{ "pivot_root", EPERM },
	/* kernel attack surface with a long CVE history */
	{ "bpf", EPERM },
	{ "perf_event_open", EPERM },
	{ "userfaultfd", EPERM },
	{ "keyctl", EPERM },
	{ "add_key", EPERM },
	{ "request_key", EPERM },
	{ "io_uring_setup", ENOSYS },
	{ "io_uring_enter", ENOSYS },
	{ "io_uring_register", ENOSYS },
	/* the machine itself */
	{ "kexec_load", EPERM },
	{ "kexec_file_load", EPERM },
	{ "init_module", EPERM },
	{ "finit_module", EPERM },
	{ "delete_module", EPERM },
	{ "swapon", EPERM },
	{ "swapoff", EPERM },
	{ "reboot", EPERM },
	{ "acct", EPERM },
	{ "quotactl", EPERM },
	{ "quotactl_fd", EPERM },
	/* other namespaces: joining is never needed inside */
	{ "setns", EPERM },
	/*
	 * clone3 passes its flags in memory, out of a filter's sight. ENOSYS
	 * makes glibc (>= 2.34) and musl fall back to clone, checked below.
	 */
	{ "clone3", ENOSYS },
};

/* Namespace flags refused in clone and unshare: no nested namespaces. */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
};

static int
add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp,
	 struct cordon_err *err)
{
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	/* A syscall this architecture does not have is not an error. */
	if (r < 0 && r != -EDOM && r != -EFAULT)
		return cordon_err_set(err, -r, "seccomp rule for syscall %d", nr);
	return 0;
}

static int
add_named(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
	  const struct scmp_arg_cmp *cmp, struct cordon_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Unknown to this libseccomp or absent on this architecture. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	if (add_rule(ctx, action, nr, n, cmp, err) < 0)
		return cordon_err_wrap(err, "%s", name);
	return 0;
}

/* clone / unshare with any namespace flag: one rule per flag bit. */
static int
add_ns_rules(scmp_filter_ctx ctx, struct cordon_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_flags); i++) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);

		if (add_named(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &c, err) < 0 ||
		    add_named(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, &c, err) < 0)
			return -1;
	}
	/* CLONE_NEWTIME shares its bit with the exit signal in clone(): unshare only. */
	{
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWTIME, CLONE_NEWTIME);

		if (add_named(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, &c, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * socket(): unix, inet, inet6, and netlink with NETLINK_ROUTE only (ip,
 * getifaddrs). Everything else (packet, vsock, bluetooth, alg, ...) is
 * refused: each family number below AF_NETLINK that is not allowed, and
 * any value above it, compared on all 64 bits, so a value with high bits
 * set (which the kernel would read as an int) is refused outright.
 */
static int
add_socket_rules(scmp_filter_ctx ctx, struct cordon_err *err)
{
	for (int af = 0; af <= SB_AF_LAST; af++) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)af);

		if (af == AF_UNIX || af == AF_INET || af == AF_INET6 || af == AF_NETLINK)
			continue;
		if (add_named(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &c, err) < 0)
			return -1;
	}
	{
		struct scmp_arg_cmp big = SCMP_A0(SCMP_CMP_GT, SB_AF_LAST, 0);
		struct scmp_arg_cmp nl[2] = {
			SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
			SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE, 0),
		};

		if (add_named(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 1, &big, err) < 0 ||
		    add_named(ctx, SCMP_ACT_ERRNO(EPERM), "socket", 2, nl, err) < 0)
			return -1;
	}
	return 0;
}

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif
/* fchmodat2 (Linux 6.6): the same number on every architecture. */
#define SB_NR_FCHMODAT2 452
/* openat2 (Linux 5.6): likewise. */
#define SB_NR_OPENAT2 437

/*
 * Refuse syscall nr when argument mode_arg carries a set-id bit, and (when
 * flags_arg >= 0) argument flags_arg has O_CREAT or __O_TMPFILE. Modes are
 * umode_t in the kernel: only the low bits count, which a mask compares.
 */
static int
add_setid_rule(scmp_filter_ctx ctx, int nr, unsigned mode_arg, int flags_arg,
	       struct cordon_err *err)
{
	static const unsigned long bits[] = { S_ISUID, S_ISGID };
	static const unsigned long creat[] = { O_CREAT, __O_TMPFILE };

	for (size_t b = 0; b < ARRAY_SIZE(bits); b++) {
		struct scmp_arg_cmp c[2];

		c[0] = (struct scmp_arg_cmp){ .arg = mode_arg,
					      .op = SCMP_CMP_MASKED_EQ,
					      .datum_a = bits[b],
					      .datum_b = bits[b] };
		if (flags_arg < 0) {
			if (add_rule(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, c, err) < 0)
				return -1;
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(creat); k++) {
			c[1] = (struct scmp_arg_cmp){ .arg = (unsigned)flags_arg,
						      .op = SCMP_CMP_MASKED_EQ,
						      .datum_a = creat[k],
						      .datum_b = creat[k] };
			if (add_rule(ctx, SCMP_ACT_ERRNO(EPERM), nr, 2, c, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
add_setid_rules(scmp_filter_ctx ctx, struct cordon_err *err)
{
	static const struct {
		const char *name;
		unsigned mode_arg;
		int flags_arg;
	} calls[] = {
		{ "chmod", 1, -1 },   { "fchmod", 1, -1 },  { "fchmodat", 2, -1 },
		{ "mkdir", 1, -1 },   { "mkdirat", 2, -1 }, { "mknod", 1, -1 },
		{ "mknodat", 2, -1 }, { "creat", 1, -1 },   { "open", 2, 1 },
		{ "openat", 3, 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		int nr = seccomp_syscall_resolve_name(calls[i].name);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture (open, creat on arm64) */
		if (add_setid_rule(ctx, nr, calls[i].mode_arg, calls[i].flags_arg, err) < 0)
			return cordon_err_wrap(err, "%s", calls[i].name);
	}
	/* Older libseccomp does not know fchmodat2 by name: by number. */
	if (add_setid_rule(ctx, SB_NR_FCHMODAT2, 2, -1, err) < 0)
		return cordon_err_wrap(err, "fchmodat2");
	if (add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SB_NR_OPENAT2, 0, NULL, err) < 0)
		return cordon_err_wrap(err, "openat2");
	return 0;
}

int
sb_seccomp_compile(const struct sb_spec *spec, struct sock_fprog *prog, struct cordon_err *err)
{
	scmp_filter_ctx ctx;
	int r;

	memset(prog, 0, sizeof(*prog));
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return cordon_err_set(err, ENOMEM, "seccomp_init");
	/* Syscalls from another ABI than the native one: kill the process. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		goto fail;
	/*
	 * A binary tree over syscall numbers (libseccomp >= 2.5) instead of a
	 * linear list: every syscall of every program inside runs this filter,
	 * and a compiler makes millions. Only the layout changes, not a rule.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	for (size_t i = 0; i < ARRAY_SIZE(deny_list); i++)
		if (add_named(ctx, SCMP_ACT_ERRNO((uint32_t)deny_list[i].err), deny_list[i].name, 0,
			      NULL, err) < 0)
			goto fail_err;
	if (!spec->allow_ptrace &&
	    add_named(ctx, SCMP_ACT_ERRNO(EPERM), "ptrace", 0, NULL, err) < 0)
		goto fail_err;
	if (add_ns_rules(ctx, err) < 0 || add_socket_rules(ctx, err) < 0 ||
	    add_setid_rules(ctx, err) < 0)
		goto fail_err;

	/*
	 * ioctl(fd, TIOCSTI/TIOCLINUX, ...): pushing characters into the
	 * terminal's input queue runs them in the user's shell after cordon
	 * exits. The command argument is an unsigned int in the kernel, so
	 * compare only the low 32 bits: a value with high bits set would pass
	 * an exact 64-bit comparison and still reach the tty code.
	 */
	{
		struct scmp_arg_cmp sti = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI);
		struct scmp_arg_cmp lnx = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX);

		if (add_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, &sti, err) < 0 ||
		    add_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, &lnx, err) < 0)
			goto fail_err;
	}

	r = sb_bpf_export(ctx, prog, err);
	seccomp_release(ctx);
	return r;
fail_err:
	seccomp_release(ctx);
	return -1;
fail:
	seccomp_release(ctx);
	return cordon_err_set(err, -r, "seccomp filter");
}

void
sb_seccomp_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

/*
 * personality(2): allow only the values Docker's profile allows (PER_LINUX,
 * PER_LINUX32, UNAME26 and their mix) and the 0xffffffff query. Anything
 * else, above all ADDR_NO_RANDOMIZE (`setarch -R`, which turns ASLR off for
 * what runs next) and READ_IMPLIES_EXEC, gets EPERM. The kernel reads the
 * argument as an unsigned int; a value with high bits set is refused.
 * Static, no allocation: loaded in the child as is.
 */
#if defined(__x86_64__)
#define SB_NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SB_NATIVE_ARCH
#define SD_ARG0_LO (offsetof(struct seccomp_data, args[0]))
#define SD_ARG0_HI (offsetof(struct seccomp_data, args[0]) + 4)
static struct sock_filter personality_insns[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_NATIVE_ARCH, 0, 11),
	/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 9),
	/* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_ARG0_HI),
	/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6),
	/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_ARG0_LO),
	/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0, 5, 0),
	/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8, 4, 0),
	/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20000, 3, 0),
	/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20008, 2, 0),
	/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 1, 0),
	/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	/* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static const struct sock_fprog personality_filter = {
	.len = (unsigned short)ARRAY_SIZE(personality_insns),
	.filter = personality_insns,
};
#endif

int
sb_seccomp_send(int ctl_fd, int which, const struct sock_fprog *prog)
{
	struct sb_msg h;
	struct iovec iov[2];
	struct msghdr mh;
	size_t len = prog->len * sizeof(struct sock_filter);

	memset(&h, 0, sizeof(h));
	h.type = SB_MSG_FILTER;
	h.step = which;
	h.err = prog->len;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = prog->filter;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	return sendmsg(ctl_fd, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len) ? 0 : -1;
}

/*
 * Child: the two programs, in order, each one whole SOCK_SEQPACKET message.
 * Anything else (the supervisor gone, a short or foreign message) fails
 * the step: no command runs without its filter.
 */
static int
recv_filters(struct sb_child_ctx *ctx)
{
	static struct {
		struct sb_msg h;
		struct sock_filter f[BPF_MAXINSNS];
	} m[2];
	static struct sock_fprog progs[2];

	for (int i = 0; i < 2; i++) {
		ssize_t n = recv(ctx->ctl_fd, &m[i], sizeof(m[i]), MSG_TRUNC);

		if (n < (ssize_t)sizeof(m[i].h) || n > (ssize_t)sizeof(m[i]) ||
		    m[i].h.type != SB_MSG_FILTER || m[i].h.step != i || m[i].h.err < 0 ||
		    m[i].h.err > BPF_MAXINSNS ||
		    (size_t)n != sizeof(m[i].h) + (size_t)m[i].h.err * sizeof(struct sock_filter)) {
			errno = n == 0 ? EPIPE : EPROTO;
			return -1;
		}
		progs[i].len = (unsigned short)m[i].h.err;
		progs[i].filter = m[i].f;
	}
	/* the exec audit and connect policy must not vanish with an empty program */
	if (ctx->spec->notify != 0 && progs[1].len == 0) {
		errno = EPROTO;
		return -1;
	}
	ctx->seccomp_prog = &progs[0];
	ctx->notify_prog = progs[1].len > 0 ? &progs[1] : NULL;
	return 0;
}

int
sb_seccomp_apply(struct sb_child_ctx *ctx)
{
	const struct sock_fprog *prog;

	if (recv_filters(ctx) < 0)
		return -1;
	prog = ctx->seccomp_prog;
	if (ctx->spec->test_flags & SB_TEST_NO_SECCOMP)
		return 0;
	if (prog == NULL || prog->len == 0) {
		errno = EINVAL;
		return -1;
	}
#ifdef SB_NATIVE_ARCH
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
		    &personality_filter) < 0)
		return -1;
#endif
	/* TSYNC: no thread exists here, but it costs nothing to be sure. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog);
}
