/* SPDX-License-Identifier: MIT */
/*
 * The effective policy turned into mounts for this machine (see plan.h).
 * Reads the file system (realpath, lstat, readdir), never writes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "policy/plan.h"

struct cand {
	enum policy_mount_kind kind;
	char *path;
	char *origin;
	bool is_dir;
	bool dead;
	bool builtin; /* from the built-in layer */
	bool cli;     /* from the command line (--ro): shown even where nothing is writable */
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

struct builder {
	const struct cordon_policy *pol;
	const struct policy_ctx *ctx;
	struct policy_plan *plan;
	struct cands c; /* every candidate mount */
	char **allow_read;
	size_t n_allow_read;
	char **watch;
	bool *watch_builtin;
	size_t n_watch;
	char **rw_explicit; /* allowWrite paths from settings or flags, existing or not */
	size_t n_rw_explicit;
	char **absent; /* denyRead paths absent at start, canonical as far as they exist */
	size_t n_absent;
	char **allow_absent; /* allowRead paths absent at start, the same way */
	size_t n_allow_absent;
	bool truncated;
	/* for the glob callback */
	enum policy_mount_kind cur_kind;
	bool cur_builtin;
	bool cur_cli;
	const char *cur_origin;
	bool cur_allow_read;
};

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void plan_note(struct policy_plan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
plan_note(struct policy_plan *plan, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	strv_push(&plan->notes, &plan->n_notes, s);
}

bool
policy_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool
strictly_within(const char *path, const char *dir)
{
	return strcmp(path, dir) != 0 && policy_path_within(path, dir);
}

int
policy_path_expand(const char *value, const struct policy_ctx *ctx, char *out, size_t len)
{
	char tmp[PATH_MAX * 2];
	size_t o = 0;
	const char *p;
	int n;

	if (value[0] == '~' && (value[1] == '\0' || value[1] == '/')) {
		if (ctx->home == NULL) {
			errno = ENOENT;
			return -1;
		}
		n = snprintf(tmp, sizeof(tmp), "%s/%s", ctx->home, value + 1);
	} else if (value[0] == '/') {
		n = snprintf(tmp, sizeof(tmp), "%s", value);
	} else {
		n = snprintf(tmp, sizeof(tmp), "%s/%s", ctx->workspace, value);
	}
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Lexical clean-up: components, dropping "." and resolving "..". */
	if (len < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[0] = '\0';
	p = tmp;
	while (*p) {
		const char *s;
		size_t k;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		k = (size_t)(p - s);
		if (k == 1 && s[0] == '.')
			continue;
		if (k == 2 && s[0] == '.' && s[1] == '.') {
			char *slash = strrchr(out, '/');

			if (slash != NULL)
				*slash = '\0';
			o = strlen(out);
			continue;
		}
		if (o + 1 + k + 1 > len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		out[o++] = '/';
		memcpy(out + o, s, k);
		o += k;
		out[o] = '\0';
	}
	if (o == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

/* ---- candidates ---- */

static void
cand_add(struct builder *b, enum policy_mount_kind kind, const char *path, const char *origin)
{
	struct cands *c = &b->c;
	struct stat st;

	for (size_t i = 0; i < c->n; i++)
		if (!c->v[i].dead && c->v[i].kind == kind && strcmp(c->v[i].path, path) == 0)
			return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].kind = kind;
	c->v[c->n].path = xstrdup(path);
	c->v[c->n].origin = xstrdup(origin);
	c->v[c->n].is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	c->v[c->n].dead = false;
	c->v[c->n].builtin = b->cur_builtin;
	c->v[c->n].cli = b->cur_cli;
	c->n++;
}

static void
on_match(const char *path, void *arg)
{
	struct builder *b = arg;
	char *real = fd_realpath(path);

	if (real == NULL)
		return;
	if (b->cur_allow_read)
		strv_push(&b->allow_read, &b->n_allow_read, real);
	else {
		cand_add(b, b->cur_kind, real, b->cur_origin);
		free(real);
	}
}

static const char *
kind_word(enum policy_mount_kind k)
{
	switch (k) {
	case POLICY_MOUNT_RW:
		return "allowWrite";
	case POLICY_MOUNT_RO:
		return "denyWrite";
	case POLICY_MOUNT_MASK:
		return "denyRead";
	default:
		return "rule";
	}
}

/*
 * A path that does not exist, with the part of it that exists
 * canonicalised (its deepest existing ancestor through realpath, the rest
 * appended). Allocated, or NULL when no ancestor resolves or it is too long.
 */
static char *
canon_absent(const char *abs)
{
	char parent[PATH_MAX], w[PATH_MAX * 2];
	char *slash, *rp;

	if (strlen(abs) >= sizeof(parent))
		return NULL;
	memcpy(parent, abs, strlen(abs) + 1);
	for (;;) {
		slash = strrchr(parent, '/');
		if (slash == NULL || slash == parent)
			return NULL;
		*slash = '\0';
		rp = fd_realpath(parent);
		if (rp == NULL)
			continue;
		snprintf(w, sizeof(w), "%s%s", strcmp(rp, "/") ? rp : "", abs + strlen(parent));
		free(rp);
		return strlen(w) < PATH_MAX ? xstrdup(w) : NULL;
	}
}

/*
 * One rule: expand, glob or realpath, then add. allow_read collects into
 * b->allow_read instead of adding a mount.
 */
static int
add_rule(struct builder *b, const struct policy_rule *r, enum policy_mount_kind kind,
	 bool allow_read, const struct policy_ctx *at, struct cordon_err *err)
{
	char abs[PATH_MAX], org[PATH_MAX + 64], where[300];
	char *real, *w;

	policy_origin_format(&r->origin, where, sizeof(where));
	snprintf(org, sizeof(org), "%s rule \"%s\"", where, r->value);
	if (policy_path_expand(r->value, at, abs, sizeof(abs)) < 0) {
		plan_note(b->plan, "skipped %s \"%s\" (%s): no home directory or path too long",
			  allow_read ? "allowRead" : kind_word(kind), r->value, where);
		return 0;
	}
	if (strcmp(abs, "/") == 0 && !allow_read) {
		cordon_err_set(err, 0, "%s: refusing %s on / itself", org, kind_word(kind));
		return cordon_err_hint(err, "name the directories you mean");
	}
	b->cur_kind = kind;
	b->cur_origin = org;
	b->cur_allow_read = allow_read;
	b->cur_builtin = r->origin.layer == POLICY_LAYER_BUILTIN;
	b->cur_cli = r->origin.layer == POLICY_LAYER_CLI;
	if (kind == POLICY_MOUNT_RW && !allow_read && r->origin.layer != POLICY_LAYER_BUILTIN &&
	    r->origin.layer != POLICY_LAYER_PROFILE) {
		char *rw = fd_realpath(abs);

		strv_push(&b->rw_explicit, &b->n_rw_explicit, rw ? rw : xstrdup(abs));
	}
	if (policy_has_glob(abs)) {
		size_t n;

		if (kind == POLICY_MOUNT_RO && !allow_read)
			strv_push(&b->plan->protect_globs, &b->plan->n_protect_globs, xstrdup(abs));
		n = policy_glob(abs, on_match, b);

		if (n == (size_t)-1) {
			b->truncated = true;
			plan_note(b->plan,
				  "glob \"%s\" (%s): walk stopped at %u entries or depth %u",
				  r->value, where, POLICY_GLOB_MAX_ENTRIES, POLICY_GLOB_MAX_DEPTH);
		} else {
			b->plan->walked += n;
		}
		return 0;
	}
	real = fd_realpath(abs);
	if (real == NULL) {
		if (allow_read) {
			w = canon_absent(abs);
			if (w != NULL)
				strv_push(&b->allow_absent, &b->n_allow_absent, w);
			return 0;
		}
		switch (kind) {
		case POLICY_MOUNT_RO:
			/* The watch must name the real place. */
			w = canon_absent(abs);
			if (w != NULL) {
				b->watch_builtin =
				    xrealloc(b->watch_builtin, (b->n_watch + 1) * sizeof(bool));
				b->watch_builtin[b->n_watch] = b->cur_builtin;
				strv_push(&b->watch, &b->n_watch, w);
			}
			return 0;
		case POLICY_MOUNT_RW:
			if (r->origin.layer != POLICY_LAYER_BUILTIN &&
			    r->origin.layer != POLICY_LAYER_PROFILE)
				plan_note(b->plan, "skipped allowWrite \"%s\" (%s): does not exist",
					  r->value, where);
			return 0;
		case POLICY_MOUNT_MASK:
		default:
			/* Nothing there to read yet: kept out of a sealed home (plan.h). */
			w = canon_absent(abs);
			if (w != NULL)
				strv_push(&b->absent, &b->n_absent, w);
			return 0;
		}
	}
	if (allow_read) {
		strv_push(&b->allow_read, &b->n_allow_read, real);
		return 0;
	}
	if (strcmp(real, "/") == 0) {
		free(real);
		cordon_err_set(err, 0, "%s: resolves to / itself", org);
		return cordon_err_hint(err, "name the directories you mean");
	}
	cand_add(b, kind, real, org);
	free(real);
	return 0;
}

/* Is path the workspace or one of the further workspaces? */
static bool
is_workspace(const struct policy_ctx *ctx, const char *path)
{
	if (strcmp(ctx->workspace, path) == 0)
		return true;
	for (size_t k = 0; k < ctx->n_more; k++)
		if (strcmp(ctx->more[k], path) == 0)
			return true;
	return false;
}

static bool
in_writable(const struct builder *b, const char *path)
{
	if (policy_path_within(path, b->ctx->workspace))
		return true;
	for (size_t i = 0; i < b->c.n; i++)
		if (!b->c.v[i].dead && b->c.v[i].kind == POLICY_MOUNT_RW &&
		    policy_path_within(path, b->c.v[i].path))
			return true;
	return false;
}

/* Holes of a masked directory: paths inside it that must stay visible. */
static bool
is_hole_or_above(const struct builder *b, const char *path, bool *exact)
{
	bool above = false;

	*exact = false;
	for (size_t i = 0; i < b->n_allow_read; i++) {
		if (strcmp(b->allow_read[i], path) == 0)
			*exact = true;
		else if (strictly_within(b->allow_read[i], path))
			above = true;
	}
	for (size_t i = 0; i < b->c.n; i++) {
		const struct cand *c = &b->c.v[i];

		if (c->dead || c->kind != POLICY_MOUNT_RW)
			continue;
		if (strcmp(c->path, path) == 0)
			*exact = true;
		else if (strictly_within(c->path, path))
			above = true;
	}
	if (is_workspace(b->ctx, path))
		*exact = true;
	else if (strictly_within(b->ctx->workspace, path))
		above = true;
	for (size_t k = 0; k < b->ctx->n_more; k++)
		if (strictly_within(b->ctx->more[k], path))
			above = true;
	return *exact || above;
}

/* Mask every entry of dir except the holes, recursing towards them. */
static int
mask_around(struct builder *b, const char *dir, const char *origin, unsigned depth,
	    struct cordon_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	if (depth > POLICY_GLOB_MAX_DEPTH) {
		cordon_err_set(err, ELOOP, "mask %s around allowed paths", dir);
		return cordon_err_hint(err, "simplify the allowRead/allowWrite paths inside %s",
				       dir);
	}
	d = opendir(dir);
	if (d == NULL) {
		cordon_err_set(err, errno,
			       "%s: open %s to leave the allowed paths inside it "
			       "visible",
			       origin, dir);
		return cordon_err_hint(err, "make the directory readable, or drop the allowRead "
					    "/ allowWrite rule inside it");
	}
	while ((e = readdir(d)) != NULL) {
		char child[PATH_MAX];
		bool exact;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(dir, "/") ? dir : "",
			     e->d_name) >= (int)sizeof(child))
			continue;
		if (is_hole_or_above(b, child, &exact)) {
			if (exact)
				continue;
			if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (mask_around(b, child, origin, depth + 1, err) < 0)
					return -1;
				continue;
			}
		}
		cand_add(b, POLICY_MOUNT_MASK, child, origin);
	}
	return 0;
}

static void
plan_push(struct policy_plan *plan, const struct cand *c)
{
	plan->mounts = xrealloc(plan->mounts, (plan->n_mounts + 1) * sizeof(*plan->mounts));
	plan->mounts[plan->n_mounts].kind = c->kind;
	plan->mounts[plan->n_mounts].path = xstrdup(c->path);
	plan->mounts[plan->n_mounts].origin = xstrdup(c->origin);
	plan->n_mounts++;
}

static int
degrade(struct builder *b, bool allow_degraded, struct cordon_err *err, const char *what)
{
	if (!policy_fail_if_unavailable(b->pol) || allow_degraded) {
		b->plan->degraded = true;
		plan_note(b->plan, "DEGRADED: %s", what);
		return 0;
	}
	cordon_err_set(err, 0, "the policy cannot be enforced exactly: %s", what);
	return cordon_err_hint(err, "narrow the rule, or accept a weaker sandbox explicitly "
				    "with --allow-degraded (or \"failIfUnavailable\": false)");
}

static int
resolve(struct builder *b, bool allow_degraded, struct cordon_err *err)
{
	struct cands *c = &b->c;
	size_t n_rw = 0, n_total = 0, n0;
	const struct cand *first_rw = NULL, *first_over = NULL;

	/*
	 * A built-in denyWrite is overridden only explicitly: by an allowWrite
	 * of exactly that path from settings or the command line (an untrusted
	 * project cannot add one).
	 */
	for (size_t k = 0; k < b->n_rw_explicit; k++) {
		for (size_t i = 0; i < c->n; i++) {
			struct cand *x = &c->v[i];

			if (!x->dead && x->builtin && x->kind == POLICY_MOUNT_RO &&
			    strcmp(x->path, b->rw_explicit[k]) == 0) {
				plan_note(b->plan, "%s lifted by an explicit allowWrite of %s",
					  x->origin, x->path);
				strv_push(&b->plan->lifted, &b->plan->n_lifted, xstrdup(x->path));
				x->dead = true;
			}
		}
		for (size_t i = 0; i < b->n_watch; i++)
			if (b->watch_builtin[i] && b->watch[i][0] != '\0' &&
			    strcmp(b->watch[i], b->rw_explicit[k]) == 0) {
				plan_note(b->plan,
					  "built-in protection of %s lifted by an explicit "
					  "allowWrite",
					  b->watch[i]);
				strv_push(&b->plan->lifted, &b->plan->n_lifted,
					  xstrdup(b->watch[i]));
				b->watch[i][0] = '\0';
			}
	}
	/* allowRead (and the workspace) beat denyRead at the same path. */
	for (size_t i = 0; i < c->n; i++) {
		struct cand *m = &c->v[i];

		if (m->kind != POLICY_MOUNT_MASK)
			continue;
		for (size_t k = 0; k < b->n_allow_read && !m->dead; k++)
			if (strcmp(b->allow_read[k], m->path) == 0)
				m->dead = true;
		if (!m->dead && is_workspace(b->ctx, m->path)) {
			plan_note(b->plan, "not masking the workspace itself (%s)", m->origin);
			m->dead = true;
		}
	}
	/* denyWrite beats allowWrite; allowWrite inside the workspace is moot. */
	for (size_t i = 0; i < c->n; i++) {
		struct cand *w = &c->v[i];

		if (w->dead || w->kind != POLICY_MOUNT_RW)
			continue;
		if (policy_path_within(w->path, b->ctx->workspace)) {
			w->dead = true;
			continue;
		}
		for (size_t k = 0; k < c->n && !w->dead; k++) {
			const struct cand *x = &c->v[k];

			if (!x->dead && x->kind == POLICY_MOUNT_RO &&
			    policy_path_within(w->path, x->path)) {
				plan_note(b->plan, "%s: not writable, %s wins", w->origin,
					  x->origin);
				w->dead = true;
			}
		}
		for (size_t k = 0; k < b->n_watch && !w->dead; k++)
			if (b->watch[k][0] != '\0' && policy_path_within(w->path, b->watch[k]))
				w->dead = true;
	}
	/*
	 * Read-only re-binds matter only where something is writable, and
	 * where the command line asks for a path (--ro): invoked by root, the
	 * sandbox shows a path below a closed directory only when bound.
	 */
	for (size_t i = 0; i < c->n; i++)
		if (!c->v[i].dead && c->v[i].kind == POLICY_MOUNT_RO && !c->v[i].cli &&
		    !in_writable(b, c->v[i].path))
			c->v[i].dead = true;
	for (size_t i = 0; i < b->n_watch; i++)
		if (b->watch[i][0] != '\0' && in_writable(b, b->watch[i]))
			strv_push(&b->plan->watch, &b->plan->n_watch, xstrdup(b->watch[i]));
	/* Masked directories with allowed paths inside: mask around them. */
	n0 = c->n;
	for (size_t i = 0; i < n0; i++) {
		struct cand *m = &c->v[i];
		bool exact;
		char *path, *origin;

		if (m->dead || m->kind != POLICY_MOUNT_MASK || !m->is_dir)
			continue;
		if (!is_hole_or_above(b, m->path, &exact))
			continue;
		m->dead = true;
		path = xstrdup(m->path);
		origin = xstrdup(m->origin);
		if (mask_around(b, path, origin, 0, err) < 0) {
			free(path);
			free(origin);
			return -1;
		}
		free(path);
		free(origin);
	}
	/* Anything inside a masked directory is gone already; same path: strongest. */
	for (size_t i = 0; i < c->n; i++) {
		struct cand *x = &c->v[i];

		for (size_t k = 0; k < c->n && !x->dead; k++) {
			const struct cand *m = &c->v[k];

			if (k == i || m->dead || m->kind != POLICY_MOUNT_MASK)
				continue;
			if (m->is_dir && strictly_within(x->path, m->path))
				x->dead = true;
			else if (strcmp(x->path, m->path) == 0 && x->kind != POLICY_MOUNT_MASK)
				x->dead = true;
		}
		for (size_t k = 0; k < c->n && !x->dead; k++) {
			const struct cand *r = &c->v[k];

			if (k != i && !r->dead && r->kind == POLICY_MOUNT_RO &&
			    x->kind == POLICY_MOUNT_RW && strcmp(x->path, r->path) == 0)
				x->dead = true;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].dead)
			continue;
		if (c->v[i].kind == POLICY_MOUNT_RW && ++n_rw > POLICY_MAX_RW_MOUNTS) {
			if (first_rw == NULL)
				first_rw = &c->v[i];
			continue;
		}
		if (++n_total > POLICY_MAX_MOUNTS) {
			if (first_over == NULL)
				first_over = &c->v[i];
			continue;
		}
		plan_push(b->plan, &c->v[i]);
		if (c->v[i].kind == POLICY_MOUNT_RO)
			strv_push(&b->plan->protect, &b->plan->n_protect, xstrdup(c->v[i].path));
	}
	if (first_rw != NULL) {
		char what[PATH_MAX + 128];

		/* Dropping a write permission is stricter, but not what was asked. */
		snprintf(what, sizeof(what),
			 "more than %u read-write paths; %zu not writable "
			 "(first: %s)",
			 POLICY_MAX_RW_MOUNTS, n_rw - POLICY_MAX_RW_MOUNTS, first_rw->path);
		if (degrade(b, allow_degraded, err, what) < 0)
			return -1;
	}
	if (first_over != NULL) {
		char what[PATH_MAX + 128];

		snprintf(what, sizeof(what),
			 "more than %u path rules; %zu not applied (first: %s "
			 "%s)",
			 POLICY_MAX_MOUNTS, n_total - POLICY_MAX_MOUNTS,
			 kind_word(first_over->kind), first_over->path);
		if (degrade(b, allow_degraded, err, what) < 0)
			return -1;
	}
	if (b->truncated && degrade(b, allow_degraded, err,
				    "a glob walk hit its limit; matches beyond it are "
				    "not masked") < 0)
		return -1;
	return 0;
}

