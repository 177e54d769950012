/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_GUARD_H
#define CORDON_SESSION_GUARD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit/audit.h"
#include "common/err.h"
#include "sandbox/sandbox.h"
#include "supervisor/quarantine.h"
#include "supervisor/registry.h"
#include "supervisor/supervisor.h"

/*
 * What makes every session end with its clean-up (session/guard.c):
 * the session's one id (audit records, control socket, session record,
 * `cordon ps`), the grace period between SIGTERM/SIGHUP and SIGKILL of
 * the sandbox (--stop-timeout), the session record that lets the next
 * cordon finish the clean-up of a run that was killed, and that clean-up
 * for earlier runs before this one starts.
 */
enum { SESSION_OPT_STOP_TIMEOUT = 1536 };

/* getopt_long entry. */
#define SESSION_GUARD_LONGOPTS                                                                     \
	{                                                                                          \
		"stop-timeout", required_argument, NULL, SESSION_OPT_STOP_TIMEOUT                  \
	}

#define SESSION_GUARD_USAGE                                                                        \
	"      --stop-timeout SECONDS  SIGTERM and SIGHUP to cordon are passed on; if\n"           \
	"                       the command has not ended SECONDS later, the whole\n"              \
	"                       sandbox is killed (default 10; 0: at once)\n"

struct session_guard {
	char id[AUDIT_SESSION_ID_LEN + 1]; /* "" until session_guard_start */
	unsigned stop_timeout_ms;
	struct sv_reg reg;
};

#define SESSION_GUARD_INIT                                                                         \
	{                                                                                          \
		.stop_timeout_ms = SV_STOP_TIMEOUT_MS, .reg = {.fd = -1 }                          \
	}

/*
 * --stop-timeout. Returns 1 when opt was ours, 0 when not, -1 with err set
 * on a bad value.
 */
int session_guard_option(struct session_guard *g, int opt, const char *arg, struct cordon_err *err);

/*
 * Before anything of this run looks at the workspace: finish the clean-up
 * of earlier sessions whose cordon was killed (their quarantine, their end
 * in the audit log; said on stderr), then pick this session's id. 0 or -1
 * with err (no id could be made).
 */
int session_guard_start(struct session_guard *g, struct cordon_err *err);

/*
 * After the policy is applied, the audit log opened and the quarantine
 * snapshots (snaps[0..n_snaps), one per read-write workspace, the primary
 * first; none when n_snaps is 0) taken, before the sandbox is spawned: write
 * this session's
 * record, keep the records out of the sandbox's reach (entries added to mounts,
 * spec->n_mounts updated), hand the id, the grace period and the record
 * to sv. 0 or -1 with err.
 */
int session_guard_begin(struct session_guard *g, struct sv_supervisor *sv, struct sb_spec *spec,
			struct sb_mount *mounts, size_t *n_mounts, size_t max,
			const char *state_dir, const struct qr_snapshot *const *snaps,
			size_t n_snaps, const struct cordon_audit *audit, struct cordon_err *err);

/*
 * After this session's quarantine (cleaned: it made everything safe):
 * remove the record, or leave it for the next cordon to retry when not
 * cleaned. Safe when nothing was begun.
 */
void session_guard_end(struct session_guard *g, bool cleaned);

/* stderr printer for sv_reg_recover ("cordon: LINE"). */
void session_guard_say(void *arg, const char *line);

#endif
