/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's own terminal (child side).
 *
 * When cordon runs in a terminal, the command gets a pseudo-terminal of
 * the sandbox's own devpts instance (mount.c mounts one at /dev/pts, with
 * /dev/ptmx pointing into it), never the user's terminal itself: no
 * ioctl, TIOCSTI or termios change from inside can reach the user's
 * terminal, and the command can still be a session leader with job
 * control. The supervisor relays bytes between the two (supervisor/pty.c).
 *
 * Opened after the id switch, so that the slave belongs to the sandbox
 * user (devpts gives it the opener's fsuid, mode 620) as a login terminal
 * would, and before Landlock and seccomp, which need not allow it. The
 * slave is taken from the master with TIOCGPTPEER (Linux 4.13): no path
 * lookup in /dev/pts that could be raced. Async-signal-safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/child.h"
#include "sandbox/steps.h"

int
sb_pty_open(struct sb_child_ctx *ctx)
{
	int master, slave, unlock = 0, e;

	if (ctx->spec->tty_fds == 0)
		return 0;
	if (ctx->detail != NULL && ctx->detail_len > sizeof("/dev/ptmx"))
		memcpy(ctx->detail, "/dev/ptmx", sizeof("/dev/ptmx"));
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		goto fail;
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto fail;
	/*
	 * Above 2, so that the command's dup2 onto 0, 1, 2 always makes a new,
	 * inheritable fd (cordon may have been started with one of them closed).
	 */
	if (slave <= 2) {
		int moved = fcntl(slave, F_DUPFD_CLOEXEC, 3);

		e = errno;
		close(slave);
		errno = e;
		if (moved < 0)
			goto fail;
		slave = moved;
	}
	if (sb_child_send_fd(ctx, SB_FD_PTY, master) < 0) {
		e = errno;
		close(slave);
		errno = e;
		goto fail;
	}
	close(master);
	ctx->tty_fd = slave;
	return 0;
fail:
	e = errno;
	close(master);
	errno = e;
	return -1;
}
