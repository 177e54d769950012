/* SPDX-License-Identifier: MIT */
/*
 * End-of-session quarantine (see quarantine.h). The snapshot is taken
 * before the sandbox starts; qr_run runs after the last process inside is
 * gone, so nothing races with it from inside.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/fd.h"
#include "common/pct.h"
#include "common/xalloc.h"
#include "policy/plan.h"
#include "supervisor/agentcfg.h"
#include "supervisor/gitconfig.h"
#include "supervisor/gitscan.h"
#include "supervisor/quarantine.h"

#define QR_MAX_CONFIG  GITCFG_MAX_TEXT
#define QR_MAX_POINTER 4096u
#define QR_MAX_HOOKS   512u
#define QR_MAX_COPY    (64u * 1024u * 1024u)

enum qr_kind {
	QR_GENERIC,
	QR_HOOKS,
	QR_GITCONFIG,
	QR_GITDIR,
	QR_COMMONDIR,
	QR_AGENTSTATE, /* an agent's state file: launch keys put back */
	QR_CLAUDEDIR,  /* the workspace's .claude: settings.local.json filtered */
};

static const char *const kind_names[] = { "generic",   "hooks",      "gitconfig", "gitdir",
					  "commondir", "agentstate", "claudedir" };

struct qr_hook {
	char *name;
	unsigned char sha[32];
};

struct qr_item {
	char *path;
	enum qr_kind kind;
	bool existed;
	dev_t dev;
	ino_t ino;
	mode_t mode;
	struct qr_hook *hooks; /* QR_HOOKS: entries at start */
	size_t n_hooks;
	char *config; /* QR_GITCONFIG, QR_AGENTSTATE: text at start */
	char *gitdir; /* QR_GITDIR, QR_COMMONDIR: content when a file at start */
	char *parent; /* where its directory resolved at start (or would have) */
};

/* ---- helpers ---- */
static bool
sha_file(int dirfd, const char *name, unsigned char sha[32])
{
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct cordon_sha256 ctx;
	char buf[16384];
	ssize_t k;

	memset(sha, 0, 32);
	if (fd < 0)
		return false;
	cordon_sha256_init(&ctx);
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		cordon_sha256_update(&ctx, buf, (size_t)k);
	if (k < 0)
		return false;
	cordon_sha256_final(&ctx, sha);
	return true;
}

