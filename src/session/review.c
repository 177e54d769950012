/* SPDX-License-Identifier: MIT */
/* Review mode: diff, apply and discard of a review sandbox's workspace layer (review.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/fd.h"
#include "common/pct.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "session/named.h"
#include "session/review.h"

#define MANIFEST "ws-manifest"
#define SIG_LEN  72 /* "f" + 64 hex digits, NUL */

enum rv_kind { RV_ADDED, RV_MODIFIED, RV_DELETED, RV_MODE, RV_SAME, RV_DIR_DONE };

struct rv_walk;
/* u: the upper entry (NULL: a host entry hidden or replaced); l: the host's (NULL: none). */
typedef int (*rv_fn)(struct rv_walk *w, enum rv_kind k, const char *rel, const struct stat *u,
		     const struct stat *l);

struct rv_walk {
	char upper[PATH_MAX]; /* <state>/ws-upper */
	const char *ws;       /* the host's workspace */
	rv_fn fn;
	void *ud;
};

/* a/b into out ("" + b = b). -1 ENAMETOOLONG. */
static int
rel_join(char *out, const char *a, const char *b)
{
	int r = a[0] ? snprintf(out, PATH_MAX, "%s/%s", a, b) : snprintf(out, PATH_MAX, "%s", b);

	if (r < 0 || r >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* root/rel into out (PATH_MAX); "" when too long (lstat of it fails). */
static void
path_of(char *out, const char *root, const char *rel)
{
	int r = snprintf(out, PATH_MAX, "%s%s%s", root, rel[0] ? "/" : "", rel);

	if (r < 0 || r >= PATH_MAX)
		out[0] = '\0';
}

static bool
has_xattr(const char *path, const char *name, const char *want)
{
	char v[8];
	ssize_t n = lgetxattr(path, name, v, sizeof(v) - 1);

	if (n < 0)
		return false;
	v[n] = '\0';
	return want == NULL || strcmp(v, want) == 0;
}

static bool
whiteout(const char *path, const struct stat *st)
{
	return (S_ISCHR(st->st_mode) && st->st_rdev == 0) ||
	       (S_ISREG(st->st_mode) && st->st_size == 0 &&
		has_xattr(path, "user.overlay.whiteout", NULL));
}

static bool
same_file(const char *a, const char *b)
{
	_cleanup_close_ int fa = open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int fb = open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char x[16384], y[16384];

	if (fa < 0 || fb < 0)
		return false;
	for (;;) {
		ssize_t n = read(fa, x, sizeof(x)), m;

		if (n < 0)
			return false;
		m = n > 0 ? read(fb, y, (size_t)n) : read(fb, y, 1);
		if (m != n || (n > 0 && memcmp(x, y, (size_t)n) != 0))
			return false;
		if (n == 0)
			return true;
	}
}

static bool
same_link(const char *a, const char *b)
{
	char x[PATH_MAX], y[PATH_MAX];
	ssize_t n = readlink(a, x, sizeof(x)), m = readlink(b, y, sizeof(y));

	return n >= 0 && n == m && memcmp(x, y, (size_t)n) == 0;
}

static int walk_dir(struct rv_walk *w, const char *rel);

/* One entry of the upper layer, rel below the workspace. */
static int
walk_entry(struct rv_walk *w, const char *rel)
{
	char up[PATH_MAX], host[PATH_MAX];
	struct stat u, l;
	bool have_l, same_type;

	path_of(up, w->upper, rel);
	path_of(host, w->ws, rel);
	if (lstat(up, &u) < 0)
		return -1;
	have_l = lstat(host, &l) == 0;
	same_type = have_l && (u.st_mode & S_IFMT) == (l.st_mode & S_IFMT);
	if (whiteout(up, &u))
		return have_l ? w->fn(w, RV_DELETED, rel, &u, &l) : 0;
	if (have_l && !same_type && w->fn(w, RV_DELETED, rel, NULL, &l) < 0)
		return -1;
	if (!same_type)
		return w->fn(w, RV_ADDED, rel, &u, NULL) < 0 ||
			       (S_ISDIR(u.st_mode) &&
				(walk_dir(w, rel) < 0 || w->fn(w, RV_DIR_DONE, rel, &u, NULL) < 0))
			   ? -1
			   : 0;
	if (S_ISDIR(u.st_mode)) {
		if ((u.st_mode & 07777) != (l.st_mode & 07777) &&
		    w->fn(w, RV_MODE, rel, &u, &l) < 0)
			return -1;
		return walk_dir(w, rel) < 0 ? -1 : w->fn(w, RV_DIR_DONE, rel, &u, &l);
	}
	if (S_ISLNK(u.st_mode))
		return w->fn(w, same_link(up, host) ? RV_SAME : RV_MODIFIED, rel, &u, &l);
	if (!S_ISREG(u.st_mode))
		return w->fn(w, RV_MODIFIED, rel, &u, &l);
	if (!same_file(up, host)) {
		if (w->fn(w, RV_MODIFIED, rel, &u, &l) < 0)
			return -1;
	} else if ((u.st_mode & 07777) == (l.st_mode & 07777)) {
		return w->fn(w, RV_SAME, rel, &u, &l);
	}
	return (u.st_mode & 07777) != (l.st_mode & 07777) ? w->fn(w, RV_MODE, rel, &u, &l) : 0;
}

static int
walk_dir(struct rv_walk *w, const char *rel)
{
	char up[PATH_MAX], host[PATH_MAX], sub[PATH_MAX];
	struct dirent **v = NULL;
	int n, r = 0;

	path_of(up, w->upper, rel);
	path_of(host, w->ws, rel);
	n = scandir(up, &v, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (r == 0 && strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0)
			r = rel_join(sub, rel, v[i]->d_name) < 0 ? -1 : walk_entry(w, sub);
		free(v[i]);
	}
	free(v);
	/* An opaque directory hides what the host has below it: deleted. */
	if (r == 0 && rel[0] && has_xattr(up, "user.overlay.opaque", "y")) {
		n = scandir(host, &v, NULL, alphasort);
		for (int i = 0; i < n; i++) {
			char u2[PATH_MAX], h2[PATH_MAX];
			struct stat st;

			if (r == 0 && strcmp(v[i]->d_name, ".") != 0 &&
			    strcmp(v[i]->d_name, "..") != 0 &&
			    rel_join(sub, rel, v[i]->d_name) == 0) {
				path_of(u2, w->upper, sub);
				path_of(h2, w->ws, sub);
				if (lstat(u2, &st) < 0 && errno == ENOENT && lstat(h2, &st) == 0)
					r = w->fn(w, RV_DELETED, sub, NULL, &st);
			}
			free(v[i]);
		}
		free(v);
	}
	return r;
}

/* ---- the manifest: path -> what the host had there ---- */

struct manifest {
	char **path;
	char (*sig)[SIG_LEN];
	bool *drop;
	size_t n;
};

static void
hex(const unsigned char *md, char *out)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* What the host has at path: "-" nothing, "d" a directory, "f<sha>", "l<sha>", "o". */
static void
host_sig(const char *path, char sig[SIG_LEN])
{
	struct stat st;
	unsigned char md[32];

	if (lstat(path, &st) < 0) {
		snprintf(sig, SIG_LEN, "-");
	} else if (S_ISDIR(st.st_mode)) {
		snprintf(sig, SIG_LEN, "d");
	} else if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof(t));

		cordon_sha256(t, n > 0 ? (size_t)n : 0, md);
		sig[0] = 'l';
		hex(md, sig + 1);
	} else if (S_ISREG(st.st_mode)) {
		struct cordon_sha256 c;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char buf[16384];
		ssize_t n;

		cordon_sha256_init(&c);
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			cordon_sha256_update(&c, buf, (size_t)n);
		cordon_sha256_final(&c, md);
		sig[0] = fd >= 0 ? 'f' : 'o';
		hex(md, sig + 1);
	} else {
		snprintf(sig, SIG_LEN, "o");
	}
}

