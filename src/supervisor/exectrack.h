/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_EXECTRACK_H
#define CORDON_SUPERVISOR_EXECTRACK_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <sys/types.h>

#include "audit/audit.h"
#include "proxy/loop.h"

/*
 * What an exec call turned out to be (see exectrack.c for what is and is
 * not guaranteed). The exec notification handler notes each call before
 * it lets the kernel go on (sv_exectrack_begin); the call's exec record is
 * written once its outcome is known: at the caller's next notification,
 * at its exit_group, from a timer in the loop, or at the end.
 */
struct sv_exectrack;

/* Most calls pending at once; beyond, the oldest is settled as it stands. */
#define SV_EXEC_MAX_PENDING 1024

/*
 * A tracker writing to audit on loop. Both must outlive it. NULL with
 * errno (ENOMEM). Not safe after fork.
 */
struct sv_exectrack *sv_exectrack_new(struct px_loop *loop, struct cordon_audit *audit);

/*
 * Note the call in req (its path and argv as read in ev; copied), before
 * it is answered: what its path names now, the caller's state, a pidfd.
 * request_seq is the seq of its exec_request record. 0, or -1 with errno
 * (ESRCH: the caller is gone, or req is no longer valid: nothing was read
 * from it; ENOMEM).
 */
int sv_exectrack_begin(struct sv_exectrack *t, int notify_fd, const struct seccomp_notif *req,
		       const struct audit_exec_event *ev, uint64_t request_seq);

/*
 * The thread tid made a notified call (it is stopped in it): the calls it
 * had pending are over. exiting: the call is exit_group, so the calls of
 * its whole process are over too. Writes the records it can settle.
 */
void sv_exectrack_seen(struct sv_exectrack *t, pid_t tid, bool exiting);

/* Settle every pending call as it stands, write the records, free. NULL is fine. */
void sv_exectrack_free(struct sv_exectrack *t);

/*
 * What to do when an exec record could not be written: warn once when
 * failClosed is off (failClosed itself is audit_on_failure's job).
 */
void sv_exectrack_write_failed(struct cordon_audit *audit, const struct cordon_err *err);

#endif
