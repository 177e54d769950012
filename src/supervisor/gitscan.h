/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_GITSCAN_H
#define CORDON_SUPERVISOR_GITSCAN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Every git directory of a workspace and the files in each that run code
 * or send git elsewhere (docs/git.md). One bounded walk of the workspace
 * (the policy globs' walker: it skips node_modules and does not enter
 * .git) finds `.git` entries, `.husky` directories and folders git takes
 * for a git directory by their content whatever their name (HEAD, objects,
 * refs: a bare repository) at any depth; from each git directory the scan
 * follows, without walking its objects:
 *
 *   - its submodules' git directories (modules/ at any depth) and its
 *     worktrees' administrative directories (worktrees/<name>);
 *   - a `commondir` file (git then reads config and hooks there), and a
 *     `.git` file's or symlink's target;
 *   - the includes of each config (include.path, includeIf.*.path, to
 *     depth 10 like git), and core.hooksPath (husky: its `.husky` and
 *     `.husky/_` both).
 *
 * The user's own configs (~/.gitconfig, ~/.config/git/config,
 * /etc/gitconfig) add their includes and core.hooksPath.
 *
 * Control paths, existing or not, per git directory G: G/hooks, G/config,
 * G/config.worktree, G/commondir, G/info, and G/gitdir for a worktree's
 * administrative directory; the `.git` file or symlink itself (and a
 * `.git` directory, to see it swapped for one).
 *
 * Reads the file system (lstat, readdir, realpath, small reads); never
 * writes. Not safe after fork (allocates, threads).
 */

enum qr_git_kind {
	QR_GIT_HOOKS,     /* a directory of hook scripts */
	QR_GIT_CONFIG,    /* a git config file (or an included one) */
	QR_GIT_COMMONDIR, /* a commondir file */
	QR_GIT_POINTER,   /* a `.git` file or symlink */
	QR_GIT_OTHER,     /* info/, a worktree's gitdir file */
	QR_GIT_DOTGIT,    /* a `.git` directory: watched for a swap, never bound */
};

struct qr_git_path {
	char *path; /* absolute; canonical up to its last component */
	enum qr_git_kind kind;
};

struct qr_git_scan {
	char **dirs; /* git directories, canonical, in the order found */
	size_t n_dirs;
	struct qr_git_path *paths; /* control paths, exist or not; no duplicates */
	size_t n_paths;
	bool truncated; /* a limit was hit: there may be more */
	size_t walked;  /* directory entries read */
};

/* Limits of one scan. */
#define QR_GIT_MAX_DIRS  4096u
#define QR_GIT_MAX_PATHS 32768u
#define QR_GIT_MAX_DEPTH 16u

/*
 * Scan workspace (canonical). home may be NULL (no user config then).
 * Fills scan (free with qr_git_scan_free). Never fails; a hit limit sets
 * scan->truncated.
 */
void qr_git_scan(const char *workspace, const char *home, struct qr_git_scan *scan);

/* Free what qr_git_scan filled. */
void qr_git_scan_free(struct qr_git_scan *scan);

/* The kind of a control path of the scan, or -1 when it is not one. */
int qr_git_scan_kind(const struct qr_git_scan *scan, const char *path);

/* True when dir is one of the scan's git directories. */
bool qr_git_scan_has_dir(const struct qr_git_scan *scan, const char *dir);

/*
 * The target of a `.git` file's text ("gitdir: PATH"), resolved against
 * the directory the file is in. Returns a malloc'd absolute path (not
 * canonicalised), or NULL when text is not a gitdir file.
 */
char *qr_git_pointer_target(const char *text, const char *dir);

#endif
