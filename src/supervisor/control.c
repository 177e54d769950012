/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "audit/audit.h"
#include "common/log.h"
#include "proxy/proxy.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"
#include "supervisor/control.h"
#include "supervisor/join.h"
#include "supervisor/supervisor.h"

int
sv_private_dir(const char *path, struct cordon_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cordon_err_set(err, errno, "create %s", path);
	if (lstat(path, &st) < 0)
		return cordon_err_set(err, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		cordon_err_set(err, EPERM, "%s is not a directory owned by you", path);
		return cordon_err_hint(err, "remove it, or point XDG_RUNTIME_DIR (control "
					    "sockets) or XDG_STATE_HOME (session records) at a "
					    "private directory");
	}
	if ((st.st_mode & 077) != 0 && chmod(path, 0700) < 0)
		return cordon_err_set(err, errno, "chmod %s", path);
	return 0;
}

int
sv_control_dir(char *out, size_t len, int create, struct cordon_err *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	/*
	 * Outside the sandbox's view: the sandbox has its own /run and /tmp,
	 * so neither $XDG_RUNTIME_DIR (/run/user/UID) nor /tmp/cordon-UID is
	 * visible inside (and a peer that reaches the socket anyway is
	 * refused by its network namespace, see serve_one).
	 */
	if (xdg != NULL && xdg[0] == '/' && strlen(xdg) + strlen("/cordon") < len)
		snprintf(out, len, "%s/cordon", xdg);
	else if (geteuid() == 0)
		snprintf(out, len, "/run/cordon");
	else
		snprintf(out, len, "/tmp/cordon-%u", (unsigned)geteuid());
	if (create && sv_private_dir(out, err) < 0)
		return -1;
	return 0;
}

static int
id_ok(const char *id)
{
	if (id == NULL || id[0] == '\0' || id[0] == '.' || strlen(id) > SV_CONTROL_ID_MAX)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/*
 * The address of <dir>/<id>.sock into sa. A path longer than sun_path
 * goes through an O_PATH descriptor of dir, "/proc/self/fd/N/<id>.sock"
 * (*dirfd set: keep it open until bind or connect returns).
 */
static int
sock_addr(const char *dir, const char *id, struct sockaddr_un *sa, int *dirfd,
	  struct cordon_err *err)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", dir, id);
	if (n >= 0 && (size_t)n < sizeof(sa->sun_path))
		return 0;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return cordon_err_set(err, errno, "open %s", dir);
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s.sock", *dirfd, id);
	return 0;
}

void
sv_control_sweep(const char *only_id)
{
	char dir[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	if (sv_control_dir(dir, sizeof(dir), 0, NULL) < 0 || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char id[SV_CONTROL_ID_MAX + 1];
		struct sockaddr_un sa;
		_cleanup_close_ int dfd = -1, fd = -1;
		struct stat st;
		struct cordon_err err;

		if (n <= 5 || n - 5 > SV_CONTROL_ID_MAX || strcmp(e->d_name + n - 5, ".sock") != 0)
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(n - 5), e->d_name);
		if (!id_ok(id) || (only_id != NULL && strcmp(id, only_id) != 0))
			continue;
		/*
		 * Stale: a socket nobody listens on (ECONNREFUSED), older than a
		 * minute so that one being set up (bound, not yet listening) is
		 * left alone.
		 */
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISSOCK(st.st_mode) || (only_id == NULL && st.st_mtime + 60 > time(NULL)))
			continue;
		if (sock_addr(dir, id, &sa, &dfd, &err) < 0)
			continue;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno == ECONNREFUSED)
			unlinkat(dirfd(d), e->d_name, 0);
	}
}

