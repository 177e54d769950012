/* SPDX-License-Identifier: MIT */
/*
 * The seccomp user-notification filter: the syscalls the supervisor wants
 * to see (execve for the exec audit; connect, sendto with a destination,
 * sendmsg and sendmmsg for the unix-socket policy). A
 * process tree may have only one filter with a listener (the kernel answers
 * EBUSY to a second), so every feature shares this one; the supervisor
 * dispatches by syscall number (supervisor/notify.c).
 *
 * Compiled with libseccomp in the supervisor, loaded in the child after the
 * deny filter with SECCOMP_FILTER_FLAG_NEW_LISTENER; the listener fd goes to
 * the supervisor before the command is forked, so the command's own execve
 * is already seen.
 *
 * "Continue" answers are not security decisions: the kernel re-reads the
 * arguments after the answer (another thread can swap a path in between),
 * so a handler that enforces must do the call itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/steps.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SB_WAIT_KILLABLE_RECV (1UL << 5)
#else
#define SB_WAIT_KILLABLE_RECV SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#endif

/* Export a libseccomp filter into prog (malloc'd). 0 or -1 with err. */
int
sb_bpf_export(void *scmp_ctx, struct sock_fprog *prog, struct cordon_err *err)
{
	_cleanup_close_ int memfd = memfd_create("cordon-seccomp", MFD_CLOEXEC);
	off_t size;
	int r;

	if (memfd < 0)
		return cordon_err_set(err, errno, "memfd_create");
	r = seccomp_export_bpf(scmp_ctx, memfd);
	if (r < 0)
		return cordon_err_set(err, -r, "export seccomp filter");
	size = lseek(memfd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return cordon_err_set(err, EINVAL, "seccomp: exported filter has bad size");
	prog->filter = malloc((size_t)size);
	if (prog->filter == NULL)
		return cordon_err_set(err, ENOMEM, "seccomp filter");
	if (pread(memfd, prog->filter, (size_t)size, 0) != size) {
		free(prog->filter);
		prog->filter = NULL;
		return cordon_err_set(err, EIO, "seccomp: read back filter");
	}
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

int
sb_notify_compile(const struct sb_spec *spec, struct sock_fprog *prog, struct cordon_err *err)
{
	/*
	 * The unix-socket gate sees every call that can name a destination:
	 * connect, sendmsg and sendmmsg (the address is in memory, out of a
	 * filter's sight), and sendto only with one (argument 4, a pointer the
	 * kernel reads whole): send() and write() on a connected socket, and
	 * sendto(..., NULL, 0), stay in the kernel with no round trip.
	 */
	static const struct {
		uint32_t feature;
		const char *name;
		int dest_arg; /* notify only when this argument is not 0; -1: always */
	} calls[] = {
		{ SB_NOTIFY_EXEC, "execve", -1 },
		{ SB_NOTIFY_EXEC, "execveat", -1 },
		/* the exec audit reads what ran while the process ends (exectrack.c) */
		{ SB_NOTIFY_EXEC, "exit_group", -1 },
		{ SB_NOTIFY_CONNECT, "connect", -1 },
		{ SB_NOTIFY_CONNECT, "sendto", 4 },
		{ SB_NOTIFY_CONNECT, "sendmsg", -1 },
		{ SB_NOTIFY_CONNECT, "sendmmsg", -1 },
	};
	scmp_filter_ctx ctx;
	int r;

	memset(prog, 0, sizeof(*prog));
	if (spec->notify == 0)
		return 0;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return cordon_err_set(err, ENOMEM, "seccomp_init");
	/* Foreign architectures are killed by the deny filter. */
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		int nr;

		if (!(spec->notify & calls[i].feature))
			continue;
		nr = seccomp_syscall_resolve_name(calls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (calls[i].dest_arg >= 0) {
			struct scmp_arg_cmp c = { .arg = (unsigned)calls[i].dest_arg,
						  .op = SCMP_CMP_NE,
						  .datum_a = 0 };

			r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, 1, &c);
		} else {
			r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
		}
		if (r < 0) {
			seccomp_release(ctx);
			return cordon_err_set(err, -r, "seccomp notify rule for %s", calls[i].name);
		}
	}
	r = sb_bpf_export(ctx, prog, err);
	seccomp_release(ctx);
	return r;
}

int
sb_notify_apply(struct sb_child_ctx *ctx)
{
	const struct sock_fprog *prog = ctx->notify_prog;
	int fd, r;

	if (prog == NULL || prog->len == 0)
		return 0;
	/*
	 * WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has read a
	 * notification, only a fatal signal ends the caller's wait. Otherwise
	 * a signal can cut the wait after the supervisor made the call (even
	 * as its answer goes out), and the kernel restarts it: a send would go
	 * twice. Older kernels: the supervisor answers a restart from memory
	 * where it can tell (supervisor/unixsend.c).
	 */
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SB_WAIT_KILLABLE_RECV, prog);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
	if (fd < 0)
		return -1;
	/*
	 * sendmsg is trapped from here on, and its notification would wait
	 * for a supervisor that has no listener yet: offer the fd by number.
	 */
	r = sb_child_offer_fd(ctx, SB_FD_NOTIFY, fd);
	close(fd);
	return r;
}
