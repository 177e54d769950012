/* SPDX-License-Identifier: MIT */
/* Named sandboxes: state directory, lock, metadata, overlay layers (named.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/pct.h"
#include "common/xalloc.h"
#include "session/named.h"
#include "session/branch.h"
#include "session/review.h"
#include "supervisor/registry.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

#define META_FILE "sandbox.meta"
#define LOCK_FILE "lock"
#define META_MAX  (16 * 1024)

/* The host's system directories a named sandbox sees through its overlay. */
static const char *const overlay_candidates[] = { "/usr", "/etc", "/var", "/opt" };
/* Install prefixes made the command's own in the upper layer (and their subdirectories). */
static const char *const own_candidates[] = { "/usr/local", "/opt" };

int
named_valid(const char *name, struct cordon_err *err)
{
	size_t n = name != NULL ? strlen(name) : 0;
	bool ok = n >= 1 && n <= 64 && isalnum((unsigned char)name[0]);

	for (size_t i = 1; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]) != NULL;
	if (ok)
		return 0;
	cordon_err_set(err, 0, "invalid sandbox name '%s'", name != NULL ? name : "");
	return cordon_err_hint(err, "a name is 1 to 64 letters, digits, '_', '.' or '-', "
				    "starting with a letter or digit");
}

int
named_root(char *out, size_t len, struct cordon_err *err)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int r;

	if (xdg != NULL && xdg[0] == '/')
		r = snprintf(out, len, "%s/cordon/sandboxes", xdg);
	else if (home != NULL && home[0] == '/')
		r = snprintf(out, len, "%s/.local/share/cordon/sandboxes", home);
	else {
		cordon_err_set(err, 0,
			       "no place for named sandboxes: neither XDG_DATA_HOME nor "
			       "HOME is an absolute path");
		return cordon_err_hint(err, "set XDG_DATA_HOME to a directory of yours");
	}
	if (r < 0 || (size_t)r >= len)
		return cordon_err_set(err, ENAMETOOLONG, "sandboxes directory");
	return 0;
}

/* The state directory of name under root. */
static int
named_dir(char *out, size_t len, const char *name, struct cordon_err *err)
{
	char root[PATH_MAX];
	int r;

	if (named_valid(name, err) < 0 || named_root(root, sizeof(root), err) < 0)
		return -1;
	r = snprintf(out, len, "%s/%s", root, name);
	if (r < 0 || (size_t)r >= len)
		return cordon_err_set(err, ENAMETOOLONG, "sandbox directory");
	return 0;
}

/* ---- metadata ---- */

struct meta {
	time_t created, last_used;
	pid_t pid;
	unsigned long long start;
	char *workspace;
	char **more; /* "rw:PATH" / "ro:PATH" */
	size_t n_more;
	char session[64];
	bool review;
	char *branch, *worktree, *common, *from; /* branch mode */
};

static void
meta_free(struct meta *m)
{
	free(m->workspace);
	m->workspace = NULL;
	for (size_t i = 0; i < m->n_more; i++)
		free(m->more[i]);
	free(m->more);
	m->more = NULL;
	m->n_more = 0;
	free(m->branch);
	free(m->worktree);
	free(m->common);
	free(m->from);
}

/* "more=" of the metadata: percent-encoded tokens, space-separated. */
static void
meta_more(struct meta *m, char *v)
{
	char *save = NULL;

	for (char *t = strtok_r(v, " ", &save); t != NULL && m->n_more < 64;
	     t = strtok_r(NULL, " ", &save)) {
		char *d = pct_decode(t, &(size_t){ 0 });

		if (d == NULL)
			continue;
		m->more = xrealloc(m->more, (m->n_more + 1) * sizeof(*m->more));
		m->more[m->n_more++] = d;
	}
}

/* A percent-encoded value of the metadata, decoded (malloc'd); the first one wins. */
static void
meta_str(char **slot, const char *v)
{
	if (*slot == NULL)
		*slot = pct_decode(v, &(size_t){ 0 });
}

