/* SPDX-License-Identifier: MIT */
/*
 * Finding a workspace's git directories and their control files (see
 * gitscan.h). The walk of the tree is policy_glob's (bounded, threaded,
 * skips node_modules, never enters .git); what is below a git directory
 * is looked at by name, never walked, but for modules/ (submodules'
 * git directories, whose names may hold slashes).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "policy/plan.h"
#include "supervisor/gitconfig.h"
#include "supervisor/gitscan.h"

#define SCAN_HASH_BITS      16u
#define SCAN_MAX_INCLUDES   10u
#define SCAN_MAX_POINTER    4096u
#define SCAN_MAX_MODULE_ENT 100000u
#define SCAN_MAX_HOOK_TEXT  65536u

struct scanner {
	struct qr_git_scan *out;
	const char *home;
	char **roots;   /* worktree root of out->dirs[i], or NULL */
	uint32_t *hash; /* index + 1 into out->paths, open addressing */
	size_t module_entries;
};

static uint32_t
fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char *
base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static char *
dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (s == NULL || s == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(s - path), path);
}

/*
 * path canonical up to its last component (which need not exist, and is
 * not followed: a symlink there is what is protected).
 */
static char *
canonical(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *last = slash != NULL ? slash + 1 : path;
	_cleanup_free_ char *dir = NULL, *real = NULL;

	if (slash == NULL || strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || last[0] == '\0')
		return fd_realpath(path);
	dir = slash == path ? xstrdup("/") : xasprintf("%.*s", (int)(slash - path), path);
	real = fd_realpath(dir);
	if (real == NULL)
		return NULL;
	return xasprintf("%s/%s", strcmp(real, "/") ? real : "", last);
}

static void
add_path(struct scanner *sc, const char *given, enum qr_git_kind kind)
{
	struct qr_git_scan *o = sc->out;
	_cleanup_free_ char *path = canonical(given);
	uint32_t mask = (1u << SCAN_HASH_BITS) - 1, h;

	if (path == NULL)
		return; /* its directory does not exist: nothing can be made there but by a
			   parent that is protected itself */
	h = fnv(path) & mask;
	while (sc->hash[h] != 0) {
		if (strcmp(o->paths[sc->hash[h] - 1].path, path) == 0)
			return;
		h = (h + 1) & mask;
	}
	if (o->n_paths >= QR_GIT_MAX_PATHS) {
		o->truncated = true;
		return;
	}
	o->paths = xrealloc(o->paths, (o->n_paths + 1) * sizeof(*o->paths));
	o->paths[o->n_paths].path = xstrdup(path);
	o->paths[o->n_paths].kind = kind;
	sc->hash[h] = (uint32_t)++o->n_paths;
}

char *
qr_git_pointer_target(const char *text, const char *dir)
{
	size_t len;

	if (strncmp(text, "gitdir: ", 8) != 0)
		return NULL;
	text += 8;
	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0)
		return NULL;
	if (text[0] == '/')
		return xasprintf("%.*s", (int)len, text);
	return xasprintf("%s/%.*s", strcmp(dir, "/") ? dir : "", (int)len, text);
}

/* path with `~/` expanded, or relative to base; NULL when it cannot be. */
static char *
resolve(const char *value, const char *base, const char *home)
{
	if (value == NULL || value[0] == '\0')
		return NULL;
	if (value[0] == '/')
		return xstrdup(value);
	if (value[0] == '~' && value[1] == '/')
		return home != NULL ? xasprintf("%s%s", home, value + 1) : NULL;
	if (value[0] == '~' || base == NULL)
		return NULL; /* ~user/ and relative paths without a base: not here */
	return xasprintf("%s/%s", base, value);
}

/*
 * A hooks directory; husky's are two: the runner `.husky/_` (what
 * core.hooksPath names) sources the scripts directly in `.husky`.
 */
static void
add_hooks(struct scanner *sc, const char *dir)
{
	char *husky = strstr(dir, "/.husky");

	add_path(sc, dir, QR_GIT_HOOKS);
	while (husky != NULL && husky[7] != '\0' && husky[7] != '/')
		husky = strstr(husky + 1, "/.husky");
	if (husky != NULL) {
		_cleanup_free_ char *h = xasprintf("%.*s", (int)(husky + 7 - dir), dir);
		_cleanup_free_ char *runner = xasprintf("%s/_", h);

		add_path(sc, h, QR_GIT_HOOKS);
		add_path(sc, runner, QR_GIT_HOOKS);
	}
}

