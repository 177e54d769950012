/* SPDX-License-Identifier: MIT */
/*
 * Exec audit handler (see execaudit.h). Runs in the supervisor's event
 * loop. The target is stopped in execve while we read: its argv is still in
 * its memory. Bounds (AUDIT_EXEC_* in audit/audit.h): at most 256 argv
 * entries, 4096 bytes each, 64 KiB in total, 4096 bytes of path; anything
 * beyond is cut and the record says "truncated": true.
 *
 * The strings are read with process_vm_readv. After reading, the
 * notification id is checked again: if the target died meanwhile (and its
 * pid was reused) the bytes came from another process, so no record is
 * written; the exec did not happen either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "supervisor/execaudit.h"
#include "supervisor/exectrack.h"

#define PAGE 4096u

/* Read up to len bytes at addr, page by page; bytes read, or -1 if none. */
static ssize_t
read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = PAGE - (size_t)(a % PAGE);
		struct iovec local, remote;
		ssize_t n;

		if (chunk > len - done)
			chunk = len - done;
		local.iov_base = (char *)buf + done;
		local.iov_len = chunk;
		remote.iov_base = (void *)(uintptr_t)a;
		remote.iov_len = chunk;
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			break;
		done += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	if (done == 0 && len > 0)
		return -1;
	return (ssize_t)done;
}

ssize_t
sv_read_remote_string(pid_t pid, uint64_t addr, char *buf, size_t max, int *truncated)
{
	size_t done = 0;

	*truncated = 0;
	if (addr == 0) {
		errno = EFAULT;
		return -1;
	}
	while (done < max) {
		uint64_t a = addr + done;
		size_t chunk = PAGE - (size_t)(a % PAGE);
		ssize_t n;
		char *nul;

		if (chunk > max - done)
			chunk = max - done;
		n = read_remote(pid, a, buf + done, chunk);
		if (n <= 0) {
			if (done == 0)
				return -1;
			*truncated = 1;
			return (ssize_t)done;
		}
		nul = memchr(buf + done, '\0', (size_t)n);
		if (nul != NULL)
			return nul - buf;
		done += (size_t)n;
		if ((size_t)n < chunk) {
			*truncated = 1;
			return (ssize_t)done;
		}
	}
	*truncated = 1;
	return (ssize_t)done;
}

static char *const *command_argv;

/* Scratch space: one notification at a time (single-threaded loop). */
static char path_buf[AUDIT_EXEC_MAX_PATH];
static char argv_buf[AUDIT_EXEC_MAX_ARGV_BYTES];
static uint64_t ptrs[AUDIT_EXEC_MAX_ARGS + 1];
static const char *argv_ptr[AUDIT_EXEC_MAX_ARGS];
static size_t argv_len[AUDIT_EXEC_MAX_ARGS];

static void
read_exec(const struct seccomp_notif *req, struct audit_exec_event *ev)
{
	int at = strcmp(ev->syscall, "execveat") == 0;
	uint64_t path_addr = at ? req->data.args[1] : req->data.args[0];
	uint64_t argv_addr = at ? req->data.args[2] : req->data.args[1];
	pid_t pid = (pid_t)req->pid;
	size_t used = 0, nptr;
	ssize_t n;
	int trunc = 0;

	n = sv_read_remote_string(pid, path_addr, path_buf, sizeof(path_buf), &trunc);
	if (n >= 0) {
		ev->path = path_buf;
		ev->path_len = (size_t)n;
		ev->truncated |= trunc;
	} else {
		ev->truncated = true;
	}
	if (argv_addr == 0)
		return;
	n = read_remote(pid, argv_addr, ptrs, sizeof(ptrs));
	if (n < 0) {
		ev->truncated = true;
		return;
	}
	nptr = (size_t)n / sizeof(ptrs[0]);
	for (size_t i = 0; i < nptr; i++) {
		if (ptrs[i] == 0)
			return;
		if (i == AUDIT_EXEC_MAX_ARGS || used == sizeof(argv_buf)) {
			ev->truncated = true;
			return;
		}
		{
			size_t max = sizeof(argv_buf) - used;

			if (max > AUDIT_EXEC_MAX_ARG)
				max = AUDIT_EXEC_MAX_ARG;
			n = sv_read_remote_string(pid, ptrs[i], argv_buf + used, max, &trunc);
			if (n < 0) {
				ev->truncated = true;
				return;
			}
			argv_ptr[ev->argc] = argv_buf + used;
			argv_len[ev->argc] = (size_t)n;
			ev->argc++;
			ev->truncated |= trunc;
			used += (size_t)n;
		}
	}
	/* The pointer array ended (unmapped page) before its NULL. */
	ev->truncated = true;
}

