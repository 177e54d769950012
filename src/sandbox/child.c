/* SPDX-License-Identifier: MIT */
/*
 * pid 1 of the sandbox, and the exec of the command.
 *
 * After the pipeline (sandbox.c) has built the walls, pid 1 forks the
 * command and stays as a tiny init: it reaps every zombie, forwards the
 * signals the supervisor relays, and exits with the command's status as
 * soon as the command ends (the kernel then kills whatever is left in the
 * pid namespace). While the command runs it also forks the commands that
 * `cordon exec` joins to the session (supervisor/join.h), which inherit
 * every wall from it; when the supervisor ends the session (SIGTERM,
 * SIGHUP) they get the signal too, and pid 1 waits for them as well, up
 * to the supervisor's grace period. No allocation, no stdio from clone to
 * exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
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

/* What a forked child of pid 1 executes: the command, or a joined one. */
struct exec_what {
	char *const *argv, *const *envp;
	int tty_fd;       /* the terminal to lead, or -1 */
	unsigned tty_fds; /* which of 0, 1, 2 are that terminal */
	const int *stdio; /* a join's 0, 1, 2 (the terminal's slave where it is one), or NULL */
	const char *cwd;  /* a join's working directory, or NULL (the workspace) */
};

__attribute__((noreturn)) static void
exec_command(const struct exec_what *w, int errfd, const sigset_t *oldmask)
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
	/* A join's fds are all above 2 (pid 1 keeps 0, 1, 2): no dup2 clobbers another. */
	for (int k = 0; w->stdio != NULL && k < 3; k++)
		if (dup2(w->stdio[k], k) < 0)
			goto fail;
	if (w->tty_fd >= 0) {
		if (ioctl(w->tty_fd, TIOCSCTTY, 0) < 0)
			goto fail;
		/* Only the fds that were the user's terminal: a redirection stays. */
		for (int k = 0; k < 3; k++)
			if ((w->tty_fds & (1u << k)) && dup2(w->tty_fd, k) < 0)
				goto fail;
	}
	/* Where the client stands, when the sandbox shows it; else the workspace. */
	if (w->cwd != NULL && w->cwd[0] == '/' && chdir(w->cwd) < 0)
		errno = 0; /* not there inside: the workspace, as for the command */
	/* Every fd but 0, 1, 2 closes at exec, including the caller's leaks. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	/*
	 * Dumpable again (inherited from pid 1) so that the supervisor can read
	 * this execve's arguments for the exec audit. For the command, no other
	 * process of the sandbox exists yet to read the memory copied from
	 * pid 1, and execve replaces it. A joined command has company: it is
	 * dumpable for the few instructions from here to its execve.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		goto fail;
	exec_search(w->argv, w->envp, &f);
fail:
	f.err = errno;
	(void)fd_write_all(errfd, &f, sizeof(f));
	_exit(SB_EXIT_NOT_FOUND);
}

/*
 * Wait for the forked child's execve through its CLOEXEC pipe: 0 when it
 * ran, else fill *m as an exec failure report (type left to the caller)
 * and return the status to exit with: 126 or 127.
 */
static int
exec_outcome(int pipe_rd, const char *argv0, struct sb_msg *m)
{
	struct sb_exec_fail ef;
	ssize_t n = fd_read_all(pipe_rd, &ef, sizeof(ef));
	int e;

	close(pipe_rd);
	if (n != (ssize_t)sizeof(ef))
		return 0;
	/* detail: the command, and after its NUL a missing interpreter */
	memset(m, 0, sizeof(*m));
	m->err = ef.err;
	m->step = ef.missing ? SB_EXEC_NO_INTERPRETER : 0;
	e = (int)strnlen(argv0, sizeof(m->detail) / 2 - 1);
	memcpy(m->detail, argv0, (size_t)e);
	ef.interp[sizeof(ef.interp) - 1] = '\0';
	memcpy(m->detail + e + 1, ef.interp, strlen(ef.interp));
	return ef.err == ENOENT && !ef.missing ? SB_EXIT_NOT_FOUND : SB_EXIT_CANNOT_EXEC;
}

/*
 * `cordon exec`: the joined commands pid 1 forked, by join id. Each one
 * runs as the command does, behind every wall pid 1 is behind.
 */
static struct {
	int32_t id;
	pid_t pid;
} joins[SB_JOIN_MAX_ACTIVE];

