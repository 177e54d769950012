/* SPDX-License-Identifier: MIT */
/*
 * End-of-session quarantine (see quarantine.h). The snapshot is taken
 * before the sandbox starts; qr_run runs after the last process inside is
 * gone, so nothing races with it from inside.
 */
#define _GNU_SOURCE
#include <ctype.h>
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
#include "supervisor/quarantine.h"

#define QR_MAX_CONFIG (4u * 1024u * 1024u)
#define QR_MAX_HOOKS  512u
#define QR_MAX_COPY   (64u * 1024u * 1024u)

enum qr_kind { QR_GENERIC, QR_HOOKS, QR_GITCONFIG, QR_GITDIR };

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
	char *config; /* QR_GITCONFIG: text at start */
	char *gitdir; /* QR_GITDIR: content when a file at start */
	char *parent; /* where its directory resolved at start (or would have) */
};

/* ---- git config ---- */

static bool
eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

bool
qr_git_key_dangerous(const char *section, const char *sub, const char *name)
{
	static const char *const core[] = {
		"hookspath", "fsmonitor", "sshcommand",           "pager",   "editor",
		"askpass",   "gitproxy",  "alternaterefscommand", "worktree"
	};
	bool has_sub = sub != NULL && sub[0] != '\0';

	if (eq(section, "core") && !has_sub) {
		for (size_t i = 0; i < ARRAY_SIZE(core); i++)
			if (eq(name, core[i]))
				return true;
		return false;
	}
	if (eq(section, "filter") || eq(section, "alias") || eq(section, "pager") ||
	    eq(section, "sendemail") || eq(section, "hook") || eq(section, "includeif") ||
	    eq(section, "include"))
		return true;
	if (eq(section, "diff"))
		return has_sub ? (eq(name, "textconv") || eq(name, "command"))
			       : eq(name, "external");
	if (eq(section, "merge"))
		return has_sub && eq(name, "driver");
	if (eq(section, "credential"))
		return eq(name, "helper");
	if (eq(section, "gpg"))
		return eq(name, "program");
	if (eq(section, "sequence"))
		return eq(name, "editor");
	if (eq(section, "protocol"))
		return eq(name, "allow");
	if (eq(section, "remote"))
		return eq(name, "uploadpack") || eq(name, "receivepack") || eq(name, "vcs");
	if (eq(section, "uploadpack"))
		return eq(name, "packobjectshook");
	if (eq(section, "web"))
		return eq(name, "browser");
	if (eq(section, "browser") || eq(section, "man") || eq(section, "difftool") ||
	    eq(section, "mergetool"))
		return eq(name, "cmd") || eq(name, "path");
	if (eq(section, "interactive"))
		return eq(name, "difffilter");
	if (eq(section, "submodule"))
		return eq(name, "update");
	if (eq(section, "gc") || eq(section, "receive"))
		return eq(name, "autodetach") ? false : eq(name, "procreceiverefs");
	return false;
}

struct cfg_line {
	const char *start;  /* first byte of the logical line */
	const char *end;    /* one past its last byte (after the newline) */
	const char *key_at; /* where a key starts on a header line, or NULL */
};

/* Parse a section header at p ('['); fills section/sub; returns past ']'. */
static const char *
parse_header(const char *p, const char *end, char *section, size_t slen, char *sub, size_t sublen)
{
	size_t o = 0, u = 0;

	section[0] = sub[0] = '\0';
	p++;
	while (p < end && *p != ']' && *p != '"' && !isspace((unsigned char)*p)) {
		if (*p == '.' && sub[0] == '\0') {
			/* [section.sub]: the old form, subsection lower-cased. */
			p++;
			while (p < end && *p != ']' && u + 1 < sublen)
				sub[u++] = (char)tolower((unsigned char)*p++);
			sub[u] = '\0';
			break;
		}
		if (o + 1 < slen)
			section[o++] = (char)tolower((unsigned char)*p);
		p++;
	}
	section[o] = '\0';
	while (p < end && isspace((unsigned char)*p) && *p != '\n')
		p++;
	if (p < end && *p == '"') {
		p++;
		while (p < end && *p != '"' && *p != '\n') {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (u + 1 < sublen)
				sub[u++] = *p;
			p++;
		}
		sub[u] = '\0';
		if (p < end && *p == '"')
			p++;
	}
	while (p < end && *p != ']' && *p != '\n')
		p++;
	if (p < end && *p == ']')
		p++;
	return p;
}