static struct sv_exectrack *track;

static void
on_exec(void *arg, int notify_fd, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	struct sv_supervisor *sv = arg;
	struct audit_exec_event ev;
	struct cordon_err err = { 0 };
	uint64_t seq = 0;

	memset(&ev, 0, sizeof(ev));
	ev.pid = (pid_t)req->pid;
	ev.dirfd = AT_FDCWD;
	ev.argv = argv_ptr;
	ev.argv_len = argv_len;
	if (req->data.nr == __NR_execveat) {
		ev.syscall = "execveat";
		ev.dirfd = (int)req->data.args[0];
		ev.flags = (int)req->data.args[4];
	} else {
		ev.syscall = "execve";
	}
	/* This thread's earlier exec is over: its record first. */
	sv_exectrack_seen(track, ev.pid, false);
	read_exec(req, &ev);
	if (!sv_notify_id_valid(notify_fd, req->id))
		return; /* the target is gone: what we read is not its */
	if (ev.path == NULL && ev.argc == 0 && sv->start_state == 0 && command_argv != NULL) {
		/* cordon starting the command (see execaudit.h): it runs argv. */
		for (size_t i = 0; command_argv[i] != NULL && i < AUDIT_EXEC_MAX_ARGS; i++) {
			argv_ptr[i] = command_argv[i];
			argv_len[i] = strnlen(command_argv[i], AUDIT_EXEC_MAX_ARG);
			ev.argc++;
		}
		ev.truncated = false;
		ev.argv_from_command_line = true;
	}
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (sv->audit == NULL)
		return;
	if (audit_exec_request(sv->audit, &ev, &seq, &err) == 0) {
		/* Its outcome is recorded later; without a note, as "unknown". */
		if (track != NULL && sv_exectrack_begin(track, notify_fd, req, &ev, seq) < 0) {
			if (errno == ESRCH)
				return;
			ev.request_seq = seq;
			ev.outcome = "unknown";
			if (audit_exec(sv->audit, &ev, &err) < 0)
				sv_exectrack_write_failed(sv->audit, &err);
		}
		return;
	}
	if (!audit_fail_closed(sv->audit)) {
		sv_exectrack_write_failed(sv->audit, &err);
		return;
	}
	/*
	 * failClosed: nothing runs unlogged. Refuse this exec and end the
	 * sandbox; the caller reports audit_failed().
	 */
	resp->flags = 0;
	resp->error = -EPERM;
	sv_audit_stop_sandbox(sv);
}

/* exit_group: the process's exec calls are over; read what ran while it is here. */
static void
on_exit_group(void *arg, int notify_fd, const struct seccomp_notif *req,
	      struct seccomp_notif_resp *resp)
{
	(void)arg;
	(void)notify_fd;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	sv_exectrack_seen(track, (pid_t)req->pid, true);
}

void
sv_audit_stop_sandbox(void *arg)
{
	struct sv_supervisor *sv = arg;

	if (syscall(SYS_pidfd_send_signal, sv->sess.pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		log_warn("stop the sandbox after an audit failure");
}

int
sv_execaudit_register(struct sv_supervisor *sv, char *const *cmd_argv)
{
	command_argv = cmd_argv;
	if (sv->audit != NULL && track == NULL) {
		track = sv_exectrack_new(sv->loop, sv->audit);
		if (track == NULL)
			return -1;
	}
	if (sv_notify_register(&sv->notify, __NR_execve, on_exec, sv) < 0 ||
	    sv_notify_register(&sv->notify, __NR_execveat, on_exec, sv) < 0 ||
	    sv_notify_register(&sv->notify, __NR_exit_group, on_exit_group, sv) < 0)
		return -1;
	return 0;
}

void
sv_execaudit_finish(void)
{
	sv_exectrack_free(track);
	track = NULL;
}
