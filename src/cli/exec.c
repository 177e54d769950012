/* SPDX-License-Identifier: MIT */
/*
 * `cordon exec NAME -- CMD`: run CMD in the running named sandbox NAME,
 * as one more process of its session (supervisor/join.h has the
 * protocol). This side finds the session, hands over its fds (or relays
 * the terminal the sandbox gives it) and exits with CMD's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "sandbox/sandbox.h"
#include "sandbox/steps.h"
#include "session/named.h"
#include "supervisor/control.h"
#include "supervisor/join.h"
#include "supervisor/pty.h"

static const char exec_usage[] =
    "Usage: cordon exec [OPTIONS] NAME -- CMD [ARG...]\n"
    "\n"
    "Run CMD in the named sandbox NAME while its `cordon run --name NAME` runs:\n"
    "the same namespaces (it sees the run's processes and /tmp), the same\n"
    "policy (file system, network, seccomp, Landlock, limits), the same audit\n"
    "session. It starts in the directory you are in when the workspace holds\n"
    "it, else in the workspace. On a terminal it gets a terminal of the\n"
    "sandbox's own, as `run` does; ^C goes to CMD.\n"
    "\n"
    "Options:\n"
    "  -v, --verbose  say what is being done\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: CMD's own; 128+N if it died of signal N (137 when the\n"
    "sandbox's run ended first); 125 cordon error (nothing ran); 126 CMD cannot\n"
    "be executed; 127 CMD not found.\n";

/* The variables of the client's terminal that go along (join.c keeps only these). */

struct client {
	const char *name;
	struct px_loop *loop;
	struct px_watch w_conn, w_sig;
	int conn, sigfd;
	struct sv_pty pty;
	char in[1024];
	size_t in_len;
	int status; /* -1 until known */
};

static int
add(char *buf, size_t *len, char kind, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 2 > SB_JOIN_PAYLOAD_MAX)
		return -1;
	buf[(*len)++] = kind;
	memcpy(buf + *len, s, n + 1);
	*len += n + 1;
	return 0;
}

/* Arguments, the terminal's variables, the working directory when the workspace holds it. */
static int
build_payload(char *buf, size_t *len, char **argv, const char *workspace, struct cordon_err *err)
{
	char cwd[PATH_MAX];

	*len = 0;
	for (size_t i = 0; argv[i] != NULL; i++)
		if (add(buf, len, 'a', argv[i]) < 0) {
			cordon_err_set(err, E2BIG, "the command is longer than %d bytes",
				       SB_JOIN_PAYLOAD_MAX);
			return cordon_err_hint(err, "pass long input through a file in the "
						    "workspace");
		}
	for (size_t i = 0; i < SV_JOIN_CLIENT_ENV; i++) {
		const char *v = getenv(sv_join_client_env[i]);
		char kv[256];

		if (v != NULL && strlen(v) < 200) {
			snprintf(kv, sizeof(kv), "%s=%s", sv_join_client_env[i], v);
			(void)add(buf, len, 'e', kv);
		}
	}
	if (workspace != NULL && getcwd(cwd, sizeof(cwd)) != NULL &&
	    strncmp(cwd, workspace, strlen(workspace)) == 0 &&
	    (cwd[strlen(workspace)] == '\0' || cwd[strlen(workspace)] == '/'))
		(void)add(buf, len, 'c', cwd);
	return 0;
}