static bool
is_sample(const char *name)
{
	size_t n = strlen(name);

	return n > 7 && strcmp(name + n - 7, ".sample") == 0;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool
parent_is_gitdir(const char *path)
{
	char buf[PATH_MAX];
	const char *b;

	if (strlen(path) >= sizeof(buf))
		return false;
	memcpy(buf, path, strlen(path) + 1);
	*strrchr(buf, '/') = '\0';
	b = base_name(buf);
	return strcmp(b, ".git") == 0 || strstr(buf, "/.git/") != NULL;
}

static void report(struct qr_snapshot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(struct qr_snapshot *s, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		abort();
	va_end(ap);
	s->report = xrealloc(s->report, (s->n_report + 1) * sizeof(*s->report));
	s->report[s->n_report++] = line;
}

static const char *
shown(const struct qr_snapshot *s, const char *path)
{
	size_t n = strlen(s->workspace);

	if (strncmp(path, s->workspace, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

static int
copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_close_ int out = -1;
	char buf[65536];
	size_t total = 0;
	ssize_t k;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -1;
	while ((k = read(in, buf, sizeof(buf))) > 0) {
		total += (size_t)k;
		if (total > QR_MAX_COPY || fd_write_all(out, buf, (size_t)k) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
	return k < 0 ? -1 : 0;
}

/*
 * Move path out of the workspace into the quarantine directory. Across
 * file systems a regular file is copied then removed; anything else is
 * renamed in place with a suffix and its permissions dropped, so that
 * nothing runs it by its old name.
 */
static int
quarantine(struct qr_snapshot *s, const char *state_dir, const char *path, const char *why,
	   struct cordon_err *err)
{
	char dest[PATH_MAX * 2], parent[PATH_MAX * 2];
	struct stat st;

	{
		size_t n = strlen(s->workspace);

		/* Never keep the quarantine where the sandbox could write (home as workspace). */
		if (strncmp(state_dir, s->workspace, n) == 0 &&
		    (state_dir[n] == '/' || state_dir[n] == '\0'))
			goto in_place;
	}
	if (s->qdir == NULL) {
		s->qdir = qr_qdir_name(state_dir, 0);
		if (fd_mkdir_p(s->qdir, 0700) < 0) {
			cordon_err_set(err, errno, "create the quarantine directory %s", s->qdir);
			free(s->qdir);
			s->qdir = NULL;
			goto in_place;
		}
	}
	snprintf(dest, sizeof(dest), "%s/%s", s->qdir,
		 shown(s, path) + (path[0] == '/' && shown(s, path) == path));
	memcpy(parent, dest, strlen(dest) + 1);
	*strrchr(parent, '/') = '\0';
	if (fd_mkdir_p(parent, 0700) < 0)
		goto in_place;
	if (rename(path, dest) == 0) {
		report(s, "quarantined %s (%s) -> %s", shown(s, path), why, dest);
		return 1;
	}
	if (errno == EXDEV && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    copy_file(path, dest) == 0 && unlink(path) == 0) {
		report(s, "quarantined %s (%s) -> %s", shown(s, path), why, dest);
		return 1;
	}
in_place:
	snprintf(dest, sizeof(dest), "%s.cordon-quarantined", path);
	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode))
		chmod(path, S_ISDIR(st.st_mode) ? 0700 : 0600);
	if (rename(path, dest) == 0) {
		report(s, "quarantined %s (%s) -> renamed to %s", shown(s, path), why,
		       shown(s, dest));
		return 1;
	}
	cordon_err_set(err, errno, "quarantine %s", path);
	return cordon_err_hint(err,
			       "remove %s by hand before using the workspace outside the "
			       "sandbox: it was created inside and runs outside",
			       path);
}

/* ---- snapshot ---- */

static bool
within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static struct qr_item *
item_find(struct qr_snapshot *s, const char *path)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (strcmp(s->items[i].path, path) == 0)
			return &s->items[i];
	return NULL;
}

/* Fill it from what is at it->path now (its state at start). */
static void
item_fill(struct qr_item *it)
{
	char dir[PATH_MAX];
	char *slash, *real;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", it->path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	real = fd_realpath(dir);
	it->parent = real != NULL ? real : xstrdup(dir);
	if (lstat(it->path, &st) < 0)
		return;
	it->existed = true;
	it->dev = st.st_dev;
	it->ino = st.st_ino;
	it->mode = st.st_mode;
	if (it->kind == QR_GITCONFIG)
		it->config = fd_read_small_file(it->path, QR_MAX_CONFIG);
	if (it->kind == QR_AGENTSTATE)
		it->config = fd_read_small_file(it->path, AGENTCFG_MAX_TEXT);
	if ((it->kind == QR_GITDIR || it->kind == QR_COMMONDIR) && S_ISREG(st.st_mode))
		it->gitdir = fd_read_small_file(it->path, QR_MAX_POINTER);
	if (it->kind == QR_HOOKS && S_ISDIR(st.st_mode)) {
		_cleanup_closedir_ DIR *d = opendir(it->path);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL && it->n_hooks < QR_MAX_HOOKS) {
			struct qr_hook *h;

			/* Dot files too (husky's `_/.gitignore`): the end compares every entry. */
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    is_sample(e->d_name))
				continue;
			it->hooks = xrealloc(it->hooks, (it->n_hooks + 1) * sizeof(*it->hooks));
			h = &it->hooks[it->n_hooks++];
			h->name = xstrdup(e->d_name);
			sha_file(dirfd(d), e->d_name, h->sha);
		}
	}
}

static void
item_add(struct qr_snapshot *s, const char *path, enum qr_kind kind)
{
	struct qr_item *it;

	if (item_find(s, path) != NULL)
		return;
	s->items = xrealloc(s->items, (s->n_items + 1) * sizeof(*s->items));
	it = &s->items[s->n_items++];
	memset(it, 0, sizeof(*it));
	it->path = xstrdup(path);
	it->kind = kind;
	item_fill(it);
}

static enum qr_kind
kind_of_git(enum qr_git_kind k)
{
	switch (k) {
	case QR_GIT_HOOKS:
		return QR_HOOKS;
	case QR_GIT_CONFIG:
		return QR_GITCONFIG;
	case QR_GIT_COMMONDIR:
		return QR_COMMONDIR;
	case QR_GIT_POINTER:
	case QR_GIT_DOTGIT:
		return QR_GITDIR;
	case QR_GIT_OTHER:
	default:
		return QR_GENERIC;
	}
}

static enum qr_kind
kind_of(const char *path, const char *workspace, const struct qr_git_scan *git)
{
	const char *b = base_name(path);
	int k = git != NULL ? qr_git_scan_kind(git, path) : -1;
	size_t n = strlen(workspace);

	if (strncmp(path, workspace, n) == 0 && strcmp(path + n, "/.claude") == 0)
		return QR_CLAUDEDIR;
	if (k >= 0)
		return kind_of_git((enum qr_git_kind)k);
	if (strcmp(b, "hooks") == 0 && parent_is_gitdir(path))
		return QR_HOOKS;
	if (strcmp(b, "config") == 0 && parent_is_gitdir(path))
		return QR_GITCONFIG;
	return QR_GENERIC;
}

static bool
listed(char *const *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], path) == 0)
			return true;
	return false;
}

int
qr_snapshot_take(struct qr_snapshot *s, const char *workspace, const struct qr_inputs *in,
		 struct cordon_err *err)
{
	const struct qr_git_scan *git = in->git;
	char gitdir[PATH_MAX];

