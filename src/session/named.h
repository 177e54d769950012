/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_NAMED_H
#define CORDON_SESSION_NAMED_H

/*
 * Named sandboxes (session/named.c): `cordon run --name NAME` keeps a
 * state directory, $XDG_DATA_HOME/cordon/sandboxes/NAME (default
 * ~/.local/share/...), 0700, holding
 *   lock          flock'd by the running session's cordon for its whole
 *                 life: a second run on the name is refused, and a cordon
 *                 that is killed (even by SIGKILL) releases it with its
 *                 last fd, so nothing blocks the next run
 *   sandbox.meta  created, last used, workspace, the further workspaces of
 *                 the last run (--workspace repeated), session id, pid of
 *                 the running cordon (replaced atomically)
 *   upper/ work/  the overlay's layers over the host's system directories
 *                 (sandbox/overlay.c): what the command installs
 *   ws-upper/ ws-work/  review mode (--review, remembered as review=1):
 *                 the workspace's own overlay layers, the pending changes
 *   ws-manifest   review mode: what each changed path was on the host
 *                 when a session first left it changed (session/review.c)
 * Branch mode (--branch) adds branch=, worktree=, common= and from= to
 * sandbox.meta; its worktree lies in $XDG_DATA_HOME/cordon/worktrees/NAME
 * (session/branch.h), outside the masked sandboxes directory.
 * Every sandbox, named or not, has the sandboxes directory masked, so one
 * sandbox cannot read another's layers.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"
#include "sandbox/sandbox.h"

#define NAMED_MAX_DIRS 8
#define NAMED_MAX_OWN  64

/* One run's named sandbox; zero it (lock_fd -1) with NAMED_INIT. */
struct session_named {
	const char *name;   /* --name; NULL: an ephemeral sandbox */
	bool review;        /* --review, or a review sandbox re-entered */
	char dir[PATH_MAX]; /* its state directory */
	int lock_fd;        /* held while the session runs, -1 */
	bool fresh;         /* named_take made the state directory */
	time_t created;
	char *workspace;
	/*
	 * The further workspaces of this run, "rw:PATH" or "ro:PATH" (set by
	 * the caller before session_named_begin; borrowed): recorded in the
	 * metadata, replacing those of an earlier run.
	 */
	const char *const *more;
	size_t n_more;
	char session[64];
	const char *dirs[NAMED_MAX_DIRS]; /* overlaid host directories (static strings) */
	size_t n_dirs;
	char *own[NAMED_MAX_OWN]; /* made in the upper layer for the command (malloc'd) */
	size_t n_own;
	/* Branch mode (--branch, session/branch.h); all NULL otherwise. */
	const char *branch_arg; /* --branch as given */
	char *branch;           /* the branch, given or remembered (malloc'd) */
	char *worktree;         /* its worktree, the sandbox's workspace (malloc'd) */
	char *common;           /* the repository's git common directory (malloc'd) */
	char *from;             /* what the branch was made from, for `git log FROM..B` */
	char *start;            /* the branch's commit when the session started */
	char *env[3];           /* GIT_CONFIG_* for the sandbox: safe.directory (malloc'd) */
};

#define NAMED_INIT                                                                                 \
	{                                                                                          \
		.lock_fd = -1                                                                      \
	}

/* What `cordon ls` shows of one sandbox. */
struct named_info {
	char name[65];
	bool running;
	pid_t pid; /* cordon's pid while running, else 0 */
	time_t created, last_used;
	char *workspace; /* malloc'd, may be NULL */
	char **more;     /* further workspaces of the last run, "rw:PATH"/"ro:PATH", malloc'd */
	size_t n_more;
	char session[64]; /* last session id, "" */
	uint64_t bytes;   /* disk used by the state directory */
	char *branch;     /* branch mode: the branch (malloc'd), else NULL */
	char *worktree;   /* ... and its worktree (malloc'd) */
};

/* A valid name: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. 0, or -1 with err and hint. */
int named_valid(const char *name, struct cordon_err *err);

