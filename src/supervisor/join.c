/* SPDX-License-Identifier: MIT */
/* `cordon exec`: commands joining the running session (see join.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "supervisor/control.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"
#include "supervisor/join.h"
#include "supervisor/supervisor.h"

struct sv_join {
	struct sv_join *next;
	struct sv_supervisor *sv;
	struct px_watch w; /* the client's connection; fd -1 once it is gone */
	int master;        /* the terminal's master until it goes to the client, or -1 */
	bool started;
	struct audit_join rec;
	char **argv; /* into payload */
	char *payload;
	uint64_t t0; /* px_now_ms at the start */
	char in[64]; /* the client's "signal N" lines */
	size_t in_len;
};

const char *const sv_join_client_env[SV_JOIN_CLIENT_ENV] = { "TERM", "COLORTERM", "COLUMNS",
							     "LINES" };

static void
refuse(int conn, const struct cordon_err *err)
{
	if (err->hint[0])
		sv_control_say(conn, "error %s\nHint: %s", err->msg, err->hint);
	else
		sv_control_say(conn, "error %s", err->msg);
	close(conn);
}

static void
close_client(struct sv_join *j)
{
	if (j->w.fd < 0)
		return;
	px_loop_del(j->sv->loop, &j->w);
	close(j->w.fd);
	j->w.fd = -1;
}