/* Is pid in our network namespace? (a sandboxed peer is not) */
static int
same_netns(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
		return 0;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

void
sv_control_say(int fd, const char *fmt, ...)
{
	char buf[800];
	va_list ap;
	int n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* the client reads its few lines at once; a full buffer is a gone client */
	(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Largest exec request: the payload pid 1 takes, its header line. */
#define EXEC_REQUEST_MAX (SB_JOIN_PAYLOAD_MAX + 64)

/*
 * The rest of an "exec LEN TTY" request, whose first len bytes are in buf;
 * hands conn and fds to ctl->on_exec. 1 (conn taken) or 0 (answered).
 */
static int
serve_exec(struct sv_control *ctl, int fd, const struct ucred *cred, char *buf, size_t len,
	   int fds[3], int nfds)
{
	_cleanup_free_ char *req = NULL;
	char *nl = memchr(buf, '\n', len);
	unsigned long plen;
	unsigned tty;
	size_t have;
	ssize_t n;

	if (ctl->on_exec == NULL || nl == NULL || nfds != 3 ||
	    sscanf(buf, "exec %lu %u", &plen, &tty) != 2 || plen > SB_JOIN_PAYLOAD_MAX) {
		sv_control_say(fd, "error bad exec request");
		return 0;
	}
	req = xmalloc(plen + 1);
	have = len - (size_t)(nl + 1 - buf);
	if (have > plen)
		have = plen;
	memcpy(req, nl + 1, have);
	while (have < plen) {
		n = recv(fd, req + have, plen - have, 0);
		if (n <= 0) {
			sv_control_say(fd, "error incomplete exec request");
			return 0;
		}
		have += (size_t)n;
	}
	req[plen] = '\0';
	ctl->on_exec(ctl->arg, fd, cred, tty, req, plen, fds);
	return 1;
}

/* One request on fd. 1 when its handler took fd over, else 0 (answered). */
static int
serve_one(struct sv_control *ctl, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	char buf[512];
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	int fds[3] = { -1, -1, -1 }, nfds = 0;
	ssize_t n;
	size_t len = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != geteuid()) {
		sv_control_say(fd, "error permission denied: not your session");
		return 0;
	}
	if (!same_netns(cred.pid)) {
		sv_control_say(
		    fd, "error permission denied: requests from inside a sandbox are refused");
		return 0;
	}
	/* one short line; a peer of our own uid that stalls gets a second at most */
	fd_set_nonblock(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(buf) - 1) {
		struct iovec iov = { .iov_base = buf + len, .iov_len = sizeof(buf) - 1 - len };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };

		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		/* the client's fds come with an exec request, at its first byte */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			int got;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int k = 0; k < got; k++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + (size_t)k * sizeof(int), sizeof(int));
				if (nfds < 3)
					fds[nfds++] = f;
				else
					close(f);
			}
		}
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	if (strncmp(buf, "exec ", 5) == 0) {
		if (serve_exec(ctl, fd, &cred, buf, len, fds, nfds) == 1)
			return 1;
	} else {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strncmp(buf, "allow ", 6) == 0 && buf[6] != '\0') {
			struct cordon_err err = { 0 };

			if (ctl->on_allow(ctl->arg, buf + 6, &err) < 0)
				sv_control_say(fd, "error %s%s%s", err.msg,
					       err.hint[0] ? "\nHint: " : "", err.hint);
			else
				sv_control_say(fd, "ok %s is now allowed in this session", buf + 6);
		} else {
			sv_control_say(fd, "error unknown request");
		}
	}
	for (int k = 0; k < nfds; k++)
		close(fds[k]);
	return 0;
}

static void
on_control(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_control *ctl = px_container_of(w, struct sv_control, w);

	(void)loop;
	(void)events;
	for (int i = 0; i < 16; i++) {
		_cleanup_close_ int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (serve_one(ctl, fd) == 1)
			fd = -1; /* a joined command's connection, the handler's now */
	}
}

