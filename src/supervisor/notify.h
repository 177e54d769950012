/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_NOTIFY_H
#define CORDON_SUPERVISOR_NOTIFY_H

#include <linux/seccomp.h>

#include "proxy/loop.h"

/*
 * Serving the sandbox's seccomp user-notification listener: one fd, handlers
 * registered per syscall number. A syscall without a handler is continued.
 *
 * A handler fills resp: resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE to let
 * the call proceed (logging only: never a security decision, the arguments
 * may change after the check), or resp->error = -errno / resp->val to answer
 * in place of the kernel (after doing the call itself), or
 * resp->flags = SV_NOTIFY_NO_ANSWER when it has answered already or will
 * answer later (sv_notify_send): the caller stays blocked until then.
 */
typedef void (*sv_notify_fn)(void *arg, int notify_fd, const struct seccomp_notif *req,
			     struct seccomp_notif_resp *resp);

#define SV_NOTIFY_MAX_HANDLERS 8

/* resp->flags from a handler: do not answer now (not a kernel flag). */
#define SV_NOTIFY_NO_ANSWER (1u << 31)

struct sv_notify {
	struct px_watch w;
	int fd;                    /* listener, owned */
	struct seccomp_notif *req; /* sized by SECCOMP_GET_NOTIF_SIZES */
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	struct {
		int nr;
		sv_notify_fn fn;
		void *arg;
	} handlers[SV_NOTIFY_MAX_HANDLERS];
	size_t n_handlers;
	unsigned long served;
};

/* Set up n with no fd yet. Never fails. */
void sv_notify_init(struct sv_notify *n);

/* Register fn for syscall nr (native ABI). 0 or -1 (E2BIG). */
int sv_notify_register(struct sv_notify *n, int nr, sv_notify_fn fn, void *arg);

/* Take ownership of the listener fd and serve it on loop. 0 or -1 with errno. */
int sv_notify_attach(struct sv_notify *n, struct px_loop *loop, int fd);

/* Stop serving and free. */
void sv_notify_fini(struct sv_notify *n, struct px_loop *loop);

/*
 * Still valid? After reading anything from the target's memory, a handler
 * calls this: if the target died and its pid was reused, the read came
 * from another process and must not be trusted.
 */
int sv_notify_id_valid(int notify_fd, __u64 id);

/*
 * A pidfd (the caller's to close) of the thread that made the call in req
 * (Linux >= 6.9), or else of its process, opened while the notification
 * is still live, so that it is that process and not one that reused the
 * pid. Good for pidfd_getfd; a signal sent through it goes to that thread
 * where the kernel can say so. -1 with errno (ESRCH when the caller is
 * gone).
 */
int sv_notify_pidfd(int notify_fd, const struct seccomp_notif *req);

/*
 * Answer a notification a handler kept (SV_NOTIFY_NO_ANSWER). 0, or -1
 * with errno (ENOENT: the caller is gone or was interrupted by a signal;
 * the kernel restarts an interrupted call as a new notification).
 */
int sv_notify_send(int notify_fd, struct seccomp_notif_resp *resp);

#endif
