/* SPDX-License-Identifier: MIT */
/*
 * The send side of the unix-socket gate, served from the seccomp user
 * notifications on sendto (with a destination), sendmsg and sendmmsg. See
 * unixsend.h for the rules; one notification:
 *
 *   1. pidfd of the caller (checked live), our copy of its socket
 *      (pidfd_getfd), the socket's family and type from the copy
 *   2. the call's arguments copied out of the caller's memory: message
 *      header, destination, iovecs, control messages (fds in SCM_RIGHTS
 *      replaced by our copies of the caller's files)
 *   3. a pathname destination on a message socket: the connect rules
 *      (sv_unixsock_via_path), which hand us an address naming the very
 *      socket file that was checked
 *   4. the data read from the caller and sent on our copy, never waiting
 *      (MSG_DONTWAIT | MSG_NOSIGNAL); the answer is our result
 *   5. a blocking caller on a full socket: kept blocked, the whole call
 *      made again when the socket is writable or a back-off timer fires;
 *      SIGPIPE raised for the caller after the answer, as the kernel would
 *
 * Nothing here answers "continue": what is checked is what is sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "supervisor/unixsock.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
/* The kernel's limits: SCM_MAX_FD fds per SCM_RIGHTS, MAX_RW_COUNT bytes per call. */
#define SEND_SCM_MAX_FD  253
#define SEND_RW_MAX      ((size_t)INT_MAX & ~(size_t)4095)
#define SEND_BACKOFF_MAX 64 /* ms between retries of a blocked caller */

/* The call being served: the caller and our copy of its socket. */
struct send_call {
	struct sv_unixsend *s;
	int nfd;
	const struct seccomp_notif *req;
	int pidfd;
	int sock;
	int domain, type;
	int sigpipe; /* raise SIGPIPE for the caller after the answer */
};

/* One message of the call, as the caller wrote it (addresses are the caller's). */
struct send_msg {
	struct sockaddr_storage name;
	socklen_t namelen;
	size_t iovcnt; /* in s->riov */
	size_t total;  /* bytes, capped as the kernel caps them */
	size_t ctllen; /* in s->ctl */
	int flags;
};

static int
read_mem(pid_t pid, void *dst, uint64_t src, size_t len)
{
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)src, .iov_len = len };

	if (len == 0)
		return 0;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static void
drop_ctl_fds(struct sv_unixsend *s)
{
	for (size_t i = 0; i < s->n_ctl_fds; i++)
		close(s->ctl_fds[i]);
	s->n_ctl_fds = 0;
}

/*
 * Copy the destination, the iovecs and the control messages of msghdr mh
 * (the caller's) into m and s. 0 or -errno, with the kernel's errors for
 * the kernel's limits (__copy_msghdr, ____sys_sendmsg).
 */
static int
load_msg(struct send_call *c, const struct msghdr *mh, int flags, struct send_msg *m)
{
	struct sv_unixsend *s = c->s;
	pid_t pid = (pid_t)c->req->pid;
	int r;

	memset(m, 0, sizeof(*m));
	m->flags = flags | (mh->msg_flags & MSG_EOR);
	if (mh->msg_name != NULL && mh->msg_namelen > 0) {
		if ((int)mh->msg_namelen < 0)
			return -EINVAL;
		m->namelen = mh->msg_namelen > sizeof(m->name) ? (socklen_t)sizeof(m->name)
							       : mh->msg_namelen;
		r = read_mem(pid, &m->name, (uintptr_t)mh->msg_name, m->namelen);
		if (r < 0)
			return r;
	}
	if (mh->msg_iovlen > SV_SEND_IOV_MAX)
		return -EMSGSIZE;
	m->iovcnt = mh->msg_iovlen;
	r = read_mem(pid, s->riov, (uintptr_t)mh->msg_iov, m->iovcnt * sizeof(struct iovec));
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->iovcnt; i++) {
		if ((ssize_t)s->riov[i].iov_len < 0)
			return -EINVAL;
		if (s->riov[i].iov_len > SEND_RW_MAX - m->total)
			s->riov[i].iov_len = SEND_RW_MAX - m->total;
		m->total += s->riov[i].iov_len;
	}
	if (mh->msg_controllen > 0) {
		if (mh->msg_controllen > SV_SEND_CTL_MAX)
			return -ENOBUFS;
		m->ctllen = mh->msg_controllen;
		r = read_mem(pid, s->ctl, (uintptr_t)mh->msg_control, m->ctllen);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Control messages: SCM_RIGHTS get our copies of the caller's files (the
 * files it holds now, as the kernel would pass them); every other
 * SOL_SOCKET message is refused (EPERM): credentials, marks and priorities
 * would be checked against the supervisor. Other levels (IP_PKTINFO,
 * UDP_SEGMENT, ...) pass as they are. 0 or -errno.
 */