static void
manifest_add(struct manifest *m, const char *path, const char *sig)
{
	m->path = xrealloc(m->path, (m->n + 1) * sizeof(*m->path));
	m->sig = xrealloc(m->sig, (m->n + 1) * sizeof(*m->sig));
	m->drop = xrealloc(m->drop, (m->n + 1) * sizeof(*m->drop));
	m->path[m->n] = xstrdup(path);
	snprintf(m->sig[m->n], SIG_LEN, "%s", sig);
	m->drop[m->n] = false;
	m->n++;
}

static ssize_t
manifest_find(const struct manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->path[i], path) == 0)
			return (ssize_t)i;
	return -1;
}

static void
manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->path[i]);
	free(m->path);
	free(m->sig);
	free(m->drop);
	memset(m, 0, sizeof(*m));
}

/* Lines "SIG PATH" (PATH percent-encoded). */
static void
manifest_read(const char *dir, struct manifest *m)
{
	char path[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	text = fd_read_small_file(path, 64 * 1024 * 1024);
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		_cleanup_free_ char *p = NULL;

		if (sp == NULL)
			continue;
		*sp = '\0';
		p = pct_decode(sp + 1, &(size_t){ 0 });
		if (p != NULL)
			manifest_add(m, p, line);
	}
}

static int
manifest_write(const char *dir, const struct manifest *m)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	snprintf(tmp, sizeof(tmp), "%s/" MANIFEST ".tmp", dir);
	f = fopen(tmp, "we");
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		_cleanup_free_ char *p = NULL;

		if (m->drop[i])
			continue;
		p = pct_encode(m->path[i], strlen(m->path[i]));
		fprintf(f, "%s %s\n", m->sig[i], p);
	}
	if (fflush(f) != 0 || ferror(f))
		return -1;
	return rename(tmp, path);
}