/* Key name at p (lower-cased) and the canonical "sec.sub.key=value" entry. */
static void
parse_key(const char *p, const char *end, const char *section, const char *sub, char *name,
	  size_t nlen, char *entry, size_t elen)
{
	size_t o = 0, e;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (p < end && (isalnum((unsigned char)*p) || *p == '-') && o + 1 < nlen)
		name[o++] = (char)tolower((unsigned char)*p++);
	name[o] = '\0';
	e = (size_t)snprintf(entry, elen, "%s.%s.%s=", section, sub, name);
	while (p < end && *p != '=' && *p != '\n')
		p++;
	if (p < end && *p == '=')
		p++;
	while (p < end && e + 1 < elen) {
		if (*p == '\n' && !(p > end - 1))
			break;
		if (*p == '\\' && p + 1 < end && p[1] == '\n') {
			p += 2;
			continue;
		}
		if (*p == '\n')
			break;
		if (!isspace((unsigned char)*p))
			entry[e++] = *p;
		p++;
	}
	if (e >= elen)
		e = elen - 1;
	entry[e] = '\0';
}

/* End of the logical line at p (continuation lines included). */
static const char *
line_end(const char *p, const char *end)
{
	bool quoted = false;

	while (p < end) {
		if (*p == '"')
			quoted = !quoted;
		if (*p == '\\' && p + 1 < end) {
			p += 2;
			continue;
		}
		if (*p == '\n')
			return p + 1;
		if ((*p == '#' || *p == ';') && !quoted) {
			while (p < end && *p != '\n')
				p++;
			return p < end ? p + 1 : p;
		}
		p++;
	}
	return p;
}

struct entry_set {
	char **v;
	size_t n;
};

static bool
set_has(const struct entry_set *s, const char *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], e) == 0)
			return true;
	return false;
}

/*
 * One line of a git config, [*q, le): skip leading blanks (*q is left on
 * the first non-blank), follow a section header into section/sub, and
 * return where a key starts on this line (after a header too: "[core]
 * hooksPath = x"), or NULL for comments, blank lines and bare headers.
 */
static const char *
config_line_key(const char **q, const char *le, char *section, size_t slen, char *sub,
		size_t sublen)
{
	while (*q < le && (**q == ' ' || **q == '\t'))
		(*q)++;
	if (*q < le && **q == '[') {
		const char *after = parse_header(*q, le, section, slen, sub, sublen);

		while (after < le && (*after == ' ' || *after == '\t'))
			after++;
		return after < le && isalpha((unsigned char)*after) ? after : NULL;
	}
	return *q < le && isalpha((unsigned char)**q) ? *q : NULL;
}

/*
 * Walk a config text. For each key line that is dangerous: when collect,
 * add its entry to set; otherwise decide whether to drop it (not in set).
 * out (when not NULL) receives the text without the dropped lines.
 */
static size_t
walk_config(const char *text, struct entry_set *set, bool collect, char *out, char ***names,
	    size_t *n_names)
{
	const char *p = text, *end = text + strlen(text);
	char section[64] = "", sub[256] = "";
	size_t o = 0, removed = 0;

	while (p < end) {
		const char *le = line_end(p, end), *q = p;
		const char *key =
		    config_line_key(&q, le, section, sizeof(section), sub, sizeof(sub));
		bool drop = false;

		if (key != NULL) {
			char name[64], entry[1024];

			parse_key(key, le, section, sub, name, sizeof(name), entry, sizeof(entry));
			if (qr_git_key_dangerous(section, sub, name)) {
				if (collect) {
					set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
					set->v[set->n++] = xstrdup(entry);
				} else if (!set_has(set, entry)) {
					drop = true;
					removed++;
					if (names != NULL) {
						char shown[300];

						snprintf(shown, sizeof(shown), "%s%s%s.%s", section,
							 sub[0] ? "." : "", sub, name);
						*names = xrealloc(*names,
								  (*n_names + 1) * sizeof(**names));
						(*names)[(*n_names)++] = xstrdup(shown);
					}
				}
			}
		}
		if (out != NULL) {
			if (drop && key != q) {
				/* Keep the header, drop the key that follows it. */
				memcpy(out + o, p, (size_t)(key - p));
				o += (size_t)(key - p);
				out[o++] = '\n';
			} else if (!drop) {
				memcpy(out + o, p, (size_t)(le - p));
				o += (size_t)(le - p);
			}
		}
		p = le;
	}
	if (out != NULL)
		out[o] = '\0';
	return removed;
}