int
sv_control_open(struct sv_control *ctl, struct px_loop *loop, const char *id, sv_allow_fn on_allow,
		void *arg, struct cordon_err *err)
{
	struct sockaddr_un sa;
	char dir[128];
	_cleanup_close_ int fd = -1, dirfd = -1;
	mode_t old;
	int r;

	memset(ctl, 0, sizeof(*ctl));
	ctl->w.fd = -1;
	if (!id_ok(id)) {
		cordon_err_set(err, EINVAL, "bad session id '%s'", id ? id : "");
		return cordon_err_hint(err, "use letters, digits, '.', '_' and '-' (%d at most)",
				       SV_CONTROL_ID_MAX);
	}
	if (sv_control_dir(dir, sizeof(dir), 1, err) < 0 ||
	    sock_addr(dir, id, &sa, &dirfd, err) < 0)
		return -1;
	snprintf(ctl->path, sizeof(ctl->path), "%s/%s.sock", dir, id);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cordon_err_set(err, errno, "control socket");
	/* a stale socket of a session that died: connect fails, remove it */
	{
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno == ECONNREFUSED)
			unlink(ctl->path);
	}
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		cordon_err_set(err, errno, "bind %s", ctl->path);
		if (errno == EADDRINUSE)
			cordon_err_hint(err, "another cordon session uses the id '%s'", id);
		ctl->path[0] = '\0';
		return -1;
	}
	if (chmod(ctl->path, 0600) < 0 || listen(fd, 16) < 0) {
		cordon_err_set(err, errno, "listen on %s", ctl->path);
		unlink(ctl->path);
		ctl->path[0] = '\0';
		return -1;
	}
	if (px_loop_add(loop, &ctl->w, fd, EPOLLIN, on_control) < 0) {
		cordon_err_set(err, errno, "watch the control socket");
		unlink(ctl->path);
		ctl->path[0] = '\0';
		return -1;
	}
	ctl->loop = loop;
	ctl->on_allow = on_allow;
	ctl->arg = arg;
	ctl->w.fd = steal_fd(fd);
	return 0;
}

void
sv_control_close(struct sv_control *ctl)
{
	if (ctl->loop == NULL || ctl->w.fd < 0)
		return;
	px_loop_del(ctl->loop, &ctl->w);
	close(ctl->w.fd);
	ctl->w.fd = -1;
	unlink(ctl->path);
	ctl->path[0] = '\0';
	ctl->loop = NULL;
}

int
sv_control_connect(const char *id, struct cordon_err *err)
{
	struct sockaddr_un sa;
	char dir[128];
	_cleanup_close_ int fd = -1, dirfd = -1;

	if (sv_control_dir(dir, sizeof(dir), 0, err) < 0)
		return -1;
	if (!id_ok(id)) {
		cordon_err_set(err, EINVAL, "bad session id '%s'", id ? id : "");
		return cordon_err_hint(err, "`cordon ps` lists the running sessions");
	}
	if (sock_addr(dir, id, &sa, &dirfd, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cordon_err_set(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		cordon_err_set(err, errno, "connect to session %s (%s/%s.sock)", id, dir, id);
		return cordon_err_hint(err, "is that `cordon run` still running? `cordon ps` lists "
					    "the running sessions");
	}
	return steal_fd(fd);
}

int
sv_control_allow(const char *id, const char *pattern, char *reply, size_t replylen,
		 struct cordon_err *err)
{
	char buf[1024];
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	if (strchr(pattern, '\n') != NULL || strlen(pattern) > 400) {
		cordon_err_set(err, EINVAL, "bad pattern");
		return cordon_err_hint(err, "give one host name, wildcard or CIDR");
	}
	fd = sv_control_connect(id, err);
	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "allow %s\n", pattern);
	if (fd_write_all(fd, buf, strlen(buf)) < 0)
		return cordon_err_set(err, errno, "send to session %s", id);
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strncmp(buf, "ok ", 3) == 0) {
		snprintf(reply, replylen, "%s", buf + 3);
		return 0;
	}
	if (strncmp(buf, "error ", 6) == 0) {
		char *hint = strstr(buf, "\nHint: ");

		if (hint != NULL) {
			*hint = '\0';
			cordon_err_set(err, 0, "session %s: %s", id, buf + 6);
			return cordon_err_hint(err, "%s", hint + 7);
		}
		cordon_err_set(err, 0, "session %s: %s", id, buf + 6);
		return cordon_err_hint(err, "check the pattern: host, *.suffix or CIDR, "
					    "optionally :PORT");
	}
	cordon_err_set(err, EPROTO, "session %s gave no answer", id);
	return cordon_err_hint(err, "is it a cordon of the same version?");
}