static void
meta_read(const char *dir, struct meta *m)
{
	char path[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/" META_FILE, dir);
	text = fd_read_small_file(path, META_MAX);
	if (text == NULL)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');

		if (v == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "created") == 0)
			m->created = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(line, "last_used") == 0)
			m->last_used = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(line, "pid") == 0)
			m->pid = (pid_t)strtol(v, NULL, 10);
		else if (strcmp(line, "start") == 0)
			m->start = strtoull(v, NULL, 10);
		else if (strcmp(line, "review") == 0)
			m->review = strcmp(v, "1") == 0;
		else if (strcmp(line, "session") == 0)
			snprintf(m->session, sizeof(m->session), "%s", v);
		else if (strcmp(line, "workspace") == 0)
			meta_str(&m->workspace, v);
		else if (strcmp(line, "more") == 0 && m->more == NULL)
			meta_more(m, v);
		else if (strcmp(line, "branch") == 0)
			meta_str(&m->branch, v);
		else if (strcmp(line, "worktree") == 0)
			meta_str(&m->worktree, v);
		else if (strcmp(line, "common") == 0)
			meta_str(&m->common, v);
		else if (strcmp(line, "from") == 0)
			meta_str(&m->from, v);
	}
}

/* Replace the metadata atomically; pid 0 when no cordon runs it. */
static int
meta_write(const struct session_named *n, pid_t pid)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	unsigned long long start = 0;
	int fd;
	_cleanup_free_ char *ws = NULL, *text = NULL, *more = xstrdup(""), *branch = NULL;
	char state;

	if (pid > 0 && sv_proc_start(pid, &start, &state) < 0)
		start = 0;
	ws = pct_encode(n->workspace ? n->workspace : "", n->workspace ? strlen(n->workspace) : 0);
	for (size_t i = 0; i < n->n_more; i++) {
		_cleanup_free_ char *e = pct_encode(n->more[i], strlen(n->more[i]));
		char *joined = xasprintf("%s%s%s", more, i ? " " : "", e);

		free(more);
		more = joined;
	}
	if (n->branch != NULL) {
		_cleanup_free_ char *b = pct_encode(n->branch, strlen(n->branch));
		_cleanup_free_ char *w = pct_encode(n->worktree, strlen(n->worktree));
		_cleanup_free_ char *c = pct_encode(n->common, strlen(n->common));
		_cleanup_free_ char *f =
		    pct_encode(n->from ? n->from : "", n->from ? strlen(n->from) : 0);

		branch = xasprintf("branch=%s\nworktree=%s\ncommon=%s\nfrom=%s\n", b, w, c, f);
	}
	text = xasprintf("v=1\nname=%s\ncreated=%lld\nlast_used=%lld\nworkspace=%s\nmore=%s\n"
			 "session=%s\npid=%d\nstart=%llu\nreview=%d\n%s",
			 n->name, (long long)n->created, (long long)time(NULL), ws, more,
			 n->session, (int)pid, start, n->review ? 1 : 0, branch ? branch : "");
	snprintf(path, sizeof(path), "%s/" META_FILE, n->dir);
	snprintf(tmp, sizeof(tmp), "%s/" META_FILE ".tmp", n->dir);
	/*
	 * Atomic (rename) but not fsync'd: fsync cost more than the rest of a
	 * named start together, and a crash losing the update loses nothing
	 * but the dates (the lock, not this file, says whether it runs). Only
	 * the lock holder writes, so one temporary name is enough.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, text, strlen(text)) < 0) {
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return rename(tmp, path);
}

/* ---- the lock ---- */

/*
 * Open and flock the lock file of dir (exclusive, or shared for a look).
 * Returns the fd, -1 with errno EWOULDBLOCK when another holds it, other
 * errno on failure. A lock file replaced or removed while we waited
 * (`cordon rm`) is opened again.
 */