char *
qr_git_config_strip(const char *text, const char *before, size_t *removed, char ***names,
		    size_t *n_names)
{
	struct entry_set set = { NULL, 0 };
	char *out = xmalloc(strlen(text) + 2);

	if (before != NULL)
		walk_config(before, &set, true, NULL, NULL, NULL);
	*removed = walk_config(text, &set, false, out, names, n_names);
	for (size_t i = 0; i < set.n; i++)
		free(set.v[i]);
	free(set.v);
	return out;
}

/* ---- helpers ---- */

static char *
read_small(const char *path, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
		return NULL;
	buf = xmalloc((size_t)st.st_size + 1);
	n = fd_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

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
		char stamp[64];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		s->qdir = xasprintf("%s/quarantine/%s-%d", state_dir, stamp, (int)getpid());
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

static void
item_add(struct qr_snapshot *s, const char *path, enum qr_kind kind)
{
	struct qr_item *it;
	struct stat st;

	for (size_t i = 0; i < s->n_items; i++)
		if (strcmp(s->items[i].path, path) == 0)
			return;
	s->items = xrealloc(s->items, (s->n_items + 1) * sizeof(*s->items));
	it = &s->items[s->n_items++];
	memset(it, 0, sizeof(*it));
	it->path = xstrdup(path);
	it->kind = kind;
	{
		char dir[PATH_MAX];
		char *slash, *real;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir)
			*slash = '\0';
		real = fd_realpath(dir);
		it->parent = real != NULL ? real : xstrdup(dir);
	}
	if (lstat(path, &st) < 0)
		return;
	it->existed = true;
	it->dev = st.st_dev;
	it->ino = st.st_ino;
	it->mode = st.st_mode;
	if (kind == QR_GITCONFIG)
		it->config = read_small(path, QR_MAX_CONFIG);
	if (kind == QR_GITDIR && S_ISREG(st.st_mode))
		it->gitdir = read_small(path, 4096);
	if (kind == QR_HOOKS && S_ISDIR(st.st_mode)) {
		_cleanup_closedir_ DIR *d = opendir(path);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL && it->n_hooks < QR_MAX_HOOKS) {
			struct qr_hook *h;

			if (e->d_name[0] == '.' || is_sample(e->d_name))
				continue;
			it->hooks = xrealloc(it->hooks, (it->n_hooks + 1) * sizeof(*it->hooks));
			h = &it->hooks[it->n_hooks++];
			h->name = xstrdup(e->d_name);
			sha_file(dirfd(d), e->d_name, h->sha);
		}
	}
}

static enum qr_kind
kind_of(const char *path, char *const *hooks, size_t n_hooks)
{
	const char *b = base_name(path);

	for (size_t i = 0; i < n_hooks; i++)
		if (strcmp(hooks[i], path) == 0)
			return QR_HOOKS;
	if (strcmp(b, "hooks") == 0 && parent_is_gitdir(path))
		return QR_HOOKS;
	if (strcmp(b, "config") == 0 && parent_is_gitdir(path))
		return QR_GITCONFIG;
	return QR_GENERIC;
}

