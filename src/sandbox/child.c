/* SPDX-License-Identifier: MIT */
/*
 * pid 1 of the sandbox, and the exec of the command.
 *
 * After the pipeline (sandbox.c) has built the walls, pid 1 forks the
 * command and stays as a tiny init: it reaps every zombie, forwards the
 * signals the supervisor relays, and exits with the command's status as
 * soon as the command ends (the kernel then kills whatever is left in the
 * pid namespace). No allocation, no stdio from clone to exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "sandbox/child.h"
#include "sandbox/steps.h"

/* Signals the supervisor relays and pid 1 forwards to the command. */
const int sb_forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM,
};
const size_t sb_n_forwarded_signals = ARRAY_SIZE(sb_forwarded_signals);

static void
send_msg(int fd, uint32_t type, int step, int err, int pid, const char *detail)
{
	struct sb_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.step = step;
	msg.err = err;
	msg.pid = pid;
	if (detail != NULL) {
		size_t n = strlen(detail);

		if (n >= sizeof(msg.detail))
			n = sizeof(msg.detail) - 1;
		memcpy(msg.detail, detail, n);
	}
	(void)fd_write_all(fd, &msg, sizeof(msg));
}

int
sb_child_send_fd(struct sb_child_ctx *ctx, enum sb_fd_kind kind, int fd)
{
	struct sb_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = SB_MSG_FD;
	msg.step = (int32_t)kind;
	return fd_send(ctx->ctl_fd, fd, &msg, sizeof(msg));
}

int
sb_child_offer_fd(struct sb_child_ctx *ctx, enum sb_fd_kind kind, int fd)
{
	struct sb_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = SB_MSG_FD_OFFER;
	msg.step = (int32_t)kind;
	msg.err = fd;
	if (fd_write_all(ctx->ctl_fd, &msg, sizeof(msg)) < 0)
		return -1;
	if (fd_read_all(ctx->ctl_fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    msg.type != SB_MSG_FD_TAKEN) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

__attribute__((noreturn)) void
sb_child_fail(struct sb_child_ctx *ctx, int step)
{
	send_msg(ctx->ctl_fd, SB_MSG_FAIL, step, errno, 0, ctx->detail);
	_exit(SB_EXIT_SETUP);
}

int
sb_close_fds(int keep, int keep2)
{
	/* Close everything above 2 but the two (Linux >= 5.9 close_range). */
	int k[2] = { keep < keep2 ? keep : keep2, keep < keep2 ? keep2 : keep };
	unsigned lo = 3;

	for (int i = 0; i < 2; i++) {
		if (k[i] < 0 || (unsigned)k[i] < lo)
			continue;
		if ((unsigned)k[i] > lo && syscall(SYS_close_range, lo, (unsigned)k[i] - 1, 0) < 0)
			return -1;
		lo = (unsigned)k[i] + 1;
	}
	return (int)syscall(SYS_close_range, lo, ~0U, 0);
}

/* Value of NAME in envp, or NULL. */
static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * execve said ENOENT for PATH, an existing file: what is missing is the
 * program that runs it, the "#!" line's interpreter or an ELF file's
 * loader (PT_INTERP). Names it in f->interp ("" for an ELF loader) and
 * returns 1, or 0 when PATH itself is missing. No allocation.
 */
static int
missing_interpreter(const char *path, struct sb_exec_fail *f)
{
	char head[sizeof(f->interp) + 2];
	size_t i = 2, o = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n < 0)
		return 0;
	head[n] = '\0';
	f->missing = 1;
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return 1;
	while (head[i] == ' ' || head[i] == '\t')
		i++;
	while (head[i] != '\0' && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' &&
	       o + 1 < sizeof(f->interp))
		f->interp[o++] = head[i++];
	f->interp[o] = '\0';
	return 1;
}

/*
 * execvp without allocation, and with the shell's answer to "which error":
 * ENOENT (127) unless some PATH entry holds a file by that name that could
 * not be run, then that error (126). glibc's execvp reports EACCES when any
 * PATH directory is unreadable, which would turn "not found" into 126.
 * Candidates are looked at with access() first, as shells do: every execve
 * is a round trip to the supervisor (exec audit), and the audit log should
 * show the command's one exec, not every PATH entry tried.
 */
static void
exec_search(char *const *argv, char *const *envp, struct sb_exec_fail *f)
{
	const char *file = argv[0], *path, *p;
	char buf[PATH_MAX];
	int found_err = 0;

	if (strchr(file, '/') != NULL) {
		execve(file, argv, envp);
		if (errno == ENOENT)
			missing_interpreter(file, f);
		return;
	}
	path = env_get(envp, "PATH");
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dl = (size_t)(end - p), fl = strlen(file);

		if (dl == 0) {
			p = ".";
			dl = 1;
		}
		if (dl + 1 + fl + 1 <= sizeof(buf)) {
			memcpy(buf, p, dl);
			buf[dl] = '/';
			memcpy(buf + dl + 1, file, fl + 1);
			if (access(buf, X_OK) == 0) {
				execve(buf, argv, envp);
				if (errno == ENOENT && missing_interpreter(buf, f)) {
					errno = ENOENT;
					return;
				}
			}
			if (errno != ENOENT && errno != ENOTDIR && access(buf, F_OK) == 0 &&
			    found_err == 0)
				found_err = errno;
		}
		if (*end == '\0')
			break;
		p = end;
	}
	errno = found_err ? found_err : ENOENT;
}

static void
noop_handler(int sig)
{
	(void)sig;
}

