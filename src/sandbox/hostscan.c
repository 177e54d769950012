/* SPDX-License-Identifier: MIT */
/*
 * Host scan: masks over root-only host files, for the identities in which
 * the command's kernel uid owns host files (userns.c):
 *
 *   root-uid  kernel uid 0 without capabilities: passes owner checks on
 *             every root-owned file (and group checks on the workspace's
 *             group, usually root's)
 *   owner     the read-write paths' owner: passes them on that user's own
 *             files, which the policy's home (root's) does not cover
 *
 * A file or directory is masked when that identity may read it (a
 * directory: search it) and "other" may not: a directory gets an empty
 * read-only tmpfs, a file an empty file, a socket or fifo an empty file
 * (so connect fails as well). The walk covers, supervisor side before
 * clone, the usual places:
 *
 *   direct entries of /, /var, /usr, /usr/local (/root, /lost+found, ...)
 *   all of /etc /var/lib /var/log /var/spool /var/backups /var/cache
 *     /var/mail /var/opt /var/tmp /var/www /srv /opt /usr/local/etc /home
 *     /root /boot /mnt /media
 *   root-uid only: /sys/kernel/slab whole; all of /sys/kernel (but the
 *     masked debug, tracing, security and slab) and /sys/module, and
 *     /sys/devices/virtual/dmi (serial numbers)
 *   every read-only bind (the spec's, the toolchains, the command's)
 *
 * It does not enter what the sandbox does not show: skeletons, the private
 * home, the read-write paths (the workspace is the command's own), /tmp,
 * /run, /dev, /proc; nor a directory the identity cannot search; and never
 * follows a symlink. It never masks a directory that leads to something
 * the sandbox shows.
 *
 * Bounds: 200,000 directory entries, depth 32, 4,096 masks. Hitting one
 * fails closed (exit 125, the place named) unless the policy allows best
 * effort; a toolchain or command bind whose tree exceeds 20,000 entries is
 * left out of the sandbox instead (with a warning), so a large pyenv or
 * rustup tree costs at most that much. About 8,000 entries on a Debian 12
 * host: a few tens of milliseconds, warm.
 *
 * Limits, said plainly: root-only files elsewhere (below /usr other than
 * /usr/local/etc, in /sys/devices, in a non-standard top-level directory's
 * subdirectories, e.g. /app/sub/secret) stay readable in root-uid mode;
 * so do root-owned 0600 sysctls under /proc/sys (read-only). Where that
 * matters, give the workspace an owner or a file system with idmapped
 * mounts: cordon then uses the owner or idmap identity, which needs no scan.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"

#define SB_SCAN_MAX_ENTRIES 200000u
#define SB_SCAN_MAX_DEPTH   32
#define SB_SCAN_MAX_MASKS   4096u
#define SB_SCAN_FOUND_MAX   20000u

static const char *const shallow[] = { "/", "/var", "/usr", "/usr/local" };
static const char *const deep[] = {
	"/etc",      "/var/lib", "/var/log", "/var/spool",     "/var/backups", "/var/cache",
	"/var/mail", "/var/opt", "/var/tmp", "/var/www",       "/srv",         "/opt",
	"/home",     "/root",    "/boot",    "/usr/local/etc", "/mnt",         "/media",
};
static const char *const sys_mask_dirs[] = { "/sys/kernel/slab" };
static const char *const sys_deep[] = { "/sys/kernel", "/sys/module", "/sys/devices/virtual/dmi" };
/* Never entered: the sandbox's own, or masked whole by mount.c. */
static const char *const never[] = {
	"/tmp",
	"/run",
	"/dev",
	"/proc",
	"/sys/firmware",
	"/sys/kernel/debug",
	"/sys/kernel/tracing",
	"/sys/kernel/security",
	"/sys/fs/bpf",
	"/sys/kernel/slab",
};

enum cls { CLS_NORMAL, CLS_LEADS, CLS_SKIP };