static int
translate_ctl(struct send_call *c, struct send_msg *m)
{
	struct sv_unixsend *s = c->s;
	size_t off = 0;

	/* As the kernel's walk: trailing bytes shorter than a header are ignored. */
	while (off < m->ctllen && m->ctllen - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr *cm = (struct cmsghdr *)(void *)(s->ctl + off);
		size_t n;

		if (cm->cmsg_len < sizeof(struct cmsghdr) || cm->cmsg_len > m->ctllen - off)
			return -EINVAL;
		if (cm->cmsg_level == SOL_SOCKET) {
			int *fds = (int *)(void *)CMSG_DATA(cm);

			if (cm->cmsg_type != SCM_RIGHTS)
				return -EPERM;
			n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (n > SEND_SCM_MAX_FD)
				return -EINVAL;
			for (size_t i = 0; i < n; i++) {
				int fd, v;

				memcpy(&v, &fds[i], sizeof(v));
				fd = (int)syscall(SYS_pidfd_getfd, c->pidfd, v, 0);
				if (fd < 0)
					return errno == EBADF ? -EBADF : -errno;
				if (s->n_ctl_fds == ARRAY_SIZE(s->ctl_fds)) {
					close(fd);
					return -EINVAL;
				}
				s->ctl_fds[s->n_ctl_fds++] = fd;
				memcpy(&fds[i], &fd, sizeof(fd));
			}
		}
		off += CMSG_ALIGN(cm->cmsg_len);
	}
	return 0;
}

/* Copy n bytes at offset off of the caller's iovecs into s->buf. 0 or -EFAULT. */
static int
gather(struct send_call *c, const struct send_msg *m, size_t off, size_t n)
{
	struct sv_unixsend *s = c->s;
	struct iovec local = { .iov_base = s->buf, .iov_len = n };
	struct iovec *remote = s->riov;
	size_t cnt = m->iovcnt, skip = off;
	struct iovec first;
	ssize_t r;

	if (n == 0)
		return 0;
	while (cnt > 0 && skip >= remote->iov_len) {
		skip -= remote->iov_len;
		remote++;
		cnt--;
	}
	if (cnt == 0)
		return -EFAULT;
	/* The first iovec, past what was sent already; the rest as they are. */
	first = remote[0];
	remote[0].iov_base = (char *)remote[0].iov_base + skip;
	remote[0].iov_len -= skip;
	r = process_vm_readv((pid_t)c->req->pid, &local, 1, remote, cnt, 0);
	remote[0] = first;
	return r == (ssize_t)n ? 0 : -EFAULT;
}

/*
 * Send message m on our copy to (to, tolen), never waiting. Returns the
 * bytes sent or -errno; -EAGAIN only when nothing was sent. A stream takes
 * the data in SV_SEND_MAX chunks until it is full; a message goes whole.
 */
