/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_QUARANTINE_H
#define CORDON_SUPERVISOR_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * End-of-session quarantine of protected paths (DESIGN.md §4 "Pitfalls",
 * docs/git.md).
 *
 * A protected path that exists at start is bound read-only; one that does
 * not exist yet (`.git/hooks` before `git init`) cannot be, without making
 * a mount point on the host. So the supervisor records at start which
 * protected paths exist (identity, hook hashes, the text of each git
 * config, commondir and `.git` file) and which git directories the
 * workspace has (supervisor/gitscan.h), and after the last sandboxed
 * process is gone:
 *
 *   - new or changed files in a hooks directory (`.git/hooks`, a
 *     core.hooksPath, husky's `.husky` and `.husky/_`), but git's own
 *     `*.sample`, are moved into the quarantine directory, outside the
 *     workspace;
 *   - every git config (a repository's, a submodule's, a worktree's
 *     config.worktree, an included file) is read as git reads it
 *     (supervisor/gitconfig.h), and each key the session added or changed
 *     that is not on the allowlist of keys that never run a command is
 *     removed; a config git would refuse is put back as it was (or moved
 *     aside when new);
 *   - a `commondir` or `.git` pointer written in the session is moved
 *     aside (but a new worktree's commondir naming its own repository, and
 *     a new `.git` file naming a git directory inside the workspace, which
 *     is then checked like the others);
 *   - the workspace is walked again: a git directory that appeared gets
 *     the same checks with nothing kept but allowlisted keys;
 *   - an agent's state file that stays writable (~/.claude.json) gets
 *     its launch keys (mcpServers, hooks, ...) put back as they were at
 *     the start (supervisor/agentcfg.h); one that no longer reads as JSON
 *     is put back whole;
 *   - a workspace `.claude` directory made in the session keeps its
 *     settings.local.json without the keys that start a program, and
 *     anything else in it is moved into the quarantine;
 *   - any other protected path that appeared, or that was replaced (a
 *     rename around the read-only mount), is moved into the quarantine;
 *     protected glob patterns (tool configs in every folder) are walked
 *     again for matches that appeared.
 *
 * Runs in the supervisor, outside the sandbox, with the invoking user's
 * rights. Not safe after fork (allocates).
 */
struct qr_item;

struct qr_snapshot {
	char *workspace;
	struct qr_item *items;
	size_t n_items;
	char **known; /* git directories in the workspace at start */
	size_t n_known;
	char **globs; /* deny-write glob patterns in the workspace, walked again at the end */
	size_t n_globs;
	char **lifted; /* protections the user lifted: never quarantined */
	size_t n_lifted;
	bool walk;     /* walk the workspace again at the end for new git directories */
	char **report; /* lines for stderr, filled by qr_run */
	size_t n_report;
	char *qdir; /* quarantine directory used, or NULL */
};

struct qr_git_scan;

/* What the session protects; every array is borrowed. */
struct qr_inputs {
	char *const *protect; /* protected paths that exist (bound read-only) */
	size_t n_protect;
	char *const *watch; /* protected paths that do not exist yet */
	size_t n_watch;
	char *const *lifted; /* built-in protections the user lifted (allowWrite) */
	size_t n_lifted;
	char *const *globs; /* deny-write glob patterns (absolute): matches made later are new */
	size_t n_globs;
	const struct qr_git_scan *git; /* the workspace's git directories, or NULL */
	char *const *agent_state;      /* agents' state files writable inside (~/.claude.json) */
	size_t n_agent_state;
	/* Another directory whose git control paths are checked (a worktree's common one), or NULL. */
	const char *root;
};

/*
 * Record the state at start. Paths are absolute. Every control path of
 * in->git inside the workspace or in->root is recorded, bound or not (but
 * those in lifted). 0, or -1 with err set.
 */
int qr_snapshot_take(struct qr_snapshot *s, const char *workspace, const struct qr_inputs *in,
		     struct cordon_err *err);

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
 * The quarantine directory qr_run makes below state_dir:
 * quarantine/<time>-<pid>, and for the nth further snapshot of one
 * session (several workspaces, nth > 0) quarantine/<time>-<pid>-<nth+1>,
 * which the caller puts in s->qdir before qr_run, so that the same
 * relative path in two workspaces never meets. Malloc'd.
 */
char *qr_qdir_name(const char *state_dir, size_t nth);

/*
 * The snapshot as text, so that a later cordon can finish the quarantine
 * of a session whose supervisor was killed (supervisor/registry.c): one
 * item per line, strings percent-encoded (common/pct.h), hook hashes in
 * hex, the git directories known at start. Returns malloc'd text. Not safe after fork.
 */
char *qr_snapshot_save(const struct qr_snapshot *s);

/*
 * Fill s from qr_snapshot_save's text, as qr_snapshot_take had filled it
 * (report and qdir empty). 0, or -1 with err set when the text is
 * malformed (s is then empty; qr_snapshot_free is still safe).
 */
int qr_snapshot_load(struct qr_snapshot *s, const char *text, struct cordon_err *err);

#endif
