/* SPDX-License-Identifier: MIT */
/*
 * Reach: every host path the sandbox must show, whatever the modes of the
 * directories above it. Supervisor side, before clone; allocates.
 *
 * Invoked by root, the command runs as a uid to which root's closed
 * directories are closed (userns.c). A workspace in a 0700 `mktemp -d`, in
 * a 0750 home of another user, or a toolchain in /root would then be out
 * of its reach, and the kernel's refusal would surface late and far from
 * its cause (Landlock failing to open the workspace). So, for a root
 * invoker, the supervisor computes:
 *
 *   targets    the paths the sandbox must reach: the workspace, read-write,
 *              read-only and tmpfs mounts of the spec, the private home;
 *              and, read-only, found here: the home when it is out of reach,
 *              the PATH entries, the toolchain roots (RUSTUP_HOME,
 *              CARGO_HOME, PYENV_ROOT, NVM_DIR, or their defaults under the
 *              home when a PATH entry lies there) and the directory of the
 *              command's binary (as named and as resolved)
 *   skeletons  for each target, the first directory above it that "other"
 *              may not search (the sandbox uid is nobody's owner or group
 *              member; the check is by mode bits, which holds with POSIX
 *              ACLs too, as the sandbox uid is in no ACL entry) gets an
 *              empty tmpfs skeleton (mode 0755, sealed read-only once the
 *              binds are in); the chain down to each target is created in
 *              it and the target bound there. Everything else in the
 *              closed directory stays invisible, as it was closed to the
 *              sandbox uid anyway. The private home is the same idea, but
 *              writable. Walks stop at the sandbox's own /tmp, /run, /dev
 *              and at another target, through which the path is reached.
 *   trees      read-only binds whose host path lies below such a directory
 *              are opened by the supervisor (open_tree), because the child
 *              cannot always search it either (a home of another user)
 *
 * The same "as other" rule applies in every root identity, owner and
 * root-uid included: the command sees what an unprivileged stranger would,
 * plus its targets.
 *
 * Refused before anything runs (exit 125): a read-only path of the spec
 * that "other" may not read itself (a 0700 directory, a 0600 file), which
 * no skeleton can open; too many skeletons or binds. Found binds (toolchains,
 * the binary) that cannot be shown are left out instead: they are a
 * convenience, never a promise.
 */
#define _GNU_SOURCE
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
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/mountapi.h"
#include "sandbox/steps.h"

#define SB_REACH_MAX_SKELETONS 64
#define SB_REACH_MAX_AUTO      64
#define SB_REACH_MAX_MOUNTS    16384
#define SB_REACH_MAX_TREES     512

/* Directories the sandbox provides itself: chains below them live in tmpfs. */
static const char *const private_roots[] = { "/tmp", "/run", "/dev", "/proc", "/sys" };

/* Toolchain roots: variable, default under the home. */
static const struct {
	const char *var, *dflt;
} toolchains[] = {
	{ "RUSTUP_HOME", ".rustup" },
	{ "CARGO_HOME", ".cargo" },
	{ "PYENV_ROOT", ".pyenv" },
	{ "NVM_DIR", ".nvm" },
};

struct target {
	const char *where; /* path inside (canonical) */
	const char *source;
	enum sb_mount_kind kind; /* RW, RO, TMPFS; TMPFS also for the private home */
};

struct rctx {
	const struct sb_spec *spec;
	struct sb_reach *r;
	struct target *t;
	size_t n_t, cap_t;
	size_t n_auto;
};

bool
sb_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
sb_path_depth(const char *path)
{
	int d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

bool
sb_in_private_root(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(private_roots); i++)
		if (sb_path_within(path, private_roots[i]))
			return true;
	return false;
}

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* May a uid that owns nothing here and is in no group search / read it? */
static bool
other_may(const char *path, bool *is_dir)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (is_dir != NULL)
		*is_dir = S_ISDIR(st.st_mode);
	return S_ISDIR(st.st_mode) ? (st.st_mode & S_IXOTH) != 0 : (st.st_mode & S_IROTH) != 0;
}