/* The join is over: its end record, the client told (line), everything freed. */
static void
finish(struct sv_join *j, int status, const char *reason, const char *line)
{
	struct sv_supervisor *sv = j->sv;
	struct sv_join **pp;

	j->rec.status = status;
	j->rec.reason = reason;
	j->rec.duration_ms = px_now_ms() - j->t0;
	if (sv->audit != NULL) {
		struct cordon_err aerr = { 0 };

		if (audit_join_end(sv->audit, &j->rec, &aerr) < 0)
			log_warnx("audit: %s", aerr.msg);
	}
	if (line[0] != '\0')
		sv_control_say(j->w.fd, "%s", line);
	close_client(j);
	if (j->master >= 0)
		close(j->master);
	for (pp = &sv->joins; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	free(j->argv);
	free(j->payload);
	free(j);
}

static struct sv_join *
find(struct sv_supervisor *sv, int32_t id)
{
	for (struct sv_join *j = sv->joins; j != NULL; j = j->next)
		if (j->rec.join == id)
			return j;
	return NULL;
}

/* The client's lines: "signal N". End of file: it is gone, so is the command's reader. */
static void
on_client(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_join *j = px_container_of(w, struct sv_join, w);
	ssize_t n;
	char *nl;

	(void)loop;
	(void)events;
	n = recv(w->fd, j->in + j->in_len, sizeof(j->in) - 1 - j->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_client(j);
		if (j->started)
			(void)sb_join_signal(&j->sv->sess, j->rec.join, SIGHUP);
		return;
	}
	j->in_len += (size_t)n;
	j->in[j->in_len] = '\0';
	while ((nl = strchr(j->in, '\n')) != NULL) {
		int sig = 0;

		*nl = '\0';
		if (sscanf(j->in, "signal %d", &sig) == 1 &&
		    (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) &&
		    j->started)
			(void)sb_join_signal(&j->sv->sess, j->rec.join, sig);
		j->in_len -= (size_t)(nl + 1 - j->in);
		memmove(j->in, nl + 1, j->in_len + 1);
	}
	if (j->in_len == sizeof(j->in) - 1)
		j->in_len = 0; /* no line of ours is that long */
}

/*
 * A terminal of the sandbox's own devpts instance (mount.c), opened
 * through pid 1's root (held since before pid 1 became non-dumpable):
 * the master for the client, the slave for the command. Its path is
 * resolved inside that root and must lead to the multiplexer itself
 * (char 5:2), whatever the sandbox did to its /dev. 0 or -1 with err.
 */
static int
open_terminal(struct sv_supervisor *sv, int *master, int *slave, struct cordon_err *err)
{
	struct open_how how = { .flags = O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int m = -1;
	struct stat st;
	int unlock = 0, s;

	*master = *slave = -1;
	if (sv->rootfd < 0)
		return cordon_err_set(err, EBADF, "the sandbox's root is not at hand");
	m = (int)syscall(SYS_openat2, sv->rootfd, "dev/pts/ptmx", &how, sizeof(how));
	if (m < 0)
		return cordon_err_set(err, errno, "open the sandbox's /dev/pts/ptmx");
	if (fstat(m, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
	    minor(st.st_rdev) != 2)
		return cordon_err_set(err, EPERM,
				      "the sandbox's /dev/pts/ptmx is not a terminal "
				      "multiplexer");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return cordon_err_set(err, errno, "unlock a terminal");
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return cordon_err_set(err, errno, "open a terminal");
	/* The command's own, as pty.c's is: its owner is the sandbox's user. */
	if (fchown(s, sv->sess.kernel_uid, (gid_t)-1) < 0 && errno != EPERM)
		log_debug("%s: chown terminal: %s", __func__, strerror(errno));
	fd_set_nonblock(m, 0);
	*master = steal_fd(m);
	*slave = s;
	return 0;
}

/*
 * The payload as pid 1 takes it: arguments, the working directory, and
 * of the client's variables only those of sv_join_client_env. argv (for the
 * record) points into out. Returns its length, or 0 when it holds no
 * argument.
 */
static size_t
filter_payload(const char *in, size_t len, char *out, char ***argv, const char **cwd)
{
	size_t o = 0, argc = 0;
	char **v;

	*cwd = NULL;
	for (const char *p = in; p < in + len; p += strlen(p) + 1) {
		size_t l = strnlen(p, (size_t)(in + len - p));
		bool keep = p[0] == 'a' || p[0] == 'c';

		if (l == (size_t)(in + len - p))
			break; /* not terminated */
		for (size_t k = 0; p[0] == 'e' && k < SV_JOIN_CLIENT_ENV; k++) {
			size_t kl = strlen(sv_join_client_env[k]);

			keep = keep ||
			       (strncmp(p + 1, sv_join_client_env[k], kl) == 0 && p[1 + kl] == '=');
		}
		if (!keep)
			continue;
		memcpy(out + o, p, l + 1);
		if (p[0] == 'a')
			argc++;
		else if (p[0] == 'c')
			*cwd = out + o + 1;
		o += l + 1;
	}
	v = xcalloc(argc + 1, sizeof(*v));
	argc = 0;
	for (char *p = out; p < out + o; p += strlen(p) + 1)
		if (p[0] == 'a')
			v[argc++] = p + 1;
	*argv = v;
	return argc > 0 ? o : 0;
}

/* Ours once sent: the client's three and the slave. */
static void
close_fds(const int fds[3], int slave)
{
	for (int k = 0; k < 3; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	if (slave >= 0)
		close(slave);
}

void
sv_join_request(void *arg, int conn, const struct ucred *peer, unsigned tty, const char *payload,
		size_t len, int fds[3])
{
	struct sv_supervisor *sv = arg;
	struct cordon_err err = { 0 };
	struct sv_join *j = NULL;
	size_t flen, active = 0;
	int slave = -1, send_fds[3];

	for (struct sv_join *k = sv->joins; k != NULL; k = k->next)
		active++;
	if (sv->start_state != 1 || sv->done || sv->stop_signal != 0) {
		cordon_err_set(&err, 0, "the sandbox is ending");
		cordon_err_hint(&err, "once it has ended, start it again with cordon run --name");
		goto refused;
	}
	if (active >= SB_JOIN_MAX_ACTIVE) {
		cordon_err_set(&err, EAGAIN, "%d commands are joined to this sandbox already",
			       SB_JOIN_MAX_ACTIVE);
		cordon_err_hint(&err, "wait until one of them ends");
		goto refused;
	}
	j = xcalloc(1, sizeof(*j));
	j->sv = sv;
	j->w.fd = -1;
	j->master = -1;
	j->payload = xmalloc(len + 1);
	flen = filter_payload(payload, len, j->payload, &j->argv, &j->rec.cwd);
	if (flen == 0) {
		cordon_err_set(&err, EINVAL, "no command given");
		cordon_err_hint(&err, "name the command after --, e.g. cordon exec NAME -- bash");
		goto refused;
	}
	tty &= 7u;
	if (tty != 0) {
		if (open_terminal(sv, &j->master, &slave, &err) < 0)
			goto refused;
	}
	/* The client's terminal stays outside: the sandbox's stands in for it. */
	for (int k = 0; k < 3; k++)
		send_fds[k] = (tty & (1u << k)) ? slave : fds[k];
	j->t0 = px_now_ms();
	j->rec.join = ++sv->join_seq;
	j->rec.argv = j->argv;
	j->rec.uid = peer->uid;
	j->rec.client_pid = peer->pid;
	j->rec.tty = tty != 0;
	if (sv->audit != NULL && audit_join(sv->audit, &j->rec, &err) < 0) {
		log_warnx("audit: %s", err.msg);
		if (audit_fail_closed(sv->audit)) {
			cordon_err_hint(&err, "the session's audit log cannot be written "
					      "(audit.failClosed)");
			goto refused;
		}
		cordon_err_clear(&err);
	}
	if (sb_join_send(&sv->sess, j->rec.join, tty, j->payload, flen, send_fds) < 0) {
		cordon_err_set(&err, errno, "hand the command to the sandbox");
		goto refused;
	}
	close_fds(fds, slave);
	fd_set_nonblock(conn, 1);
	if (px_loop_add(sv->loop, &j->w, conn, EPOLLIN, on_client) < 0) {
		close(conn); /* the command runs on; it learns of the client by SIGHUP */
		(void)sb_join_signal(&sv->sess, j->rec.join, SIGHUP);
	}
	j->next = sv->joins;
	sv->joins = j;
	log_debug("%s: join %d: %s", __func__, j->rec.join, j->argv[0]);
	return;
refused:
	close_fds(fds, slave);
	if (j != NULL) {
		if (j->rec.join > 0 && sv->audit != NULL) {
			j->w.fd = -1;
			refuse(conn, &err);
			conn = -1;
			j->next = sv->joins;
			sv->joins = j;
			finish(j, SB_EXIT_SETUP, "not-started", "");
			return;
		}
		if (j->master >= 0)
			close(j->master);
		free(j->argv);
		free(j->payload);
		free(j);
	}
	refuse(conn, &err);
}

int
sv_join_on_ctl(struct sv_supervisor *sv)
{
	struct sb_join_event ev;
	struct cordon_err err = { 0 };
	struct sv_join *j;
	char line[700];
	int r = sb_read_join(&sv->sess, &ev, &err);

	if (r <= 0) {
		if (r < 0)
			log_warnx("%s", err.msg);
		return -1;
	}
	j = find(sv, ev.id);
	if (j == NULL)
		return 0;
	switch (ev.kind) {
	case SB_JOIN_STARTED:
		j->started = true;
		j->rec.pid = ev.pid;
		snprintf(line, sizeof(line), "started %d\n", (int)ev.pid);
		if (j->w.fd >= 0 && fd_send(j->w.fd, j->master, line, strlen(line)) < 0)
			log_debug("%s: tell the client: %s", __func__, strerror(errno));
		if (j->master >= 0)
			close(j->master);
		j->master = -1;
		/* its client went away meanwhile: nobody reads the command's output */
		if (j->w.fd < 0)
			(void)sb_join_signal(&sv->sess, j->rec.join, SIGHUP);
		return 0;
	case SB_JOIN_FAILED:
		snprintf(line, sizeof(line), "fail %d\t%s\t%s", ev.status, err.msg, err.hint);
		finish(j, ev.status, "not-started", line);
		return 0;
	case SB_JOIN_EXITED:
		snprintf(line, sizeof(line), "exit %d", ev.status);
		finish(j, ev.status, "exit", line);
		return 0;
	default:
		return 0;
	}
}

void
sv_join_fini(struct sv_supervisor *sv)
{
	while (sv->joins != NULL)
		finish(sv->joins, 128 + SIGKILL, "sandbox-ended", "ended\n");
}
