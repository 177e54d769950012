/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_UNIXSEND_H
#define CORDON_SUPERVISOR_UNIXSEND_H

#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"
#include "proxy/loop.h"

struct sv_unixsock;

/*
 * The send side of the unix-socket gate (DESIGN.md §4): a datagram needs
 * no connect(), so sendto() with a destination, sendmsg() and sendmmsg()
 * reach the supervisor through the same seccomp user notification, and
 * the supervisor makes every one of these calls itself, on its copy of the
 * socket (pidfd_getfd), with its own copy of the address, the data and the
 * control messages. A pathname destination on a message socket goes
 * through the connect rules (unixsock.h) and is refused with EACCES and an
 * audit record the same way.
 *
 * Why every call and not only those that name a unix path: the kernel
 * reads the fd table and the message header again after a "continue", so a
 * thread could swap the socket (dup2) or the address (AF_INET -> AF_UNIX,
 * or an allowed path -> a denied one) after the check. A call the
 * supervisor made itself cannot change under it. send(), write() and
 * sendto() with no address stay in the kernel: they reach only the peer a
 * connect() (also gated) chose.
 *
 * Limits and differences from the kernel's own call, documented in
 * cordon(1):
 *   - a message (datagram, seqpacket) is at most SV_SEND_MAX bytes
 *     (EMSGSIZE beyond); a stream send carries at most what the socket
 *     takes without waiting (a short count, as after a signal)
 *   - control messages at most SV_SEND_CTL_MAX bytes (ENOBUFS); SCM_RIGHTS
 *     passes the caller's own files; every other SOL_SOCKET message
 *     (SCM_CREDENTIALS, SO_MARK, ...) is refused with EPERM: the kernel
 *     would check it against the supervisor, not the caller
 *   - MSG_ZEROCOPY on a socket with SO_ZEROCOPY: ENOBUFS (the documented
 *     "fall back to copying" answer)
 *   - the receiver sees the supervisor's credentials (SO_PASSCRED)
 *   - a blocking caller waits in the supervisor's loop, not in the
 *     kernel (EPOLLOUT and a back-off timer, SO_SNDTIMEO honoured); at
 *     most SV_SEND_WAITERS callers at once (ENOBUFS beyond). The wait is
 *     killable only (WAIT_KILLABLE_RECV): a caught signal ends it with
 *     EINTR at the next retry (at most SEND_BACKOFF_MAX ms), also under
 *     SA_RESTART
 *   - netlink: a request runs in the sender's context, so a request that
 *     names a process or fd of the sender (RTM_GETNSID) is refused (EPERM)
 *   - before Linux 5.19 (no WAIT_KILLABLE_RECV) a signal can cut the
 *     caller's wait after the supervisor made the call, and the kernel
 *     restarts it; a restart the supervisor can tell (its answer found the
 *     caller gone; same thread, same arguments, within SV_SEND_DONE_MS)
 *     gets the first call's result instead of a second send
 */
#define SV_SEND_MAX     (256 * 1024)
#define SV_SEND_CTL_MAX 4096
#define SV_SEND_WAITERS 64
#define SV_SEND_IOV_MAX 1024 /* UIO_MAXIOV */

struct sv_unixsend;

/* A caller blocked on a full socket, retried from the loop. */
struct sv_send_wait {
	struct sv_unixsend *s;
	struct seccomp_notif req; /* the call, made again on wake-up */
	struct px_watch w;        /* EPOLLOUT | EPOLLET on sock */
	struct px_timer t;        /* back-off retry, SO_SNDTIMEO */
	int used;
	int sock;             /* our copy of the caller's socket */
	uint64_t deadline_ms; /* SO_SNDTIMEO, 0 for none */
	unsigned backoff_ms;
};

/* A call made for a caller that a signal took away before the answer. */
struct sv_send_done {
	uint64_t when_ms; /* 0: slot free */
	uint32_t tid;
	int nr;
	uint64_t args[6];
	int64_t val;
};

#define SV_SEND_DONE_MS 1000 /* how long a restart is waited for */

struct sv_unixsend {
	struct sv_unixsock *u;
	unsigned char *buf;                         /* SV_SEND_MAX, data of one send */
	unsigned char ctl[SV_SEND_CTL_MAX];         /* control messages, fds translated */
	int ctl_fds[SV_SEND_CTL_MAX / sizeof(int)]; /* our copies of passed fds */
	size_t n_ctl_fds;
	struct iovec riov[SV_SEND_IOV_MAX]; /* the caller's iovecs (its addresses) */
	struct sv_send_wait wait[SV_SEND_WAITERS];
	struct sv_send_done done[16];
	unsigned long sent, waited;
	int warned_full;
};

/*
 * Register the sendto/sendmsg/sendmmsg handlers on u->sv->notify (the
 * filter notifies sendto only with a destination). Called by
 * sv_unixsock_register; s must outlive the loop. 0 or -1 with err set.
 */
int sv_unixsend_register(struct sv_unixsend *s, struct sv_unixsock *u, struct cordon_err *err);

/*
 * Release what is left after the loop is gone (blocked callers' socket
 * copies, the buffer). Safe on a zeroed or already released s; does not
 * touch the loop.
 */
void sv_unixsend_fini(struct sv_unixsend *s);

/*
 * Pure: would the netlink request in buf (len bytes, one send) make the
 * kernel look up a pid or fd in the sender's context? 1 for RTM_GETNSID
 * (not a dump), else 0. Walks the messages as netlink_rcv_skb does.
 */
int sv_unixsend_netlink_refused(const void *buf, size_t len);

#endif