/*
 * denyRead paths absent at start into plan->absent: once, and not where an
 * allowRead (existing or not) names the same place, one inside it or one
 * around it, which then decides.
 */
static void
plan_absent(struct builder *b)
{
	for (size_t i = 0; i < b->n_absent; i++) {
		const char *a = b->absent[i];
		bool drop = false;

		for (size_t k = 0; k < b->n_allow_read && !drop; k++)
			drop = policy_path_within(a, b->allow_read[k]);
		for (size_t k = 0; k < b->n_allow_absent && !drop; k++)
			drop = policy_path_within(a, b->allow_absent[k]) ||
			       policy_path_within(b->allow_absent[k], a);
		for (size_t k = 0; k < b->plan->n_absent && !drop; k++)
			drop = strcmp(b->plan->absent[k], a) == 0;
		if (!drop)
			strv_push(&b->plan->absent, &b->plan->n_absent, xstrdup(a));
	}
}

int
policy_plan_build(const struct cordon_policy *pol, const struct policy_ctx *ctx,
		  bool allow_degraded, struct policy_plan *plan, struct cordon_err *err)
{
	static const struct {
		enum policy_list list;
		enum policy_mount_kind kind;
		bool allow_read;
	} order[] = {
		{ POLICY_FS_DENY_READ, POLICY_MOUNT_MASK, false },
		{ POLICY_CRED_FILES_DENY, POLICY_MOUNT_MASK, false },
		{ POLICY_FS_ALLOW_READ, POLICY_MOUNT_MASK, true },
		{ POLICY_CRED_FILES_ALLOW, POLICY_MOUNT_MASK, true },
		{ POLICY_FS_DENY_WRITE, POLICY_MOUNT_RO, false },
		{ POLICY_FS_ALLOW_WRITE, POLICY_MOUNT_RW, false },
	};
	struct builder b;
	int r = 0;

	memset(plan, 0, sizeof(*plan));
	memset(&b, 0, sizeof(b));
	b.pol = pol;
	b.ctx = ctx;
	b.plan = plan;
	for (size_t o = 0; o < ARRAY_SIZE(order) && r == 0; o++) {
		const struct policy_rules *rules = &pol->lists[order[o].list];

		for (size_t i = 0; i < rules->n && r == 0; i++) {
			const char *v = rules->v[i].value;
			bool relative =
			    v[0] != '/' && !(v[0] == '~' && (v[1] == '\0' || v[1] == '/'));

			r = add_rule(&b, &rules->v[i], order[o].kind, order[o].allow_read, ctx,
				     err);
			/* The further workspaces get the workspace's protections. */
			for (size_t k = 0; k < ctx->n_more && relative && r == 0 &&
					   !order[o].allow_read && order[o].kind != POLICY_MOUNT_RW;
			     k++) {
				struct policy_ctx at = *ctx;

				at.workspace = ctx->more[k];
				r = add_rule(&b, &rules->v[i], order[o].kind, false, &at, err);
			}
		}
	}
	if (r == 0)
		r = resolve(&b, allow_degraded, err);
	if (r == 0)
		plan_absent(&b);
	for (size_t i = 0; i < b.c.n; i++) {
		free(b.c.v[i].path);
		free(b.c.v[i].origin);
	}
	free(b.c.v);
	strv_free(b.allow_read, b.n_allow_read);
	strv_free(b.watch, b.n_watch);
	free(b.watch_builtin);
	strv_free(b.rw_explicit, b.n_rw_explicit);
	strv_free(b.absent, b.n_absent);
	strv_free(b.allow_absent, b.n_allow_absent);
	if (r < 0)
		policy_plan_free(plan);
	return r;
}

void
policy_plan_free(struct policy_plan *plan)
{
	for (size_t i = 0; i < plan->n_mounts; i++) {
		free(plan->mounts[i].path);
		free(plan->mounts[i].origin);
	}
	free(plan->mounts);
	strv_free(plan->watch, plan->n_watch);
	strv_free(plan->absent, plan->n_absent);
	for (size_t i = 0; i < plan->n_protect; i++)
		free(plan->protect[i]);
	free(plan->protect);
	for (size_t i = 0; i < plan->n_lifted; i++)
		free(plan->lifted[i]);
	free(plan->lifted);
	for (size_t i = 0; i < plan->n_protect_globs; i++)
		free(plan->protect_globs[i]);
	free(plan->protect_globs);
	for (size_t i = 0; i < plan->n_notes; i++)
		free(plan->notes[i]);
	free(plan->notes);
	memset(plan, 0, sizeof(*plan));
}