	(void)err;
	memset(s, 0, sizeof(*s));
	s->workspace = xstrdup(workspace);
	s->walk = true;
	for (size_t i = 0; i < in->n_protect; i++)
		item_add(s, in->protect[i], kind_of(in->protect[i], workspace, git));
	for (size_t i = 0; i < in->n_watch; i++)
		item_add(s, in->watch[i], kind_of(in->watch[i], workspace, git));
	for (size_t i = 0; i < in->n_agent_state; i++)
		item_add(s, in->agent_state[i], QR_AGENTSTATE);
	/* Bound or not (a path a glob rule could not name): every control path here is checked. */
	for (size_t i = 0; git != NULL && i < git->n_paths; i++) {
		const struct qr_git_path *p = &git->paths[i];

		if ((within(p->path, workspace) ||
		     (in->root != NULL && within(p->path, in->root))) &&
		    !listed(in->lifted, in->n_lifted, p->path))
			item_add(s, p->path, kind_of_git(p->kind));
	}
	for (size_t i = 0; i < in->n_globs; i++) {
		if (strncmp(in->globs[i], workspace, strlen(workspace)) != 0 ||
		    in->globs[i][strlen(workspace)] != '/')
			continue;
		s->globs = xrealloc(s->globs, (s->n_globs + 1) * sizeof(*s->globs));
		s->globs[s->n_globs++] = xstrdup(in->globs[i]);
	}
	for (size_t i = 0; i < in->n_lifted; i++) {
		s->lifted = xrealloc(s->lifted, (s->n_lifted + 1) * sizeof(*s->lifted));
		s->lifted[s->n_lifted++] = xstrdup(in->lifted[i]);
	}
	for (size_t i = 0; git != NULL && i < git->n_dirs; i++) {
		if (!within(git->dirs[i], workspace))
			continue;
		s->known = xrealloc(s->known, (s->n_known + 1) * sizeof(*s->known));
		s->known[s->n_known++] = xstrdup(git->dirs[i]);
	}
	snprintf(gitdir, sizeof(gitdir), "%s/.git", workspace);
	item_add(s, gitdir, QR_GITDIR);
	return 0;
}

static bool
same_identity(const struct qr_item *it, const struct stat *st)
{
	return it->existed && it->dev == st->st_dev && it->ino == st->st_ino &&
	       (it->mode & S_IFMT) == (st->st_mode & S_IFMT);
}

static int
check_hooks(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
	    struct cordon_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int n = 0;
	struct stat st;

	/*
	 * Compared entry by entry even when the directory is the one that was
	 * there: not every hooks directory could be bound read-only.
	 */
	if (lstat(it->path, &st) < 0 || (S_ISLNK(st.st_mode) && same_identity(it, &st)))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return quarantine(s, state_dir, it->path, "hooks path created in the sandbox", err);
	d = opendir(it->path);
	if (d == NULL)
		return cordon_err_set(err, errno, "inspect %s", it->path);
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX * 2];
		unsigned char sha[32];
		bool known = false;
		int r;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    is_sample(e->d_name))
			continue;
		sha_file(dirfd(d), e->d_name, sha);
		for (size_t i = 0; i < it->n_hooks; i++)
			if (strcmp(it->hooks[i].name, e->d_name) == 0 &&
			    memcmp(it->hooks[i].sha, sha, 32) == 0)
				known = true;
		if (known)
			continue;
		snprintf(path, sizeof(path), "%s/%s", it->path, e->d_name);
		r = quarantine(s, state_dir, path,
			       "git hook written in the sandbox; it would run "
			       "outside",
			       err);
		if (r < 0)
			return -1;
		n += r;
	}
	return n;
}

