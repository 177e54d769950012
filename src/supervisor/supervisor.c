/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "proxy/proxy.h"
#include "sandbox/child.h"
#include "supervisor/execaudit.h"
#include "supervisor/join.h"
#include "supervisor/registry.h"
#include "supervisor/supervisor.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void
on_stop_timeout(struct px_loop *loop, struct px_timer *t)
{
	struct sv_supervisor *sv = px_container_of(t, struct sv_supervisor, stop_timer);

	(void)loop;
	if (sv->done)
		return;
	log_warnx("the command did not end within %u.%03u s of %s: killing the sandbox "
		  "(--stop-timeout)",
		  sv->stop_timeout_ms / 1000, sv->stop_timeout_ms % 1000,
		  sv->stop_signal == SIGHUP ? "SIGHUP" : "SIGTERM");
	sv->stop_killed = true;
	/* pid 1 dies, and with it every process of its pid namespace. */
	if (syscall(SYS_pidfd_send_signal, sv->sess.pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		log_warn("kill the sandbox");
}

static void
on_signal(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_supervisor *sv = px_container_of(w, struct sv_supervisor, w_signal);
	struct signalfd_siginfo si;

	(void)events;
	while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		/*
		 * With a terminal of its own, the sandbox learns the new size
		 * from it: the kernel signals the foreground job inside.
		 */
		if (si.ssi_signo == SIGWINCH && sv_pty_active(&sv->pty)) {
			sv_pty_winch(&sv->pty);
			continue;
		}
		/* pidfd_send_signal: no pid reuse race (Linux >= 5.1). */
		if (syscall(SYS_pidfd_send_signal, sv->sess.pidfd, sig, NULL, 0) < 0 &&
		    errno != ESRCH)
			log_warn("relay signal %u", si.ssi_signo);
		if ((sig == SIGTERM || sig == SIGHUP) && sv->stop_signal == 0 && !sv->done) {
			sv->stop_signal = sig;
			log_debug("%s relayed; the sandbox is killed in %u ms unless it ends",
				  sig == SIGHUP ? "SIGHUP" : "SIGTERM", sv->stop_timeout_ms);
			if (px_timer_arm(loop, &sv->stop_timer, sv->stop_timeout_ms) < 0)
				on_stop_timeout(loop, &sv->stop_timer);
		}
	}
}

static void
on_exit_of_sandbox(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_supervisor *sv = px_container_of(w, struct sv_supervisor, w_pidfd);
	siginfo_t si;

	(void)events;
	memset(&si, 0, sizeof(si));
	if (RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)sv->sess.pidfd, &si, WEXITED)) < 0) {
		log_warn("wait for the sandbox");
		sv->exit_status = SB_EXIT_SETUP;
	} else if (si.si_code == CLD_EXITED) {
		sv->exit_status = si.si_status;
	} else {
		/* pid 1 itself killed (OOM killer, SIGKILL from the host). */
		sv->exit_status = 128 + si.si_status;
	}
	sv->done = 1;
	px_loop_del(loop, w);
	px_loop_stop(loop);
}

static void
read_start(struct sv_supervisor *sv)
{
	int status = SB_EXIT_SETUP;
	int r;

	if (sv->start_state != 0)
		return;
	r = sb_read_start(&sv->sess, &status, &sv->start_err);
	sv->start_state = r == 1 ? 1 : -1;
}

static void
on_ctl(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_supervisor *sv = px_container_of(w, struct sv_supervisor, w_ctl);

	(void)events;
	if (sv->start_state == 0) {
		read_start(sv);
		/* Once the command runs, pid 1 reports on joined commands (join.h). */
		if (sv->start_state == 1)
			return;
	} else if (sv->start_state == 1 && sv_join_on_ctl(sv) == 0) {
		return;
	}
	/* EOF follows when pid 1 exits. */
	px_loop_del(loop, w);
	w->fd = -1;
}

int
sv_init(struct sv_supervisor *sv, struct cordon_err *err)
{
	memset(sv, 0, sizeof(*sv));
	sv->sigfd = -1;
	sv->sess.pidfd = sv->sess.ctl_fd = -1;
	for (int k = 0; k < SB_FD__MAX; k++)
		sv->sess.fds[k] = -1;
	sv->w_ctl.fd = -1;
	sv->rootfd = -1;
	sv->stop_timeout_ms = SV_STOP_TIMEOUT_MS;
	px_timer_init(&sv->stop_timer, on_stop_timeout);
	sv_notify_init(&sv->notify);
	sv_pty_init(&sv->pty);
	sv->loop = px_loop_new();
	if (sv->loop == NULL)
		return cordon_err_set(err, errno, "create the event loop");
	return 0;
}

int
sv_block_signals(struct sv_supervisor *sv, struct cordon_err *err)
{
	sigset_t set;

	if (sv->sigfd >= 0)
		return 0;
	sigemptyset(&set);
	for (size_t i = 0; i < sb_n_forwarded_signals; i++)
		sigaddset(&set, sb_forwarded_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return cordon_err_set(err, errno, "block signals");
	sv->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sv->sigfd < 0)
		return cordon_err_set(err, errno, "signalfd");
	if (px_loop_add(sv->loop, &sv->w_signal, sv->sigfd, EPOLLIN, on_signal) < 0)
		return cordon_err_set(err, errno, "watch signals");
	return 0;
}

