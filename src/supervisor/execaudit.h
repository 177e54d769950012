/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_EXECAUDIT_H
#define CORDON_SUPERVISOR_EXECAUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/supervisor.h"

/*
 * Exec audit: per execve/execveat call made inside the sandbox, from the
 * seccomp user notification (spec.notify must include SB_NOTIFY_EXEC), an
 * `exec_request` record (the call as read, before the kernel acts) and,
 * once its outcome is known, an `exec` record saying what ran, or that it
 * failed (supervisor/exectrack.c). Logging only: the call is answered
 * "continue" and the kernel walls decide. A PATH search that tries three
 * directories makes three calls: two failed, one ran.
 *
 * Under failClosed, an exec whose request record cannot be written is
 * answered EPERM and the sandbox is killed through its pidfd; audit_failed()
 * on sv->audit then says why.
 */

/*
 * failClosed hook for audit_on_failure(): kill the sandbox through its
 * pidfd. arg is the struct sv_supervisor.
 */
void sv_audit_stop_sandbox(void *arg);

/*
 * Register the handlers on sv->notify. sv->audit must be set and outlive
 * the loop; so must command_argv (the command as given to cordon run).
 * Call after sv_attach, before sv_run. 0 or -1 with errno.
 *
 * The command's own execve calls come from a child of the sandbox's pid 1
 * that is not dumpable until it has exec'd (its memory is a copy of the
 * supervisor's); an unprivileged supervisor cannot read it. Those records
 * carry command_argv, "argv_from": "command-line" and a null path.
 */
int sv_execaudit_register(struct sv_supervisor *sv, char *const *command_argv);

/*
 * The sandbox is gone: write the exec records still pending (as they stand)
 * and free the tracker. Before the session's end record. Safe when
 * nothing was registered.
 */
void sv_execaudit_finish(void);

/*
 * Read a NUL-terminated string of at most max bytes at addr in pid's memory
 * (process_vm_readv, page by page so an unmapped page only ends the read).
 * Returns its length (without NUL; max with *truncated set when no NUL came
 * within max) or -1 with errno when nothing could be read.
 */
ssize_t sv_read_remote_string(pid_t pid, uint64_t addr, char *buf, size_t max, int *truncated);

#endif
