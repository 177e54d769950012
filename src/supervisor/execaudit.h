/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_EXECAUDIT_H
#define CORDON_SUPERVISOR_EXECAUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/supervisor.h"

/*
 * Exec audit: one `exec` record per execve/execveat call made inside the
 * sandbox, from the seccomp user notification (spec.notify must include
 * SB_NOTIFY_EXEC). Logging only: the call is answered "continue" and the
 * kernel walls decide. A record is written per call, whether or not the
 * exec then succeeds (a PATH search that tries three directories makes
 * three records).
 *
 * Under failClosed, an exec whose record cannot be written is answered
 * EPERM and the sandbox is killed through its pidfd; audit_failed() on
 * sv->audit then says why.
 */

/*
 * Register the handlers on sv->notify. sv->audit must be set and outlive
 * the loop. Call after sv_init, before sv_run. 0 or -1 with errno.
 */
int sv_execaudit_register(struct sv_supervisor *sv);

/*
 * Read a NUL-terminated string of at most max bytes at addr in pid's memory
 * (process_vm_readv, page by page so an unmapped page only ends the read).
 * Returns its length (without NUL; max with *truncated set when no NUL came
 * within max) or -1 with errno when nothing could be read.
 */
ssize_t sv_read_remote_string(pid_t pid, uint64_t addr, char *buf, size_t max, int *truncated);

#endif