int
sv_attach(struct sv_supervisor *sv, const struct sb_session *sess, struct cordon_err *err)
{
	sv->sess = *sess;
	if (sv->reg != NULL) {
		struct cordon_err e = { 0 };

		/* The record still serves without it (pid 1 dies with us anyway). */
		if (sv_reg_set_sandbox(sv->reg, sess->pid, &e) < 0)
			log_warnx("session record: %s", e.msg);
	}
	if (sv_block_signals(sv, err) < 0)
		return -1;
	/*
	 * pid 1's root, for the terminals of `cordon exec` (join.c): only now,
	 * while pid 1 is still dumpable, is /proc/PID/root open to us.
	 */
	{
		char root[64];

		snprintf(root, sizeof(root), "/proc/%d/root", (int)sess->pid);
		sv->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sv->rootfd < 0)
			log_debug("%s: open %s: %s", __func__, root, strerror(errno));
	}
	if (px_loop_add(sv->loop, &sv->w_pidfd, sv->sess.pidfd, EPOLLIN, on_exit_of_sandbox) < 0)
		return cordon_err_set(err, errno, "watch the sandbox");
	if (px_loop_add(sv->loop, &sv->w_ctl, sv->sess.ctl_fd, EPOLLIN, on_ctl) < 0)
		return cordon_err_set(err, errno, "watch the sandbox");
	if (sv->sess.fds[SB_FD_NOTIFY] >= 0) {
		int fd = sv->sess.fds[SB_FD_NOTIFY];

		sv->sess.fds[SB_FD_NOTIFY] = -1;
		if (sv_notify_attach(&sv->notify, sv->loop, fd) < 0)
			return cordon_err_set(err, errno, "serve seccomp notifications");
	}
	return 0;
}

int
sv_terminal_start(struct sv_supervisor *sv, bool allow_clipboard, struct cordon_err *err)
{
	int fd = sv->sess.fds[SB_FD_PTY];

	if (fd < 0)
		return 0;
	sv->sess.fds[SB_FD_PTY] = -1;
	return sv_pty_start(&sv->pty, sv->loop, fd, allow_clipboard, err);
}

int
sv_run(struct sv_supervisor *sv)
{
	if (px_loop_run(sv->loop) < 0 && !sv->done) {
		siginfo_t si;

		log_warn("event loop");
		syscall(SYS_pidfd_send_signal, sv->sess.pidfd, SIGKILL, NULL, 0);
		/* nothing inside may outlive the session: the quarantine pass follows */
		(void)RETRY_EINTR(waitid((idtype_t)P_PIDFD, (id_t)sv->sess.pidfd, &si, WEXITED));
		sv_pty_finish(&sv->pty);
		return SB_EXIT_SETUP;
	}
	/* The last output, then the user's terminal as it was, before any message. */
	sv_pty_finish(&sv->pty);
	/* pid 1 may have exited before its start report was read. */
	read_start(sv);
	return sv->exit_status;
}

const char *
sv_end_reason(const struct sv_supervisor *sv)
{
	if (sv->start_state < 0)
		return "not-started";
	return sv->stop_killed ? "stop-timeout" : "exit";
}

void
sv_fini(struct sv_supervisor *sv)
{
	if (sv->loop != NULL)
		px_timer_disarm(sv->loop, &sv->stop_timer);
	sv_pty_finish(&sv->pty);
	/* Pending exec records, before the session's end record. */
	sv_execaudit_finish();
	/* What pid 1 said of joined commands before it ended, then the rest ended with it. */
	while (sv->done && sv->start_state == 1 && sv->sess.ctl_fd >= 0 && sv->joins != NULL &&
	       sv_join_on_ctl(sv) == 0)
		;
	sv_join_fini(sv);
	if (sv->rootfd >= 0)
		close(sv->rootfd);
	sv->rootfd = -1;
	sv_notify_fini(&sv->notify, sv->loop);
	if (sv->sigfd >= 0)
		close(sv->sigfd);
	sv->sigfd = -1;
	if (sv->sess.pidfd >= 0)
		close(sv->sess.pidfd);
	sv->sess.pidfd = -1;
	if (sv->sess.ctl_fd >= 0)
		close(sv->sess.ctl_fd);
	sv->sess.ctl_fd = -1;
	for (int k = 0; k < SB_FD__MAX; k++) {
		if (sv->sess.fds[k] >= 0)
			close(sv->sess.fds[k]);
		sv->sess.fds[k] = -1;
	}
	sv_control_close(&sv->control);
	px_capture_free(sv->capture);
	sv->capture = NULL;
	px_proxy_free(sv->proxy);
	sv->proxy = NULL;
	px_loop_free(sv->loop);
	sv->loop = NULL;
}