/* Write text over path through a temporary file and a rename. */
static int
rewrite(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[PATH_MAX + 32];
	_cleanup_close_ int fd = -1;
	int saved;

	snprintf(tmp, sizeof(tmp), "%s.cordon.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
	if (fd >= 0 && fd_write_all(fd, text, len) == 0 && fsync(fd) == 0 && rename(tmp, path) == 0)
		return 0;
	saved = errno;
	if (fd >= 0)
		unlink(tmp);
	errno = saved;
	return -1;
}

static int
check_config(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
	     struct cordon_err *err)
{
	_cleanup_free_ char *now = NULL;
	struct gitcfg_strip out;
	struct stat st;
	int r;

	if (lstat(it->path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		if (same_identity(it, &st))
			return 0; /* a symlink that was there: its target is bound read-only */
		return quarantine(s, state_dir, it->path, "git config replaced in the sandbox",
				  err);
	}
	now = fd_read_small_file(it->path, QR_MAX_CONFIG);
	if (now == NULL)
		return quarantine(s, state_dir, it->path, "git config unreadable or too large",
				  err);
	if (it->config != NULL && strcmp(it->config, now) == 0)
		return 0;
	if (gitcfg_strip(now, strlen(now), it->config, it->config ? strlen(it->config) : 0, &out) <
	    0) {
		gitcfg_strip_free(&out);
		if (it->config == NULL)
			return quarantine(s, state_dir, it->path,
					  "git config written in the sandbox that cordon cannot "
					  "read as git does",
					  err);
		r = quarantine(s, state_dir, it->path,
			       "git config changed in the sandbox into one cordon cannot read "
			       "as git does",
			       err);
		if (r < 0)
			return -1;
		if (rewrite(it->path, it->config, strlen(it->config), it->mode) < 0) {
			cordon_err_set(err, errno, "put back %s as it was at the start", it->path);
			return cordon_err_hint(err,
					       "the session's version is in %s; restore the "
					       "file from a backup before running git",
					       s->qdir != NULL ? s->qdir : "the workspace");
		}
		report(s, "restored %s as it was at the start", shown(s, it->path));
		return r;
	}
	if (out.n_removed == 0) {
		gitcfg_strip_free(&out);
		return 0;
	}
	if (rewrite(it->path, out.text, out.len, st.st_mode) < 0) {
		cordon_err_set(err, errno, "rewrite %s without the keys added in the sandbox",
			       it->path);
		gitcfg_strip_free(&out);
		return cordon_err_hint(err, "remove the keys by hand before running git outside "
					    "the sandbox: `git config --unset` each of them");
	}
	for (size_t i = 0; i < out.n_removed; i++)
		report(s,
		       "removed `%s` from %s (added or changed in the sandbox; only keys that "
		       "never run a command are kept)",
		       out.removed[i], shown(s, it->path));
	r = (int)out.n_removed;
	gitcfg_strip_free(&out);
	return r;
}

/*
 * The start version of an agent file back at path (the session's version
 * moved aside first). r is what the quarantine returned.
 */
static int
put_back(struct qr_snapshot *s, const char *path, const char *text, mode_t mode, int r,
	 struct cordon_err *err)
{
	if (r < 0)
		return -1;
	if (rewrite(path, text, strlen(text), mode) < 0) {
		cordon_err_set(err, errno, "put back %s as it was at the start", path);
		return cordon_err_hint(err,
				       "the session's version is in %s; restore the file from a "
				       "backup before running the agent outside the sandbox",
				       s->qdir != NULL ? s->qdir : "the same directory");
	}
	report(s, "restored %s as it was at the start", shown(s, path));
	return r;
}

/*
 * An agent's JSON file (state or settings) after the session: keys that
 * start a program put back as they were (before: the text at start, or
 * NULL). Returns the number of keys put back, 1 for a file moved aside,
 * or -1 with err set.
 */
static int
filter_agent_file(struct qr_snapshot *s, const char *state_dir, const char *path,
		  enum agentcfg_kind kind, const char *before, mode_t mode, struct cordon_err *err)
{
	_cleanup_free_ char *now = fd_read_small_file(path, AGENTCFG_MAX_TEXT);
	struct agentcfg_strip out;
	int r;

	if (now != NULL && before != NULL && strcmp(now, before) == 0)
		return 0;
	if (now == NULL ||
	    agentcfg_strip(kind, now, strlen(now), before, before ? strlen(before) : 0, &out) < 0) {
		if (now != NULL)
			agentcfg_strip_free(&out);
		r = quarantine(s, state_dir, path,
			       "agent configuration written in the sandbox that cordon cannot "
			       "read as JSON",
			       err);
		return before != NULL ? put_back(s, path, before, mode, r, err) : r;
	}
	if (out.text == NULL) {
		agentcfg_strip_free(&out);
		return 0;
	}
	if (rewrite(path, out.text, out.len, mode) < 0) {
		cordon_err_set(err, errno, "rewrite %s without the launch keys set in the sandbox",
			       path);
		agentcfg_strip_free(&out);
		return cordon_err_hint(err,
				       "remove %s by hand before running the agent outside the "
				       "sandbox: it may start a program planted inside",
				       path);
	}
	for (size_t i = 0; i < out.n_removed; i++)
		report(s,
		       "reverted `%s` in %s to its value at the start (it starts a program "
		       "and was set in the sandbox)",
		       out.removed[i], shown(s, path));
	r = (int)out.n_removed;
	agentcfg_strip_free(&out);
	return r;
}

static int
check_agentstate(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
		 struct cordon_err *err)
{
	_cleanup_free_ char *real = NULL;
	const char *path = it->path;
	struct stat st;

	if (lstat(it->path, &st) < 0)
		return 0;
	/* A link that was there (a dotfile manager's): the file it names is the state. */
	if (S_ISLNK(st.st_mode) && same_identity(it, &st)) {
		real = fd_realpath(it->path);
		if (real == NULL || lstat(real, &st) < 0)
			return 0;
		path = real;
	}
	if (!S_ISREG(st.st_mode))
		return quarantine(s, state_dir, it->path,
				  "agent state file replaced in the sandbox", err);
	return filter_agent_file(s, state_dir, path, AGENTCFG_STATE, it->config, st.st_mode, err);
}

/*
 * A `.claude` directory that appeared in the workspace: Claude Code writes
 * the permissions the user grants into settings.local.json there, which
 * is kept without the keys that start a program. Anything else in it
 * (settings.json, commands, agents, hooks) is moved into the quarantine.
 */
static int
check_claudedir(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
		struct cordon_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n_names = 0;
	int n = 0, failed = 0;
	struct stat st;

	if (lstat(it->path, &st) < 0 || same_identity(it, &st))
		return 0;
	if (it->existed || !S_ISDIR(st.st_mode))
		return quarantine(s, state_dir, it->path,
				  it->existed ? "protected path replaced in the sandbox"
					      : "protected path created in the sandbox",
				  err);
	d = opendir(it->path);
	if (d == NULL)
		return cordon_err_set(err, errno, "inspect %s", it->path);
	/* Names first: moving entries out while reading would skip some. */
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		names = xrealloc(names, (n_names + 1) * sizeof(*names));
		names[n_names++] = xasprintf("%s/%s", it->path, e->d_name);
	}
	for (size_t i = 0; i < n_names; i++) {
		int r;

		if (strcmp(base_name(names[i]), "settings.local.json") == 0 &&
		    lstat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			r = filter_agent_file(s, state_dir, names[i], AGENTCFG_SETTINGS, NULL,
					      st.st_mode, failed ? &(struct cordon_err){ 0 } : err);
		else
			r = quarantine(s, state_dir, names[i],
				       "created in the sandbox in .claude; Claude Code outside "
				       "would read it",
				       failed ? &(struct cordon_err){ 0 } : err);
		if (r < 0)
			failed = 1;
		else
			n += r;
		free(names[i]);
	}
	free(names);
	return failed ? -1 : n;
}

static char *
dir_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL || slash == path ? xstrdup("/")
					      : xasprintf("%.*s", (int)(slash - path), path);
}

/*
 * A worktree's commondir as `git worktree add` writes it: in
 * G/worktrees/<name>/, naming G.
 */
static bool
commondir_is_own(const char *path, const char *text)
{
	_cleanup_free_ char *admin = dir_name(path), *parent = dir_name(admin);
	_cleanup_free_ char *main = dir_name(parent), *target = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t n = strcspn(text, "\r\n");

	if (strcmp(base_name(parent), "worktrees") != 0 || n == 0 || text[n] == '\0' ||
	    text[n + strspn(text + n, "\r\n")] != '\0')
		return false;
	target = text[0] == '/' ? xasprintf("%.*s", (int)n, text)
				: xasprintf("%s/%.*s", admin, (int)n, text);
	a = fd_realpath(target);
	b = fd_realpath(main);
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
check_commondir(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
		struct cordon_err *err)
{
	struct stat st;

	if (lstat(it->path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode)) {
		_cleanup_free_ char *now = fd_read_small_file(it->path, QR_MAX_POINTER);

		if (now != NULL && it->gitdir != NULL && strcmp(now, it->gitdir) == 0)
			return 0;
		if (now != NULL && commondir_is_own(it->path, now))
			return 0;
	}
	return quarantine(s, state_dir, it->path,
			  "commondir written in the sandbox; git would read config and hooks "
			  "from another directory",
			  err);
}

static int
check_gitdir(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
	     struct cordon_err *err)
{
	struct stat st;

	if (lstat(it->path, &st) < 0 || S_ISDIR(st.st_mode))
		return 0;
	/* A symlink cannot change in place: the same one is the one that was there. */
	if (S_ISLNK(st.st_mode) && same_identity(it, &st))
		return 0;
	if (S_ISREG(st.st_mode) && it->gitdir != NULL) {
		_cleanup_free_ char *now = fd_read_small_file(it->path, QR_MAX_POINTER);

		if (now != NULL && strcmp(now, it->gitdir) == 0)
			return 0;
	}
	return quarantine(s, state_dir, it->path,
			  "`.git` pointer written in the sandbox; git would use another "
			  "directory's hooks",
			  err);
}

/*
 * Does the item's directory still resolve where it did at start? A
 * directory swapped for a symlink during the session (`.git` -> another
 * repository) would make the clean-up act outside the workspace.
 */
static bool
parent_moved(struct qr_snapshot *s, const struct qr_item *it)
{
	char dir[PATH_MAX];
	char *slash, *real;
	bool moved;

	snprintf(dir, sizeof(dir), "%s", it->path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	real = fd_realpath(dir);
	if (real == NULL)
		return false; /* gone: nothing there to act on */
	moved = strcmp(real, it->parent) != 0;
	if (moved)
		report(s,
		       "left %s alone: its directory now resolves to %s, not %s (replaced "
		       "during the session)",
		       shown(s, it->path), real, it->parent);
	free(real);
	return moved;
}

/* A path below a `.claude` made in the session: check_claudedir sees to it. */
static bool
in_new_claudedir(const struct qr_snapshot *s, const struct qr_item *it)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const struct qr_item *c = &s->items[i];

		if (c->kind == QR_CLAUDEDIR && !c->existed && !it->existed &&
		    strncmp(it->path, c->path, strlen(c->path)) == 0 &&
		    it->path[strlen(c->path)] == '/')
			return true;
	}
	return false;
}

static int
check_item(struct qr_snapshot *s, const char *state_dir, struct qr_item *it, struct cordon_err *err)
{
	struct stat st;

	switch (it->kind) {
	case QR_HOOKS:
		return check_hooks(s, state_dir, it, err);
	case QR_GITCONFIG:
		return check_config(s, state_dir, it, err);
	case QR_GITDIR:
		return check_gitdir(s, state_dir, it, err);
	case QR_COMMONDIR:
		return check_commondir(s, state_dir, it, err);
	case QR_AGENTSTATE:
		return check_agentstate(s, state_dir, it, err);
	case QR_CLAUDEDIR:
		return check_claudedir(s, state_dir, it, err);
	case QR_GENERIC:
	default:
		if (lstat(it->path, &st) < 0 || same_identity(it, &st) || in_new_claudedir(s, it))
			return 0;
		return quarantine(s, state_dir, it->path,
				  it->existed ? "protected path replaced in the sandbox"
					      : "protected path created in the sandbox",
				  err);
	}
}

/*
 * A git directory that appeared in the session: its hooks, configs and
 * commondir get the checks of paths that did not exist at start (nothing
 * kept but allowlisted keys). Paths the snapshot has were checked already.
 */
static int
check_new_gitdir(struct qr_snapshot *s, const char *state_dir, const char *dir,
		 struct cordon_err *err)
{
	static const struct {
		const char *name;
		enum qr_kind kind;
	} control[] = {
		{ "hooks", QR_HOOKS },
		{ "config", QR_GITCONFIG },
		{ "config.worktree", QR_GITCONFIG },
		{ "commondir", QR_COMMONDIR },
	};
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(control); i++) {
		struct qr_item it;
		int r;

		memset(&it, 0, sizeof(it));
		it.path = xasprintf("%s/%s", dir, control[i].name);
		it.kind = control[i].kind;
		if (item_find(s, it.path) != NULL) {
			free(it.path);
			continue;
		}
		r = check_item(s, state_dir, &it, err);
		free(it.path);
		if (r < 0)
			return -1;
		n += r;
	}
	return n;
}