static int
lock_open(const char *dir, int how, bool create)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/" LOCK_FILE, dir);
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);

		if (fd < 0)
			return -1;
		if (flock(fd, how | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
		if (create && fd_mkdir_p(dir, 0700) < 0)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

/* 1 when a cordon holds dir's lock, 0 when not (or no lock file). */
static int
lock_held(const char *dir)
{
	int fd = lock_open(dir, LOCK_SH, false);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EWOULDBLOCK ? 1 : 0;
}

/* ---- begin and end ---- */

static int
add_mount(struct sb_mount *mounts, size_t *n_mounts, size_t max, enum sb_mount_kind kind,
	  const char *path, char *origin, struct cordon_err *err)
{
	if (*n_mounts == max)
		return cordon_err_set(err, E2BIG, "more than %zu path rules", max);
	mounts[*n_mounts] =
	    (struct sb_mount){ .kind = kind, .path = xstrdup(path), .origin = origin };
	(*n_mounts)++;
	return 0;
}

static bool
below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Overlayfs in a user namespace: Linux >= 5.11 (userxattr). */
static int
kernel_ok(struct cordon_err *err)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major > 5 || (major == 5 && minor >= 11)))
		return 0;
	cordon_err_set(err, 0,
		       "named sandboxes need overlayfs in a user namespace, which this kernel "
		       "(%s) lacks",
		       u.release);
	return cordon_err_hint(err, "Linux >= 5.11 has it; run without --name for an "
				    "ephemeral sandbox");
}

/* Refuse a state directory overlayfs cannot use as its upper layer. */
static int
state_ok(const struct session_named *n, struct cordon_err *err)
{
	struct statfs fs;

	if (strpbrk(n->dir, ",:\\") != NULL) {
		cordon_err_set(err, 0,
			       "the sandbox directory %s holds ',', ':' or '\\', which "
			       "overlayfs options cannot carry",
			       n->dir);
		return cordon_err_hint(err, "set XDG_DATA_HOME to a plainer path");
	}
	for (size_t i = 0; i < n->n_dirs; i++)
		if (below(n->dir, n->dirs[i])) {
			cordon_err_set(err, 0,
				       "the sandbox directory %s lies in %s, which the sandbox "
				       "sees through the same overlay",
				       n->dir, n->dirs[i]);
			return cordon_err_hint(err, "set XDG_DATA_HOME to a directory outside "
						    "/usr, /etc, /var and /opt");
		}
	if (statfs(n->dir, &fs) < 0)
		return cordon_err_set(err, errno, "statfs %s", n->dir);
	if (fs.f_type == OVERLAYFS_SUPER_MAGIC) {
		cordon_err_set(err, 0,
			       "the sandbox directory %s is on overlayfs, which cannot hold "
			       "an overlay's upper layer (the host's root is overlayfs here)",
			       n->dir);
		return cordon_err_hint(err, "set XDG_DATA_HOME to a directory on a disk or a "
					    "tmpfs (`findmnt -T DIR` names its file system), or "
					    "run without --name");
	}
	return 0;
}

/* The overlaid directories and install prefixes present on this host. */
static void
pick_dirs(struct session_named *n)
{
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(overlay_candidates); i++)
		if (lstat(overlay_candidates[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    n->n_dirs < NAMED_MAX_DIRS)
			n->dirs[n->n_dirs++] = overlay_candidates[i];
	for (size_t i = 0; i < ARRAY_SIZE(own_candidates); i++) {
		const char *p = own_candidates[i];
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *e;
		bool in = false;

		for (size_t k = 0; k < n->n_dirs; k++)
			in |= strcmp(p, n->dirs[k]) == 0 || below(p, n->dirs[k]);
		if (!in || lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || n->n_own >= NAMED_MAX_OWN)
			continue;
		n->own[n->n_own++] = xstrdup(p);
		d = opendir(p);
		while (d != NULL && (e = readdir(d)) != NULL && n->n_own < NAMED_MAX_OWN) {
			_cleanup_free_ char *sub = NULL;

			if (e->d_name[0] == '.')
				continue;
			sub = xasprintf("%s/%s", p, e->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				n->own[n->n_own++] = steal_ptr(sub);
		}
	}
}

/* <dir>/upper<d> and <dir>/work<d> for each overlaid d. */
static int
make_layers(const struct session_named *n, struct cordon_err *err)
{
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i < n->n_dirs; i++) {
			char path[PATH_MAX + 64];

			snprintf(path, sizeof(path), "%s/%s%s", n->dir, w ? "work" : "upper",
				 n->dirs[i]);
			if (fd_mkdir_p(path, 0755) < 0)
				return cordon_err_set(err, errno, "create %s", path);
		}
	return 0;
}

static int
mask_root(struct sb_spec *spec, struct sb_mount *mounts, size_t *n_mounts, size_t max,
	  struct cordon_err *err)
{
	char root[PATH_MAX];
	_cleanup_free_ char *real = NULL;

	if (named_root(root, sizeof(root), &(struct cordon_err){ 0 }) < 0)
		return 0;
	real = fd_realpath(root);
	if (real == NULL)
		return 0; /* no named sandbox yet: nothing to hide */
	if (add_mount(mounts, n_mounts, max, SB_MOUNT_MASK, real, (char *)"named sandboxes", err) <
	    0)
		return -1;
	spec->n_mounts = *n_mounts;
	return 0;
}

static bool
dir_empty(const char *path)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			return false;
	return true;
}