int
qr_snapshot_take(struct qr_snapshot *s, const char *workspace, char *const *protect,
		 size_t n_protect, char *const *watch, size_t n_watch, struct cordon_err *err)
{
	char gitdir[PATH_MAX];
	size_t n_hooks = 0;
	char **hooks;

	(void)err;
	memset(s, 0, sizeof(*s));
	s->workspace = xstrdup(workspace);
	hooks = qr_git_protect_paths(workspace, NULL, &n_hooks);
	for (size_t i = 0; i < n_protect; i++)
		item_add(s, protect[i], kind_of(protect[i], hooks, n_hooks));
	for (size_t i = 0; i < n_watch; i++)
		item_add(s, watch[i], kind_of(watch[i], hooks, n_hooks));
	snprintf(gitdir, sizeof(gitdir), "%s/.git", workspace);
	item_add(s, gitdir, QR_GITDIR);
	for (size_t i = 0; i < n_hooks; i++)
		free(hooks[i]);
	free(hooks);
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

	if (lstat(it->path, &st) < 0 || same_identity(it, &st))
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

static int
check_config(struct qr_snapshot *s, const char *state_dir, struct qr_item *it,
	     struct cordon_err *err)
{
	_cleanup_free_ char *now = NULL, *out = NULL;
	char **names = NULL, tmp[PATH_MAX + 32];
	size_t removed = 0, n_names = 0;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r = 0;

	if (lstat(it->path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode))
		return quarantine(s, state_dir, it->path, "git config replaced in the sandbox",
				  err);
	now = read_small(it->path, QR_MAX_CONFIG);
	if (now == NULL)
		return quarantine(s, state_dir, it->path, "git config unreadable or too large",
				  err);
	if (it->config != NULL && strcmp(it->config, now) == 0)
		return 0;
	out = qr_git_config_strip(now, it->config, &removed, &names, &n_names);
	if (removed == 0)
		goto done;
	snprintf(tmp, sizeof(tmp), "%s.cordon.%d", it->path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
	if (fd < 0 || fd_write_all(fd, out, strlen(out)) < 0 || fsync(fd) < 0 ||
	    rename(tmp, it->path) < 0) {
		cordon_err_set(err, errno, "rewrite %s without the keys added in the sandbox",
			       it->path);
		unlink(tmp);
		cordon_err_hint(err, "remove the keys by hand before running git outside the "
				     "sandbox: `git config --unset` each of them");
		r = -1;
		goto done;
	}
	for (size_t i = 0; i < n_names; i++)
		report(s, "removed `%s` from %s (added in the sandbox; it runs a command outside)",
		       names[i], shown(s, it->path));
	r = (int)removed;
done:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return r;
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

int
qr_run(struct qr_snapshot *s, const char *state_dir, struct cordon_err *err)
{
	int total = 0, failed = 0;

	/* `.git` entries first: a swapped `.git` is moved aside before anything below it. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->n_items; i++) {
			struct qr_item *it = &s->items[i];
			struct cordon_err e = { 0 };
			struct stat st;
			int r = 0;

			if ((it->kind == QR_GITDIR) != (pass == 0))
				continue;
			if (parent_moved(s, it))
				continue;
			switch (it->kind) {
			case QR_HOOKS:
				r = check_hooks(s, state_dir, it, &e);
				break;
			case QR_GITCONFIG:
				r = check_config(s, state_dir, it, &e);
				break;
			case QR_GITDIR:
				if (lstat(it->path, &st) < 0 || S_ISDIR(st.st_mode))
					break;
				if (S_ISREG(st.st_mode) && it->gitdir != NULL) {
					_cleanup_free_ char *now = read_small(it->path, 4096);

					if (now != NULL && strcmp(now, it->gitdir) == 0)
						break;
				}
				r = quarantine(
				    s, state_dir, it->path,
				    "`.git` pointer written in the sandbox; git would use "
				    "another directory's hooks",
				    &e);
				break;
			case QR_GENERIC:
			default:
				if (lstat(it->path, &st) < 0 || same_identity(it, &st))
					break;
				r = quarantine(s, state_dir, it->path,
					       it->existed
						   ? "protected path replaced in the sandbox"
						   : "protected path created in the sandbox",
					       &e);
				break;
			}
			if (r < 0) {
				if (!failed)
					*err = e;
				failed = 1;
				continue;
			}
			total += r;
		}
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
	for (size_t i = 0; i < s->n_report; i++)
		free(s->report[i]);
	free(s->report);
	free(s->qdir);
	free(s->workspace);
	memset(s, 0, sizeof(*s));
}

/* ---- paths to protect ---- */

/* Value of core.hooksPath in a config text, or NULL. */
static char *
hooks_path_of(const char *text)
{
	const char *p = text, *end = text + strlen(text);
	char section[64] = "", sub[256] = "";
	char *found = NULL;

	while (p < end) {
		const char *le = line_end(p, end), *q = p;
		const char *key =
		    config_line_key(&q, le, section, sizeof(section), sub, sizeof(sub));

		if (key != NULL && strcmp(section, "core") == 0 && sub[0] == '\0') {
			char name[64], entry[PATH_MAX + 64];

			parse_key(key, le, section, sub, name, sizeof(name), entry, sizeof(entry));
			if (strcmp(name, "hookspath") == 0) {
				const char *v = strchr(entry, '=') + 1;
				size_t n = strlen(v);

				if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
					v++;
					n -= 2;
				}
				free(found);
				found = xmalloc(n + 1);
				memcpy(found, v, n);
				found[n] = '\0';
			}
		}
		p = le;
	}
	return found;
}

static void
push_path(char ***v, size_t *n, char *p)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = p;
}

static void
add_hooks_path(char ***v, size_t *n, const char *value, const char *workspace, const char *home)
{
	char *abs;

	if (value == NULL || value[0] == '\0')
		return;
	if (value[0] == '/')
		abs = xstrdup(value);
	else if (value[0] == '~' && value[1] == '/' && home != NULL)
		abs = xasprintf("%s%s", home, value + 1);
	else
		abs = xasprintf("%s/%s", workspace, value);
	push_path(v, n, abs);
}

char **
qr_git_protect_paths(const char *workspace, const char *home, size_t *n)
{
	char path[PATH_MAX + 32], *text, *hp;
	char **v = NULL;
	struct stat st;

	*n = 0;
	snprintf(path, sizeof(path), "%s/.git", workspace);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		/* A worktree or submodule: "gitdir: PATH". */
		text = read_small(path, 4096);
		if (text != NULL && strncmp(text, "gitdir:", 7) == 0) {
			char *g = text + 7, *e;
			char *real;

			while (*g == ' ')
				g++;
			e = g + strcspn(g, "\r\n");
			*e = '\0';
			real = g[0] == '/' ? xstrdup(g) : xasprintf("%s/%s", workspace, g);
			push_path(&v, n, xasprintf("%s/hooks", real));
			push_path(&v, n, xasprintf("%s/config", real));
			snprintf(path, sizeof(path), "%s/config", real);
			free(real);
		}
		free(text);
	} else {
		snprintf(path, sizeof(path), "%s/.git/config", workspace);
	}
	text = read_small(path, QR_MAX_CONFIG);
	if (text != NULL) {
		hp = hooks_path_of(text);
		add_hooks_path(&v, n, hp, workspace, home);
		free(hp);
		free(text);
	}
	if (home != NULL) {
		snprintf(path, sizeof(path), "%s/.gitconfig", home);
		text = read_small(path, QR_MAX_CONFIG);
		if (text != NULL) {
			hp = hooks_path_of(text);
			add_hooks_path(&v, n, hp, workspace, home);
			free(hp);
			free(text);
		}
	}
	return v;
}

/* ---- the snapshot as text (sessions whose supervisor was killed) ---- */

#define QR_STATE_MAGIC "cordon-quarantine 1"

static void
put_token(FILE *f, const char *s, size_t len)
{
	_cleanup_free_ char *e = pct_encode(s, len);

	fprintf(f, " %s", e);
}

char *
qr_snapshot_save(const struct qr_snapshot *s)
{
	static const char *const kinds[] = { "generic", "hooks", "gitconfig", "gitdir" };
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		abort();
	fprintf(f, "%s\nworkspace", QR_STATE_MAGIC);
	put_token(f, s->workspace, strlen(s->workspace));
	fputc('\n', f);
	for (size_t i = 0; i < s->n_items; i++) {
		const struct qr_item *it = &s->items[i];

		fprintf(f, "item %s %d %llu %llu %o", kinds[it->kind], it->existed ? 1 : 0,
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
	static const char *const kinds[] = { "generic", "hooks", "gitconfig", "gitdir" };
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
	if (strcmp(word, "item") == 0) {
		char *kind = strtok_r(NULL, " ", &save);
		unsigned long long existed, dev, ino, mode;
		struct qr_item n;
		int k = -1;

		for (size_t i = 0; kind != NULL && i < ARRAY_SIZE(kinds); i++)
			if (strcmp(kind, kinds[i]) == 0)
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
	if (strcmp(word, "gitdir") == 0 && it->gitdir == NULL) {
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
	if (line == NULL || strcmp(line, QR_STATE_MAGIC) != 0) {
		cordon_err_set(err, EINVAL, "quarantine snapshot: not a snapshot (line 1)");
		return -1;
	}
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
