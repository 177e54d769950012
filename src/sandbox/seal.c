/* SPDX-License-Identifier: MIT */
/*
 * The sealed home: the plan, made by the supervisor before clone (the
 * child mounts it: mount.c, sb_mount_seal).
 *
 * A mask is a bind over a host path. It covers what exists when the
 * sandbox starts, on the host dentry it was put on:
 *   - a credential file created on the host during the session (a first
 *     `aws configure`, `gh auth login`, `docker login`) would appear
 *     inside, as the directory shown is the live host directory;
 *   - a host rename over a masked file (the atomic replace most tools use
 *     to write) detaches the mask along with the dentry it sat on, and the
 *     new content would be readable.
 * So every directory from the home down to a mask's parent becomes a
 * directory of one small tmpfs (its root mounted over the home, the others
 * made in it). Each entry of the host directory is bound again onto a
 * stub of its own type, recursively and with the flags it had (a symbolic
 * link is copied); a directory on the way to another mask is a sealed
 * directory itself; a masked entry that exists is a bare stub, on which
 * its mask lands later as before; a masked name that does not exist is
 * left out. The workspace, agent state and the other policy paths land on
 * top as before, and the tmpfs is made read-only once they are in.
 *
 * Then a name the host creates later has no entry inside, and no host
 * rename can take a mask away: every mount point is a dentry of the
 * tmpfs, which the host cannot reach. The price: new entries of a sealed
 * directory (any name) do not appear during the session, and a shown file
 * of a sealed directory that the host replaces by a rename keeps showing
 * its old content (files written in place, and directories' contents,
 * stay live).
 *
 * Not sealed, masks as plain binds as before: masks inside a read-write
 * path (the workspace, agent state: those must stay live and writable) or
 * below another bind; a home not shown from the host (inside the workspace
 * or a policy path, the private home, a skeleton) or, for a root invoker,
 * a directory on the way that others may not read.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"

#define SB_SEAL_MAX_DIRS    128
#define SB_SEAL_MAX_ENTRIES 16384

/*
 * Is path shown by something other than the host's read-only root: the
 * sandbox's own directories, the workspace, a path of the spec (bind or
 * tmpfs), a found bind, the private home, a skeleton?
 */
static bool
shown_otherwise(const struct sb_spec *spec, const struct sb_reach *r, const char *path)
{
	if (sb_in_private_root(path) || sb_path_within(path, spec->workspace) ||
	    (spec->private_home != NULL && sb_path_within(path, spec->private_home)))
		return true;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct sb_mount *m = &spec->mounts[i];

		if (m->kind != SB_MOUNT_MASK &&
		    sb_path_within(path, m->kind == SB_MOUNT_RO && m->target ? m->target : m->path))
			return true;
	}
	for (size_t i = 0; i < r->n_mounts; i++)
		if (r->mounts[i].kind == SB_MOUNT_RO && sb_path_within(path, r->mounts[i].path))
			return true;
	for (size_t i = 0; i < r->n_skeletons; i++)
		if (r->skeletons[i][0] != '\0' && sb_path_within(path, r->skeletons[i]))
			return true;
	return false;
}

static void
strv_add_once(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

/*
 * The chain from root down to mask's parent, into r when every directory
 * on it is shown from the host (and, for a root invoker, open to others).
 * A directory on the way that does not exist is kept out itself (it may be
 * created, with the credential, later); so is the mask when it does not.
 */
static void
seal_chain(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
	   const char *root, const char *mask)
{
	char dirs[PATH_MAX], out[PATH_MAX];
	size_t rl = strlen(root), n = strlen(mask), marks[64], n_marks = 0;
	const char *kept = NULL;
	struct stat st;

	if (n >= sizeof(dirs) || n <= rl || !sb_path_within(mask, root))
		return;
	memcpy(dirs, mask, n + 1);
	/* Each '/' at or after the root's end ends one directory of the chain. */
	for (size_t i = rl; i < n && kept == NULL; i++) {
		if (mask[i] != '/')
			continue;
		dirs[i] = '\0';
		if (shown_otherwise(spec, r, dirs))
			return;
		if (lstat(dirs, &st) < 0) {
			if (errno != ENOENT || i == rl)
				return;
			kept = dirs; /* below the last existing directory */
			break;
		}
		if (!S_ISDIR(st.st_mode) ||
		    (ids->privileged && (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)))
			return;
		if (n_marks == ARRAY_SIZE(marks))
			return;
		marks[n_marks++] = i;
		dirs[i] = '/';
	}
	if (kept == NULL) {
		if (shown_otherwise(spec, r, mask))
			return;
		if (lstat(mask, &st) < 0 && errno == ENOENT)
			kept = mask;
	}
	if (kept != NULL)
		strv_add_once(&r->kept_out, &r->n_kept_out, kept);
	for (size_t k = 0; k < n_marks; k++) {
		memcpy(out, mask, marks[k]);
		out[marks[k]] = '\0';
		strv_add_once(&r->sealed, &r->n_sealed, out);
	}
}

/* Parents before children: shallow first, then by name. */
static int
cmp_sealed(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int dx = sb_path_depth(x), dy = sb_path_depth(y);

	return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x, y);
}

/* Entries of a directory, or -1 with errno. */
static long
count_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	errno = 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	return errno != 0 ? -1 : n;
}

int
sb_seal_build(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
	      struct cordon_err *err)
{
	const char *root = spec->seal_root;
	struct stat st;
	long total = 0;

	if (root == NULL || root[0] != '/' || strcmp(root, "/") == 0 ||
	    (spec->test_flags & SB_TEST_NO_SEAL) || shown_otherwise(spec, r, root) ||
	    lstat(root, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (ids->privileged && (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)))
		return 0;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].kind == SB_MOUNT_MASK)
			seal_chain(spec, ids, r, root, spec->mounts[i].path);
	for (size_t i = 0; i < spec->n_seal_absent; i++)
		seal_chain(spec, ids, r, root, spec->seal_absent[i]);
	if (r->n_sealed == 0)
		return 0;
	if (r->n_sealed > SB_SEAL_MAX_DIRS) {
		cordon_err_set(err, E2BIG, "more than %d directories of %s to seal",
			       SB_SEAL_MAX_DIRS, root);
		return cordon_err_hint(err, "mask whole directories rather than many files in "
					    "different ones");
	}
	qsort(r->sealed, r->n_sealed, sizeof(*r->sealed), cmp_sealed);
	for (size_t i = 0; i < r->n_sealed; i++) {
		long n = count_entries(r->sealed[i]);

		if (n < 0)
			return cordon_err_set(err, errno, "read %s (to seal the masks in it)",
					      r->sealed[i]);
		total += n;
		log_debug("sealed %s (%ld entries)", r->sealed[i], n);
	}
	if (total > SB_SEAL_MAX_ENTRIES) {
		cordon_err_set(err, E2BIG,
			       "the directories of %s above masked paths hold %ld entries, more "
			       "than the %d cordon binds one by one",
			       root, total, SB_SEAL_MAX_ENTRIES);
		return cordon_err_hint(err, "tidy the home's crowded directories (%s first)",
				       r->sealed[0]);
	}
	/*
	 * Only stubs, directories and symbolic links live in it: an inode
	 * each, with room for entries that appear before the child reads
	 * the directories; a page for each (a long link target takes one).
	 */
	total += (long)r->n_sealed + 64;
	snprintf(r->seal_opts, sizeof(r->seal_opts), "mode=0755,size=%ldk,nr_inodes=%ld", total * 4,
		 total);
	return 0;
}
