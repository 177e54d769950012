/* SPDX-License-Identifier: MIT */
/*
 * What `cordon run` records around one sandbox: the spec digest, the mask
 * that keeps the log out of the sandbox's reach, the session start record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "sandbox/sandbox.h"

static const char *const sandbox_namespaces[] = {
	"user", "mnt", "pid", "net", "ipc", "uts", "cgroup", NULL,
};

static const char *
kind_name(enum sb_mount_kind k)
{
	switch (k) {
	case SB_MOUNT_RW:
		return "rw";
	case SB_MOUNT_RO:
		return "ro";
	case SB_MOUNT_MASK:
		return "mask";
	case SB_MOUNT_TMPFS:
		return "tmpfs";
	default:
		return "?";
	}
}

int
audit_spec_digest(const struct sb_spec *spec, char out[8 + AUDIT_HASH_HEX])
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int r;

	if (f == NULL)
		return -1;
	/* Canonical: one "key=value" line per item, in spec order. */
	fprintf(f, "cordon-spec-v1\nworkspace=%s\nnotify=%u\n", spec->workspace,
		(unsigned)spec->notify);
	for (size_t i = 0; i < spec->n_mounts; i++)
		fprintf(f, "mount=%s:%s\n", kind_name(spec->mounts[i].kind), spec->mounts[i].path);
	if (fclose(f) != 0)
		return -1;
	memcpy(out, "sha256:", 7);
	r = audit_sha256_hex(text, size, out + 7);
	return r;
}

/* Is a equal to b or an ancestor of it (path-component-wise)? */
static bool
covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (strcmp(a, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

char *
audit_mask_path(const struct cordon_audit *a, const struct sb_spec *spec)
{
	const char *path = audit_path(a);
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	bool whole_dir = true;

	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return strdup(path);
	*slash = '\0';
	if (covers(dir, spec->workspace))
		whole_dir = false;
	for (size_t i = 0; whole_dir && i < spec->n_mounts; i++)
		if (covers(dir, spec->mounts[i].path))
			whole_dir = false;
	return whole_dir ? steal_ptr(dir) : strdup(path);
}

int
audit_run_start(struct cordon_audit *a, const struct sb_spec *spec, bool exec_audit,
		const struct audit_workspace *ws, size_t n_ws, struct cordon_err *err)
{
	const struct sb_report *rep = spec->report;
	struct audit_layers layers = {
		.namespaces = sandbox_namespaces,
		.seccomp = rep != NULL && rep->filled && rep->seccomp,
		.landlock_abi = rep != NULL && rep->filled ? rep->landlock_abi : -1,
		.limits = rep != NULL && rep->filled ? rep->limits : NULL,
		.memory_max = rep != NULL ? rep->memory_max : 0,
		.disk_max = rep != NULL ? rep->disk_max : 0,
		.cpu_millis = rep != NULL ? rep->cpu_millis : 0,
		.pids_max = rep != NULL ? rep->pids_max : 0,
		.exec_audit = exec_audit,
		.identity = spec->report ? spec->report->identity : NULL,
		.host_masks = spec->report ? spec->report->host_masks : 0,
	};
	struct audit_session_info info = {
		.argv = spec->argv,
		.cwd = spec->workspace,
		.workspaces = ws,
		.n_workspaces = n_ws,
		.uid = getuid(),
		.layers = &layers,
	};
	struct passwd *pw = getpwuid(getuid());
	char digest[8 + AUDIT_HASH_HEX];

	if (audit_spec_digest(spec, digest) < 0)
		return cordon_err_set(err, ENOMEM, "policy digest");
	info.policy_digest = digest;
	info.user = pw != NULL ? pw->pw_name : getenv("USER");
	return audit_session_start(a, &info, err);
}