/* Signal sig to the joined command id, or to every one for id -1. */
static void
join_kill(int32_t id, int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(joins); i++)
		if (joins[i].pid > 0 && (id < 0 || joins[i].id == id))
			kill(joins[i].pid, sig);
}

static bool
joins_alive(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(joins); i++)
		if (joins[i].pid > 0)
			return true;
	return false;
}

/* The request's packet; pid 1 is single-threaded and forks before the next. */
static char join_buf[sizeof(struct sb_msg) + SB_JOIN_PAYLOAD_MAX + 1];
static char *join_argv[SB_JOIN_MAX_ARGS + 1];
/* The session's environment is the scrubbed host one: a few hundred variables at most. */
static char *join_envp[SB_JOIN_MAX_ENV + 4096 + 1];

/*
 * The session's environment with the join's NAME=VALUE in place of its
 * own NAME (TERM, COLUMNS, LINES: the client's terminal), in join_envp.
 */
static void
join_env(char *const *base, char *const *add, size_t n_add)
{
	size_t k = 0;

	for (; base != NULL && *base != NULL && k + n_add < ARRAY_SIZE(join_envp) - 1; base++) {
		size_t l = strcspn(*base, "=");
		bool replaced = false;

		for (size_t j = 0; j < n_add && !replaced; j++)
			replaced = strncmp(add[j], *base, l + 1) == 0;
		if (!replaced)
			join_envp[k++] = *base;
	}
	for (size_t j = 0; j < n_add; j++)
		join_envp[k++] = add[j];
	join_envp[k] = NULL;
}

/*
 * One SB_MSG_JOIN from the supervisor: fork the command with the client's
 * fds and report its start (or why it could not run). Every fd received
 * is closed here; pid 1 keeps none of the client's.
 */
static void
join_start(struct sb_child_ctx *ctx, const sigset_t *oldmask)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { .iov_base = join_buf, .iov_len = sizeof(join_buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct sb_msg hdr, fail;
	struct cmsghdr *c;
	char *add[SB_JOIN_MAX_ENV];
	struct exec_what w = { .tty_fd = -1 };
	int fds[3] = { -1, -1, -1 }, nfds = 0, pipefd[2], slot = -1, status;
	size_t argc = 0, n_add = 0, len;
	ssize_t n;
	pid_t pid;

	n = recvmsg(ctx->ctl_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds > 3)
				nfds = 3;
			memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
		}
	if ((size_t)n < sizeof(hdr))
		goto out;
	memcpy(&hdr, join_buf, sizeof(hdr));
	if (hdr.type == SB_MSG_JOIN_SIGNAL) {
		join_kill(hdr.pid, hdr.err);
		goto out;
	}
	if (hdr.type != SB_MSG_JOIN)
		goto out;
	len = (size_t)n - sizeof(hdr);
	join_buf[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(joins) && slot < 0; i++)
		if (joins[i].pid == 0)
			slot = (int)i;
	if (nfds != 3 || hdr.err < 0 || (size_t)hdr.err != len || slot < 0) {
		send_msg(ctx->ctl_fd, SB_MSG_JOIN_FAIL, 0, slot < 0 ? EAGAIN : EPROTO, hdr.pid,
			 NULL);
		goto out;
	}
	for (char *p = join_buf + sizeof(hdr); p < join_buf + n; p += strlen(p) + 1) {
		if (p[0] == 'a' && argc < SB_JOIN_MAX_ARGS)
			join_argv[argc++] = p + 1;
		else if (p[0] == 'e' && n_add < ARRAY_SIZE(add) && strchr(p, '=') != NULL)
			add[n_add++] = p + 1;
		else if (p[0] == 'c')
			w.cwd = p + 1;
	}
	join_argv[argc] = NULL;
	if (argc == 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		send_msg(ctx->ctl_fd, SB_MSG_JOIN_FAIL, 0, argc == 0 ? EINVAL : errno, hdr.pid,
			 NULL);
		goto out;
	}
	join_env(ctx->spec->envp, add, n_add);
	w.argv = join_argv;
	w.envp = join_envp;
	w.stdio = fds;
	w.tty_fds = (unsigned)hdr.step & 7u;
	for (int k = 0; k < 3 && w.tty_fd < 0; k++)
		if (w.tty_fds & (1u << k))
			w.tty_fd = fds[k];
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		exec_command(&w, pipefd[1], oldmask);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		send_msg(ctx->ctl_fd, SB_MSG_JOIN_FAIL, 0, errno, hdr.pid, NULL);
		goto out;
	}
	status = exec_outcome(pipefd[0], join_argv[0], &fail);
	if (status != 0) {
		/* It exits by itself; the reaper below ignores a pid in no slot. */
		fail.type = SB_MSG_JOIN_FAIL;
		fail.pid = hdr.pid;
		(void)fd_write_all(ctx->ctl_fd, &fail, sizeof(fail));
		goto out;
	}
	joins[slot].id = hdr.pid;
	joins[slot].pid = pid;
	send_msg(ctx->ctl_fd, SB_MSG_JOIN_STARTED, pid, 0, hdr.pid, NULL);
