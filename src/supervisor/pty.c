/* SPDX-License-Identifier: MIT */
/*
 * Relay between the user's terminal and the sandbox's pseudo-terminal
 * (see supervisor/pty.h).
 *
 * Three watches on the supervisor's loop: the user's input (fd 0), the
 * user's output (fd 1) and the pty master. Each direction has one bounded
 * buffer; a full buffer stops reading its source until the sink drains,
 * so a slow terminal slows the sandbox's writes (the pty's own buffer
 * fills and the writer blocks) instead of growing memory. All three fds
 * are non-blocking; fds 0 and 1 share their open file description with
 * the user's shell, so their flags are restored with the terminal
 * settings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "supervisor/pty.h"

/* How long the end of a session waits for the last output to move. */
#define DRAIN_READ_MS  100
#define DRAIN_WRITE_MS 1000

static const int job_signals[] = { SIGTSTP, SIGTTIN, SIGTTOU };

/*
 * What to undo on the user's terminal. Process-wide, because atexit()
 * handlers take no argument; one session per process.
 */
static struct {
	pid_t pid; /* the process that changed the terminal; 0: nothing to undo */
	int tty_fd;
	struct termios saved;
	int fl_fd[2], fl[2]; /* fds whose O_NONBLOCK we set, with their old flags */
	bool atexit_armed;
	struct sigaction old_sig[3];
	bool sig_saved;
} undo = { .fl_fd = { -1, -1 } };

/* Give the user's terminal back its settings and flags. Async-signal-safe. */
static void
undo_terminal(void)
{
	int saved = errno;

	/* A child forked later (and exiting) must not reset the session's terminal. */
	if (undo.pid == 0 || undo.pid != getpid())
		return;
	(void)tcsetattr(undo.tty_fd, TCSANOW, &undo.saved);
	/*
	 * Last set, first undone: fds 0 and 1 usually share one open file
	 * description, and the flags saved for fd 1 already have O_NONBLOCK.
	 */
	for (int i = 1; i >= 0; i--)
		if (undo.fl_fd[i] >= 0) {
			(void)fcntl(undo.fl_fd[i], F_SETFL, undo.fl[i]);
			undo.fl_fd[i] = -1;
		}
	undo.pid = 0;
	errno = saved;
}

static bool
same_terminal(int a, int b)
{
	struct stat sa, sb;

	return isatty(a) && isatty(b) && fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       S_ISCHR(sa.st_mode) && sa.st_rdev == sb.st_rdev;
}

uint8_t
sv_pty_wanted(void)
{
	pid_t fg;

	if (!same_terminal(0, 1))
		return 0;
	/*
	 * In the background (`cordon run ... &`) the terminal belongs to the
	 * shell: raw mode and reading it would fight the user's shell.
	 */
	fg = tcgetpgrp(0);
	if (fg < 0 || fg != getpgrp())
		return 0;
	return (uint8_t)(1u << 0 | 1u << 1 | (same_terminal(0, 2) ? 1u << 2 : 0));
}

void
sv_pty_init(struct sv_pty *p)
{
	memset(p, 0, sizeof(*p));
	p->master = p->in_fd = p->out_fd = -1;
	p->w_master.fd = p->w_in.fd = p->w_out.fd = -1;
	sv_osc_filter_init(&p->filter);
}

bool
sv_pty_active(const struct sv_pty *p)
{
	return p->master >= 0;
}

static void
watch_end(struct sv_pty *p, struct px_watch *w)
{
	if (w->fd >= 0 && p->loop != NULL)
		px_loop_del(p->loop, w);
	w->fd = -1;
}

/* Move what the sandbox wrote into to_user, through the filter. */
static void
put_output(struct sv_pty *p, const uint8_t *buf, size_t n)
{
	if (p->out_done)
		return; /* nobody to show it to: keep the sandbox from blocking */
	if (p->tu_off > 0 && p->tu_len > 0)
		memmove(p->to_user, p->to_user + p->tu_off, p->tu_len);
	p->tu_off = 0;
	if (p->allow_clipboard) {
		memcpy(p->to_user + p->tu_len, buf, n);
		p->tu_len += n;
	} else {
		p->tu_len += sv_osc_filter_run(&p->filter, buf, n, p->to_user + p->tu_len);
	}
}

/* Room for one more read from the master (the filter may release held bytes). */
static size_t
output_room(const struct sv_pty *p)
{
	size_t used = p->tu_len + SV_OSC_HOLD_MAX;

	return used >= SV_PTY_BUF ? 0 : SV_PTY_BUF - used;
}