/* "exec LEN TTY\n" and the payload in one message, with fds 0, 1, 2. */
static int
send_request(int conn, const char *payload, size_t len, unsigned tty, struct cordon_err *err)
{
	char head[64];
	int fds[3], null = -1, r;
	size_t hl, sent;
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov[2];
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
	};
	struct cmsghdr *c;

	/* A closed 0, 1 or 2 stays closed in effect: /dev/null in its place. */
	for (int k = 0; k < 3; k++) {
		fds[k] = k;
		if (fcntl(k, F_GETFD) < 0) {
			if (null < 0)
				null = open("/dev/null", O_RDWR | O_CLOEXEC);
			fds[k] = null;
		}
	}
	snprintf(head, sizeof(head), "exec %zu %u\n", len, tty);
	iov[0] = (struct iovec){ .iov_base = head, .iov_len = strlen(head) };
	iov[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)payload, .iov_len = len };
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	r = (int)RETRY_EINTR(sendmsg(conn, &mh, MSG_NOSIGNAL));
	if (null >= 0)
		close(null);
	if (r < 0)
		return cordon_err_set(err, errno, "send the command to the sandbox");
	/* The rest of a short send: of the header first, then of the payload. */
	hl = strlen(head);
	sent = (size_t)r;
	if ((sent < hl && fd_write_all(conn, head + sent, hl - sent) < 0) ||
	    (sent < hl + len &&
	     fd_write_all(conn, (const char *)payload + (sent > hl ? sent - hl : 0),
			  len - (sent > hl ? sent - hl : 0)) < 0))
		return cordon_err_set(err, errno, "send the command to the sandbox");
	return 0;
}