/*
 * The sandboxes' directory: $XDG_DATA_HOME/cordon/sandboxes when that is
 * absolute, else $HOME/.local/share/cordon/sandboxes. 0 or -1 (err).
 */
int named_root(char *out, size_t len, struct cordon_err *err);

/*
 * Before the sandbox is spawned (spec filled, mounts being collected):
 * ephemeral: mask the sandboxes' directory when it exists. Named: take the
 * lock (refused when another cordon holds it), check that overlayfs can use
 * the state directory, make the layers, write the metadata (session id and
 * this process as the running cordon), bind back the host's submounts of
 * the overlaid directories, and fill spec's overlay fields. Entries are
 * appended to mounts (paths malloc'd, freed with the session's) and
 * spec->n_mounts updated. 0, or -1 with err and a hint (exit 125).
 */
int session_named_begin(struct session_named *n, const char *workspace, const char *session_id,
			struct sb_spec *spec, struct sb_mount *mounts, size_t *n_mounts, size_t max,
			struct cordon_err *err);

/*
 * Open the sandbox name for diff, apply, discard: dir filled, its
 * workspace (malloc'd, may be NULL) and whether it is a review sandbox.
 * *lock gets the lock fd, held exclusively (a run is refused meanwhile);
 * when a session runs it, -1 with err unless running_ok (then *lock is -1).
 * 0, or -1 with err (no such sandbox, running).
 */
int named_hold(const char *name, bool running_ok, char *dir, size_t len, int *lock,
	       char **workspace, bool *review, struct cordon_err *err);

/*
 * Take the lock of n->name and make its state directory (n->dir, then
 * canonical); what the branch mode needs before the workspace is known.
 * session_named_begin takes it when not yet held. 0, or -1 with err (in
 * use, no overlayfs in a user namespace).
 */
int named_take(struct session_named *n, struct cordon_err *err);

/*
 * A run refused after named_take made the sandbox: remove it again and
 * release the lock. Nothing when the sandbox was there before. Safe twice.
 */
void named_abandon(struct session_named *n);

/*
 * The branch mode remembered in the metadata of the state directory dir:
 * *branch, *worktree, *common, *from malloc'd (NULL when not a branch
 * sandbox; any pointer may be NULL to skip it).
 */
void named_branch_of(const char *dir, char **branch, char **worktree, char **common, char **from);

/* True when the metadata in dir says review mode (review=1). */
bool named_review_of(const char *dir);

/* named_branch_of for the sandbox name. 0, or -1 with err (invalid name). */
int named_branch(const char *name, char **branch, char **worktree, struct cordon_err *err);

/* Remove what is below the directory path (not path itself). 0 or -1 errno. */
int named_empty_dir(const char *path);

/* After the session: metadata (last used, not running), the lock released. Safe twice. */
void session_named_end(struct session_named *n);

/* List every sandbox (sorted by name). *out malloc'd; named_list_free. 0 or -1 (err). */
int named_list(struct named_info **out, size_t *count, struct cordon_err *err);
void named_list_free(struct named_info *v, size_t count);
/* Free what one named_info holds (not the struct itself). */
void named_info_clear(struct named_info *i);

/*
 * One sandbox as `cordon ls` shows it (bytes left 0), for `cordon exec`:
 * freed with named_info_clear. -1 with err when there is no such sandbox or
 * its state directory is another user's.
 */
int named_find(const char *name, struct named_info *info, struct cordon_err *err);

/*
 * `cordon stop NAME`: SIGTERM to the running cordon of NAME (it passes it
 * on to the command and kills the sandbox after its grace period); wait up
 * to wait_ms for the lock to be released. 1 stopped, 0 was not running,
 * -1 err (no such sandbox, did not end in time).
 */
int named_stop(const char *name, unsigned wait_ms, struct cordon_err *err);

/*
 * `cordon rm NAME`: remove the state directory (refused while it runs
 * unless force, which stops it first). A branch sandbox's worktree is
 * removed too, with the host's git (session_branch_remove), when
 * worktree_ok; else it is refused. The branch stays. 0 or -1 (err).
 */
int named_remove(const char *name, bool force, bool worktree_ok, struct cordon_err *err);

#endif