/* A config file: its includes (checked too) and its core.hooksPath. */
static void
scan_config(struct scanner *sc, const char *path, const char *root, unsigned depth)
{
	_cleanup_free_ char *text = fd_read_small_file(path, GITCFG_MAX_TEXT);
	_cleanup_free_ char *dir = NULL;
	struct gitcfg cfg;
	const char *hp;

	if (text == NULL)
		return;
	/* A file git would refuse still names what it names: protect it all the same. */
	gitcfg_parse(text, strlen(text), &cfg);
	dir = dir_of(path);
	for (size_t i = 0; i < cfg.n; i++) {
		_cleanup_free_ char *inc = NULL;

		if (!gitcfg_is_include(&cfg.v[i]))
			continue;
		inc = resolve(cfg.v[i].value, dir, sc->home);
		if (inc == NULL)
			continue;
		add_path(sc, inc, QR_GIT_CONFIG);
		if (depth < SCAN_MAX_INCLUDES)
			scan_config(sc, inc, root, depth + 1);
	}
	hp = gitcfg_last(&cfg, "core.hookspath");
	if (hp != NULL) {
		_cleanup_free_ char *h = resolve(hp, root, sc->home);

		if (h != NULL)
			add_hooks(sc, h);
	}
	gitcfg_free(&cfg);
}

/* What git takes for a git directory: HEAD, or (a common directory) objects and refs. */
static bool
looks_git(const char *dir)
{
	_cleanup_free_ char *head = xasprintf("%s/HEAD", dir);
	_cleanup_free_ char *objects = xasprintf("%s/objects", dir);
	_cleanup_free_ char *refs = xasprintf("%s/refs", dir);
	struct stat st;

	return lstat(head, &st) == 0 || (lstat(objects, &st) == 0 && lstat(refs, &st) == 0);
}

static void add_dir(struct scanner *sc, const char *gitdir, const char *root, unsigned depth);

/* modules/: a directory with HEAD is a submodule's git directory; others are name parts. */
static void
scan_modules(struct scanner *sc, const char *dir, unsigned depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	if (depth > QR_GIT_MAX_DEPTH) {
		sc->out->truncated = true;
		return;
	}
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		_cleanup_free_ char *child = NULL, *head = NULL;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sc->out->walked++;
		if (++sc->module_entries > SCAN_MAX_MODULE_ENT) {
			sc->out->truncated = true;
			return;
		}
		child = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(child, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		head = xasprintf("%s/HEAD", child);
		if (lstat(head, &st) == 0)
			add_dir(sc, child, NULL, depth + 1);
		else
			scan_modules(sc, child, depth + 1);
	}
}

static void
add_dir(struct scanner *sc, const char *gitdir, const char *root, unsigned depth)
{
	struct qr_git_scan *o = sc->out;
	_cleanup_free_ char *real = fd_realpath(gitdir), *p = NULL, *text = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	size_t me;

	if (real == NULL)
		return;
	for (size_t i = 0; i < o->n_dirs; i++)
		if (strcmp(o->dirs[i], real) == 0) {
			if (sc->roots[i] == NULL && root != NULL)
				sc->roots[i] = xstrdup(root);
			return;
		}
	if (o->n_dirs >= QR_GIT_MAX_DIRS || depth > QR_GIT_MAX_DEPTH) {
		o->truncated = true;
		return;
	}
	me = o->n_dirs++;
	o->dirs = xrealloc(o->dirs, o->n_dirs * sizeof(*o->dirs));
	sc->roots = xrealloc(sc->roots, o->n_dirs * sizeof(*sc->roots));
	o->dirs[me] = xstrdup(real);
	sc->roots[me] = root != NULL ? xstrdup(root) : NULL;

#define CONTROL(name, kind)                                                                        \
	do {                                                                                       \
		free(p);                                                                           \
		p = xasprintf("%s/%s", real, name);                                                \
		add_path(sc, p, kind);                                                             \
	} while (0)
	CONTROL("hooks", QR_GIT_HOOKS);
	CONTROL("config", QR_GIT_CONFIG);
	CONTROL("config.worktree", QR_GIT_CONFIG);
	CONTROL("commondir", QR_GIT_COMMONDIR);
	CONTROL("info", QR_GIT_OTHER);
	{
		_cleanup_free_ char *parent = dir_of(real);

		if (strcmp(base_of(parent), "worktrees") == 0)
			CONTROL("gitdir", QR_GIT_OTHER);
	}
#undef CONTROL
	/* commondir: config and hooks come from there. */
	free(p);
	p = xasprintf("%s/commondir", real);
	text = fd_read_small_file(p, SCAN_MAX_POINTER);
	if (text != NULL) {
		size_t n = strcspn(text, "\r\n");
		_cleanup_free_ char *t = NULL;

		text[n] = '\0';
		t = resolve(text, real, NULL);
		if (t != NULL && looks_git(t))
			add_dir(sc, t, NULL, depth + 1);
	}
	free(p);
	p = xasprintf("%s/modules", real);
	scan_modules(sc, p, depth);
	free(p);
	p = xasprintf("%s/worktrees", real);
	d = opendir(p);
	while (d != NULL && (e = readdir(d)) != NULL) {
		_cleanup_free_ char *w = NULL;
		struct stat st;

		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		o->walked++;
		w = xasprintf("%s/%s", p, e->d_name);
		if (lstat(w, &st) == 0 && S_ISDIR(st.st_mode))
			add_dir(sc, w, NULL, depth + 1);
	}
	/* Configs last: a root found later through a `.git` file is known by then. */
}

