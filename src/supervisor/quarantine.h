/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_QUARANTINE_H
#define CORDON_SUPERVISOR_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * End-of-session quarantine of protected paths (DESIGN.md §4 "Pitfalls").
 *
 * A protected path that exists at start is bound read-only; one that does
 * not exist yet (`.git/hooks` before `git init`) cannot be, without making
 * a mount point on the host. So the supervisor records at start which
 * protected paths exist (identity, and the command-running keys of each
 * git config), and after the last sandboxed process is gone:
 *
 *   - new files in a hooks directory (but git's own `*.sample`) are moved
 *     into the quarantine directory, outside the workspace;
 *   - keys that run commands (core.hooksPath, core.fsmonitor, core.pager,
 *     core.editor, core.sshCommand, diff.external, filter.*, alias.*,
 *     include.path, credential.helper...) added to a git config are
 *     removed from it;
 *   - any other protected path that appeared, or that was replaced (a
 *     rename around the read-only mount), is moved into the quarantine;
 *   - a `.git` that became a `gitdir:` file pointing elsewhere is moved too.
 *
 * Runs in the supervisor, outside the sandbox, with the invoking user's
 * rights. Not safe after fork (allocates).
 */
struct qr_item;

struct qr_snapshot {
	char *workspace;
	struct qr_item *items;
	size_t n_items;
	char **report; /* lines for stderr, filled by qr_run */
	size_t n_report;
	char *qdir; /* quarantine directory used, or NULL */
};

/*
 * Record the state at start. protect: protected paths that exist (bound
 * read-only); watch: protected paths that do not exist yet. Paths are
 * absolute. 0, or -1 with err set.
 */
int qr_snapshot_take(struct qr_snapshot *s, const char *workspace, char *const *protect,
		     size_t n_protect, char *const *watch, size_t n_watch, struct cordon_err *err);

/*
 * Compare with the snapshot and quarantine what appeared. state_dir is
 * where quarantine/<time>-<pid>/ is created (e.g. ~/.local/state/cordon).
 * Returns the number of things quarantined or stripped (the report says
 * which), or -1 with err set when something could not be made safe.
 */
int qr_run(struct qr_snapshot *s, const char *state_dir, struct cordon_err *err);

/* Free the snapshot. */
void qr_snapshot_free(struct qr_snapshot *s);

/*
 * The snapshot as text, so that a later cordon can finish the quarantine
 * of a session whose supervisor was killed (supervisor/registry.c): one
 * item per line, strings percent-encoded (common/pct.h), hook hashes in
 * hex. Returns malloc'd text. Not safe after fork.
 */
char *qr_snapshot_save(const struct qr_snapshot *s);

/*
 * Fill s from qr_snapshot_save's text, as qr_snapshot_take had filled it
 * (report and qdir empty). 0, or -1 with err set when the text is
 * malformed (s is then empty; qr_snapshot_free is still safe).
 */
int qr_snapshot_load(struct qr_snapshot *s, const char *text, struct cordon_err *err);

/*
 * Git paths to protect in the workspace beyond the fixed list: the hooks
 * directory named by core.hooksPath (in the repository's config or the
 * user's ~/.gitconfig; relative paths are relative to the workspace) and,
 * when `.git` is a `gitdir:` file, the real git directory's hooks and
 * config. Returns a malloc'd array of malloc'd absolute paths (*n set).
 */
char **qr_git_protect_paths(const char *workspace, const char *home, size_t *n);

/*
 * Strip the command-running keys of a git config text that are not in
 * `before` (may be NULL: strip them all). Returns the new text (malloc'd)
 * and the number of removed keys in *removed, their names appended to
 * names (malloc'd strings, caller frees). Pure.
 */
char *qr_git_config_strip(const char *text, const char *before, size_t *removed, char ***names,
			  size_t *n_names);

/* True when the git config key (section[.sub].name, any case) runs commands. */
bool qr_git_key_dangerous(const char *section, const char *sub, const char *name);

#endif
