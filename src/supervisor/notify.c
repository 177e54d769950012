/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "supervisor/notify.h"

void
sv_notify_init(struct sv_notify *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->w.fd = -1;
}

int
sv_notify_register(struct sv_notify *n, int nr, sv_notify_fn fn, void *arg)
{
	if (n->n_handlers == SV_NOTIFY_MAX_HANDLERS) {
		errno = E2BIG;
		return -1;
	}
	n->handlers[n->n_handlers].nr = nr;
	n->handlers[n->n_handlers].fn = fn;
	n->handlers[n->n_handlers].arg = arg;
	n->n_handlers++;
	return 0;
}

int
sv_notify_id_valid(int notify_fd, __u64 id)
{
	return ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* PIDFD_THREAD (Linux 6.9) is O_EXCL; not in every libc's headers. */
#define SV_PIDFD_THREAD 0x80

/* Thread-group id of a thread id (from /proc), or tid itself if unknown. */
static pid_t
tgid_of(pid_t tid)
{
	char path[64], line[128];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		int v;

		if (sscanf(line, "Tgid: %d", &v) == 1)
			return (pid_t)v;
	}
	return tid;
}

int
sv_notify_pidfd(int notify_fd, const struct seccomp_notif *req)
{
	int fd;

	/*
	 * req->pid is the calling thread. Linux >= 6.9 opens a thread
	 * (PIDFD_THREAD); before, pidfd_open wants a thread-group leader: try
	 * the thread as one, else go through its Tgid in /proc. Multi-threaded
	 * runtimes (node, the JVM, Go, Chromium) make their calls from threads.
	 */
	fd = (int)syscall(SYS_pidfd_open, (pid_t)req->pid, SV_PIDFD_THREAD);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, (pid_t)req->pid, 0);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, tgid_of((pid_t)req->pid), 0);
	if (fd < 0)
		return -1;
	if (!sv_notify_id_valid(notify_fd, req->id)) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

int
sv_notify_send(int notify_fd, struct seccomp_notif_resp *resp)
{
	return ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static void
on_notify(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct sv_notify *n = px_container_of(w, struct sv_notify, w);

	if (events & EPOLLIN) {
		memset(n->req, 0, n->req_size);
		if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) == 0) {
			size_t i;

			memset(n->resp, 0, n->resp_size);
			n->resp->id = n->req->id;
			n->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			for (i = 0; i < n->n_handlers; i++)
				if (n->handlers[i].nr == n->req->data.nr) {
					n->handlers[i].fn(n->handlers[i].arg, n->fd, n->req,
							  n->resp);
					break;
				}
			n->served++;
			if (n->resp->flags & SV_NOTIFY_NO_ANSWER)
				return;
			/* ENOENT: the target died meanwhile; nothing to answer. */
			if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp) < 0 && errno != ENOENT)
				log_warn("answer seccomp notification");
		} else if (errno != EINTR && errno != ENOENT) {
			log_warn("read seccomp notification");
		}
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Every process of the sandbox is gone. */
		px_loop_del(loop, w);
		w->fd = -1;
	}
}

int
sv_notify_attach(struct sv_notify *n, struct px_loop *loop, int fd)
{
	struct seccomp_notif_sizes sizes;

	n->fd = fd;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -1;
	n->req_size = sizes.seccomp_notif > sizeof(*n->req) ? sizes.seccomp_notif : sizeof(*n->req);
	n->resp_size = sizes.seccomp_notif_resp > sizeof(*n->resp) ? sizes.seccomp_notif_resp
								   : sizeof(*n->resp);
	n->req = calloc(1, n->req_size);
	n->resp = calloc(1, n->resp_size);
	if (n->req == NULL || n->resp == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return px_loop_add(loop, &n->w, fd, EPOLLIN, on_notify);
}

void
sv_notify_fini(struct sv_notify *n, struct px_loop *loop)
{
	if (n->w.fd >= 0 && loop != NULL)
		px_loop_del(loop, &n->w);
	n->w.fd = -1;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	free(n->req);
	free(n->resp);
	n->req = NULL;
	n->resp = NULL;
}