/* A `.git` entry found by the walk, in directory root. */
static void
found_dotgit(struct scanner *sc, const char *path)
{
	_cleanup_free_ char *root = dir_of(path), *text = NULL, *target = NULL;
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		add_path(sc, path, QR_GIT_DOTGIT);
		add_dir(sc, path, root, 0);
		return;
	}
	add_path(sc, path, QR_GIT_POINTER);
	if (S_ISLNK(st.st_mode)) {
		target = fd_realpath(path);
	} else if (S_ISREG(st.st_mode)) {
		text = fd_read_small_file(path, SCAN_MAX_POINTER);
		if (text != NULL)
			target = qr_git_pointer_target(text, root);
	}
	if (target != NULL && stat(target, &st) == 0 && S_ISDIR(st.st_mode) && looks_git(target))
		add_dir(sc, target, root, 0);
}

/*
 * A `HEAD` found by the walk: its folder is a git directory when git would
 * take it for one (setup.c is_git_directory: HEAD, and objects and refs
 * there or in the folder commondir names). git takes such a folder, whatever
 * its name, for a bare repository when it runs there, and core.worktree
 * gives that one a work tree: its config and hooks run like a `.git`'s.
 * A relative core.hooksPath of a bare repository is relative to itself.
 */
static void
found_head(struct scanner *sc, const char *path)
{
	_cleanup_free_ char *dir = dir_of(path), *objects = NULL, *refs = NULL, *common = NULL;
	struct stat st;

	if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		return;
	objects = xasprintf("%s/objects", dir);
	refs = xasprintf("%s/refs", dir);
	common = xasprintf("%s/commondir", dir);
	if ((lstat(objects, &st) == 0 && lstat(refs, &st) == 0) || lstat(common, &st) == 0)
		add_dir(sc, dir, dir, 0);
}

/*
 * Hook frameworks: the hook `pre-commit install` writes runs the commands
 * of the config its `--config=` names (.pre-commit-config.yaml), and
 * lefthook's runs those of lefthook.yml and its kin and the scripts in
 * .lefthook/: each commit runs what these files say, as husky's runs
 * `.husky/`. When a hook of the git directory is one of theirs, those
 * files in the worktree root are control files too.
 */
static void
add_frameworks(struct scanner *sc, const char *gitdir, const char *root)
{
	static const char *const lefthook[] = {
		"lefthook.yml",
		".lefthook.yml",
		"lefthook.yaml",
		".lefthook.yaml",
		"lefthook.toml",
		".lefthook.toml",
		"lefthook.json",
		".lefthook.json",
		"lefthook-local.yml",
		".lefthook-local.yml",
		"lefthook-local.yaml",
		".lefthook-local.yaml",
		"lefthook-local.toml",
		".lefthook-local.toml",
		"lefthook-local.json",
		".lefthook-local.json",
		".lefthook",
		".lefthook-local",
		".config/lefthook.yml",
		".config/lefthook.yaml",
	};
	_cleanup_free_ char *hooks = xasprintf("%s/hooks", gitdir);
	_cleanup_closedir_ DIR *d = opendir(hooks);
	struct dirent *e;
	bool pc = false, lh = false;

	while (d != NULL && (e = readdir(d)) != NULL && !(pc && lh)) {
		_cleanup_free_ char *path = NULL, *text = NULL;
		const char *cfg;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".sample") != NULL)
			continue;
		path = xasprintf("%s/%s", hooks, e->d_name);
		text = fd_read_small_file(path, SCAN_MAX_HOOK_TEXT);
		if (text == NULL)
			continue;
		if (!pc && strstr(text, "generated by pre-commit") != NULL) {
			_cleanup_free_ char *c = NULL;

			pc = true;
			cfg = strstr(text, "--config=");
			c = cfg != NULL ? xasprintf("%s/%.*s", root,
						    (int)strcspn(cfg + 9, " \t\n\"')"), cfg + 9)
					: xasprintf("%s/.pre-commit-config.yaml", root);
			add_path(sc, c, QR_GIT_OTHER);
		}
		if (!lh && strstr(text, "lefthook") != NULL) {
			lh = true;
			for (size_t i = 0; i < ARRAY_SIZE(lefthook); i++) {
				_cleanup_free_ char *c = xasprintf("%s/%s", root, lefthook[i]);

				add_path(sc, c, QR_GIT_OTHER);
			}
		}
	}
}