static ssize_t
send_data(struct send_call *c, const struct send_msg *m, const struct sockaddr *to, socklen_t tolen)
{
	struct sv_unixsend *s = c->s;
	int flags = (m->flags & ~MSG_ZEROCOPY) | MSG_DONTWAIT | MSG_NOSIGNAL;
	size_t off = 0;

	if (c->type != SOCK_STREAM && m->total > SV_SEND_MAX)
		return -EMSGSIZE;
	do {
		size_t n = m->total - off > SV_SEND_MAX ? SV_SEND_MAX : m->total - off;
		struct iovec iov = { .iov_base = s->buf, .iov_len = n };
		struct msghdr mh;
		ssize_t r;
		int e;

		e = gather(c, m, off, n);
		if (e < 0)
			return off > 0 ? (ssize_t)off : e;
		if (c->domain == AF_NETLINK && sv_unixsend_netlink_refused(s->buf, n))
			return -EPERM;
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = (void *)(uintptr_t)to;
		mh.msg_namelen = tolen;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		/* The kernel attaches control messages to the first piece too. */
		if (off == 0 && m->ctllen > 0) {
			mh.msg_control = s->ctl;
			mh.msg_controllen = m->ctllen;
		}
		r = sendmsg(c->sock, &mh, flags);
		if (r < 0) {
			e = errno;
			if (e == EPIPE && c->type == SOCK_STREAM && !(m->flags & MSG_NOSIGNAL))
				c->sigpipe = 1;
			return off > 0 ? (ssize_t)off : -e;
		}
		off += (size_t)r;
		if ((size_t)r < n)
			break;
	} while (off < m->total);
	return (ssize_t)off;
}

struct send_to_ctx {
	struct send_call *c;
	const struct send_msg *m;
	ssize_t r;
};

/* sv_unixsock_fn: send to the checked socket file. */
static int
send_to_checked(void *arg, const struct sockaddr *sa, socklen_t len)
{
	struct send_to_ctx *x = arg;

	x->r = send_data(x->c, x->m, sa, len);
	return x->r < 0 ? (int)x->r : 0;
}

/* Is m's destination a unix address on a message socket? 1 pathname, 2 abstract, 0 neither. */
static int
unix_dest(const struct send_call *c, const struct send_msg *m)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&m->name;

	/*
	 * A stream socket refuses any destination itself (EISCONN or
	 * EOPNOTSUPP); a socket of another family cannot name a unix socket.
	 * This copy of the address and this socket are the ones the kernel
	 * sees: nothing can swap them after the check.
	 */
	if (c->domain != AF_UNIX || c->type == SOCK_STREAM || sun->sun_family != AF_UNIX ||
	    m->namelen <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	return sun->sun_path[0] != '\0' ? 1 : 2;
}

/* Decide m's destination, send m. Bytes or -errno. */
static ssize_t
deliver(struct send_call *c, struct send_msg *m)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&m->name;
	ssize_t n;
	int r;

	r = translate_ctl(c, m);
	if (r < 0)
		goto out;
	if (m->flags & MSG_ZEROCOPY) {
		int on = 0;
		socklen_t ol = sizeof(on);

		/* Our buffer is reused at once: no pages lent to the kernel. */
		if (getsockopt(c->sock, SOL_SOCKET, SO_ZEROCOPY, &on, &ol) == 0 && on) {
			r = -ENOBUFS;
			goto out;
		}
	}
	switch (unix_dest(c, m)) {
	case 1: {
		struct send_to_ctx x = { .c = c, .m = m, .r = 0 };

		r = sv_unixsock_via_path(c->s->u, c->nfd, c->req, sun->sun_path,
					 m->namelen - offsetof(struct sockaddr_un, sun_path),
					 "send to", send_to_checked, &x);
		n = r < 0 ? r : x.r;
		drop_ctl_fds(c->s);
		return n;
	}
	case 2:
		if (!sv_unixsock_abstract_ok(c->s->u, c->req, c->sock, "send to")) {
			r = -EACCES;
			goto out;
		}
		break;
	default:
		break;
	}
	n = send_data(c, m, m->namelen > 0 ? (const struct sockaddr *)&m->name : NULL, m->namelen);
	drop_ctl_fds(c->s);
	return n;