out:
	for (int k = 0; k < nfds; k++)
		close(fds[k]);
}

/* A joined command ended: tell the supervisor (status as the shell reports it). */
static void
join_reaped(int ctl_fd, pid_t p, int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(joins); i++) {
		if (joins[i].pid != p)
			continue;
		send_msg(ctl_fd, SB_MSG_JOIN_EXIT, 0,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			 joins[i].id, NULL);
		joins[i].pid = 0;
		return;
	}
}

__attribute__((noreturn)) void
sb_child_init(struct sb_child_ctx *ctx)
{
	struct sigaction sa;
	sigset_t set, oldmask;
	struct exec_what w = { .argv = ctx->spec->argv,
			       .envp = ctx->spec->envp,
			       .tty_fd = ctx->tty_fd,
			       .tty_fds = ctx->spec->tty_fds };
	struct sb_msg m;
	struct pollfd pfd[2];
	bool ending = false;
	int sfd, pipefd[2], status, end_status = -1;
	pid_t cmd;

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
		exec_command(&w, pipefd[1], &oldmask);
	}
	close(pipefd[1]);
	/*
	 * The command holds the terminal now; pid 1 keeps no copy, so that
	 * the terminal's life is the command's session's.
	 */
	if (ctx->tty_fd >= 0)
		close(ctx->tty_fd);
	status = exec_outcome(pipefd[0], ctx->spec->argv[0], &m);
	if (status != 0) {
		m.type = SB_MSG_EXEC_FAIL;
		(void)fd_write_all(ctx->ctl_fd, &m, sizeof(m));
		_exit(status);
	}
	send_msg(ctx->ctl_fd, SB_MSG_STARTED, 0, 0, cmd, NULL);

	/*
	 * Signals, and `cordon exec` requests from the supervisor. A closed
	 * control socket (the supervisor is gone) leaves only the signals.
	 */
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = ctx->ctl_fd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;
		pid_t p;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(SB_EXIT_SETUP);
		}
		if (pfd[1].revents & (POLLHUP | POLLERR))
			pfd[1].fd = -1;
		else if (pfd[1].revents & POLLIN)
			join_start(ctx, &oldmask);
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
			if (errno == EINTR)
				continue;
			_exit(SB_EXIT_SETUP);
		}
		if (si.ssi_signo != SIGCHLD) {
			if (cmd > 0)
				kill(cmd, (int)si.ssi_signo);
			/*
			 * The session is being ended (`cordon stop`, a hangup): joined
			 * commands get the same chance to finish as the command, up to
			 * the supervisor's grace period for the whole sandbox. Only
			 * when the supervisor says so (a sender outside our pid
			 * namespace reads as pid 0, and kill() as SI_USER, which
			 * rt_sigqueueinfo from inside cannot forge): a process inside must not keep
			 * the sandbox up past its command, with no grace period armed.
			 */
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) &&
			    si.ssi_pid == 0 && si.ssi_code == SI_USER) {
				join_kill(-1, (int)si.ssi_signo);
				ending = true;
			}
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd) {
				join_reaped(ctx->ctl_fd, p, status);
			} else {
				/*
				 * pid 1 cannot die of the command's signal; report it the
				 * way shells do, 128 + N. The supervisor sees the same.
				 */
				end_status = WIFEXITED(status) ? WEXITSTATUS(status)
							       : 128 + WTERMSIG(status);
				cmd = -1;
			}
			/* Otherwise the command's end is the sandbox's end. */
			if (end_status >= 0 && (!ending || !joins_alive()))
				_exit(end_status);
		}
	}
}