/* A relative core.hooksPath of the user's config names a directory in every repository. */
static void
user_hooks_path(struct scanner *sc, const char *path, const char *workspace)
{
	_cleanup_free_ char *text = fd_read_small_file(path, GITCFG_MAX_TEXT);
	struct gitcfg cfg;
	const char *hp;

	if (text == NULL)
		return;
	gitcfg_parse(text, strlen(text), &cfg);
	hp = gitcfg_last(&cfg, "core.hookspath");
	for (size_t i = 0; hp != NULL && hp[0] != '/' && hp[0] != '~' && i < sc->out->n_dirs; i++) {
		_cleanup_free_ char *h = NULL;

		if (sc->roots[i] == NULL || strcmp(sc->roots[i], workspace) == 0)
			continue;
		h = resolve(hp, sc->roots[i], NULL);
		if (h != NULL)
			add_hooks(sc, h);
	}
	gitcfg_free(&cfg);
}

struct matches {
	char **v;
	size_t n;
};

static void
on_match(const char *path, void *arg)
{
	struct matches *m = arg;

	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n++] = xstrdup(path);
}

void
qr_git_scan(const char *workspace, const char *home, struct qr_git_scan *scan)
{
	struct scanner sc;
	struct matches m = { NULL, 0 };
	_cleanup_free_ char *pattern = xasprintf("%s/**/{.git,.husky,HEAD}", workspace);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *user[3] = { NULL, NULL, NULL };
	size_t n;

	memset(scan, 0, sizeof(*scan));
	memset(&sc, 0, sizeof(sc));
	sc.out = scan;
	sc.home = home;
	sc.hash = xcalloc((size_t)1 << SCAN_HASH_BITS, sizeof(*sc.hash));
	n = policy_glob(pattern, on_match, &m);
	if (n == (size_t)-1)
		scan->truncated = true;
	else
		scan->walked += n;
	for (size_t i = 0; i < m.n; i++) {
		struct stat st;

		if (strcmp(base_of(m.v[i]), ".git") == 0) {
			found_dotgit(&sc, m.v[i]);
		} else if (strcmp(base_of(m.v[i]), "HEAD") == 0) {
			found_head(&sc, m.v[i]);
		} else if (lstat(m.v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *runner = xasprintf("%s/_", m.v[i]);

			/* husky in use: its runner is there (core.hooksPath is checked below). */
			if (lstat(runner, &st) == 0 && S_ISDIR(st.st_mode))
				add_hooks(&sc, runner);
		}
		free(m.v[i]);
	}
	free(m.v);
	/* Each git directory's configs, with the worktree root relative hooksPath needs. */
	for (size_t i = 0; i < scan->n_dirs; i++) {
		_cleanup_free_ char *c = xasprintf("%s/config", scan->dirs[i]);
		_cleanup_free_ char *w = xasprintf("%s/config.worktree", scan->dirs[i]);

		scan_config(&sc, c, sc.roots[i], 0);
		scan_config(&sc, w, sc.roots[i], 0);
		if (sc.roots[i] != NULL)
			add_frameworks(&sc, scan->dirs[i], sc.roots[i]);
	}
	/* The user's own configs: includes, and a hooksPath for every repository here. */
	if (home != NULL) {
		user[0] = xasprintf("%s/.gitconfig", home);
		user[1] = xdg != NULL && xdg[0] == '/' ? xasprintf("%s/git/config", xdg)
						       : xasprintf("%s/.config/git/config", home);
	}
	user[2] = xstrdup("/etc/gitconfig");
	for (size_t u = 0; u < ARRAY_SIZE(user); u++) {
		if (user[u] == NULL)
			continue;
		scan_config(&sc, user[u], workspace, 0);
		user_hooks_path(&sc, user[u], workspace);
		free(user[u]);
	}
	for (size_t i = 0; i < scan->n_dirs; i++)
		free(sc.roots[i]);
	free(sc.roots);
	free(sc.hash);
}

void
qr_git_scan_free(struct qr_git_scan *scan)
{
	for (size_t i = 0; i < scan->n_dirs; i++)
		free(scan->dirs[i]);
	free(scan->dirs);
	for (size_t i = 0; i < scan->n_paths; i++)
		free(scan->paths[i].path);
	free(scan->paths);
	memset(scan, 0, sizeof(*scan));
}

int
qr_git_scan_kind(const struct qr_git_scan *scan, const char *path)
{
	for (size_t i = 0; i < scan->n_paths; i++)
		if (strcmp(scan->paths[i].path, path) == 0)
			return (int)scan->paths[i].kind;
	return -1;
}

bool
qr_git_scan_has_dir(const struct qr_git_scan *scan, const char *dir)
{
	for (size_t i = 0; i < scan->n_dirs; i++)
		if (strcmp(scan->dirs[i], dir) == 0)
			return true;
	return false;
}