out:
	drop_ctl_fds(c->s);
	return r;
}

/* Write the 32-bit msg_len of a sendmmsg entry back. 0 or -EFAULT. */
static int
put_msg_len(struct send_call *c, uint64_t addr, unsigned len)
{
	struct iovec local = { .iov_base = &len, .iov_len = sizeof(len) };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = sizeof(len) };

	return process_vm_writev((pid_t)c->req->pid, &local, 1, &remote, 1, 0) ==
		       (ssize_t)sizeof(len)
		   ? 0
		   : -EFAULT;
}

/* The call in req on our copy. The answer (count or -errno); *flags_out its flags. */
static long
perform(struct send_call *c, int *flags_out)
{
	const struct seccomp_notif *req = c->req;
	pid_t pid = (pid_t)req->pid;
	struct send_msg m;
	struct msghdr mh;
	long r;

	switch (req->data.nr) {
	case SYS_sendto: {
		uint64_t addrlen = req->data.args[5];

		*flags_out = (int)req->data.args[3];
		/* move_addr_to_kernel's limit */
		if ((int)addrlen < 0 || addrlen > sizeof(struct sockaddr_storage))
			return -EINVAL;
		memset(&m, 0, sizeof(m));
		m.flags = (int)req->data.args[3];
		m.namelen = req->data.args[4] != 0 ? (socklen_t)addrlen : 0;
		r = read_mem(pid, &m.name, req->data.args[4], m.namelen);
		if (r < 0)
			return r;
		/* One iovec: the caller's buffer. */
		c->s->riov[0].iov_base = (void *)(uintptr_t)req->data.args[1];
		c->s->riov[0].iov_len =
		    req->data.args[2] > SEND_RW_MAX ? SEND_RW_MAX : req->data.args[2];
		m.iovcnt = 1;
		m.total = c->s->riov[0].iov_len;
		return deliver(c, &m);
	}
	case SYS_sendmsg:
		*flags_out = (int)req->data.args[2];
		r = read_mem(pid, &mh, req->data.args[1], sizeof(mh));
		if (r == 0)
			r = load_msg(c, &mh, *flags_out, &m);
		return r < 0 ? r : deliver(c, &m);
	case SYS_sendmmsg: {
		uint64_t vec = req->data.args[1];
		unsigned vlen = (unsigned)req->data.args[2];
		long done = 0;

		*flags_out = (int)req->data.args[3];
		if (vlen > SV_SEND_IOV_MAX)
			vlen = SV_SEND_IOV_MAX;
		r = 0;
		/* As __sys_sendmmsg: an error counts only when nothing was sent. */
		for (unsigned i = 0; i < vlen; i++) {
			struct mmsghdr e;
			uint64_t at = vec + (uint64_t)i * sizeof(e);

			r = read_mem(pid, &e, at, sizeof(e));
			if (r == 0)
				r = load_msg(c, &e.msg_hdr, *flags_out, &m);
			if (r == 0)
				r = deliver(c, &m);
			if (r < 0)
				break;
			if (put_msg_len(c, at + offsetof(struct mmsghdr, msg_len), (unsigned)r) <
			    0) {
				r = -EFAULT;
				break;
			}
			done++;
			/* a stream that took part of a message is full */
			if ((size_t)r < m.total)
				break;
		}
		return done > 0 ? done : r;
	}
	default:
		return -ENOSYS;
	}
}

/*
 * One try at the call in req. Returns 1 when a blocking caller would have
 * to wait and nothing was sent (*sockp: our copy of the socket, to watch);
 * 0 with resp filled otherwise (*sigpipe_pidfd >= 0 when SIGPIPE is owed).
 */