/*
 * A `.git` file or symlink that appeared: kept when it is a file naming a
 * git directory inside the workspace (a submodule or worktree made in the
 * session; that directory is checked like the others).
 */
static int
check_new_pointer(struct qr_snapshot *s, const char *state_dir, const char *path,
		  const struct qr_git_scan *scan, struct cordon_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode)) {
		_cleanup_free_ char *text = fd_read_small_file(path, QR_MAX_POINTER);
		_cleanup_free_ char *dir = dir_name(path), *target = NULL, *real = NULL;

		if (text != NULL)
			target = qr_git_pointer_target(text, dir);
		if (target != NULL)
			real = fd_realpath(target);
		if (real != NULL && within(real, s->workspace) && qr_git_scan_has_dir(scan, real))
			return 0;
	}
	return quarantine(s, state_dir, path,
			  "`.git` pointer written in the sandbox to a place outside the "
			  "workspace; git would use that directory's hooks and config",
			  err);
}

struct qr_matches {
	char **v;
	size_t n;
};

static void
on_glob_match(const char *path, void *arg)
{
	struct qr_matches *m = arg;

	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n++] = xstrdup(path);
}

/*
 * Protected glob patterns (tool configs in every folder): a match that is
 * no item of the snapshot did not exist at start (those were bound
 * read-only and recorded) and is moved into the quarantine, unless the
 * user lifted that protection.
 */
