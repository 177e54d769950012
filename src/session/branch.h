/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_BRANCH_H
#define CORDON_SESSION_BRANCH_H

/*
 * Branch mode (session/branch.c): `cordon run --name NAME --branch B`.
 * The command works in a git worktree of the workspace's repository, on
 * branch B, so that its work arrives as commits to review and merge.
 *
 * The worktree is $XDG_DATA_HOME/cordon/worktrees/NAME (default
 * ~/.local/share/...), made on first use by the host's git, run with
 * hooks and fsmonitor off and no GIT_* variable from the caller. It is the
 * sandbox's workspace. The repository's common git directory is writable
 * inside too, as a commit needs (objects, refs/heads/B, the logs, the
 * worktree's own HEAD and index); its control files stay read-only and
 * are compared at the end (docs/git.md): hooks, config, info/, the
 * other worktrees, the main worktree's HEAD and index, packed-refs and
 * every other ref. The main checkout's files are not writable.
 */

#include <stdbool.h>

#include "common/err.h"
#include "policy/policy.h"
#include "session/named.h"
#include "supervisor/gitscan.h"

/*
 * Before the policy is applied. Without --branch and without a branch
 * remembered by the named sandbox: 0, nothing done, *workspace NULL.
 * Else: --name required; the lock of the sandbox taken (named_take); the
 * worktree made (or found again, or made again from the branch when it
 * was removed by hand), n's branch fields filled. *workspace is the
 * worktree (malloc'd). workspace is the directory given with -w, which
 * must lie in a git repository on first use. 0, or -1 with err and a hint
 * (exit 125). Not safe after fork.
 */
int session_branch_begin(struct session_named *n, const char *workspace, char **workspace_out,
			 struct cordon_err *err);

/*
 * The branch mode's path rules into layer (a built-in layer): the common
 * git directory writable, the main worktree's state and every ref but the
 * branch's read-only (and the directories that hold them bound onto
 * themselves, so none is renamed and replaced). Its control files are the
 * scan's (session_policy_add_git). Nothing when n is NULL or not in branch
 * mode. 0, or -1 with err when the rules would be too many (fail closed).
 */
int session_branch_rules(const struct session_named *n, struct cordon_policy *layer,
			 struct cordon_err *err);

/*
 * True for a read-only path of the branch mode's own (the main worktree's
 * HEAD and index, the refs): the mounts keep the sandbox from changing
 * them, and the user's git on the host changes them during the session,
 * so the quarantine must not take them for planted. The scan's control
 * paths (hooks, config) are not among them. scan may be NULL.
 */
bool session_branch_kept(const struct session_named *n, const char *path,
			 const struct qr_git_scan *scan);

/*
 * The git directories the quarantine compares besides the workspace:
 * the common directory, or NULL when not in branch mode.
 */
const char *session_branch_root(const struct session_named *n);

/*
 * env (malloc'd array, as session_policy_env returns it) with
 * safe.directory for the worktree added through GIT_CONFIG_COUNT (git
 * inside refuses a repository another uid owns), and without GIT_DIR,
 * GIT_WORK_TREE and their kin, which would point git elsewhere. Returns
 * the array (realloc'd; the new strings belong to n).
 */
char **session_branch_env(struct session_named *n, char **env);

/* After the session: "cordon: branch B: N new commits (git log FROM..B)" on stderr. */
void session_branch_report(const struct session_named *n);

/*
 * `cordon rm`: remove worktree with the host's git (`git worktree remove
 * --force`, hooks off); when the repository (common) is gone, its files.
 * The branch stays. 0, or -1 with err.
 */
int session_branch_remove(const char *common, const char *worktree, struct cordon_err *err);

/* Free n's branch fields. Safe twice. */
void session_branch_free(struct session_named *n);

#endif