static int
allow_live(void *arg, const char *pattern, struct cordon_err *err)
{
	struct sv_supervisor *sv = arg;

	if (px_proxy_add_rule(sv->proxy, pattern, 0, err) < 0)
		return -1;
	log_info("network policy widened: %s allowed (cordon allow)", pattern);
	if (sv->audit != NULL) {
		struct audit_policy_change pc = {
			.action = "allow-domain",
			.target = pattern,
			.origin = "cordon allow",
		};
		struct cordon_err aerr = { 0 };

		if (audit_policy_change(sv->audit, &pc, &aerr) < 0)
			log_warnx("audit: %s", aerr.msg);
	}
	return 0;
}

int
sv_proxy_start(struct sv_supervisor *sv, const struct px_config *cfg, const char *id,
	       struct cordon_err *err)
{
	char pid_id[24];

	sv->proxy = px_proxy_new(sv->loop, cfg, err);
	if (sv->proxy == NULL)
		return -1;
	if (id == NULL && sv->id[0] != '\0')
		id = sv->id;
	if (id == NULL) {
		snprintf(pid_id, sizeof(pid_id), "%d", (int)getpid());
		id = pid_id;
	}
	if (sv_control_open(&sv->control, sv->loop, id, allow_live, sv, err) == 0) {
		sv->control.on_exec = sv_join_request;
	} else {
		/* the proxy works without live widening; say so and go on */
		log_warnx("no control socket (`cordon allow` will not reach this session): %s",
			  err->msg);
		cordon_err_clear(err);
	}
	log_debug("session id %s, control socket %s", id, sv->control.path);
	return 0;
}

/*
 * Transparent capture, when the sandbox could set it up (a kernel without
 * nf_tables NAT sends no capture listener): only programs that honour the
 * proxy variables then reach the proxy. Fail-closed as before: the
 * sandbox's namespace has no other way out; said once, and the session's
 * end record has it (layers.capture).
 */
static int
capture_listen(struct sv_supervisor *sv, struct cordon_err *err)
{
	int *f = sv->sess.fds;

	if (f[SB_FD_CAPTURE] < 0) {
		log_warnx("no transparent capture in this sandbox (the kernel has no nf_tables "
			  "NAT): programs that ignore the proxy variables (HTTP_PROXY, "
			  "HTTPS_PROXY, ALL_PROXY) get no network at all; programs that use them "
			  "reach the allowed hosts as before. Hint: a kernel with "
			  "CONFIG_NFT_NAT and CONFIG_NFT_REDIR (modules nft_nat, nft_redir)");
		return 0;
	}
	sv->capture = px_capture_new(sv->proxy, f[SB_FD_CAPTURE], f[SB_FD_CAPTURE6], f[SB_FD_DNS],
				     f[SB_FD_DNS_TCP], err);
	f[SB_FD_CAPTURE] = f[SB_FD_CAPTURE6] = f[SB_FD_DNS] = f[SB_FD_DNS_TCP] = -1;
	return sv->capture != NULL ? 0 : -1;
}

int
sv_proxy_listen(struct sv_supervisor *sv, struct cordon_err *err)
{
	static const enum sb_fd_kind kinds[] = { SB_FD_PROXY, SB_FD_PROXY2 };

	if (sv->sess.fds[SB_FD_PROXY] < 0) {
		cordon_err_set(err, EBADF, "the sandbox sent no proxy listener");
		return cordon_err_hint(err, "this is a bug in cordon; please report it");
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		int fd = sv->sess.fds[kinds[i]];

		if (fd < 0)
			continue;
		sv->sess.fds[kinds[i]] = -1;
		if (px_proxy_add_listener(sv->proxy, fd, err) < 0)
			return -1;
	}
	return capture_listen(sv, err);
}