static int
check_new_globs(struct qr_snapshot *s, const char *state_dir, struct cordon_err *err)
{
	int n = 0;

	for (size_t g = 0; g < s->n_globs; g++) {
		struct qr_matches m = { NULL, 0 };
		bool lifted;

		if (policy_glob(s->globs[g], on_glob_match, &m) == (size_t)-1)
			report(s,
			       "warning: the workspace is too large to look again for every "
			       "path matching %s; check new ones by hand",
			       s->globs[g]);
		for (size_t i = 0; i < m.n; i++) {
			struct qr_item it;
			int r = 0;

			lifted = false;
			for (size_t k = 0; k < s->n_lifted; k++)
				lifted = lifted || within(m.v[i], s->lifted[k]);
			if (within(m.v[i], s->workspace) && !lifted &&
			    item_find(s, m.v[i]) == NULL) {
				memset(&it, 0, sizeof(it));
				it.path = m.v[i];
				it.kind = QR_GENERIC;
				r = check_item(s, state_dir, &it, err);
			}
			if (r < 0) {
				for (; i < m.n; i++)
					free(m.v[i]);
				free(m.v);
				return -1;
			}
			n += r;
			free(m.v[i]);
		}
		free(m.v);
	}
	return n;
}

int
qr_run(struct qr_snapshot *s, const char *state_dir, struct cordon_err *err)
{
	struct qr_git_scan scan;
	int total = 0, failed = 0;

#define ACCOUNT(r, e)                                                                              \
	do {                                                                                       \
		if ((r) < 0) {                                                                     \
			if (!failed)                                                               \
				*err = (e);                                                        \
			failed = 1;                                                                \
		} else {                                                                           \
			total += (r);                                                              \
		}                                                                                  \
	} while (0)

	/* `.git` entries first: a swapped `.git` is moved aside before anything below it. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_items; i++) {
			struct qr_item *it = &s->items[i];
			struct cordon_err e = { 0 };
			int r;

			if ((it->kind == QR_GITDIR) != (pass == 0))
				continue;
			if (parent_moved(s, it))
				continue;
			r = check_item(s, state_dir, it, &e);
			ACCOUNT(r, e);
		}
	if (!s->walk)
		return failed ? -1 : total;
	/* Git directories and `.git` pointers that appeared during the session. */
	qr_git_scan(s->workspace, NULL, &scan);
	if (scan.truncated)
		report(s,
		       "warning: the workspace is too large to look for every git directory "
		       "made in the session (%u directories, %u control files, or the walk "
		       "limit); check new repositories by hand",
		       QR_GIT_MAX_DIRS, QR_GIT_MAX_PATHS);
	for (size_t i = 0; i < scan.n_dirs; i++) {
		struct cordon_err e = { 0 };
		int r;

		if (!within(scan.dirs[i], s->workspace) ||
		    listed(s->known, s->n_known, scan.dirs[i]))
			continue;
		r = check_new_gitdir(s, state_dir, scan.dirs[i], &e);
		ACCOUNT(r, e);
	}
	for (size_t i = 0; i < scan.n_paths; i++) {
		const struct qr_git_path *p = &scan.paths[i];
		struct cordon_err e = { 0 };
		int r;

		if (p->kind != QR_GIT_POINTER || !within(p->path, s->workspace) ||
		    item_find(s, p->path) != NULL)
			continue;
		r = check_new_pointer(s, state_dir, p->path, &scan, &e);
		ACCOUNT(r, e);
	}
	{
		struct cordon_err e = { 0 };
		int r = check_new_globs(s, state_dir, &e);

		ACCOUNT(r, e);
	}
#undef ACCOUNT
	qr_git_scan_free(&scan);
	return failed ? -1 : total;
}