static void
flush_user(struct sv_pty *p)
{
	while (p->tu_len > 0 && !p->out_done) {
		ssize_t w = write(p->out_fd, p->to_user + p->tu_off, p->tu_len);

		if (w > 0) {
			p->tu_off += (size_t)w;
			p->tu_len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		/* EIO: the user's terminal hung up. */
		p->out_done = true;
		watch_end(p, &p->w_out);
	}
	if (p->tu_len == 0)
		p->tu_off = 0;
}

static void
flush_master(struct sv_pty *p)
{
	while (p->tm_len > 0 && !p->master_done) {
		ssize_t w = write(p->master, p->to_master + p->tm_off, p->tm_len);

		if (w > 0) {
			p->tm_off += (size_t)w;
			p->tm_len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		/* Every slave is closed: input has nowhere to go. */
		p->tm_len = 0;
		break;
	}
	if (p->tm_len == 0)
		p->tm_off = 0;
}

/* Read the master once. Returns the bytes read, 0 at its end (EIO), -1 on EAGAIN. */
static ssize_t
read_master(struct sv_pty *p)
{
	uint8_t buf[SV_PTY_BUF];
	size_t room = output_room(p);
	ssize_t n;

	if (p->out_done || room > sizeof(buf))
		room = sizeof(buf);
	if (room == 0)
		return -1;
	n = RETRY_EINTR(read(p->master, buf, room));
	if (n > 0) {
		put_output(p, buf, (size_t)n);
		return n;
	}
	if (n < 0 && errno == EAGAIN)
		return -1;
	/* EIO: the last slave closed (the session inside is over). */
	return 0;
}

/* Interest of each watch from the buffers' state. */
static void
update(struct sv_pty *p)
{
	if (p->w_in.fd >= 0 &&
	    px_loop_mod(p->loop, &p->w_in, p->tm_len + p->tm_off < SV_PTY_BUF ? EPOLLIN : 0) < 0)
		log_warn("terminal input");
	if (p->w_out.fd >= 0 && px_loop_mod(p->loop, &p->w_out, p->tu_len > 0 ? EPOLLOUT : 0) < 0)
		log_warn("terminal output");
	if (p->w_master.fd >= 0 && px_loop_mod(p->loop, &p->w_master,
					       (output_room(p) > 0 || p->out_done ? EPOLLIN : 0) |
						   (p->tm_len > 0 ? EPOLLOUT : 0)) < 0)
		log_warn("sandbox terminal");
}

static void
on_input(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_pty *p = px_container_of(w, struct sv_pty, w_in);
	ssize_t n;

	(void)loop;
	if (p->tm_off > 0 && p->tm_len > 0)
		memmove(p->to_master, p->to_master + p->tm_off, p->tm_len);
	p->tm_off = 0;
	if (p->tm_len < SV_PTY_BUF) {
		n = RETRY_EINTR(read(p->in_fd, p->to_master + p->tm_len, SV_PTY_BUF - p->tm_len));
		if (n > 0) {
			/* With the sandbox's terminal gone, keys are read and forgotten. */
			if (!p->master_done)
				p->tm_len += (size_t)n;
		} else if (n == 0 || errno != EAGAIN) {
			/* The user's terminal hung up (EOF, EIO): stop reading it. */
			p->in_done = true;
			watch_end(p, &p->w_in);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		p->in_done = true;
		watch_end(p, &p->w_in);
	}
	flush_master(p);
	update(p);
}

static void
on_output(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_pty *p = px_container_of(w, struct sv_pty, w_out);

	(void)loop;
	flush_user(p);
	if (!p->out_done && p->tu_len == 0 && (events & (EPOLLHUP | EPOLLERR))) {
		p->out_done = true;
		watch_end(p, &p->w_out);
	}
	update(p);
}

static void
on_master(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_pty *p = px_container_of(w, struct sv_pty, w_master);

	(void)loop;
	if (events & EPOLLOUT)
		flush_master(p);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = read_master(p);

		if (n == 0) {
			p->master_done = true;
			p->tm_len = p->tm_off = 0;
			watch_end(p, &p->w_master);
		} else if (n < 0 && (events & (EPOLLHUP | EPOLLERR)) && output_room(p) == 0) {
			/*
			 * The last slave closed while the user's terminal is
			 * slow: epoll reports the hang-up whatever the interest,
			 * so stop watching; sv_pty_finish writes the rest.
			 */
			watch_end(p, &p->w_master);
		}
	}
	flush_user(p);
	update(p);
}

void
sv_pty_winch(struct sv_pty *p)
{
	struct winsize ws;

	if (p->master < 0)
		return;
	/* The kernel then sends SIGWINCH to the foreground job inside. */
	if (ioctl(p->in_fd, TIOCGWINSZ, &ws) == 0 && ioctl(p->master, TIOCSWINSZ, &ws) < 0)
		log_debug("window size: %s", strerror(errno));
}

static int
set_nonblock_saved(int slot, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	undo.fl_fd[slot] = fd;
	undo.fl[slot] = fl;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
sv_pty_start(struct sv_pty *p, struct px_loop *loop, int master, bool allow_clipboard,
	     struct cordon_err *err)
{
	struct termios raw;
	struct sigaction ign;

	p->master = master;
	p->in_fd = 0;
	p->out_fd = 1;
	p->loop = loop;
	p->allow_clipboard = allow_clipboard;
	if (tcgetattr(p->in_fd, &undo.saved) < 0) {
		cordon_err_set(err, errno, "read the terminal's settings");
		goto fail;
	}
	/*
	 * Job-control signals from the user's terminal (or a kill) never
	 * stop cordon: the sandbox would stop with it, and the user's shell
	 * would come back over a terminal in raw mode. Set after the sandbox
	 * was cloned: ignored signals stay ignored across execve.
	 */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	for (size_t i = 0; i < ARRAY_SIZE(job_signals); i++)
		if (sigaction(job_signals[i], &ign, &undo.old_sig[i]) < 0) {
			cordon_err_set(err, errno, "ignore job-control signals");
			goto fail;
		}
	undo.sig_saved = true;

	/*
	 * The sandbox's terminal starts as the user's (erase character,
	 * IUTF8...), as script(1) and ssh do; on a pty master these set the
	 * slave's settings. Then its size.
	 */
	if (tcsetattr(master, TCSANOW, &undo.saved) < 0)
		log_debug("copy terminal settings: %s", strerror(errno));
	sv_pty_winch(p);
	if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0) {
		cordon_err_set(err, errno, "make the sandbox's terminal non-blocking");
		goto fail;
	}

	undo.tty_fd = p->in_fd;
	undo.pid = getpid();
	if (!undo.atexit_armed && atexit(undo_terminal) == 0)
		undo.atexit_armed = true;
	if (set_nonblock_saved(0, p->in_fd) < 0 || set_nonblock_saved(1, p->out_fd) < 0) {
		cordon_err_set(err, errno, "make the terminal non-blocking");
		goto fail_undo;
	}
	raw = undo.saved;
	cfmakeraw(&raw);
	if (tcsetattr(p->in_fd, TCSANOW, &raw) < 0) {
		cordon_err_set(err, errno, "put the terminal in raw mode");
		goto fail_undo;
	}
	if (same_terminal(p->in_fd, 2))
		log_set_crlf(1);

	if (px_loop_add(loop, &p->w_in, p->in_fd, EPOLLIN, on_input) < 0 ||
	    px_loop_add(loop, &p->w_out, p->out_fd, 0, on_output) < 0 ||
	    px_loop_add(loop, &p->w_master, master, EPOLLIN, on_master) < 0) {
		cordon_err_set(err, errno, "watch the terminal");
		sv_pty_finish(p);
		return -1;
	}
	return 0;
fail_undo:
	undo_terminal();
fail:
	sv_pty_finish(p);
	return -1;
}

/* Wait up to ms for fd to be ready for events. */
static bool
wait_fd(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return RETRY_EINTR(poll(&pfd, 1, ms)) > 0;
}

/* Write out what is left, waiting a little for a slow terminal. */
static void
drain_user(struct sv_pty *p)
{
	while (p->tu_len > 0 && !p->out_done) {
		flush_user(p);
		if (p->tu_len > 0 && !wait_fd(p->out_fd, POLLOUT, DRAIN_WRITE_MS)) {
			p->out_done = true;
			p->tu_len = 0;
		}
	}
}

void
sv_pty_finish(struct sv_pty *p)
{
	watch_end(p, &p->w_in);
	watch_end(p, &p->w_out);
	watch_end(p, &p->w_master);
	if (p->master >= 0) {
		/*
		 * The sandbox is gone, and with it every slave: the master gives
		 * what its buffer still holds, then EIO. The poll only bounds a
		 * slave that something outside still holds open.
		 */
		while (!p->master_done) {
			drain_user(p);
			if (p->out_done)
				break;
			if (read_master(p) == 0)
				break;
			if (!wait_fd(p->master, POLLIN, DRAIN_READ_MS))
				break;
		}
		drain_user(p);
		if (!p->allow_clipboard && !p->out_done) {
			p->tu_off = 0;
			p->tu_len = sv_osc_filter_end(&p->filter, p->to_user);
			drain_user(p);
		}
		close(p->master);
		p->master = -1;
	}
	undo_terminal();
	if (undo.sig_saved) {
		for (size_t i = 0; i < ARRAY_SIZE(job_signals); i++)
			sigaction(job_signals[i], &undo.old_sig[i], NULL);
		undo.sig_saved = false;
	}
	log_set_crlf(0);
}