static int
record_one(struct rv_walk *w, enum rv_kind k, const char *rel, const struct stat *u,
	   const struct stat *l)
{
	struct manifest *m = w->ud;
	char host[PATH_MAX], sig[SIG_LEN];

	(void)u;
	(void)l;
	if (k == RV_DIR_DONE || k == RV_SAME || manifest_find(m, rel) >= 0)
		return 0;
	path_of(host, w->ws, rel);
	host_sig(host, sig);
	manifest_add(m, rel, sig);
	return 0;
}

static void
walk_init(struct rv_walk *w, const char *dir, const char *ws, rv_fn fn, void *ud)
{
	path_of(w->upper, dir, "ws-upper");
	w->ws = ws;
	w->fn = fn;
	w->ud = ud;
}

void
review_record(const char *dir, const char *workspace)
{
	struct manifest m;
	struct rv_walk w;

	manifest_read(dir, &m);
	walk_init(&w, dir, workspace, record_one, &m);
	if (walk_dir(&w, "") == 0)
		manifest_write(dir, &m);
	manifest_free(&m);
}

/* ---- open a review sandbox ---- */

struct rv_box {
	char dir[PATH_MAX];
	int lock;
	char *ws;
};

static int
box_open(struct rv_box *b, const char *name, bool running_ok, struct cordon_err *err)
{
	bool review = false;

	b->ws = NULL;
	if (named_hold(name, running_ok, b->dir, sizeof(b->dir), &b->lock, &b->ws, &review, err) <
	    0)
		return -1;
	if (!review || b->ws == NULL || b->ws[0] != '/') {
		cordon_err_set(err, 0, "sandbox '%s' is not a review sandbox", name);
		return cordon_err_hint(err,
				       "`cordon run --name %s --review -- CMD` makes it one: the "
				       "command's workspace changes then wait for review",
				       name);
	}
	return 0;
}