static int
attempt(struct sv_unixsend *s, int nfd, const struct seccomp_notif *req,
	struct seccomp_notif_resp *resp, int *sockp, int *sigpipe_pidfd)
{
	_cleanup_close_ int pidfd = -1, sock = -1;
	struct send_call c;
	socklen_t ol = sizeof(int);
	int fl, flags = 0;
	long r;

	*sockp = -1;
	*sigpipe_pidfd = -1;
	resp->flags = 0;
	resp->val = 0;
	resp->error = 0;
	pidfd = sv_notify_pidfd(nfd, req);
	if (pidfd < 0) {
		resp->error = -ESRCH;
		return 0;
	}
	sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)req->data.args[0], 0);
	if (sock < 0) {
		resp->error = -errno;
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.nfd = nfd;
	c.req = req;
	c.pidfd = pidfd;
	c.sock = sock;
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &c.domain, &ol) < 0 ||
	    (ol = sizeof(int), getsockopt(sock, SOL_SOCKET, SO_TYPE, &c.type, &ol)) < 0) {
		resp->error = -errno;
		return 0;
	}
	r = perform(&c, &flags);
	if (r == -EAGAIN && !(flags & MSG_DONTWAIT) && (fl = fcntl(sock, F_GETFL)) >= 0 &&
	    !(fl & O_NONBLOCK)) {
		*sockp = steal_fd(sock);
		return 1;
	}
	if (r < 0)
		resp->error = (int)r;
	else
		resp->val = r;
	s->sent++;
	if (c.sigpipe)
		*sigpipe_pidfd = steal_fd(pidfd);
	return 0;
}

/*
 * A call the supervisor made but could not answer: a signal cut the
 * caller's wait (the notification is gone), and the kernel makes the same
 * call again after the handler, with the same registers. Answered from
 * here instead of sending twice (a stream would carry the data twice).
 */
static struct sv_send_done *
done_find(struct sv_unixsend *s, const struct seccomp_notif *req)
{
	uint64_t now = px_now_ms();

	for (size_t i = 0; i < ARRAY_SIZE(s->done); i++) {
		struct sv_send_done *d = &s->done[i];

		if (d->when_ms == 0 || d->tid != req->pid)
			continue;
		/* the caller went on to another call: that one is not a restart */
		if (now - d->when_ms > SV_SEND_DONE_MS || d->nr != req->data.nr ||
		    memcmp(d->args, req->data.args, sizeof(d->args)) != 0) {
			d->when_ms = 0;
			continue;
		}
		return d;
	}
	return NULL;
}

static void
done_keep(struct sv_unixsend *s, const struct seccomp_notif *req, int64_t val)
{
	struct sv_send_done *d = &s->done[0];

	for (size_t i = 0; i < ARRAY_SIZE(s->done); i++) {
		if (s->done[i].when_ms == 0 || s->done[i].tid == req->pid) {
			d = &s->done[i];
			break;
		}
		if (s->done[i].when_ms < d->when_ms)
			d = &s->done[i];
	}
	d->tid = req->pid;
	d->nr = req->data.nr;
	memcpy(d->args, req->data.args, sizeof(d->args));
	d->val = val;
	d->when_ms = px_now_ms();
}

/*
 * Answer the call in req with resp, then raise SIGPIPE if owed (after: a
 * signal would cut the wait). A successful call the caller no longer waits
 * for is kept for its restart (done_keep).
 */
static void
answer(struct sv_unixsend *s, int nfd, const struct seccomp_notif *req,
       struct seccomp_notif_resp *resp, int sigpipe_pidfd)
{
	if (sv_notify_send(nfd, resp) < 0) {
		if (errno != ENOENT)
			log_warn("answer seccomp notification");
		else if (resp->error == 0)
			done_keep(s, req, resp->val);
	} else if (sigpipe_pidfd >= 0 &&
		   syscall(SYS_pidfd_send_signal, sigpipe_pidfd, SIGPIPE, NULL, 0) < 0) {
		log_warn("raise SIGPIPE for a sandboxed process");
	}
	if (sigpipe_pidfd >= 0)
		close(sigpipe_pidfd);
}