/* One line from the session; the terminal's master comes with "started". */
static void
on_line(struct client *cl, char *line, int fd)
{
	struct cordon_err err = { 0 };

	if (strncmp(line, "started ", 8) == 0) {
		log_debug("%s: started as pid %s inside", __func__, line + 8);
		/* the clipboard stays the user's: sequences that set it are dropped */
		if (fd >= 0 && sv_pty_start(&cl->pty, cl->loop, fd, false, &err) < 0)
			cli_print_err(&err);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (strncmp(line, "exit ", 5) == 0) {
		cl->status = atoi(line + 5);
	} else if (strncmp(line, "fail ", 5) == 0) {
		char *msg = strchr(line, '\t'), *hint = msg ? strchr(msg + 1, '\t') : NULL;

		if (hint != NULL)
			*hint++ = '\0';
		snprintf(err.msg, sizeof(err.msg), "%s", msg ? msg + 1 : "cannot run the command");
		snprintf(err.hint, sizeof(err.hint), "%s", hint ? hint : "");
		cli_print_err(&err);
		cl->status = atoi(line + 5);
	} else if (strncmp(line, "error ", 6) == 0) {
		snprintf(err.msg, sizeof(err.msg), "sandbox %s: %s", cl->name, line + 6);
		/* a "Hint: " line may follow: printed as it comes */
		cli_print_err(&err);
		cl->status = SB_EXIT_SETUP;
		return; /* read on to the end: the hint */
	} else if (strncmp(line, "Hint: ", 6) == 0) {
		fprintf(stderr, "%s\n", line);
		return;
	} else {
		fprintf(stderr,
			"cordon: the sandbox %s ended while the command ran (its run ended)\n",
			cl->name);
		cl->status = 128 + SIGKILL;
	}
	px_loop_stop(cl->loop);
}

static void
on_conn(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct client *cl = px_container_of(w, struct client, w_conn);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = cl->in + cl->in_len,
			     .iov_len = sizeof(cl->in) - 1 - cl->in_len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	ssize_t n;
	char *nl;

	(void)events;
	n = recvmsg(w->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		px_loop_del(loop, w);
		if (cl->status < 0)
			on_line(cl, (char *)"", -1);
		else
			px_loop_stop(loop);
		return;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	cl->in_len += (size_t)n;
	cl->in[cl->in_len] = '\0';
	while ((nl = strchr(cl->in, '\n')) != NULL) {
		*nl = '\0';
		on_line(cl, cl->in, fd);
		fd = -1;
		cl->in_len -= (size_t)(nl + 1 - cl->in);
		memmove(cl->in, nl + 1, cl->in_len + 1);
	}
	if (fd >= 0)
		close(fd);
	if (cl->in_len == sizeof(cl->in) - 1)
		cl->in_len = 0;
}

/* ^C and friends go to the command; a new window size to its terminal. */
static void
on_signal(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct client *cl = px_container_of(w, struct client, w_sig);
	struct signalfd_siginfo si;

	(void)loop;
	(void)events;
	while (read(cl->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		char line[32];

		if (si.ssi_signo == SIGWINCH) {
			if (sv_pty_active(&cl->pty))
				sv_pty_winch(&cl->pty);
			continue;
		}
		snprintf(line, sizeof(line), "signal %u\n", si.ssi_signo);
		(void)send(cl->conn, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

/* Connect, send, relay to the end. The exit status. */
static int
join(const char *name, char **argv)
{
	static char payload[SB_JOIN_PAYLOAD_MAX];
	struct named_info info = { 0 };
	struct cordon_err err = { 0 };
	struct client cl = { .name = name, .conn = -1, .sigfd = -1, .status = -1 };
	sigset_t set;
	unsigned tty;
	size_t len;

	if (sb_inside_cordon()) {
		cordon_err_set(&err, EPERM, "already inside a cordon sandbox");
		cordon_err_hint(&err, "run cordon exec from the host");
		goto fail;
	}
	if (named_find(name, &info, &err) < 0)
		goto fail;
	if (!info.running || info.session[0] == '\0') {
		cordon_err_set(&err, 0, "the sandbox '%s' is not running", name);
		cordon_err_hint(&err, "start it with cordon run --name %s", name);
		goto fail;
	}
	if (build_payload(payload, &len, argv, info.workspace, &err) < 0)
		goto fail;
	cl.conn = sv_control_connect(info.session, &err);
	if (cl.conn < 0) {
		cordon_err_hint(&err,
				"the sandbox '%s' is starting or ending; `cordon ls` says "
				"whether it runs",
				name);
		goto fail;
	}
	log_debug("joining session %s of sandbox %s", info.session, name);
	/* Blocked before anything can arrive: relayed from the loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (cl.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		cordon_err_set(&err, errno, "signalfd");
		goto fail;
	}
	tty = sv_pty_wanted();
	if (send_request(cl.conn, payload, len, tty, &err) < 0)
		goto fail;
	sv_pty_init(&cl.pty);
	cl.loop = px_loop_new();
	if (cl.loop == NULL || px_loop_add(cl.loop, &cl.w_conn, cl.conn, EPOLLIN, on_conn) < 0 ||
	    px_loop_add(cl.loop, &cl.w_sig, cl.sigfd, EPOLLIN, on_signal) < 0) {
		cordon_err_set(&err, errno, "event loop");
		goto fail;
	}
	if (px_loop_run(cl.loop) < 0 && cl.status < 0)
		cl.status = SB_EXIT_SETUP;
	/* The last output, then the user's terminal as it was. */
	sv_pty_finish(&cl.pty);
	px_loop_free(cl.loop);
	close(cl.conn);
	close(cl.sigfd);
	named_info_clear(&info);
	return cl.status < 0 ? SB_EXIT_SETUP : cl.status;
fail:
	cli_print_err(&err);
	if (cl.loop != NULL)
		px_loop_free(cl.loop);
	if (cl.conn >= 0)
		close(cl.conn);
	if (cl.sigfd >= 0)
		close(cl.sigfd);
	named_info_clear(&info);
	return SB_EXIT_SETUP;
}

int
cli_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name;
	struct cordon_err err = { 0 };
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			log_setlevel(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			fputs(exec_usage, stdout);
			return 0;
		default:
			return cli_usage_error("exec", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("exec", "no sandbox named: cordon exec NAME -- CMD");
	name = argv[optind++];
	if (named_valid(name, &err) < 0) {
		cli_print_err(&err);
		return SB_EXIT_SETUP;
	}
	if (optind >= argc || strcmp(argv[optind], "--") != 0)
		return cli_usage_error(
		    "exec", "missing -- before the command: cordon exec %s -- CMD", name);
	optind++;
	if (optind >= argc || argv[optind][0] == '\0')
		return cli_usage_error("exec", "no command given after --: cordon exec %s -- CMD",
				       name);
	return join(name, argv + optind);
}