static void
box_close(struct rv_box *b)
{
	if (b->lock >= 0)
		close(b->lock);
	b->lock = -1;
	free(b->ws);
	b->ws = NULL;
}

/* ---- diff ---- */

struct diff_ctx {
	FILE *out;
	bool patches; /* second pass: the unified diffs */
	size_t n;
};

/*
 * n bytes of s on out as `cat -v` shows control characters ("^[" for ESC,
 * "^?" for DEL; a tab, and a newline where lines is set, kept): names and
 * contents come from the sandboxed command, and must not drive the
 * reader's terminal.
 */
static void
put_shown(FILE *out, const char *s, size_t n, bool lines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t' && !(lines && c == '\n')) || c == 0x7f) {
			fputc('^', out);
			fputc(c ^ 0x40, out);
		} else {
			fputc(c, out);
		}
	}
}

/* A name on out as put_shown shows it. */
static void
put_name(FILE *out, const char *s)
{
	put_shown(out, s, strlen(s), false);
}

/* "Binary file REL VERB, N bytes" on out. */
static void
binary_line(FILE *out, const char *rel, const char *verb, off_t size)
{
	fputs("Binary file ", out);
	put_name(out, rel);
	fprintf(out, " %s, %lld bytes\n", verb, (long long)size);
}

static bool
binary(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[8000];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	return n > 0 && memchr(buf, '\0', (size_t)n) != NULL;
}