__attribute__((noreturn)) static void
exec_command(struct sb_child_ctx *ctx, int errfd, const sigset_t *oldmask)
{
	struct sb_exec_fail f;
	struct sigaction sa;

	memset(&f, 0, sizeof(f));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sb_n_forwarded_signals; i++)
		sigaction(sb_forwarded_signals[i], &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/*
	 * A new session: the command never has the user's terminal as its
	 * controlling terminal, so TIOCSTI (which the kernel allows only on
	 * one's controlling tty) cannot push input into the user's shell;
	 * seccomp refuses it as well. With a terminal of its own (pty.c), the
	 * command leads that session on the sandbox's pty: job control, ^C
	 * and ^Z work inside, and the user's terminal is out of its reach.
	 */
	if (setsid() < 0)
		goto fail;
	if (ctx->tty_fd >= 0) {
		if (ioctl(ctx->tty_fd, TIOCSCTTY, 0) < 0)
			goto fail;
		/* Only the fds that were the user's terminal: a redirection stays. */
		for (int k = 0; k < 3; k++)
			if ((ctx->spec->tty_fds & (1u << k)) && dup2(ctx->tty_fd, k) < 0)
				goto fail;
	}
	/* Every fd but 0, 1, 2 closes at exec, including the caller's leaks. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	/*
	 * Dumpable again (inherited from pid 1) so that the supervisor can read
	 * this execve's arguments for the exec audit. Safe: no other process of
	 * the sandbox exists yet to read the memory copied from pid 1, and
	 * execve replaces it.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		goto fail;
	exec_search(ctx->spec->argv, ctx->spec->envp, &f);
fail:
	f.err = errno;
	(void)fd_write_all(errfd, &f, sizeof(f));
	_exit(SB_EXIT_NOT_FOUND);
}

__attribute__((noreturn)) void
sb_child_init(struct sb_child_ctx *ctx)
{
	struct sigaction sa;
	sigset_t set, oldmask;
	struct sb_exec_fail ef;
	int sfd, pipefd[2], e = 0, status;
	pid_t cmd;
	ssize_t n;

	/*
	 * pid 1 drops signals it has no handler for, even when blocked for
	 * signalfd: install a handler, then block and read them.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&set);
	for (size_t i = 0; i < sb_n_forwarded_signals; i++) {
		sigaction(sb_forwarded_signals[i], &sa, NULL);
		sigaddset(&set, sb_forwarded_signals[i]);
	}
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &oldmask) < 0)
		sb_child_fail(ctx, SB_STEP_FORK);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		sb_child_fail(ctx, SB_STEP_FORK);

	/*
	 * Walls are up. The supervisor now attaches what needs pid 1's /proc
	 * entries (its root, for socket paths), then releases us (GO). Only
	 * then does pid 1 become non-dumpable: its memory is a copy of the
	 * supervisor's at clone time, and /proc/1/mem must not be readable by
	 * the command, which runs with the same uid. execve resets it for the
	 * command itself.
	 */
	send_msg(ctx->ctl_fd, SB_MSG_READY, 0, 0, 0, NULL);
	{
		struct sb_msg go;

		if (fd_read_all(ctx->ctl_fd, &go, sizeof(go)) != (ssize_t)sizeof(go) ||
		    go.type != SB_MSG_GO)
			_exit(SB_EXIT_SETUP);
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		sb_child_fail(ctx, SB_STEP_FORK);
	cmd = fork();
	if (cmd < 0)
		sb_child_fail(ctx, SB_STEP_FORK);
	if (cmd == 0) {
		close(pipefd[0]);
		exec_command(ctx, pipefd[1], &oldmask);
	}
	close(pipefd[1]);
	/*
	 * The command holds the terminal now; pid 1 keeps no copy, so that
	 * the terminal's life is the command's session's.
	 */
	if (ctx->tty_fd >= 0)
		close(ctx->tty_fd);
	n = fd_read_all(pipefd[0], &ef, sizeof(ef));
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(ef)) {
		struct sb_msg m;

		/* detail: the command, and after its NUL a missing interpreter */
		memset(&m, 0, sizeof(m));
		m.type = SB_MSG_EXEC_FAIL;
		m.err = ef.err;
		m.step = ef.missing ? SB_EXEC_NO_INTERPRETER : 0;
		e = (int)strnlen(ctx->spec->argv[0], sizeof(m.detail) / 2 - 1);
		memcpy(m.detail, ctx->spec->argv[0], (size_t)e);
		ef.interp[sizeof(ef.interp) - 1] = '\0';
		memcpy(m.detail + e + 1, ef.interp, strlen(ef.interp));
		(void)fd_write_all(ctx->ctl_fd, &m, sizeof(m));
		_exit(ef.err == ENOENT && !ef.missing ? SB_EXIT_NOT_FOUND : SB_EXIT_CANNOT_EXEC);
	}
	send_msg(ctx->ctl_fd, SB_MSG_STARTED, 0, 0, cmd, NULL);

	for (;;) {
		struct signalfd_siginfo si;
		pid_t p;

		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
			if (errno == EINTR)
				continue;
			_exit(SB_EXIT_SETUP);
		}
		if (si.ssi_signo != SIGCHLD) {
			kill(cmd, (int)si.ssi_signo);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd)
				continue;
			if (WIFEXITED(status))
				_exit(WEXITSTATUS(status));
			/*
			 * pid 1 cannot die of the command's signal; report it the
			 * way shells do, 128 + N. The supervisor sees the same.
			 */
			_exit(128 + WTERMSIG(status));
		}
	}
}