void
qr_snapshot_free(struct qr_snapshot *s)
{
	for (size_t i = 0; i < s->n_items; i++) {
		struct qr_item *it = &s->items[i];

		free(it->path);
		for (size_t k = 0; k < it->n_hooks; k++)
			free(it->hooks[k].name);
		free(it->hooks);
		free(it->config);
		free(it->gitdir);
		free(it->parent);
	}
	free(s->items);
	for (size_t i = 0; i < s->n_known; i++)
		free(s->known[i]);
	free(s->known);
	for (size_t i = 0; i < s->n_globs; i++)
		free(s->globs[i]);
	free(s->globs);
	for (size_t i = 0; i < s->n_lifted; i++)
		free(s->lifted[i]);
	free(s->lifted);
	for (size_t i = 0; i < s->n_report; i++)
		free(s->report[i]);
	free(s->report);
	free(s->qdir);
	free(s->workspace);
	memset(s, 0, sizeof(*s));
}

char *
qr_qdir_name(const char *state_dir, size_t nth)
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (nth == 0)
		return xasprintf("%s/quarantine/%s-%d", state_dir, stamp, (int)getpid());
	return xasprintf("%s/quarantine/%s-%d-%zu", state_dir, stamp, (int)getpid(), nth + 1);
}

/* ---- the snapshot as text (sessions whose supervisor was killed) ---- */

/*
 * Version 2 adds the known git directories, the protected glob patterns
 * and lifted paths (optional lines), and the end walk; a version 1
 * snapshot (an older cordon was killed) is finished without the walk, as
 * that cordon would have.
 */
#define QR_STATE_MAGIC    "cordon-quarantine 2"
#define QR_STATE_MAGIC_V1 "cordon-quarantine 1"

static void
put_token(FILE *f, const char *s, size_t len)
{
	_cleanup_free_ char *e = pct_encode(s, len);

	fprintf(f, " %s", e);
}

char *
qr_snapshot_save(const struct qr_snapshot *s)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		abort();
	fprintf(f, "%s\nworkspace", QR_STATE_MAGIC);
	put_token(f, s->workspace, strlen(s->workspace));
	fputc('\n', f);
	for (size_t i = 0; i < s->n_known; i++) {
		fputs("known", f);
		put_token(f, s->known[i], strlen(s->known[i]));
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->n_globs; i++) {
		fputs("glob", f);
		put_token(f, s->globs[i], strlen(s->globs[i]));
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->n_lifted; i++) {
		fputs("lifted", f);
		put_token(f, s->lifted[i], strlen(s->lifted[i]));
		fputc('\n', f);
	}
	for (size_t i = 0; i < s->n_items; i++) {
		const struct qr_item *it = &s->items[i];

		fprintf(f, "item %s %d %llu %llu %o", kind_names[it->kind], it->existed ? 1 : 0,
			(unsigned long long)it->dev, (unsigned long long)it->ino,
			(unsigned)it->mode);
		put_token(f, it->path, strlen(it->path));
		put_token(f, it->parent, strlen(it->parent));
		fputc('\n', f);
		for (size_t k = 0; k < it->n_hooks; k++) {
			fputs("hook", f);
			put_token(f, it->hooks[k].name, strlen(it->hooks[k].name));
			fputc(' ', f);
			for (size_t b = 0; b < 32; b++)
				fprintf(f, "%02x", it->hooks[k].sha[b]);
			fputc('\n', f);
		}
		if (it->config != NULL) {
			fputs("config", f);
			put_token(f, it->config, strlen(it->config));
			fputc('\n', f);
		}
		if (it->gitdir != NULL) {
			fputs("gitdir", f);
			put_token(f, it->gitdir, strlen(it->gitdir));
			fputc('\n', f);
		}
	}
	fputs("end\n", f);
	if (fclose(f) != 0)
		abort();
	return text;
}

/* The next token, decoded; NULL when missing or malformed. */
static char *
get_token(char **save)
{
	char *t = strtok_r(NULL, " ", save);
	size_t len;

	return t != NULL ? pct_decode(t, &len) : NULL;
}

static bool
get_number(char **save, int base, unsigned long long *out)
{
	char *t = strtok_r(NULL, " ", save), *end;

	if (t == NULL || t[0] == '\0' || t[0] == '-')
		return false;
	errno = 0;
	*out = strtoull(t, &end, base);
	return errno == 0 && *end == '\0';
}