static void
wait_release(struct sv_send_wait *w)
{
	struct px_loop *loop = w->s->u->sv->loop;

	px_timer_disarm(loop, &w->t);
	if (w->w.fd >= 0)
		px_loop_del(loop, &w->w);
	w->w.fd = -1;
	close(w->sock);
	w->sock = -1;
	w->used = 0;
}

/*
 * Does thread tid have a signal pending that it catches and does not
 * block? The caller of a blocked send waits killably (WAIT_KILLABLE_RECV):
 * only the supervisor's answer lets such a signal's handler run.
 */
static int
signal_waits(pid_t tid)
{
	char path[64], buf[2048], *p;
	unsigned long long pnd = 0, shd = 0, blk = 0, cgt = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nSigPnd:")) == NULL || sscanf(p + 8, "%llx", &pnd) != 1 ||
	    (p = strstr(buf, "\nShdPnd:")) == NULL || sscanf(p + 8, "%llx", &shd) != 1 ||
	    (p = strstr(buf, "\nSigBlk:")) == NULL || sscanf(p + 8, "%llx", &blk) != 1 ||
	    (p = strstr(buf, "\nSigCgt:")) == NULL || sscanf(p + 8, "%llx", &cgt) != 1)
		return 0;
	return ((pnd | shd) & ~blk & cgt) != 0;
}

static void
wait_retry(struct sv_send_wait *w)
{
	struct sv_unixsend *s = w->s;
	int nfd = s->u->sv->notify.fd;
	struct seccomp_notif_resp resp;
	int sock, sigpipe_pidfd;
	uint64_t now, next;

	/* Gone, or cut by a signal (the kernel makes the call again). */
	if (!sv_notify_id_valid(nfd, w->req.id)) {
		wait_release(w);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	resp.id = w->req.id;
	now = px_now_ms();
	if (w->deadline_ms != 0 && now >= w->deadline_ms) {
		resp.error = -EAGAIN;
		answer(s, nfd, &w->req, &resp, -1);
		wait_release(w);
		return;
	}
	/* Nothing sent yet: let a handler run, as an interrupted send does. */
	if (signal_waits((pid_t)w->req.pid)) {
		resp.error = -EINTR;
		answer(s, nfd, &w->req, &resp, -1);
		wait_release(w);
		return;
	}
	if (attempt(s, nfd, &w->req, &resp, &sock, &sigpipe_pidfd) == 1) {
		close(sock);
		w->backoff_ms =
		    w->backoff_ms * 2 > SEND_BACKOFF_MAX ? SEND_BACKOFF_MAX : w->backoff_ms * 2;
		next = w->backoff_ms;
		if (w->deadline_ms != 0 && w->deadline_ms - now < next)
			next = w->deadline_ms - now;
		if (px_timer_arm(s->u->sv->loop, &w->t, next) < 0)
			log_warn("retry timer");
		return;
	}
	answer(s, nfd, &w->req, &resp, sigpipe_pidfd);
	wait_release(w);
}

static void
on_wait_io(struct px_loop *loop, struct px_watch *pw, uint32_t events)
{
	(void)loop;
	(void)events;
	wait_retry(px_container_of(pw, struct sv_send_wait, w));
}

static void
on_wait_timer(struct px_loop *loop, struct px_timer *t)
{
	(void)loop;
	wait_retry(px_container_of(t, struct sv_send_wait, t));
}

/* Keep the caller of req blocked until sock takes the data. 0 or -errno for the answer. */
static int
wait_begin(struct sv_unixsend *s, const struct seccomp_notif *req, int sock)
{
	struct px_loop *loop = s->u->sv->loop;
	struct sv_send_wait *w = NULL;
	struct timeval tv;
	socklen_t tl = sizeof(tv);

	for (size_t i = 0; i < ARRAY_SIZE(s->wait) && w == NULL; i++)
		if (!s->wait[i].used)
			w = &s->wait[i];
	if (w == NULL) {
		if (!s->warned_full++)
			log_warnx("more than %d sandboxed senders blocked at once: ENOBUFS",
				  SV_SEND_WAITERS);
		close(sock);
		return -ENOBUFS;
	}
	memset(w, 0, sizeof(*w));
	w->s = s;
	memcpy(&w->req, req, sizeof(w->req));
	w->sock = sock;
	w->w.fd = -1;
	w->backoff_ms = 1;
	px_timer_init(&w->t, on_wait_timer);
	if (getsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) == 0 &&
	    (tv.tv_sec > 0 || tv.tv_usec > 0))
		w->deadline_ms =
		    px_now_ms() + (uint64_t)tv.tv_sec * 1000 + (uint64_t)(tv.tv_usec + 999) / 1000;
	/*
	 * Edge-triggered: a unix datagram socket sending to a named peer is
	 * always "writable" (its own buffer) while the peer's queue is full;
	 * the timer covers that case.
	 */
	if (px_loop_add(loop, &w->w, sock, EPOLLOUT | EPOLLET, on_wait_io) < 0 ||
	    px_timer_arm(loop, &w->t, w->backoff_ms) < 0) {
		int e = errno;

		w->used = 1;
		wait_release(w);
		return -e;
	}
	w->used = 1;
	s->waited++;
	return 0;
}