/*
 * Review mode: sticky once asked for (the pending changes must stay in
 * view), bound to one workspace while changes are pending, and its
 * layers made.
 */
static int
review_begin(struct session_named *n, const struct meta *m, const char *workspace,
	     struct cordon_err *err)
{
	char up[PATH_MAX + 16], wk[PATH_MAX + 16];

	n->review |= m->review;
	if (!n->review)
		return 0;
	if (strpbrk(workspace, ",:\\") != NULL) {
		cordon_err_set(err, 0,
			       "the workspace %s holds ',', ':' or '\\', which overlayfs "
			       "options cannot carry",
			       workspace);
		return cordon_err_hint(err, "run without --review, or from a plainer path");
	}
	snprintf(up, sizeof(up), "%s/ws-upper", n->dir);
	snprintf(wk, sizeof(wk), "%s/ws-work", n->dir);
	if (m->review && m->workspace != NULL && m->workspace[0] != '\0' &&
	    strcmp(m->workspace, workspace) != 0 && !dir_empty(up)) {
		cordon_err_set(err, 0, "review sandbox '%s' holds pending changes to %s, not to %s",
			       n->name, m->workspace, workspace);
		return cordon_err_hint(err,
				       "run it in %s, or first `cordon apply %s` or `cordon "
				       "discard %s`",
				       m->workspace, n->name, n->name);
	}
	if (fd_mkdir_p(up, 0755) < 0 || fd_mkdir_p(wk, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", up);
	return 0;
}

int
session_named_begin(struct session_named *n, const char *workspace, const char *session_id,
		    struct sb_spec *spec, struct sb_mount *mounts, size_t *n_mounts, size_t max,
		    struct cordon_err *err)
{
	struct meta m;

	if (n->name == NULL && n->review) {
		cordon_err_set(err, 0, "--review needs a named sandbox");
		return cordon_err_hint(err, "add --name NAME: the pending changes live in that "
					    "sandbox until `cordon apply NAME` or `cordon discard "
					    "NAME`");
	}
	if (n->name == NULL)
		return mask_root(spec, mounts, n_mounts, max, err);
	if (n->lock_fd < 0 && named_take(n, err) < 0)
		return -1;
	pick_dirs(n);
	if (state_ok(n, err) < 0 || make_layers(n, err) < 0)
		return -1;
	meta_read(n->dir, &m);
	if (review_begin(n, &m, workspace, err) < 0) {
		meta_free(&m);
		return -1;
	}
	meta_free(&m);
	n->created = m.created ? m.created : time(NULL);
	n->workspace = xstrdup(workspace);
	snprintf(n->session, sizeof(n->session), "%s", session_id ? session_id : "");
	if (meta_write(n, getpid()) < 0)
		return cordon_err_set(err, errno, "write %s/" META_FILE, n->dir);
	if (mask_root(spec, mounts, n_mounts, max, err) < 0)
		return -1;
	spec->n_mounts = *n_mounts;
	spec->overlay_state = n->dir;
	spec->overlay_dirs = n->dirs;
	spec->n_overlay_dirs = n->n_dirs;
	spec->overlay_own = (const char *const *)n->own;
	spec->n_overlay_own = n->n_own;
	spec->review_state = n->review ? n->dir : NULL;
	return 0;
}

int
named_take(struct session_named *n, struct cordon_err *err)
{
	struct meta m;
	_cleanup_free_ char *real = NULL;

	if (kernel_ok(err) < 0 || named_dir(n->dir, sizeof(n->dir), n->name, err) < 0)
		return -1;
	n->fresh = access(n->dir, F_OK) < 0;
	if (fd_mkdir_p(n->dir, 0700) < 0 || chmod(n->dir, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", n->dir);
	n->lock_fd = lock_open(n->dir, LOCK_EX, true);
	if (n->lock_fd < 0) {
		if (errno != EWOULDBLOCK)
			return cordon_err_set(err, errno, "lock %s/" LOCK_FILE, n->dir);
		meta_read(n->dir, &m);
		meta_free(&m);
		cordon_err_set(err, 0, "sandbox '%s' is in use by another cordon (pid %d)", n->name,
			       (int)m.pid);
		return cordon_err_hint(err, "wait for it to end, or end it with `cordon stop %s`",
				       n->name);
	}
	/* Canonical from here on: the child names it under /oldroot. */
	real = fd_realpath(n->dir);
	if (real == NULL)
		return cordon_err_set(err, errno, "%s", n->dir);
	snprintf(n->dir, sizeof(n->dir), "%s", real);
	/*
	 * This cordon as the running one at once, the rest as it was: a stop
	 * (`cordon rm --force`) that finds the lock held must find the pid
	 * too, though the session's own metadata comes after its policy.
	 */
	meta_read(n->dir, &m);
	{
		struct session_named t = *n;

		t.created = m.created ? m.created : time(NULL);
		t.review = m.review;
		t.workspace = m.workspace;
		t.branch = m.branch;
		t.worktree = m.worktree;
		t.common = m.common;
		t.from = m.from;
		snprintf(t.session, sizeof(t.session), "%s", m.session);
		if (meta_write(&t, getpid()) < 0) {
			meta_free(&m);
			return cordon_err_set(err, errno, "write %s/" META_FILE, n->dir);
		}
	}
	meta_free(&m);
	return 0;
}

void
named_branch_of(const char *dir, char **branch, char **worktree, char **common, char **from)
{
	struct meta m;

	meta_read(dir, &m);
	if (m.branch != NULL && m.branch[0] != '\0') {
		if (branch != NULL)
			*branch = steal_ptr(m.branch);
		if (worktree != NULL)
			*worktree = steal_ptr(m.worktree);
		if (common != NULL)
			*common = steal_ptr(m.common);
		if (from != NULL)
			*from = steal_ptr(m.from);
	}
	meta_free(&m);
}

bool
named_review_of(const char *dir)
{
	struct meta m;
	bool review;

	meta_read(dir, &m);
	review = m.review;
	meta_free(&m);
	return review;
}

int
named_branch(const char *name, char **branch, char **worktree, struct cordon_err *err)
{
	char dir[PATH_MAX];

	if (named_dir(dir, sizeof(dir), name, err) < 0)
		return -1;
	named_branch_of(dir, branch, worktree, NULL, NULL);
	return 0;
}

void
session_named_end(struct session_named *n)
{
	/*
	 * The metadata stays as begin wrote it (last used = this run's start):
	 * its pid counts only while the lock is held, so the lock's release
	 * alone says the sandbox stopped, and a stop costs no write.
	 */
	if (n->lock_fd >= 0 && n->review)
		review_record(n->dir, n->workspace);
	if (n->lock_fd >= 0) {
		close(n->lock_fd);
		n->lock_fd = -1;
	}
	for (size_t i = 0; i < n->n_own; i++)
		free(n->own[i]);
	n->n_own = 0;
	free(n->workspace);
	n->workspace = NULL;
	session_branch_free(n);
}

static int remove_dir(const char *dir, const char *name, struct cordon_err *err);

/* ---- ls, stop, rm ---- */

static uint64_t du_bytes;

static int
du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag != FTW_NS)
		du_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct named_info *)a)->name, ((const struct named_info *)b)->name);
}