struct scan {
	const struct sb_spec *spec;
	const struct sb_ids *ids;
	struct sb_reach *r;
	size_t entries, limit;
	bool hit;     /* a bound was reached */
	bool shallow; /* direct entries only, none entered */
	const char *why_limit;
	char where[PATH_MAX];
	const char *why;
};

static bool
within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* dir strictly below path? */
static bool
leads_to(const char *path, const char *dir)
{
	return strcmp(path, dir) != 0 && within(dir, path);
}

/*
 * What the sandbox does with path: SKIP (not shown as on the host, or the
 * command's own), LEADS (a directory on the way to something shown: never
 * masked, entered), NORMAL. The deepest enclosing item decides.
 */
static enum cls
classify(const struct scan *s, const char *path)
{
	const struct sb_reach *r = s->r;
	const struct sb_spec *spec = s->spec;
	size_t best = 0;
	enum cls c = CLS_NORMAL;
	bool leads = false;

#define CONSIDER(p, k)                                                                             \
	do {                                                                                       \
		const char *p_ = (p);                                                              \
		if (p_ == NULL || p_[0] == '\0')                                                   \
			break;                                                                     \
		if (within(path, p_) && strlen(p_) >= best) {                                      \
			best = strlen(p_);                                                         \
			c = (k);                                                                   \
		} else if (leads_to(path, p_)) {                                                   \
			leads = true;                                                              \
		}                                                                                  \
	} while (0)

	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		CONSIDER(never[i], CLS_SKIP);
	for (size_t i = 0; i < r->n_skeletons; i++)
		CONSIDER(r->skeletons[i], CLS_SKIP);
	CONSIDER(spec->private_home, CLS_SKIP);
	for (size_t i = 0; i < r->n_prepared; i++)
		if (r->prepared[i].kind == SB_MOUNT_RW)
			CONSIDER(r->prepared[i].path, CLS_SKIP);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct sb_mount *m = &spec->mounts[i];

		if (m->kind == SB_MOUNT_RO)
			CONSIDER(m->target ? NULL : m->path, CLS_NORMAL);
		else if (m->kind == SB_MOUNT_TMPFS || m->kind == SB_MOUNT_RW)
			CONSIDER(m->path, CLS_SKIP);
	}
	for (size_t i = 0; i < r->n_mounts; i++)
		if (r->mounts[i].kind == SB_MOUNT_RO)
			CONSIDER(r->mounts[i].path, CLS_NORMAL);
#undef CONSIDER
	if (c == CLS_SKIP)
		return CLS_SKIP;
	return leads ? CLS_LEADS : CLS_NORMAL;
}

/* May the command's identity do bit (4 r, 2 w, 1 x) on st? */
static bool
ident_may(const struct scan *s, const struct stat *st, unsigned bit)
{
	if (st->st_uid == s->ids->outer_uid)
		return (st->st_mode >> 6) & bit;
	if (st->st_gid == s->ids->outer_gid)
		return (st->st_mode >> 3) & bit;
	return st->st_mode & bit;
}

static bool
masked_already(const struct scan *s, const char *path)
{
	const struct sb_reach *r = s->r;

	for (size_t i = r->n_mounts; i-- > 0;)
		if (r->mounts[i].kind == SB_MOUNT_MASK && strcmp(r->mounts[i].path, path) == 0)
			return true;
	return false;
}

static void
stop(struct scan *s, const char *path, const char *why)
{
	if (!s->hit)
		snprintf(s->where, sizeof(s->where), "%s", path);
	s->hit = true;
	s->why = why;
}

static int
mask(struct scan *s, const char *path, struct cordon_err *err)
{
	if (masked_already(s, path))
		return 0;
	if (s->r->n_masks == SB_SCAN_MAX_MASKS) {
		stop(s, path, "more than 4096 root-only files and directories");
		return 0;
	}
	if (sb_reach_add_mount(s->r, SB_MOUNT_MASK, xstrdup(path), "host scan: root-only", err) < 0)
		return -1;
	s->r->n_masks++;
	return 0;
}

static int walk(struct scan *s, int dfd, char *path, size_t len, int depth, struct cordon_err *err);

