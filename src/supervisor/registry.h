/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_REGISTRY_H
#define CORDON_SUPERVISOR_REGISTRY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "audit/audit.h"
#include "common/err.h"

/*
 * Session records: one small file per running `cordon run`, ID.session in
 * $XDG_STATE_HOME/cordon/sessions/ (else ~/.local/state/cordon/sessions/),
 * 0600 in a 0700 directory, masked inside every sandbox. A record holds
 * the session id, the workspace, the command, the supervisor's pid and
 * start time, the sandbox's pid 1, the audit log, and the quarantine
 * snapshot taken at start.
 *
 * The supervisor holds an exclusive flock(2) on its record for as long as
 * it lives, and removes the record after its clean-up (the quarantine).
 * A record whose lock is free therefore belongs to a supervisor that died
 * before its clean-up (SIGKILL, the OOM killer, a crash): sv_reg_recover,
 * run by the next `cordon run` or `cordon ps`, makes sure that sandbox is
 * gone, runs its quarantine with the snapshot of its start, closes the
 * session in its audit log (audit_close_orphan) and removes the record.
 *
 * Records are replaced by rename(2), never rewritten in place: a reader
 * sees the old record or the new one, whole. Not safe after fork.
 */

/* One record. Strings malloc'd (sv_reg_info_free). */
struct sv_reg_info {
	char id[AUDIT_SESSION_ID_LEN + 1];
	pid_t pid;                    /* the supervisor (`cordon run`) */
	unsigned long long pid_start; /* its start time: /proc/PID/stat field 22 */
	pid_t sandbox_pid;            /* the sandbox's pid 1, 0 before it exists */
	unsigned long long sandbox_start;
	long long started; /* unix time the session began */
	char *workspace;   /* canonical */
	char *audit_log;   /* canonical, or NULL */
	char *state_dir;   /* where quarantine/ goes */
	char **argv;       /* the command, NULL-terminated */
	char *snapshot;    /* qr_snapshot_save text, or NULL */
	bool unsafe;       /* it ended, but its quarantine could not make all safe */
	bool alive;        /* sv_reg_list: its supervisor holds the lock */
};

/* The record of this process's own session. */
struct sv_reg {
	int fd; /* the record, locked; -1 when there is none */
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct sv_reg_info info;
};

/*
 * The records' directory into out; created (0700, owned by us, parents
 * 0700) when create is set. 0 or -1 with err.
 */
int sv_reg_dir(char *out, size_t len, bool create, struct cordon_err *err);

/*
 * Write and lock the record of this session. info is copied (pid and
 * pid_start are filled in here: this process). 0 or -1 with err; on
 * failure r holds nothing and sv_reg_close is still safe.
 */
int sv_reg_open(struct sv_reg *r, const struct sv_reg_info *info, struct cordon_err *err);

/* Record the sandbox's pid 1 (in our pid namespace). 0 or -1 with err. */
int sv_reg_set_sandbox(struct sv_reg *r, pid_t pid, struct cordon_err *err);

/*
 * Release the record. cleaned: the session's quarantine made everything
 * safe, and the record is removed; otherwise it is kept, marked unsafe,
 * for sv_reg_recover to try again. Safe on a zeroed r with fd -1.
 */
void sv_reg_close(struct sv_reg *r, bool cleaned);

/*
 * Every record in the directory (unreadable ones skipped), alive or not,
 * sorted by start time. *out malloc'd (sv_reg_list_free). 0 or -1 with err
 * (a missing directory is an empty list).
 */
int sv_reg_list(struct sv_reg_info **out, size_t *n, struct cordon_err *err);
void sv_reg_list_free(struct sv_reg_info *v, size_t n);
void sv_reg_info_free(struct sv_reg_info *info);

/* What sv_reg_recover has to say, one line at a time (no "cordon: " prefix). */
typedef void (*sv_reg_say_fn)(void *arg, const char *line);

/*
 * Finish the clean-up of every session whose supervisor died (lock free):
 * make sure its sandbox is gone (SIGKILL to its pid 1, checked by start
 * time, and a bounded wait), run its quarantine, close it in its audit log
 * with reason "supervisor-killed" and closer by, remove the record. Each
 * step is reported through say. Returns the number of sessions cleaned up;
 * a session that could not be made safe keeps its record (retried next
 * time) and is reported. Never fails as a whole.
 */
int sv_reg_recover(const struct audit_closer *by, sv_reg_say_fn say, void *arg);

/* The record text of info (pure; malloc'd). For the unit tests too. */
char *sv_reg_format(const struct sv_reg_info *info);

/* Parse a record text into info (pure). 0, or -1 with err (info empty). */
int sv_reg_parse(const char *text, struct sv_reg_info *info, struct cordon_err *err);

/* Start time of pid (/proc/PID/stat field 22) and its state letter. 0 or -1. */
int sv_proc_start(pid_t pid, unsigned long long *start, char *state);

#endif