static void
push_target(struct rctx *c, const char *where, const char *source, enum sb_mount_kind kind)
{
	if (c->n_t == c->cap_t) {
		c->cap_t = c->cap_t ? 2 * c->cap_t : 32;
		c->t = xrealloc(c->t, c->cap_t * sizeof(*c->t));
	}
	c->t[c->n_t++] = (struct target){ .where = where, .source = source, .kind = kind };
}

/* Is path reached through a target other than self (a bind or the private home)? */
static bool
through_target(const struct rctx *c, const char *path, const struct target *self)
{
	for (size_t i = 0; i < c->n_t; i++) {
		const struct target *t = &c->t[i];

		if (t == self || (self != NULL && strcmp(t->where, self->where) == 0))
			continue;
		if (sb_path_within(path, t->where))
			return true;
	}
	return false;
}

/*
 * The first directory strictly above where that "other" may not search,
 * walking down from /; NULL when the chain is open, or reached through the
 * sandbox's own tmpfs or another target. Written into buf.
 */
static const char *
closed_above(const struct rctx *c, const char *where, const struct target *self, char *buf)
{
	size_t n = strlen(where);

	for (size_t i = 1; i < n; i++) {
		if (where[i] != '/')
			continue;
		memcpy(buf, where, i);
		buf[i] = '\0';
		if (sb_in_private_root(buf) || through_target(c, buf, self))
			return NULL;
		if (!other_may(buf, NULL))
			return buf;
	}
	return NULL;
}

/* Does any strict ancestor of path (host view) deny "other" its search? */
static bool
source_closed(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return true;
	for (size_t i = 1; i < n; i++) {
		if (path[i] != '/')
			continue;
		memcpy(buf, path, i);
		buf[i] = '\0';
		if (!other_may(buf, NULL))
			return true;
	}
	return false;
}

int
sb_reach_add_mount(struct sb_reach *r, enum sb_mount_kind kind, char *path, char *origin,
		   struct cordon_err *err)
{
	if (r->n_mounts == SB_REACH_MAX_MOUNTS) {
		free(path);
		cordon_err_set(err, E2BIG, "more than %d mounts prepared for the sandbox",
			       SB_REACH_MAX_MOUNTS);
		return cordon_err_hint(err, "narrow the policy's path rules");
	}
	r->mounts = xrealloc(r->mounts, (r->n_mounts + 1) * sizeof(*r->mounts));
	memset(&r->mounts[r->n_mounts], 0, sizeof(r->mounts[r->n_mounts]));
	r->mounts[r->n_mounts].kind = kind;
	r->mounts[r->n_mounts].path = path;
	r->mounts[r->n_mounts].origin = origin;
	r->n_mounts++;
	return 0;
}

static void
push_prepared(struct sb_reach *r, const char *path, enum sb_mount_kind kind)
{
	r->prepared = xrealloc(r->prepared, (r->n_prepared + 1) * sizeof(*r->prepared));
	r->prepared[r->n_prepared] =
	    (struct sb_prepared){ .path = path, .kind = kind, .tree_fd = -1 };
	r->n_prepared++;
}

/* Already shown by the spec or an earlier find, or would hide a writable path? */
static bool
auto_redundant(const struct rctx *c, const char *path)
{
	for (size_t i = 0; i < c->n_t; i++) {
		const struct target *t = &c->t[i];

		if (t->kind != SB_MOUNT_TMPFS && sb_path_within(path, t->where))
			return true;
		/* A read-only bind over the workspace would hide it. */
		if (t->kind == SB_MOUNT_RW && sb_path_within(t->where, path))
			return true;
	}
	return false;
}

/*
 * A found path (toolchain, PATH entry, the binary's directory): bound
 * read-only when it exists, is a directory "other" may search, and would
 * otherwise be out of reach. Silently left out otherwise.
 */
static int add_auto2(struct rctx *c, const char *path, char *origin, bool file_ok,
		     struct cordon_err *err);

static int
add_auto(struct rctx *c, const char *path, char *origin, struct cordon_err *err)
{
	return add_auto2(c, path, origin, false, err);
}

