/* SPDX-License-Identifier: MIT */
/* See guard.h: the ends of a session, normal or not. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session/guard.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"

int
session_guard_option(struct session_guard *g, int opt, const char *arg, struct cordon_err *err)
{
	char *end;
	double v;

	if (opt != SESSION_OPT_STOP_TIMEOUT)
		return 0;
	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(v >= 0) || v > 86400) {
		cordon_err_set(err, 0, "bad --stop-timeout value '%s'", arg);
		return cordon_err_hint(err, "give seconds from 0 to 86400, e.g. --stop-timeout 30 "
					    "or --stop-timeout 0.5");
	}
	g->stop_timeout_ms = (unsigned)(v * 1000 + 0.5);
	return 1;
}

void
session_guard_say(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "cordon: %s\n", line);
}

int
session_guard_start(struct session_guard *g, struct cordon_err *err)
{
	struct audit_closer by = { .command = "run", .pid = getpid() };
	char dir[PATH_MAX];

	if (audit_session_id_new(g->id, err) < 0)
		return -1;
	by.session = g->id;
	sv_reg_recover(&by, session_guard_say, NULL);
	/*
	 * The directory exists before the policy looks at the workspace: with
	 * the home as workspace, cordon's state directory is a protected path,
	 * and one that appeared during the session would be quarantined.
	 */
	if (sv_reg_dir(dir, sizeof(dir), true, err) < 0)
		return cordon_err_wrap(err, "cannot record the session");
	return 0;
}

/* Is a equal to b or an ancestor of it? */
static bool
covers(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (strcmp(a, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static int
add_mount(struct sb_spec *spec, struct sb_mount *mounts, size_t *n, size_t max,
	  enum sb_mount_kind kind, const char *path, struct cordon_err *err)
{
	if (*n == max) {
		cordon_err_set(err, E2BIG, "more than %zu path rules", max);
		return cordon_err_hint(err, "the session records need path rules of their own");
	}
	memset(&mounts[*n], 0, sizeof(mounts[*n]));
	mounts[*n].kind = kind;
	mounts[*n].path = xstrdup(path);
	mounts[*n].origin = (char *)"session records";
	(*n)++;
	spec->n_mounts = *n;
	return 0;
}

/* Can the sandbox write (rename, remove) path: the workspace or a --rw rule holds it. */
static bool
writable_inside(const struct sb_spec *spec, const struct sb_mount *mounts, size_t n,
		const char *path)
{
	bool rw = covers(spec->workspace, path);

	for (size_t i = 0; i < n; i++) {
		if (!covers(mounts[i].path, path))
			continue;
		if (mounts[i].kind == SB_MOUNT_RW)
			rw = true;
		else if (mounts[i].kind == SB_MOUNT_RO || mounts[i].kind == SB_MOUNT_MASK)
			return false;
	}
	return rw;
}

/* Is path itself a read-write bind of mounts (a mount point of its own inside)? */
static bool
bound_rw(const struct sb_mount *mounts, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (mounts[i].kind == SB_MOUNT_RW && strcmp(mounts[i].path, path) == 0)
			return true;
	return false;
}

/*
 * The records (other sessions' commands, workspaces, git configs) are none
 * of the sandbox's business, and the next cordon acts on what they say: a
 * sandbox must neither read nor forge them. The directory is masked. When
 * the sandbox can write one of its parents (the home as workspace), a
 * rename of that parent would carry the mask away and leave room for a
 * forged directory: every such parent becomes a mount point of its own (a
 * read-write bind onto itself, same content), which rename(2) and rmdir(2)
 * refuse with EBUSY.
 */
static int
protect_records(struct sb_spec *spec, struct sb_mount *mounts, size_t *n, size_t max,
		struct cordon_err *err)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	size_t given = *n;
	bool masked = false;

	if (sv_reg_dir(dir, sizeof(dir), true, err) < 0)
		return -1;
	if (covers(dir, spec->workspace)) {
		cordon_err_set(err, 0, "the workspace %s lies inside cordon's session records (%s)",
			       spec->workspace, dir);
		return cordon_err_hint(err, "choose another workspace");
	}
	for (char *slash = strchr(strcpy(parent, dir) + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (strcmp(parent, spec->workspace) != 0 && !bound_rw(mounts, given, parent) &&
		    writable_inside(spec, mounts, given, parent) &&
		    add_mount(spec, mounts, n, max, SB_MOUNT_RW, parent, err) < 0)
			return -1;
		*slash = '/';
	}
	for (size_t i = 0; i < given; i++)
		if (mounts[i].kind == SB_MOUNT_MASK && covers(mounts[i].path, dir))
			masked = true;
	return masked ? 0 : add_mount(spec, mounts, n, max, SB_MOUNT_MASK, dir, err);
}

int
session_guard_begin(struct session_guard *g, struct sv_supervisor *sv, struct sb_spec *spec,
		    struct sb_mount *mounts, size_t *n_mounts, size_t max, const char *state_dir,
		    const struct qr_snapshot *const *snaps, size_t n_snaps,
		    const struct cordon_audit *audit, struct cordon_err *err)
{
	_cleanup_free_ char *snapshot = NULL;
	struct sv_reg_info info;

	if (protect_records(spec, mounts, n_mounts, max, err) < 0)
		return -1;
	/* One text after the other, each ending with its "end" line (registry.c). */
	for (size_t i = 0; i < n_snaps; i++) {
		_cleanup_free_ char *one = qr_snapshot_save(snaps[i]);
		char *both = xasprintf("%s%s", snapshot != NULL ? snapshot : "", one);

		free(snapshot);
		snapshot = both;
	}
	memset(&info, 0, sizeof(info));
	memcpy(info.id, g->id, sizeof(info.id));
	info.started = (long long)time(NULL);
	info.workspace = (char *)(uintptr_t)spec->workspace;
	info.audit_log = audit != NULL ? (char *)(uintptr_t)audit_path(audit) : NULL;
	info.state_dir = (char *)(uintptr_t)state_dir;
	info.argv = (char **)(uintptr_t)spec->argv;
	info.snapshot = snapshot;
	if (sv_reg_open(&g->reg, &info, err) < 0)
		return cordon_err_wrap(err, "cannot record the session (the next cordon could not "
					    "finish its clean-up if this one were killed)");
	memcpy(sv->id, g->id, sizeof(sv->id));
	sv->reg = &g->reg;
	sv->stop_timeout_ms = g->stop_timeout_ms;
	log_info("session %s", g->id);
	log_debug("session record %s", g->reg.path);
	return 0;
}

void
session_guard_end(struct session_guard *g, bool cleaned)
{
	sv_reg_close(&g->reg, cleaned);
}