static void
on_send(void *arg, int nfd, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	struct sv_unixsend *s = arg;
	struct sv_send_done *d;
	int sock, sigpipe_pidfd, r;

	d = done_find(s, req);
	if (d != NULL) {
		resp->flags = 0;
		resp->error = 0;
		resp->val = d->val;
		d->when_ms = 0;
		return;
	}
	if (attempt(s, nfd, req, resp, &sock, &sigpipe_pidfd) == 1) {
		r = wait_begin(s, req, sock);
		if (r == 0) {
			resp->flags = SV_NOTIFY_NO_ANSWER;
			return;
		}
		resp->error = r;
		return;
	}
	/* Answered here, so that a call cut by a signal is remembered. */
	answer(s, nfd, req, resp, sigpipe_pidfd);
	resp->flags = SV_NOTIFY_NO_ANSWER;
}

int
sv_unixsend_netlink_refused(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		size_t step;

		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
			return 0;
		/* rtnl_net_getid: NETNSA_PID / NETNSA_FD looked up in the sender's context */
		if (h.nlmsg_type == RTM_GETNSID && !(h.nlmsg_flags & NLM_F_DUMP))
			return 1;
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step > len)
			step = len;
		p += step;
		len -= step;
	}
	return 0;
}

int
sv_unixsend_register(struct sv_unixsend *s, struct sv_unixsock *u, struct cordon_err *err)
{
	static const int calls[] = { SYS_sendto, SYS_sendmsg, SYS_sendmmsg };

	s->u = u;
	s->buf = malloc(SV_SEND_MAX);
	if (s->buf == NULL)
		return cordon_err_set(err, ENOMEM, "send buffer");
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++)
		if (sv_notify_register(&u->sv->notify, calls[i], on_send, s) < 0)
			return cordon_err_set(err, errno, "register the send handlers");
	return 0;
}

void
sv_unixsend_fini(struct sv_unixsend *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->wait); i++) {
		if (!s->wait[i].used)
			continue;
		close(s->wait[i].sock);
		s->wait[i].used = 0;
	}
	drop_ctl_fds(s);
	free(s->buf);
	s->buf = NULL;
}