/* file_ok: a file "other" may read or run is bound by itself (the command's binary). */
static int
add_auto2(struct rctx *c, const char *path, char *origin, bool file_ok, struct cordon_err *err)
{
	const char *home = c->spec->private_home;
	char buf[PATH_MAX];
	char *real;
	bool is_dir = false, needs;

	if (path == NULL || path[0] != '/')
		return 0;
	real = fd_realpath(path);
	if (real == NULL)
		return 0;
	if (strcmp(real, "/") == 0 || sb_in_private_root(real) || !other_may(real, &is_dir) ||
	    (!is_dir && !file_ok) || auto_redundant(c, real)) {
		free(real);
		return 0;
	}
	needs = (home != NULL && sb_path_within(real, home) && strcmp(real, home) != 0) ||
		closed_above(c, real, NULL, buf) != NULL;
	if (!needs) {
		free(real);
		return 0;
	}
	if (c->n_auto == SB_REACH_MAX_AUTO) {
		log_debug("more than %d found paths; %s left out", SB_REACH_MAX_AUTO, real);
		free(real);
		return 0;
	}
	c->n_auto++;
	if (sb_reach_add_mount(c->r, SB_MOUNT_RO, real, origin, err) < 0)
		return -1;
	push_target(c, real, real, SB_MOUNT_RO);
	log_debug("%s read-only (%s)", real, origin);
	return 0;
}