/* diff -u --label a/REL --label b/REL old new, on out through put_shown. */
static void
unified(FILE *out, const char *rel, const char *old, const char *new)
{
	_cleanup_free_ char *la = xasprintf("a/%s", rel), *lb = xasprintf("b/%s", rel);
	char prog[] = "diff", u[] = "-u", label[] = "--label";
	_cleanup_free_ char *o = xstrdup(old), *n = xstrdup(new);
	char *argv[] = { prog, u, label, la, label, lb, o, n, NULL };
	char buf[4096];
	ssize_t got;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		execvp("diff", argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && ((got = read(p[0], buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR)))
		if (got > 0)
			put_shown(out, buf, (size_t)got, true);
	close(p[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static int
diff_one(struct rv_walk *w, enum rv_kind k, const char *rel, const struct stat *u,
	 const struct stat *l)
{
	struct diff_ctx *d = w->ud;
	char up[PATH_MAX], host[PATH_MAX];

	path_of(up, w->upper, rel);
	path_of(host, w->ws, rel);
	if (k == RV_SAME || k == RV_DIR_DONE)
		return 0;
	d->n++;
	if (d->patches && k == RV_DELETED && S_ISREG(l->st_mode)) {
		if (binary(host)) {
			binary_line(d->out, rel, "deleted", l->st_size);
		} else {
			unified(d->out, rel, host, "/dev/null");
		}
		return 0;
	}
	if (d->patches) {
		if ((k != RV_ADDED && k != RV_MODIFIED) || !S_ISREG(u->st_mode))
			return 0;
		if (binary(up) || (l != NULL && S_ISREG(l->st_mode) && binary(host))) {
			binary_line(d->out, rel, "differs", u->st_size);
		} else {
			unified(d->out, rel, k == RV_ADDED ? "/dev/null" : host, up);
		}
		return 0;
	}
	switch (k) {
	case RV_ADDED:
	case RV_MODIFIED:
		if (S_ISLNK(u->st_mode)) {
			char t[PATH_MAX];
			ssize_t n = readlink(up, t, sizeof(t) - 1);

			t[n > 0 ? n : 0] = '\0';
			fprintf(d->out, "%-9s ", k == RV_ADDED ? "added" : "modified");
			put_name(d->out, rel);
			fputs(" -> ", d->out);
			put_name(d->out, t);
			fputc('\n', d->out);
		} else {
			fprintf(d->out, "%-9s ", k == RV_ADDED ? "added" : "modified");
			put_name(d->out, rel);
			fputs(S_ISDIR(u->st_mode) ? "/\n" : "\n", d->out);
		}
		break;
	case RV_DELETED:
		fprintf(d->out, "%-9s ", "deleted");
		put_name(d->out, rel);
		fputs(S_ISDIR(l->st_mode) ? "/\n" : "\n", d->out);
		break;
	case RV_MODE:
		fprintf(d->out, "%-9s ", "mode");
		put_name(d->out, rel);
		fprintf(d->out, " %04o -> %04o\n", (unsigned)(l->st_mode & 07777),
			(unsigned)(u->st_mode & 07777));
		break;
	case RV_SAME:
	case RV_DIR_DONE:
	default:
		break;
	}
	return 0;
}

int
review_diff(const char *name, bool stat, FILE *out, struct cordon_err *err)
{
	struct rv_box b;
	struct diff_ctx d = { .out = out };
	struct rv_walk w;
	int r;

	if (box_open(&b, name, true, err) < 0) {
		box_close(&b);
		return -1;
	}
	walk_init(&w, b.dir, b.ws, diff_one, &d);
	r = walk_dir(&w, "");
	if (r == 0 && !stat && d.n > 0) {
		d.patches = true;
		r = walk_dir(&w, "");
	}
	if (r < 0)
		cordon_err_set(err, errno, "read %s", w.upper);
	box_close(&b);
	return r;
}

/* ---- discard ---- */

int
review_discard(const char *name, struct cordon_err *err)
{
	struct rv_box b;
	char p[PATH_MAX + 32];
	int r = 0;

	if (box_open(&b, name, false, err) < 0) {
		box_close(&b);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/ws-upper", b.dir);
	if (named_empty_dir(p) < 0)
		r = cordon_err_set(err, errno, "empty %s", p);
	snprintf(p, sizeof(p), "%s/ws-work", b.dir);
	if (r == 0 && named_empty_dir(p) < 0)
		r = cordon_err_set(err, errno, "empty %s", p);
	snprintf(p, sizeof(p), "%s/" MANIFEST, b.dir);
	if (r == 0 && unlink(p) < 0 && errno != ENOENT)
		r = cordon_err_set(err, errno, "remove %s", p);
	box_close(&b);
	return r;
}

/* ---- apply ---- */

struct apply_ctx {
	const char *dir;
	struct manifest m;
	struct cordon_policy pol;
	char *const *paths;
	size_t n_paths;
	char **skip; /* refused directories: nothing below them is applied */
	size_t n_skip;
	unsigned counter;
	int refused;
};

static bool
at_or_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool
selected(const struct apply_ctx *a, const char *rel)
{
	if (a->n_paths == 0)
		return true;
	for (size_t i = 0; i < a->n_paths; i++)
		if (at_or_below(rel, a->paths[i]))
			return true;
	return false;
}

/* The built-in policy's workspace-relative protected entry that covers rel, or NULL. */
static const char *
protected_by(const struct apply_ctx *a, enum rv_kind k, const char *rel)
{
	const struct policy_rules *l = &a->pol.lists[POLICY_FS_DENY_WRITE];

	for (size_t i = 0; i < l->n; i++) {
		const char *e = l->v[i].value;

		if (e[0] == '~' || e[0] == '/')
			continue;
		if (at_or_below(rel, e) || (k == RV_DELETED && at_or_below(e, rel)))
			return e;
	}
	return NULL;
}

/* A link target inside the workspace (lexically, from the link's directory)? */
static bool
link_inside(const char *ws, const char *rel, const char *target)
{
	int depth = 0;
	_cleanup_free_ char *t = NULL;
	char *save = NULL;

	if (target[0] == '/')
		return at_or_below(target, ws);
	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	t = xstrdup(target);
	for (char *c = strtok_r(t, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0)
			depth--;
		else if (strcmp(c, ".") != 0)
			depth++;
		if (depth < 0)
			return false;
	}
	return true;
}

/* Make the missing parents of host path (the upper layer's modes, else 0755). */
static int
make_parents(struct rv_walk *w, const char *rel)
{
	char sub[PATH_MAX], host[PATH_MAX], up[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s", rel);
	for (char *s = strchr(sub, '/'); s; s = strchr(s + 1, '/')) {
		struct stat st;

		*s = '\0';
		path_of(host, w->ws, sub);
		path_of(up, w->upper, sub);
		if (lstat(host, &st) < 0 &&
		    mkdir(host, lstat(up, &st) == 0 ? (st.st_mode & 0777) | 0700 : 0755) < 0)
			return -1;
		*s = '/';
	}
	return 0;
}

/* Write what up holds (a file or a link) to a temporary name beside host, rename it over. */
static int
put(struct apply_ctx *a, const char *up, const char *host, const struct stat *u)
{
	char tmp[PATH_MAX + 64];
	const char *slash = strrchr(host, '/');
	int r;

	snprintf(tmp, sizeof(tmp), "%.*s/.cordon-apply.%d.%u", (int)(slash - host), host,
		 (int)getpid(), a->counter++);
	if (S_ISLNK(u->st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(up, t, sizeof(t) - 1);

		if (n < 0)
			return -1;
		t[n] = '\0';
		r = symlink(t, tmp);
	} else {
		_cleanup_close_ int in = open(up, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		char buf[65536];
		ssize_t n = 0;

		if (in < 0 || out < 0) {
			if (out >= 0)
				close(out);
			return -1;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0 &&
		       fd_write_all(out, buf, (size_t)n) == 0)
			;
		r = n == 0 && fchmod(out, u->st_mode & 0777) == 0 && fsync(out) == 0 ? 0 : -1;
		if (close(out) < 0)
			r = -1;
	}
	if (r == 0 && rename(tmp, host) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

static void
refuse(struct apply_ctx *a, const char *rel, bool dir, const char *why)
{
	fputs("cordon: not applied: ", stderr);
	put_name(stderr, rel);
	fputs(": ", stderr);
	put_name(stderr, why);
	fputc('\n', stderr);
	a->refused++;
	if (dir) {
		a->skip = xrealloc(a->skip, (a->n_skip + 1) * sizeof(*a->skip));
		a->skip[a->n_skip++] = xstrdup(rel);
	}
}

/* rm -r of what host is. */
static int
remove_host(const char *host, const struct stat *l)
{
	if (!S_ISDIR(l->st_mode))
		return unlink(host);
	return named_empty_dir(host) < 0 ? -1 : rmdir(host);
}

/* The upper directory rel, now empty and matching the host: dropped. */
static void
drop_dir(struct rv_walk *w, const char *rel, const struct stat *u)
{
	char up[PATH_MAX], host[PATH_MAX];
	struct stat st;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	path_of(up, w->upper, rel);
	path_of(host, w->ws, rel);
	if (lstat(host, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_mode & 07777) != (u->st_mode & 07777))
		return;
	if (has_xattr(up, "user.overlay.opaque", "y")) {
		d = opendir(host);
		while (d != NULL && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				return;
	}
	rmdir(up); /* fails, rightly, while anything is left in it */
}

static int
apply_one(struct rv_walk *w, enum rv_kind k, const char *rel, const struct stat *u,
	  const struct stat *l)
{
	struct apply_ctx *a = w->ud;
	char up[PATH_MAX], host[PATH_MAX], sig[SIG_LEN];
	bool dir = (u != NULL && S_ISDIR(u->st_mode)) || (k == RV_DELETED && S_ISDIR(l->st_mode));
	const char *prot;
	ssize_t at;
	int r = 0;

	if (!selected(a, rel))
		return 0;
	for (size_t i = 0; i < a->n_skip; i++)
		if (at_or_below(rel, a->skip[i]))
			return 0;
	path_of(up, w->upper, rel);
	path_of(host, w->ws, rel);
	if (k == RV_DIR_DONE) {
		if (l == NULL && chmod(host, u->st_mode & 0777) < 0 && errno != ENOENT)
			return -1;
		drop_dir(w, rel, u);
		return 0;
	}
	if (k == RV_SAME) {
		unlink(up);
		return 0;
	}
	prot = protected_by(a, k, rel);
	if (prot != NULL) {
		_cleanup_free_ char *why = xasprintf("protected path (%s)", prot);

		refuse(a, rel, dir, why);
		return 0;
	}
	at = manifest_find(&a->m, rel);
	host_sig(host, sig);
	if (at < 0) {
		refuse(a, rel, dir,
		       "no record of the host's file when the session ended (the session "
		       "did not end normally)");
		return 0;
	}
	/* Applied a moment ago in this walk (replaced type, content with its mode). */
	if (a->m.drop[at] && k == RV_MODE)
		return 0;
	if (!a->m.drop[at] && strcmp(sig, a->m.sig[at]) != 0 &&
	    !(k == RV_ADDED && dir && strcmp(sig, "d") == 0)) {
		refuse(a, rel, dir, "changed on the host since the session (conflict)");
		return 0;
	}
	if (u != NULL && S_ISLNK(u->st_mode) && k != RV_DELETED) {
		char t[PATH_MAX];
		ssize_t n = readlink(up, t, sizeof(t) - 1);

		t[n > 0 ? n : 0] = '\0';
		if (n < 0 || !link_inside(w->ws, rel, t)) {
			_cleanup_free_ char *why =
			    xasprintf("symlink to %s, outside the workspace", t);

			refuse(a, rel, false, why);
			return 0;
		}
	}
	if (make_parents(w, rel) < 0)
		return -1;
	switch (k) {
	case RV_DELETED:
		r = remove_host(host, l);
		if (r < 0 && errno == ENOENT)
			r = 0;
		if (r == 0 && u != NULL)
			unlink(up);
		break;
	case RV_ADDED:
	case RV_MODIFIED:
		if (S_ISDIR(u->st_mode)) {
			r = mkdir(host, 0700) < 0 && errno != EEXIST ? -1 : 0;
		} else if (S_ISREG(u->st_mode) || S_ISLNK(u->st_mode)) {
			r = put(a, up, host, u);
			if (r == 0)
				unlink(up);
		} else {
			refuse(a, rel, false, "neither a file, a directory nor a symlink");
			return 0;
		}
		break;
	case RV_MODE:
		r = chmod(host, u->st_mode & 0777);
		if (r == 0 && !S_ISDIR(u->st_mode))
			unlink(up);
		break;
	case RV_SAME:
	case RV_DIR_DONE:
	default:
		break;
	}
	if (r < 0)
		return -1;
	a->m.drop[at] = true;
	return 0;
}

int
review_apply(const char *name, char *const *paths, size_t n_paths, struct cordon_err *err)
{
	struct rv_box b;
	struct apply_ctx a = { .paths = paths, .n_paths = n_paths };
	struct rv_walk w;
	int r;

	if (box_open(&b, name, false, err) < 0) {
		box_close(&b);
		return -1;
	}
	a.dir = b.dir;
	manifest_read(b.dir, &a.m);
	policy_builtin(&a.pol);
	walk_init(&w, b.dir, b.ws, apply_one, &a);
	r = walk_dir(&w, "");
	if (r < 0)
		cordon_err_set(err, errno, "apply to %s", b.ws);
	/* What was applied leaves the manifest even when a later change failed. */
	if (manifest_write(b.dir, &a.m) < 0 && r == 0)
		r = cordon_err_set(err, errno, "write %s/" MANIFEST, b.dir);
	manifest_free(&a.m);
	policy_free(&a.pol);
	for (size_t i = 0; i < a.n_skip; i++)
		free(a.skip[i]);
	free(a.skip);
	box_close(&b);
	return r < 0 ? -1 : a.refused > 0 ? 1 : 0;
}
