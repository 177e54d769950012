/* SPDX-License-Identifier: MIT */
/* The session's audit trail: open and mask the log, start and end records. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "audit/audit.h"
#include "common/log.h"
#include "session/internal.h"
#include "supervisor/execaudit.h"

void
session_audit_from_policy(struct session_audit *sa, const struct cordon_policy *pol)
{
	const struct policy_value *v;

	if (pol == NULL)
		return;
	v = &pol->scalars[POLICY_AUDIT_PATH];
	if (sa->opts.path == NULL && v->set && v->s != NULL)
		sa->opts.path = v->s;
	v = &pol->scalars[POLICY_AUDIT_OTLP];
	if (sa->opts.otlp_endpoint == NULL && v->set && v->s != NULL)
		sa->opts.otlp_endpoint = v->s;
	v = &pol->scalars[POLICY_AUDIT_FAIL_CLOSED];
	if (v->set)
		sa->opts.fail_closed = v->b;
	v = &pol->scalars[POLICY_AUDIT_SYSLOG];
	if (v->set && v->b)
		sa->opts.syslog = true;
}

int
session_audit_begin(struct session_audit *sa, struct sb_spec *spec, struct sb_mount *mounts,
		    size_t *n_mounts, size_t max, struct cordon_err *err)
{
	char *mask;

	sa->log = audit_open(&sa->opts, err);
	if (sa->log == NULL)
		return -1;
	mask = *n_mounts < max ? audit_mask_path(sa->log, spec) : NULL;
	if (mask == NULL) {
		audit_close(sa->log);
		sa->log = NULL;
		cordon_err_set(err, *n_mounts < max ? ENOMEM : 0, "audit log mask");
		return cordon_err_hint(err,
				       "the audit log needs one path rule of its own (at "
				       "most %zu)",
				       max - 1);
	}
	memset(&mounts[*n_mounts], 0, sizeof(mounts[*n_mounts]));
	mounts[*n_mounts].kind = SB_MOUNT_MASK;
	mounts[*n_mounts].path = mask;
	mounts[*n_mounts].origin = (char *)"audit log";
	(*n_mounts)++;
	spec->n_mounts = *n_mounts;
	if (sa->exec)
		spec->notify |= SB_NOTIFY_EXEC;
	sa->spec = spec;
	log_debug("audit log %s, masked inside at %s", audit_path(sa->log), mask);
	return 0;
}

int
session_audit_record_start(struct session_audit *sa, struct cordon_err *err)
{
	if (audit_run_start(sa->log, sa->spec, sa->exec, sa->n_workspaces ? sa->workspaces : NULL,
			    sa->n_workspaces, err) < 0) {
		audit_close(sa->log);
		sa->log = NULL;
		return cordon_err_wrap(err, "cannot start the audit trail");
	}
	sa->started = true;
	return 0;
}

int
session_audit_attach(struct session_audit *sa, struct sv_supervisor *sv, struct cordon_err *err)
{
	sv->audit = sa->log;
	audit_on_failure(sa->log, sv_audit_stop_sandbox, sv);
	if (sa->exec && sv_execaudit_register(sv, sa->spec->argv) < 0)
		return cordon_err_set(err, errno, "exec audit");
	/* Threads only once the sandbox is cloned (see audit_start_export). */
	return audit_start_export(sa->log, err);
}

int
session_audit_end(struct cordon_session *s, int status, const char *reason)
{
	struct session_audit *sa = &s->audit;
	struct cordon_err err = { 0 };
	const struct cordon_err *failed;
	struct audit_session_end end = { .status = status,
					 .reason = reason,
					 .capture = sa->capture };
	bool ran;

	if (sa->log == NULL)
		return status;
	/* Setup failed before the sandbox was cloned: the attempt is on record too. */
	if (!sa->started && session_audit_record_start(sa, &err) < 0) {
		session_report(s, &err);
		return status;
	}
	/* The sandbox is gone (or never came): the exporter may run now. */
	audit_on_failure(sa->log, NULL, NULL);
	audit_start_export(sa->log, &err);
	/* The command ran (and was stopped) unless the run ended before it. */
	ran = strcmp(reason, "setup-error") != 0 && strcmp(reason, "not-started") != 0;
	failed = audit_failed(sa->log);
	if (failed != NULL && audit_fail_closed(sa->log)) {
		end.status = ran ? SESSION_EXIT_AUDIT_STOPPED : 125;
		end.reason = "audit-failure";
	}
	audit_session_end(sa->log, &end, &err);
	failed = audit_failed(sa->log);
	if (failed != NULL && audit_fail_closed(sa->log)) {
		struct cordon_err e = *failed;

		cordon_err_wrap(&e, "the session was stopped because a record could not be "
				    "written (audit.failClosed)");
		session_report(s, &e);
		status = ran ? SESSION_EXIT_AUDIT_STOPPED : 125;
	}
	audit_close(sa->log);
	sa->log = NULL;
	return status;
}