/* PATH entries, toolchain roots, the home, the command's binary. */
static int
add_found(struct rctx *c, struct cordon_err *err)
{
	char *const *envp = c->spec->envp;
	const char *path = env_get(envp, "PATH"), *home = env_get(envp, "HOME");
	const char *argv0 = c->spec->argv[0];
	_cleanup_free_ char *copy = path != NULL ? xstrdup(path) : NULL;
	_cleanup_free_ char *found = NULL;
	char *save = NULL;

	/* The home when it is out of reach (the private home is a target already). */
	if (home != NULL && home[0] == '/' &&
	    (c->spec->private_home == NULL || strcmp(home, c->spec->private_home) != 0) &&
	    add_auto(c, home, "home", err) < 0)
		return -1;
	/* Toolchain roots first: their PATH entries then lie within them. */
	for (size_t i = 0; i < ARRAY_SIZE(toolchains); i++) {
		const char *v = env_get(envp, toolchains[i].var);
		_cleanup_free_ char *dflt = NULL;

		if (v == NULL && home != NULL && home[0] == '/') {
			bool used = false;

			dflt = xasprintf("%s/%s", home, toolchains[i].dflt);
			/* rustup's cargo proxies need both ~/.cargo and ~/.rustup. */
			for (size_t k = 0; k < ARRAY_SIZE(toolchains) && path != NULL; k++) {
				_cleanup_free_ char *d = NULL, *p = xstrdup(path);
				char *s2 = NULL;
				bool rust = k < 2 && i < 2;

				if (k != i && !rust)
					continue;
				d = xasprintf("%s/%s", home, toolchains[k].dflt);
				for (char *e = strtok_r(p, ":", &s2); e != NULL && !used;
				     e = strtok_r(NULL, ":", &s2))
					used = sb_path_within(e, d);
			}
			if (!used)
				continue;
			v = dflt;
		}
		if (add_auto(c, v, "toolchain", err) < 0)
			return -1;
	}
	for (char *e = copy ? strtok_r(copy, ":", &save) : NULL; e != NULL;
	     e = strtok_r(NULL, ":", &save))
		if (add_auto(c, e, "PATH entry", err) < 0)
			return -1;
	/* The binary: as found in PATH (or named), and where it resolves to. */
	if (argv0 == NULL)
		return 0;
	if (argv0[0] == '/') {
		found = xstrdup(argv0);
	} else if (strchr(argv0, '/') == NULL && path != NULL) {
		_cleanup_free_ char *p = xstrdup(path);
		char *s2 = NULL;

		for (char *e = strtok_r(p, ":", &s2); e != NULL && found == NULL;
		     e = strtok_r(NULL, ":", &s2)) {
			_cleanup_free_ char *cand = xasprintf("%s/%s", e, argv0);
			struct stat st;

			if (e[0] == '/' && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
			    (st.st_mode & 0111))
				found = steal_ptr(cand);
		}
	}
	if (found != NULL) {
		_cleanup_free_ char *real = fd_realpath(found), *dir = xstrdup(found);
		char *slash = strrchr(dir, '/');

		if (slash != NULL && slash != dir) {
			*slash = '\0';
			if (add_auto(c, dir, "the command", err) < 0)
				return -1;
		}
		if (real != NULL) {
			free(dir);
			dir = xstrdup(real);
			if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
				*slash = '\0';
				if (add_auto(c, dir, "the command", err) < 0)
					return -1;
			}
			/* In a directory closed itself: the binary alone. */
			if (add_auto2(c, real, "the command", true, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
add_skeleton(struct sb_reach *r, const char *dir, struct cordon_err *err)
{
	for (size_t i = 0; i < r->n_skeletons; i++)
		if (strcmp(r->skeletons[i], dir) == 0)
			return 0;
	if (r->n_skeletons == SB_REACH_MAX_SKELETONS) {
		cordon_err_set(err, E2BIG, "more than %d closed directories to cover (at %s)",
			       SB_REACH_MAX_SKELETONS, dir);
		return cordon_err_hint(err, "put the workspace and the paths you bind where "
					    "others may search (chmod o+x on their parents)");
	}
	r->skeletons = xrealloc(r->skeletons, (r->n_skeletons + 1) * sizeof(*r->skeletons));
	r->skeletons[r->n_skeletons++] = xstrdup(dir);
	return 0;
}

/* A read-only path of the spec that no skeleton can open: refuse now. */
static int
check_ro_source(const struct rctx *c, const struct sb_mount *m, struct cordon_err *err)
{
	struct stat st;

	for (size_t i = 0; i < c->n_t; i++)
		if (c->t[i].kind == SB_MOUNT_RW && sb_path_within(m->path, c->t[i].where))
			return 0; /* shown through the read-write path */
	if (stat(m->path, &st) < 0)
		return cordon_err_set(err, errno, "%s %s", m->origin ? m->origin : "path", m->path);
	if (other_may(m->path, NULL))
		return 0;
	cordon_err_set(err, EACCES,
		       "cannot show %s in the sandbox: mode %04o, owner uid %u; the sandbox user "
		       "may not %s it",
		       m->path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		       S_ISDIR(st.st_mode) ? "enter" : "read");
	return cordon_err_hint(err,
			       "cordon, run by root, runs the command as an unprivileged uid that "
			       "sees only what any user may read: make it readable by others "
			       "(chmod o+rX %s), bind it read-write with --rw, or run cordon as "
			       "its owner",
			       m->path);
}

/* Is path one of the found read-only binds (all RO entries of r->mounts)? */
static bool
found_bind(const struct sb_reach *r, const char *path)
{
	for (size_t i = 0; i < r->n_mounts; i++)
		if (r->mounts[i].kind == SB_MOUNT_RO && strcmp(r->mounts[i].path, path) == 0)
			return true;
	return false;
}

static int
prepare_ro_trees(struct sb_reach *r, const struct sb_spec *spec, const struct sb_ids *ids,
		 struct cordon_err *err)
{
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		const struct sb_mount *v = pass ? r->mounts : spec->mounts;
		size_t count = pass ? r->n_mounts : spec->n_mounts;

		for (size_t i = 0; i < count; i++) {
			if (v[i].kind != SB_MOUNT_RO || !source_closed(v[i].path))
				continue;
			if (++n > SB_REACH_MAX_TREES) {
				cordon_err_set(err, E2BIG,
					       "more than %d read-only paths below closed "
					       "directories",
					       SB_REACH_MAX_TREES);
				return cordon_err_hint(err, "narrow the read-only path rules");
			}
			push_prepared(r, v[i].path, SB_MOUNT_RO);
		}
	}
	for (size_t i = 0; i < r->n_prepared; i++) {
		struct sb_prepared *p = &r->prepared[i];
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						       MOUNT_ATTR_NODEV };
		struct stat st;
		int tree;

		if (p->kind != SB_MOUNT_RO || p->tree_fd >= 0)
			continue;
		if (stat(p->path, &st) < 0)
			return cordon_err_set(err, errno, "stat %s", p->path);
		p->is_dir = S_ISDIR(st.st_mode);
		/*
		 * Kernel uid 0 would own root's files in a found bind (a
		 * toolchain in /root): idmapped to the unused uid where the
		 * file system allows, so that the host scan need not read it.
		 */
		if (ids->mode == SB_ID_ROOT_UID && found_bind(r, p->path)) {
			tree = sb_idmap_ro_tree(p->path);
			if (tree >= 0) {
				p->tree_fd = tree;
				p->idmapped = true;
				continue;
			}
		}
		tree = (int)sys_open_tree(AT_FDCWD, p->path,
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (tree < 0)
			return cordon_err_set(err, errno, "open_tree %s", p->path);
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
		    0) {
			close(tree);
			return cordon_err_set(err, errno, "read-only bind of %s", p->path);
		}
		p->tree_fd = tree;
	}
	return 0;
}

int
sb_reach_build(const struct sb_spec *spec, struct sb_ids *ids, struct sb_reach *r,
	       struct cordon_err *err)
{
	struct rctx c = { .spec = spec, .r = r };
	char buf[PATH_MAX];
	size_t n_rw;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	push_prepared(r, spec->workspace, SB_MOUNT_RW);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].kind == SB_MOUNT_RW)
			push_prepared(r, spec->mounts[i].path, SB_MOUNT_RW);
	n_rw = r->n_prepared;
	if (sb_ids_settle(ids, r, n_rw, err) < 0)
		return -1;
	if (!ids->privileged)
		return 0;

	push_target(&c, spec->workspace, spec->workspace, SB_MOUNT_RW);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct sb_mount *m = &spec->mounts[i];

		if (m->kind == SB_MOUNT_MASK)
			continue;
		push_target(&c, m->kind == SB_MOUNT_RO && m->target ? m->target : m->path, m->path,
			    m->kind);
	}
	if (spec->private_home != NULL)
		push_target(&c, spec->private_home, spec->private_home, SB_MOUNT_TMPFS);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].kind == SB_MOUNT_RO &&
		    check_ro_source(&c, &spec->mounts[i], err) < 0)
			goto out;
	if (add_found(&c, err) < 0)
		goto out;
	for (size_t i = 0; i < c.n_t; i++) {
		const char *dir = closed_above(&c, c.t[i].where, &c.t[i], buf);

		if (dir != NULL && add_skeleton(r, dir, err) < 0)
			goto out;
	}
	/* A skeleton inside another one is covered by it. */
	for (size_t i = 0; i < r->n_skeletons; i++)
		for (size_t k = 0; k < r->n_skeletons; k++)
			if (i != k && r->skeletons[k][0] && r->skeletons[i][0] &&
			    strcmp(r->skeletons[i], r->skeletons[k]) != 0 &&
			    sb_path_within(r->skeletons[i], r->skeletons[k]))
				r->skeletons[i][0] = '\0';
	if (prepare_ro_trees(r, spec, ids, err) < 0)
		goto out;
	if ((ids->mode == SB_ID_OWNER || ids->mode == SB_ID_ROOT_UID) &&
	    sb_hostscan(spec, ids, r, err) < 0)
		goto out;
	if (sb_passwd_build(spec, ids, r, err) < 0)
		goto out;
	for (size_t i = 0; i < r->n_skeletons; i++)
		if (r->skeletons[i][0])
			log_debug("skeleton over %s", r->skeletons[i]);
	ret = 0;
out:
	free(c.t);
	return ret;
}

void
sb_reach_free(struct sb_reach *r)
{
	for (size_t i = 0; i < r->n_prepared; i++)
		if (r->prepared[i].tree_fd >= 0)
			close(r->prepared[i].tree_fd);
	free(r->prepared);
	for (size_t i = 0; i < r->n_skeletons; i++)
		free(r->skeletons[i]);
	free(r->skeletons);
	for (size_t i = 0; i < r->n_sealed; i++)
		free(r->sealed[i]);
	free(r->sealed);
	for (size_t i = 0; i < r->n_kept_out; i++)
		free(r->kept_out[i]);
	free(r->kept_out);
	for (size_t i = 0; i < r->n_mounts; i++)
		free(r->mounts[i].path);
	free(r->mounts);
	free(r->passwd);
	free(r->group);
	memset(r, 0, sizeof(*r));
}
