/* SPDX-License-Identifier: MIT */
#ifndef CORDON_POLICY_PLAN_H
#define CORDON_POLICY_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "policy/policy.h"

/*
 * From the effective policy to what the sandbox does on this machine:
 * paths expanded (`~` is $HOME of the invoking user, falling back to the
 * passwd entry; relative paths are relative to the workspace), globs
 * expanded once with a bounded walk, every path canonicalised, conflicts
 * resolved:
 *
 *   - allowRead beats denyRead at the same path and for paths inside a
 *     denied directory (the directory's other entries are masked one by
 *     one); a more specific deny inside an allowed path still wins;
 *   - denyWrite beats allowWrite;
 *   - a deny-write path that does not exist yet is watched: the session
 *     end quarantines it if it appears (supervisor/quarantine.c).
 *
 * Touches the file system (realpath, readdir); no writes.
 */
enum policy_mount_kind {
	POLICY_MOUNT_RW,   /* bind read-write */
	POLICY_MOUNT_RO,   /* re-bind read-only */
	POLICY_MOUNT_MASK, /* empty file / empty tmpfs over it */
};

struct policy_mount {
	enum policy_mount_kind kind;
	char *path;   /* absolute, canonical */
	char *origin; /* "built-in rule ~/.ssh" */
};

struct policy_ctx {
	const char *workspace; /* canonical */
	const char *home;      /* canonical or NULL */
	/*
	 * Further workspaces (canonical, none inside another): relative deny
	 * rules (denyRead, denyWrite, credential files) apply in each of them
	 * as in the workspace; relative allow rules only in the workspace.
	 * They are never masked; their own mounts come from the rules the
	 * caller adds for them (allowWrite, or denyWrite when read-only).
	 */
	const char *const *more;
	size_t n_more;
};

/* Limits of the start-up walk for globs. */
#define POLICY_GLOB_MAX_ENTRIES 1000000u
#define POLICY_GLOB_MAX_DEPTH   64u
#define POLICY_MAX_MOUNTS       1024u
#define POLICY_MAX_RW_MOUNTS    64u

struct policy_plan {
	struct policy_mount *mounts;
	size_t n_mounts;
	char **watch; /* deny-write paths absent at start, inside writable areas */
	size_t n_watch;
	/*
	 * denyRead paths absent at start (globs aside), canonical as far as
	 * they exist: nothing to mask now, but a sandbox that seals the
	 * directories above them keeps the names out (sandbox.h seal_root).
	 */
	char **absent;
	size_t n_absent;
	char **protect; /* deny-write paths present at start, inside writable areas */
	size_t n_protect;
	char **lifted; /* built-in denyWrite paths lifted by an explicit allowWrite */
	size_t n_lifted;
	char **protect_globs; /* deny-write glob patterns (absolute): a match made later is new */
	size_t n_protect_globs;
	char **notes; /* what was skipped and why */
	size_t n_notes;
	bool degraded; /* something could not be enforced exactly */
	size_t walked; /* directory entries read for globs */
};

/*
 * Build the plan. When the policy cannot be enforced exactly (glob walk
 * limits, too many mounts) this fails with err set, unless the policy says
 * failIfUnavailable: false or allow_degraded is set; then plan->degraded
 * is true and a note says what was weakened. 0 or -1.
 */
int policy_plan_build(const struct cordon_policy *pol, const struct policy_ctx *ctx,
		      bool allow_degraded, struct policy_plan *plan, struct cordon_err *err);

/* Free what policy_plan_build allocated; plan is left empty. */
void policy_plan_free(struct policy_plan *plan);

/*
 * Expand `~`, `~/...`, relative and absolute forms into an absolute path
 * with `.`, `..` and repeated slashes removed (lexically). 0, or -1 when
 * the result does not fit or `~` is used without a home.
 */
int policy_path_expand(const char *value, const struct policy_ctx *ctx, char *out, size_t len);

/* True when path equals dir or lies below it (both canonical). */
bool policy_path_within(const char *path, const char *dir);

/*
 * Expand one glob pattern (absolute, as from policy_path_expand) with the
 * bounded walk; calls fn for each match with its path. `**` matches any
 * number of directories; it does not enter `.git` or `node_modules`
 * unless the pattern names them. Returns the number of entries read, or
 * (size_t)-1 when a limit was hit (matches so far were reported).
 */
size_t policy_glob(const char *pattern, void (*fn)(const char *path, void *arg), void *arg);

#endif