static bool
get_sha(char **save, unsigned char sha[32])
{
	char *t = strtok_r(NULL, " ", save);

	if (t == NULL || strlen(t) != 64)
		return false;
	for (size_t b = 0; b < 32; b++) {
		unsigned int v;

		if (sscanf(t + 2 * b, "%2x", &v) != 1)
			return false;
		sha[b] = (unsigned char)v;
	}
	return true;
}

/* One line of the text into s. false when malformed. */
static bool
load_line(struct qr_snapshot *s, char *line, bool *ended)
{
	char *save = NULL, *word = strtok_r(line, " ", &save);
	struct qr_item *it = s->n_items ? &s->items[s->n_items - 1] : NULL;

	if (word == NULL || *ended)
		return false;
	if (strcmp(word, "end") == 0) {
		*ended = true;
		return strtok_r(NULL, " ", &save) == NULL;
	}
	if (strcmp(word, "workspace") == 0) {
		if (s->workspace != NULL)
			return false;
		s->workspace = get_token(&save);
		return s->workspace != NULL && s->workspace[0] == '/';
	}
	if (s->workspace == NULL)
		return false;
	if (strcmp(word, "known") == 0 || strcmp(word, "glob") == 0 ||
	    strcmp(word, "lifted") == 0) {
		char ***v = word[0] == 'k' ? &s->known : word[0] == 'g' ? &s->globs : &s->lifted;
		size_t *n = word[0] == 'k'   ? &s->n_known
			    : word[0] == 'g' ? &s->n_globs
					     : &s->n_lifted;
		char *k;

		/* Version 2 only, before the items. */
		if (!s->walk || s->n_items > 0)
			return false;
		k = get_token(&save);
		if (k == NULL || k[0] != '/' || strtok_r(NULL, " ", &save) != NULL) {
			free(k);
			return false;
		}
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = k;
		return true;
	}
	if (strcmp(word, "item") == 0) {
		char *kind = strtok_r(NULL, " ", &save);
		unsigned long long existed, dev, ino, mode;
		struct qr_item n;
		int k = -1;

		for (size_t i = 0; kind != NULL && i < ARRAY_SIZE(kind_names); i++)
			if (strcmp(kind, kind_names[i]) == 0)
				k = (int)i;
		if (k < 0 || !get_number(&save, 10, &existed) || existed > 1 ||
		    !get_number(&save, 10, &dev) || !get_number(&save, 10, &ino) ||
		    !get_number(&save, 8, &mode))
			return false;
		memset(&n, 0, sizeof(n));
		n.kind = (enum qr_kind)k;
		n.existed = existed == 1;
		n.dev = (dev_t)dev;
		n.ino = (ino_t)ino;
		n.mode = (mode_t)mode;
		n.path = get_token(&save);
		n.parent = get_token(&save);
		if (n.path == NULL || n.parent == NULL || n.path[0] != '/' || n.parent[0] != '/' ||
		    strtok_r(NULL, " ", &save) != NULL) {
			free(n.path);
			free(n.parent);
			return false;
		}
		s->items = xrealloc(s->items, (s->n_items + 1) * sizeof(*s->items));
		s->items[s->n_items++] = n;
		return true;
	}
	if (it == NULL)
		return false;
	if (strcmp(word, "hook") == 0) {
		struct qr_hook h;

		if (it->kind != QR_HOOKS || it->n_hooks >= QR_MAX_HOOKS)
			return false;
		h.name = get_token(&save);
		if (h.name == NULL || !get_sha(&save, h.sha) ||
		    strtok_r(NULL, " ", &save) != NULL) {
			free(h.name);
			return false;
		}
		it->hooks = xrealloc(it->hooks, (it->n_hooks + 1) * sizeof(*it->hooks));
		it->hooks[it->n_hooks++] = h;
		return true;
	}
	if (strcmp(word, "config") == 0 && it->config == NULL) {
		it->config = get_token(&save);
		return it->config != NULL && strtok_r(NULL, " ", &save) == NULL;
	}
	if (strcmp(word, "gitdir") == 0 && it->gitdir == NULL &&
	    (it->kind == QR_GITDIR || it->kind == QR_COMMONDIR)) {
		it->gitdir = get_token(&save);
		return it->gitdir != NULL && strtok_r(NULL, " ", &save) == NULL;
	}
	return false;
}

int
qr_snapshot_load(struct qr_snapshot *s, const char *text, struct cordon_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL, *line;
	bool ended = false;
	size_t no = 1;

	memset(s, 0, sizeof(*s));
	line = strtok_r(copy, "\n", &save);
	if (line == NULL ||
	    (strcmp(line, QR_STATE_MAGIC) != 0 && strcmp(line, QR_STATE_MAGIC_V1) != 0)) {
		cordon_err_set(err, EINVAL, "quarantine snapshot: not a snapshot (line 1)");
		return -1;
	}
	s->walk = strcmp(line, QR_STATE_MAGIC) == 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		no++;
		if (!load_line(s, line, &ended)) {
			qr_snapshot_free(s);
			return cordon_err_set(err, EINVAL,
					      "quarantine snapshot: malformed line %zu", no);
		}
	}
	if (!ended || s->workspace == NULL) {
		qr_snapshot_free(s);
		return cordon_err_set(err, EINVAL, "quarantine snapshot: cut short");
	}
	return 0;
}