/*
 * One entry (path; st from fstatat beside its parent's fd dfd, name its
 * last component): mask it, enter it, or leave it.
 */
static int
consider(struct scan *s, int dfd, const char *name, const struct stat *st, char *path, size_t len,
	 int depth, bool enter, struct cordon_err *err)
{
	enum cls c;

	if (S_ISLNK(st->st_mode))
		return 0;
	c = classify(s, path);
	if (c == CLS_SKIP)
		return 0;
	if (S_ISDIR(st->st_mode)) {
		int fd;

		if (!ident_may(s, st, 1))
			return 0;
		if (!(st->st_mode & S_IXOTH)) {
			/* A directory on the way to a target is a skeleton, not here. */
			return c == CLS_NORMAL ? mask(s, path, err) : 0;
		}
		if (!enter)
			return 0;
		if (depth >= SB_SCAN_MAX_DEPTH) {
			stop(s, path, "deeper than 32 directories");
			return 0;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return 0; /* gone, or replaced: nothing to hide there now */
		return walk(s, fd, path, len, depth + 1, err);
	}
	if (c != CLS_NORMAL)
		return 0;
	if (S_ISREG(st->st_mode) && ident_may(s, st, 4) && !(st->st_mode & S_IROTH))
		return mask(s, path, err);
	if ((S_ISSOCK(st->st_mode) || S_ISFIFO(st->st_mode)) && ident_may(s, st, 2) &&
	    !(st->st_mode & S_IWOTH))
		return mask(s, path, err);
	return 0;
}

/*
 * The entries of the directory open at fd (taken over) whose path is
 * path[0..len). Entered with openat and looked at with fstatat beside it:
 * no path walk per entry.
 */
static int
walk(struct scan *s, int fd, char *path, size_t len, int depth, struct cordon_err *err)
{
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 0;

	if (d == NULL) {
		close(fd);
		return 0;
	}
	while (r == 0 && !s->hit && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		size_t base = len == 1 ? 0 : len; /* "/" + name, not "//name" */
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++s->entries > s->limit) {
			stop(s, path, s->why_limit);
			break;
		}
		if (base + 1 + n >= PATH_MAX ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		path[base] = '/';
		memcpy(path + base + 1, e->d_name, n + 1);
		r = consider(s, dirfd(d), e->d_name, &st, path, base + 1 + n, depth, !s->shallow,
			     err);
		path[len] = '\0';
	}
	return r;
}

/* Walk one root: the root itself, then (enter) its content, or (!enter) its entries only. */
static int
scan_root(struct scan *s, const char *root, bool enter, struct cordon_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(root);
	int fd;

	if (len >= sizeof(path) || lstat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	memcpy(path, root, len + 1);
	if (enter)
		return consider(s, AT_FDCWD, root, &st, path, len, 0, true, err);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	s->shallow = true;
	if (walk(s, fd, path, len, 0, err) < 0)
		return -1;
	s->shallow = false;
	return 0;
}

static void
drop_mounts_from(struct sb_reach *r, size_t mark)
{
	while (r->n_mounts > mark) {
		r->n_mounts--;
		if (r->mounts[r->n_mounts].kind == SB_MOUNT_MASK)
			r->n_masks--;
		free(r->mounts[r->n_mounts].path);
	}
}

/* Shown through a tree idmapped away from root (reach.c): nothing to scan. */
static bool
idmapped(const struct sb_reach *r, const char *path)
{
	for (size_t i = 0; i < r->n_prepared; i++)
		if (r->prepared[i].idmapped && r->prepared[i].kind == SB_MOUNT_RO &&
		    strcmp(r->prepared[i].path, path) == 0)
			return true;
	return false;
}

/*
 * The found binds (toolchains, the command: every SB_MOUNT_RO entry of r,
 * all added before the scan) each within its own small bound; one that
 * exceeds it is left out of the sandbox.
 */
static int
scan_found(struct scan *s, struct cordon_err *err)
{
	struct sb_reach *r = s->r;

	for (size_t i = 0; i < r->n_mounts;) {
		size_t mark = r->n_mounts, before = s->entries;

		if (r->mounts[i].kind != SB_MOUNT_RO || idmapped(r, r->mounts[i].path)) {
			i++;
			continue;
		}
		s->limit = before + SB_SCAN_FOUND_MAX;
		s->why_limit = "more than 20,000 entries";
		if (scan_root(s, r->mounts[i].path, true, err) < 0)
			return -1;
		if (!s->hit) {
			i++;
			continue;
		}
		log_warnx("%s is not shown in the sandbox: kernel uid %u there would read its "
			  "owner-only files, and it is too large to check (%s)",
			  r->mounts[i].path, (unsigned)s->ids->outer_uid, s->why);
		s->hit = false;
		s->entries = before + SB_SCAN_FOUND_MAX;
		drop_mounts_from(r, mark);
		free(r->mounts[i].path);
		memmove(&r->mounts[i], &r->mounts[i + 1],
			(r->n_mounts - i - 1) * sizeof(*r->mounts));
		r->n_mounts--;
	}
	return 0;
}

int
sb_hostscan(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
	    struct cordon_err *err)
{
	struct scan s = { .spec = spec, .ids = ids, .r = r };
	size_t found_entries;

	if (scan_found(&s, err) < 0)
		return -1;
	found_entries = s.entries;
	s.entries = 0;
	s.limit = SB_SCAN_MAX_ENTRIES;
	s.why_limit = "more than 200,000 entries";
	for (size_t i = 0; i < ARRAY_SIZE(shallow) && !s.hit; i++)
		if (scan_root(&s, shallow[i], false, err) < 0)
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(deep) && !s.hit; i++)
		if (scan_root(&s, deep[i], true, err) < 0)
			return -1;
	/* The spec's read-only binds, but those inside a read-write path (its own). */
	for (size_t i = 0; i < spec->n_mounts && !s.hit; i++) {
		const struct sb_mount *m = &spec->mounts[i];
		bool own = false;

		for (size_t k = 0; k < r->n_prepared && !own; k++)
			own = r->prepared[k].kind == SB_MOUNT_RW &&
			      within(m->path, r->prepared[k].path);
		if (m->kind == SB_MOUNT_RO && m->target == NULL && !own &&
		    scan_root(&s, m->path, true, err) < 0)
			return -1;
	}
	if (ids->mode == SB_ID_ROOT_UID) {
		for (size_t i = 0; i < ARRAY_SIZE(sys_mask_dirs); i++) {
			struct stat st;

			if (lstat(sys_mask_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
				continue;
			if (sb_reach_add_mount(r, SB_MOUNT_MASK, xstrdup(sys_mask_dirs[i]),
					       "host scan: root-only", err) < 0)
				return -1;
			r->n_masks++;
		}
		for (size_t i = 0; i < ARRAY_SIZE(sys_deep) && !s.hit; i++)
			if (scan_root(&s, sys_deep[i], true, err) < 0)
				return -1;
	}
	r->scanned = found_entries + s.entries;
	log_debug("host scan: %zu entries read, %zu hidden from kernel uid %u", r->scanned,
		  r->n_masks, (unsigned)ids->outer_uid);
	if (!s.hit)
		return 0;
	if (spec->best_effort) {
		log_warnx("best effort: the scan for root-only host files stopped at %s (%s); "
			  "files beyond it are not masked",
			  s.where, s.why);
		return 0;
	}
	cordon_err_set(err, 0,
		       "cannot hide the host's root-only files: the scan stopped at %s (%s)",
		       s.where, s.why);
	return cordon_err_hint(err,
			       "this file system has no idmapped mounts and the workspace is "
			       "root's, so the command runs as kernel uid 0 without capabilities "
			       "and cordon masks what only root may read. Give the workspace an "
			       "owner (chown), put it on a file system with idmapped mounts "
			       "(ext4, xfs, btrfs, tmpfs), run cordon as an ordinary user, or "
			       "accept best effort (--allow-degraded)");
}
