/* SPDX-License-Identifier: MIT */
/*
 * The start-up walk for policy globs (see plan.h, policy_glob). Bounded by
 * a count of directory entries and a depth; `**` does not enter `.git` or
 * `node_modules` unless the pattern names them. Directory reads are spread
 * over a few threads (the cost is the kernel's getdents), which are all
 * joined before policy_glob returns: the caller is single-threaded again
 * before it creates namespaces. Matches are reported sorted, so plans are
 * reproducible.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "policy/plan.h"
#include "policy/policy.h"

#define GLOB_MAX_THREADS 4

struct task {
	struct task *next;
	char *path;
	char **comps;
	size_t nc;
	unsigned depth;
};

struct walk {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *head;
	size_t pending; /* queued plus being processed */
	size_t entries;
	bool truncated;
	bool enter_git, enter_nm;
	char **matches;
	size_t n_matches;
};

static void
push(struct walk *w, const char *path, char **comps, size_t nc, unsigned depth)
{
	struct task *t;

	if (depth > POLICY_GLOB_MAX_DEPTH) {
		pthread_mutex_lock(&w->mu);
		w->truncated = true;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(path);
	t->comps = comps;
	t->nc = nc;
	t->depth = depth;
	pthread_mutex_lock(&w->mu);
	if (w->truncated) {
		pthread_mutex_unlock(&w->mu);
		free(t->path);
		free(t);
		return;
	}
	t->next = w->head;
	w->head = t;
	w->pending++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
emit(struct walk *w, const char *path)
{
	pthread_mutex_lock(&w->mu);
	w->matches = xrealloc(w->matches, (w->n_matches + 1) * sizeof(*w->matches));
	w->matches[w->n_matches++] = xstrdup(path);
	pthread_mutex_unlock(&w->mu);
}

static bool
has_glob(const char *s)
{
	return policy_has_glob(s);
}

/*
 * fnmatch with one level of `{a,b,...}` alternatives in the component, so
 * that one walk serves several names (`.env*` and `*.env` below `**`)
 * instead of one walk a pattern.
 */
static bool
comp_match(const char *pat, const char *name)
{
	const char *open = strchr(pat, '{'), *close = open ? strchr(open, '}') : NULL;
	char one[NAME_MAX * 2 + 2];
	size_t pre, post;

	if (open == NULL || close == NULL)
		return fnmatch(pat, name, 0) == 0;
	pre = (size_t)(open - pat);
	post = strlen(close + 1);
	for (const char *a = open + 1; a <= close;) {
		const char *end = a;

		while (end < close && *end != ',')
			end++;
		if (memchr(a, '/', (size_t)(end - a)) == NULL &&
		    pre + (size_t)(end - a) + post < sizeof(one)) {
			memcpy(one, pat, pre);
			memcpy(one + pre, a, (size_t)(end - a));
			memcpy(one + pre + (size_t)(end - a), close + 1, post + 1);
			if (fnmatch(one, name, 0) == 0)
				return true;
		}
		a = end + 1;
	}
	return false;
}

static bool
join(char *buf, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);

	if (strcmp(dir, "/") == 0)
		a = 0;
	if (a + 1 + b + 1 > PATH_MAX)
		return false;
	memcpy(buf, dir, a);
	buf[a] = '/';
	memcpy(buf + a + 1, name, b + 1);
	return true;
}

/* path matched comps[0]: report it, or go on below it with the rest. */
static void
matched(struct walk *w, const char *path, bool is_dir, char **comps, size_t nc, unsigned depth)
{
	if (nc == 1)
		emit(w, path);
	else if (is_dir)
		push(w, path, comps + 1, nc - 1, depth + 1);
}

/*
 * The alternatives of comp that name a path below a folder
 * (`{.npmrc,.yarn/releases}`): looked up in dir when its entry name is the
 * path's first component, not matched against the entries, so one walk
 * serves files at several depths and costs nothing where the first
 * component is absent. comps[0] is comp.
 */
static void
lookup_below(struct walk *w, const char *dir, const char *name, const char *comp, char **comps,
	     size_t nc, unsigned depth)
{
	const char *open = strchr(comp, '{'), *close = open ? strchr(open, '}') : NULL;
	size_t len = strlen(name);
	char one[PATH_MAX], child[PATH_MAX];
	struct stat st;

	if (open == NULL || close == NULL || memchr(open, '/', (size_t)(close - open)) == NULL)
		return;
	for (const char *a = open + 1; a <= close;) {
		const char *end = a;
		int n;

		while (end < close && *end != ',')
			end++;
		/* Only an alternative holding '/' is formatted, and only where name leads it. */
		if (memchr(a, '/', (size_t)(end - a)) == NULL ||
		    (open == comp && (strncmp(a, name, len) != 0 || a[len] != '/'))) {
			a = end + 1;
			continue;
		}
		n = snprintf(one, sizeof(one), "%.*s%.*s%s", (int)(open - comp), comp,
			     (int)(end - a), a, close + 1);
		if (n > 0 && (size_t)n < sizeof(one) && strncmp(one, name, len) == 0 &&
		    one[len] == '/' && !has_glob(one) && join(child, dir, one) &&
		    lstat(child, &st) == 0)
			matched(w, child, S_ISDIR(st.st_mode), comps, nc, depth);
		a = end + 1;
	}
}

static void
process(struct walk *w, const struct task *t)
{
	const char *c = t->comps[0];
	bool star2 = strcmp(c, "**") == 0;
	char child[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	size_t local = 0;

	if (!star2 && !has_glob(c)) {
		struct stat st;

		if (!join(child, t->path, c) || lstat(child, &st) < 0)
			return;
		matched(w, child,
			S_ISDIR(st.st_mode) ||
			    (S_ISLNK(st.st_mode) && stat(child, &st) == 0 && S_ISDIR(st.st_mode)),
			t->comps, t->nc, t->depth);
		return;
	}
	d = opendir(t->path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		bool dir;

		if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		if (++local > POLICY_GLOB_MAX_ENTRIES)
			break;
		if (!join(child, t->path, name))
			continue;
		dir = e->d_type == DT_DIR;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;

			dir = lstat(child, &st) == 0 && S_ISDIR(st.st_mode);
		}
		if (star2) {
			/* `**` matching no directory: the next component applies here. */
			const char *next = t->comps[1];

			if (strcmp(next, name) == 0 || (has_glob(next) && comp_match(next, name)))
				matched(w, child, dir, t->comps + 1, t->nc - 1, t->depth);
			if (dir)
				lookup_below(w, t->path, name, next, t->comps + 1, t->nc - 1,
					     t->depth);
			if (dir && !(strcmp(name, ".git") == 0 && !w->enter_git) &&
			    !(strcmp(name, "node_modules") == 0 && !w->enter_nm))
				push(w, child, t->comps, t->nc, t->depth + 1);
		} else {
			if (comp_match(c, name))
				matched(w, child, dir, t->comps, t->nc, t->depth);
			if (dir)
				lookup_below(w, t->path, name, c, t->comps, t->nc, t->depth);
		}
	}
	pthread_mutex_lock(&w->mu);
	w->entries += local;
	if (w->entries > POLICY_GLOB_MAX_ENTRIES)
		w->truncated = true;
	pthread_mutex_unlock(&w->mu);
}

static void *
worker(void *arg)
{
	struct walk *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct task *t;

		while (w->head == NULL && w->pending > 0)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL)
			break;
		t = w->head;
		w->head = t->next;
		pthread_mutex_unlock(&w->mu);
		process(w, t);
		free(t->path);
		free(t);
		pthread_mutex_lock(&w->mu);
		if (--w->pending == 0)
			pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
policy_glob(const char *pattern, void (*fn)(const char *path, void *arg), void *arg)
{
	char buf[PATH_MAX], base[PATH_MAX];
	char *comps[PATH_MAX / 2];
	size_t nc = 0, first = (size_t)-1, blen = 1, result;
	pthread_t threads[GLOB_MAX_THREADS];
	int n_threads = 0;
	long cpus;
	struct walk w;
	char *save = NULL, *tok, *real;

	if (strlen(pattern) >= sizeof(buf) || pattern[0] != '/')
		return 0;
	memcpy(buf, pattern, strlen(pattern) + 1);
	/* A '/' inside `{...}` is part of an alternative (lookup_below). */
	for (char *p = buf, *brace = NULL; *p != '\0'; p++) {
		if (*p == '{')
			brace = p;
		else if (*p == '}')
			brace = NULL;
		else if (*p == '/' && brace != NULL)
			*p = '\1';
	}
	for (tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		for (char *p = tok; *p != '\0'; p++)
			if (*p == '\1')
				*p = '/';
		/* `**` followed by `**` is one `**`. */
		if (nc > 0 && strcmp(tok, "**") == 0 && strcmp(comps[nc - 1], "**") == 0)
			continue;
		if (nc == ARRAY_SIZE(comps))
			return 0;
		comps[nc++] = tok;
	}
	/* A trailing `**` (all below a directory) is the directory itself. */
	while (nc > 0 && strcmp(comps[nc - 1], "**") == 0)
		nc--;
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < nc; i++) {
		if (strcmp(comps[i], ".git") == 0)
			w.enter_git = true;
		if (strcmp(comps[i], "node_modules") == 0)
			w.enter_nm = true;
		if (first == (size_t)-1 && (strcmp(comps[i], "**") == 0 || has_glob(comps[i])))
			first = i;
	}
	if (first == (size_t)-1)
		first = nc;
	/* The literal prefix, resolved once. */
	base[0] = '/';
	base[1] = '\0';
	for (size_t i = 0; i < first; i++) {
		char tmp[PATH_MAX];

		if (!join(tmp, base, comps[i]))
			return 0;
		memcpy(base, tmp, strlen(tmp) + 1);
	}
	real = fd_realpath(base);
	if (real == NULL || strlen(real) >= sizeof(base)) {
		free(real);
		return 0;
	}
	memcpy(base, real, strlen(real) + 1);
	free(real);
	blen = strlen(base);
	(void)blen;
	if (first >= nc) {
		fn(base, arg);
		return 0;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	push(&w, base, comps + first, nc - first, 0);
	/* The first directory here: most patterns (`.env*`) need no more. */
	if (w.head != NULL) {
		struct task *t = w.head;

		w.head = NULL;
		process(&w, t);
		free(t->path);
		free(t);
		w.pending--;
	}
	cpus = w.pending > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 0;
	for (long i = 1; i < cpus && i < GLOB_MAX_THREADS; i++) {
		if (pthread_create(&threads[n_threads], NULL, worker, &w) != 0)
			break;
		n_threads++;
	}
	worker(&w);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	if (w.n_matches > 1)
		qsort(w.matches, w.n_matches, sizeof(*w.matches), by_name);
	for (size_t i = 0; i < w.n_matches; i++) {
		fn(w.matches[i], arg);
		free(w.matches[i]);
	}
	free(w.matches);
	result = w.truncated ? (size_t)-1 : w.entries;
	return result;
}
