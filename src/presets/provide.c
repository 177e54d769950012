/* SPDX-License-Identifier: MIT */
/*
 * Making a resolved preset's paths exist on the host before the sandbox
 * binds them: a path that is not there cannot be bound, and a writable
 * path that silently goes missing makes every write of the agent fail
 * with EROFS. State is created or the run stops; caches are created under
 * an existing parent or left out with a note; the agent's protected
 * settings are created so that they can be bound read-only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "presets/presets.h"

static void pnote(struct preset_resolved *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pnote(struct preset_resolved *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	preset_strv_add(&r->notes, s);
	free(s);
}

static bool
under(const char *p, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	return n > 0 && strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "~/.claude" for a path under home. */
static const char *
tilde(const char *path, const char *home, char *buf, size_t size)
{
	if (under(path, home) && path[strlen(home)] == '/') {
		snprintf(buf, size, "~%s", path + strlen(home));
		return buf;
	}
	return path;
}

/* What a missing path is made as: a directory, or a file with this content. */
static bool
as_file(const char *path, const char **content)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (ends_with(base, ".json")) {
		*content = "{}\n";
		return true;
	}
	if (ends_with(base, ".toml")) {
		*content = "";
		return true;
	}
	return false;
}

/*
 * Root creating in another user's home (sudo -E keeps HOME): the new path
 * belongs to whoever owns the directory it is made in, as the agent's own
 * files would.
 */
static void
own_like_parent(const char *path)
{
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	struct stat st;

	if (geteuid() != 0 || slash == NULL)
		return;
	*slash = '\0';
	if (stat(parent[0] ? parent : "/", &st) == 0 && (st.st_uid != 0 || st.st_gid != 0))
		if (lchown(path, st.st_uid, st.st_gid) < 0)
			return; /* best effort: the path exists and is usable */
}

/* Create path (its parent must exist, or mkparents). 0, or -1 with errno. */
static int
create(const char *path, bool mkparents)
{
	_cleanup_free_ char *parent = xstrdup(path);
	_cleanup_close_ int fd = -1;
	const char *content = NULL;
	char *slash = strrchr(parent, '/');

	if (slash == NULL)
		return errno = EINVAL, -1;
	*slash = '\0';
	if (mkparents && parent[0] != '\0' && fd_mkdir_p(parent, 0777) < 0)
		return -1;
	if (!as_file(path, &content)) {
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -1;
		own_like_parent(path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (fd_write_all(fd, content, strlen(content)) < 0)
		return -1;
	own_like_parent(path);
	return 0;
}

enum there { THERE_YES, THERE_NO, THERE_BROKEN };

static enum there
there(const char *p)
{
	struct stat st;

	if (stat(p, &st) == 0)
		return THERE_YES;
	if (lstat(p, &st) == 0)
		return THERE_BROKEN; /* a symlink to nothing */
	return THERE_NO;
}

int
preset_provide(struct preset_resolved *r, const char *home, const char *workspace, bool dry_run,
	       struct cordon_err *err)
{
	char sb[PRESET_PATH_MAX + 2];

	for (size_t i = 0; i < r->state.n; i++) {
		const char *p = r->state.v[i];
		const char *t = tilde(p, home, sb, sizeof(sb));

		switch (there(p)) {
		case THERE_YES:
			continue;
		case THERE_BROKEN:
			cordon_err_set(err, ENOENT,
				       "the agent's state %s is a symbolic link to nothing", t);
			return cordon_err_hint(err,
					       "create its target, or remove the link (cordon "
					       "then creates %s)",
					       t);
		case THERE_NO:
		default:
			break;
		}
		if (dry_run) {
			pnote(r, "%s does not exist yet: `cordon run` creates it (agent state)", t);
			continue;
		}
		if (create(p, under(p, home)) < 0) {
			cordon_err_set(err, errno, "cannot create the agent's state %s", t);
			return cordon_err_hint(err,
					       "the agent needs it writable; create it yourself "
					       "or make its directory writable");
		}
		pnote(r, "created %s (agent state, writable inside)", t);
	}
	/* The toolchain's main cache: made, with its parents in the home. */
	for (size_t i = 0; i < r->caches.n;) {
		const char *p = r->caches.v[i];
		const char *t = tilde(p, home, sb, sizeof(sb));
		enum there th = there(p);

		if (th == THERE_YES) {
			i++;
			continue;
		}
		if (th == THERE_NO && dry_run) {
			pnote(r, "%s does not exist yet: `cordon run` creates it (cache)", t);
			i++;
			continue;
		}
		if (th == THERE_NO && create(p, under(p, home)) == 0) {
			pnote(r, "created %s (cache, writable inside)", t);
			i++;
			continue;
		}
		if (th == THERE_BROKEN)
			pnote(r, "not writable inside: %s (a symbolic link to nothing)", t);
		else
			pnote(r, "not writable inside: %s (cannot create it: %s)", t,
			      strerror(errno));
		preset_strv_del(&r->caches, i);
	}
	/*
	 * Other tools' caches: bound when they exist. Each is a mount at every
	 * start, so none is made for a tool that has never run here.
	 */
	for (size_t i = 0; i < r->writable.n;) {
		const char *p = r->writable.v[i];
		enum there th = there(p);

		if (th == THERE_YES) {
			i++;
			continue;
		}
		pnote(r,
		      th == THERE_BROKEN ? "not writable inside: %s (a symbolic link to nothing)"
					 : "not writable inside: %s (it does not exist; create it "
					   "to let its tool write there)",
		      tilde(p, home, sb, sizeof(sb)));
		preset_strv_del(&r->writable, i);
	}
	/*
	 * The agent's own settings and hooks in the home: a file that does not
	 * exist could be planted by the agent, so it is made (empty) and bound
	 * read-only. The workspace is the user's repository: its protected
	 * paths are the policy's (deny-write, watched, quarantined).
	 */
	for (size_t i = 0; i < r->protect.n; i++) {
		const char *p = r->protect.v[i];

		if (!under(p, home) || under(p, workspace) || there(p) != THERE_NO || dry_run)
			continue;
		if (create(p, true) < 0)
			pnote(r,
			      "%s could not be created to bind it read-only (%s); it is watched "
			      "instead",
			      tilde(p, home, sb, sizeof(sb)), strerror(errno));
	}
	return 0;
}
