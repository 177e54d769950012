/* SPDX-License-Identifier: MIT */
/*
 * seccomp: the second wall. The filter is compiled with libseccomp in the
 * supervisor (libseccomp allocates) and loaded in the child with one
 * syscall, last before exec.
 *
 * Default allow, deny list answering EPERM. Foreign architectures (x32,
 * i386 on x86_64) are killed: their syscall numbers would slip past a list
 * written for the native ABI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/steps.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

static int
add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
	 const struct scmp_arg_cmp *cmp, struct cordon_err *err)
{
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	/* A syscall this architecture does not have is not an error. */
	if (r < 0 && r != -EDOM && r != -EFAULT)
		return cordon_err_set(err, -r, "seccomp rule for syscall %d", nr);
	return 0;
}

int
sb_seccomp_compile(const struct sb_spec *spec, struct sock_fprog *prog, struct cordon_err *err)
{
	scmp_filter_ctx ctx;
	int r;

	(void)spec;
	memset(prog, 0, sizeof(*prog));
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return cordon_err_set(err, ENOMEM, "seccomp_init");
	/* Syscalls from another ABI than the native one: kill the process. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		goto fail;

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
		    add_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, &lnx, err) < 0) {
			seccomp_release(ctx);
			return -1;
		}
	}

	r = sb_bpf_export(ctx, prog, err);
	seccomp_release(ctx);
	return r;
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

int
sb_seccomp_apply(struct sb_child_ctx *ctx)
{
	const struct sock_fprog *prog = ctx->seccomp_prog;

	if (prog == NULL || prog->len == 0) {
		errno = EINVAL;
		return -1;
	}
	/* TSYNC: no thread exists here, but it costs nothing to be sure. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog);
}