/* What `cordon ls` shows of the sandbox in dir, named name (valid), but its size. */
static void
info_read(const char *dir, const char *name, struct named_info *i)
{
	struct meta m;

	memset(i, 0, sizeof(*i));
	memcpy(i->name, name, strlen(name) + 1); /* valid: at most 64 */
	meta_read(dir, &m);
	i->running = lock_held(dir) == 1;
	i->pid = i->running ? m.pid : 0;
	i->created = m.created;
	i->last_used = m.last_used;
	i->workspace = steal_ptr(m.workspace);
	i->more = steal_ptr(m.more);
	i->n_more = m.n_more;
	m.n_more = 0;
	i->branch = steal_ptr(m.branch);
	i->worktree = steal_ptr(m.worktree);
	memcpy(i->session, m.session, sizeof(i->session));
	meta_free(&m);
}

int
named_list(struct named_info **out, size_t *count, struct cordon_err *err)
{
	char root[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct named_info *v = NULL;
	size_t n = 0;
	struct dirent *e;

	*out = NULL;
	*count = 0;
	if (named_root(root, sizeof(root), err) < 0)
		return -1;
	d = opendir(root);
	if (d == NULL)
		return errno == ENOENT ? 0 : cordon_err_set(err, errno, "open %s", root);
	while ((e = readdir(d)) != NULL) {
		char dir[PATH_MAX + 300];
		struct named_info *i;

		if (named_valid(e->d_name, &(struct cordon_err){ 0 }) < 0)
			continue; /* ".", "..", a removal under way */
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		i = &v[n++];
		info_read(dir, e->d_name, i);
		du_bytes = 0;
		nftw(dir, du_one, 16, FTW_PHYS);
		i->bytes = du_bytes;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name);
	*out = v;
	*count = n;
	return 0;
}

void
named_info_clear(struct named_info *i)
{
	free(i->workspace);
	for (size_t k = 0; k < i->n_more; k++)
		free(i->more[k]);
	free(i->more);
	free(i->branch);
	free(i->worktree);
	i->branch = NULL;
	i->worktree = NULL;
	i->workspace = NULL;
	i->more = NULL;
	i->n_more = 0;
}

void
named_list_free(struct named_info *v, size_t count)
{
	for (size_t i = 0; v != NULL && i < count; i++)
		named_info_clear(&v[i]);
	free(v);
}

static int
no_such(const char *name, const char *dir, struct cordon_err *err)
{
	cordon_err_set(err, ENOENT, "no sandbox named '%s' (%s)", name, dir);
	return cordon_err_hint(err, "`cordon ls` lists the named sandboxes");
}

int
named_find(const char *name, struct named_info *info, struct cordon_err *err)
{
	char dir[PATH_MAX];
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (named_dir(dir, sizeof(dir), name, err) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return no_such(name, dir, err);
	/* XDG_DATA_HOME pointing into another user's data: not ours to join. */
	if (st.st_uid != geteuid()) {
		cordon_err_set(err, EPERM, "the sandbox '%s' belongs to another user (uid %u)",
			       name, (unsigned)st.st_uid);
		return cordon_err_hint(err, "only its owner can use it; `cordon ls` lists yours");
	}
	info_read(dir, name, info);
	return 0;
}

int
named_stop(const char *name, unsigned wait_ms, struct cordon_err *err)
{
	char dir[PATH_MAX];
	struct meta m;
	struct stat st;

	if (named_dir(dir, sizeof(dir), name, err) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return no_such(name, dir, err);
	if (lock_held(dir) != 1)
		return 0;
	meta_read(dir, &m);
	meta_free(&m);
	{
		unsigned long long now;
		char state;

		if (m.pid <= 0 || sv_proc_start(m.pid, &now, &state) < 0 || now != m.start) {
			cordon_err_set(err, 0, "sandbox '%s' runs, but its cordon's pid is unknown",
				       name);
			return cordon_err_hint(err, "end the cordon process that runs it "
						    "(`cordon ps` lists them)");
		}
	}
	if (kill(m.pid, SIGTERM) < 0)
		return cordon_err_set(err, errno, "signal cordon (pid %d)", (int)m.pid);
	for (unsigned t = 0; t < wait_ms; t += 50) {
		if (lock_held(dir) != 1)
			return 1;
		usleep(50 * 1000);
	}
	cordon_err_set(err, ETIMEDOUT, "sandbox '%s' did not end", name);
	return cordon_err_hint(err,
			       "its cordon (pid %d) ends it after its grace period "
			       "(--stop-timeout); try again later",
			       (int)m.pid);
}

/*
 * Remove what is below dirfd, then nothing else: unlinkat for each entry,
 * directories emptied first. A directory we cannot read (overlayfs's
 * work/work is mode 0) is opened to its owner first. -1 with errno on the
 * first failure.
 */
static int
remove_below(int dirfd)
{
	_cleanup_closedir_ DIR *d = fdopendir(dirfd);
	struct dirent *e;

	if (d == NULL) {
		close(dirfd);
		return -1;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		struct stat st;
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		if (S_ISDIR(st.st_mode)) {
			if ((st.st_mode & 0700) != 0700 &&
			    fchmodat(dirfd, e->d_name, (st.st_mode & 07777) | 0700, 0) < 0)
				return -1;
			sub = openat(dirfd, e->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || remove_below(sub) < 0 ||
			    unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
				return -1;
		} else if (unlinkat(dirfd, e->d_name, 0) < 0) {
			return -1;
		}
	}
	return errno == 0 ? 0 : -1;
}

int
named_empty_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? (errno == ENOENT ? 0 : -1) : remove_below(fd);
}

int
named_hold(const char *name, bool running_ok, char *dir, size_t len, int *lock, char **workspace,
	   bool *review, struct cordon_err *err)
{
	struct meta m;
	struct stat st;
	int fd;

	*lock = -1;
	if (named_dir(dir, len, name, err) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return no_such(name, dir, err);
	fd = lock_open(dir, LOCK_EX, false);
	if (fd < 0 && errno == EWOULDBLOCK && !running_ok) {
		cordon_err_set(err, 0, "sandbox '%s' is running", name);
		return cordon_err_hint(err, "let its session end, or `cordon stop %s` first", name);
	}
	if (fd < 0 && errno != EWOULDBLOCK && errno != ENOENT)
		return cordon_err_set(err, errno, "lock %s/" LOCK_FILE, dir);
	meta_read(dir, &m);
	*workspace = steal_ptr(m.workspace);
	*review = m.review;
	meta_free(&m);
	*lock = fd;
	return 0;
}

int
named_remove(const char *name, bool force, bool worktree_ok, struct cordon_err *err)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *branch = NULL, *worktree = NULL, *common = NULL;
	_cleanup_close_ int lock = -1;
	struct stat st;

	if (named_dir(dir, sizeof(dir), name, err) < 0)
		return -1;
	if (lstat(dir, &st) < 0)
		return no_such(name, dir, err);
	if (force && named_stop(name, 30 * 1000, err) < 0)
		return -1;
	/* Held to the end: no run starts on the name while it goes. */
	lock = lock_open(dir, LOCK_EX, false);
	if (lock < 0 && errno == EWOULDBLOCK) {
		cordon_err_set(err, 0, "sandbox '%s' is running", name);
		return cordon_err_hint(err,
				       "stop it first (`cordon stop %s`), or `cordon rm "
				       "--force %s`",
				       name, name);
	}
	named_branch_of(dir, &branch, &worktree, &common, NULL);
	if (branch != NULL && !worktree_ok) {
		cordon_err_set(err, 0, "sandbox '%s' has the worktree %s (branch %s)", name,
			       worktree, branch);
		return cordon_err_hint(err, "answer y when asked, or pass --yes to remove the "
					    "worktree too (the branch stays)");
	}
	if (branch != NULL && session_branch_remove(common, worktree, err) < 0)
		return -1;
	return remove_dir(dir, name, err);
}

void
named_abandon(struct session_named *n)
{
	struct cordon_err ignored = { 0 };

	if (n->lock_fd < 0 || !n->fresh)
		return;
	remove_dir(n->dir, n->name, &ignored);
	close(n->lock_fd);
	n->lock_fd = -1;
}

/* Remove the state directory dir of name, held locked by the caller. 0 or -1 (err). */
static int
remove_dir(const char *dir, const char *name, struct cordon_err *err)
{
	char gone[PATH_MAX + 64];
	int fd;

	/* Out of its name first: a crash halfway leaves no half sandbox. */
	snprintf(gone, sizeof(gone), "%.*s/.rm-%s-%d", (int)(strrchr(dir, '/') - dir), dir, name,
		 (int)getpid());
	if (rename(dir, gone) < 0)
		return cordon_err_set(err, errno, "rename %s", dir);
	fd = open(gone, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || remove_below(fd) < 0 || rmdir(gone) < 0) {
		cordon_err_set(err, errno, "remove %s", gone);
		return cordon_err_hint(err,
				       "files the sandbox made may belong to another user: "
				       "remove %s as that user or as root",
				       gone);
	}
	return 0;
}
