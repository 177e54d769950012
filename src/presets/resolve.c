/* SPDX-License-Identifier: MIT */
/*
 * Resolving a preset on this machine: expand paths, and read the registry
 * hosts from the user's own tool configuration files and environment, and
 * where those are silent, from the files the tools ship. Nothing is run:
 * a tool started here would run outside the sandbox, in the workspace,
 * where the repository's own files (a pip/ package, an .npmrc) take part.
 * The parsing is in parse.c (pure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "presets/presets.h"
#include "proxy/allow.h"

extern char **environ;

#define CONFIG_MAX (1024 * 1024) /* bytes read from one configuration file */

struct rctx {
	const struct cordon_preset *p;
	const struct preset_env *env;
	struct preset_resolved *out;
	struct preset_strv ws_hosts; /* hosts the workspace's own files name */
	struct preset_strv ws_from;  /* the file each came from */
	/* The API's base-URL variable (api_base_env), when set: */
	char *api_rule;                 /* its host as a rule ("gw:8443"), or NULL */
	char api_path[PRESET_PATH_MAX]; /* its path, without a trailing '/' */
	bool api_no_inject;             /* set, but no host the proxy can add a key for */
};

static void note(struct rctx *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct rctx *rc, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	preset_strv_add(&rc->out->notes, s);
	free(s);
}

void
preset_resolved_free(struct preset_resolved *r)
{
	preset_strv_free(&r->domains);
	preset_strv_free(&r->state);
	preset_strv_free(&r->caches);
	preset_strv_free(&r->writable);
	preset_strv_free(&r->readonly);
	preset_strv_free(&r->protect);
	preset_strv_free(&r->env_set);
	preset_strv_free(&r->env_pass);
	preset_strv_free(&r->notes);
	for (size_t i = 0; i < r->n_inject; i++)
		free(r->inject[i].host);
	free(r->inject);
	r->inject = NULL;
	r->n_inject = 0;
	for (size_t i = 0; i < r->n_rules; i++) {
		free(r->rules[i].host);
		preset_strv_free(&r->rules[i].paths);
	}
	free(r->rules);
	r->rules = NULL;
	r->n_rules = 0;
	r->memory_max = r->disk_max = 0;
	r->pids_max = 0;
}

/* "~/x" -> home/x, "./x" -> workspace/x; NULL when it cannot be expanded. */
static char *
expand(const struct preset_env *env, const char *path)
{
	if (strncmp(path, "~/", 2) == 0)
		return xasprintf("%s/%s", env->home, path + 2);
	if (strncmp(path, "./", 2) == 0)
		return env->workspace ? xasprintf("%s/%s", env->workspace, path + 2) : NULL;
	return xstrdup(path);
}

/* Whole small regular file, or NULL (missing, unreadable, too big, not a file). */
static char *
slurp(const char *path, size_t *len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (path == NULL)
		return NULL;
	char *buf;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX)
		return NULL;
	/* One read of the size fstat gave (a file that grew meanwhile is cut). */
	buf = xmalloc((size_t)st.st_size + 1);
	n = fd_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static bool
is_file(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *
env_any(const char *a, const char *b)
{
	const char *v = getenv(a);

	if ((v == NULL || v[0] == '\0') && b != NULL)
		v = getenv(b);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* "~/.npmrc" for a path under home, for shorter notes. */
static const char *
short_path(const struct rctx *rc, const char *path, char *buf, size_t size)
{
	size_t hl = strlen(rc->env->home);

	if (strncmp(path, rc->env->home, hl) == 0 && path[hl] == '/') {
		snprintf(buf, size, "~%s", path + hl);
		return buf;
	}
	return path;
}

/*
 * Add hosts to the domains, noting the source of each new one; frees tmp.
 * An IP literal in a range the proxy refuses (loopback, private, 0.0.0.0,
 * ...) is left out: an allow rule for such an address is the one way past
 * the proxy's address checks, and a configuration file is not the user
 * asking for that (Maven's own http blocker names 0.0.0.0). Returns the
 * number of hosts taken.
 */
static size_t
take_hosts(struct rctx *rc, struct preset_strv *tmp, const char *source)
{
	char sb[PRESET_PATH_MAX + 2];
	size_t taken = 0;

	for (size_t i = 0; i < tmp->n; i++) {
		size_t before = rc->out->domains.n;
		char norm[PX_HOST_MAX];
		struct px_addr a;
		int is_ip = 0;
		const char *why = NULL;

		if (px_host_normalize(tmp->v[i], norm, sizeof(norm), &is_ip, &a) < 0)
			continue;
		if (is_ip && (why = px_addr_refused(&a, NULL)) != NULL) {
			note(rc,
			     "%s: %s (from %s) is an address the proxy refuses (%s): not allowed",
			     rc->p->name, tmp->v[i], short_path(rc, source, sb, sizeof(sb)), why);
			continue;
		}
		taken++;

		preset_strv_add(&rc->out->domains, tmp->v[i]);
		if (rc->out->domains.n != before)
			note(rc, "%s: registry host %s (from %s)", rc->p->name, tmp->v[i],
			     short_path(rc, source, sb, sizeof(sb)));
	}
	preset_strv_free(tmp);
	return taken;
}

/* Hosts a workspace file names: remembered, said at the end, never allowed. */
static void
ws_hosts(struct rctx *rc, struct preset_strv *tmp, const char *source)
{
	for (size_t i = 0; i < tmp->n; i++) {
		size_t before = rc->ws_hosts.n;

		preset_strv_add(&rc->ws_hosts, tmp->v[i]);
		if (rc->ws_hosts.n != before) {
			rc->ws_from.v =
			    xrealloc(rc->ws_from.v, (rc->ws_from.n + 2) * sizeof(char *));
			rc->ws_from.v[rc->ws_from.n++] = xstrdup(source);
			rc->ws_from.v[rc->ws_from.n] = NULL;
		}
	}
	preset_strv_free(tmp);
}

static void
ws_notes(struct rctx *rc)
{
	for (size_t i = 0; i < rc->ws_hosts.n; i++) {
		bool allowed = false;

		for (size_t k = 0; k < rc->out->domains.n && !allowed; k++)
			allowed = strcmp(rc->out->domains.v[k], rc->ws_hosts.v[i]) == 0;
		if (!allowed)
			note(rc,
			     "%s: %s names %s, which is not allowed: a workspace's own "
			     "configuration never widens the egress list (allow it with "
			     "--allow-domain %s if you trust it)",
			     rc->p->name, rc->ws_from.v[i], rc->ws_hosts.v[i], rc->ws_hosts.v[i]);
	}
	preset_strv_free(&rc->ws_hosts);
	preset_strv_free(&rc->ws_from);
}

/* One URL's host -> tmp. */
static void
url_to(struct preset_strv *tmp, const char *url)
{
	char host[PRESET_HOST_MAX];

	if (url != NULL && preset_url_host(url, strlen(url), host, sizeof(host), NULL) == 0)
		preset_strv_add(tmp, host);
}

/*
 * First executable called name in PATH (absolute entries only), its real
 * path; NULL when there is none.
 */
static char *
which_real(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");

	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = NULL;

		if (dir[0] != '/')
			continue;
		cand = xasprintf("%s/%s", dir, name);
		if (access(cand, X_OK) == 0 && is_file(cand))
			return fd_realpath(cand);
	}
	return NULL;
}

/* dirname applied n times, in place. */
static char *
up(char *path, int n)
{
	while (n-- > 0) {
		char *s = strrchr(path, '/');

		if (s == NULL)
			break;
		if (s == path) {
			s[1] = '\0';
			break;
		}
		*s = '\0';
	}
	return path;
}

/* ---- npm ---- */

static void
npmrc_read(const char *path, struct preset_npmrc *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	memset(c, 0, sizeof(*c));
	if ((buf = slurp(path, &len)) != NULL)
		preset_parse_npmrc(buf, len, c);
}

/* npm's installation directory (the package with bin/npm-cli.js), or NULL. */
static char *
npm_root(void)
{
	char *real = which_real("npm");

	if (real == NULL)
		return NULL;
	/* .../npm/bin/npm-cli.js */
	if (strstr(real, "/bin/") == NULL) {
		free(real);
		return NULL;
	}
	return up(real, 2);
}

/* npm's default registry, from the definitions file npm ships. */
static int
npm_default(const char *root, char *out, size_t size, char *from, size_t from_size)
{
	static const char *const rel[] = {
		"node_modules/@npmcli/config/lib/definitions/definitions.js",
		"../@npmcli/config/lib/definitions/definitions.js",
		"lib/utils/config/definitions.js",
	};

	for (size_t i = 0; root != NULL && i < ARRAY_SIZE(rel); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", root, rel[i]);
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if ((buf = slurp(path, &len)) == NULL)
			continue;
		if (preset_parse_npm_default(buf, len, out, size) == 0) {
			snprintf(from, from_size, "npm's built-in default in %s", path);
			return 0;
		}
	}
	return -1;
}

static void
resolve_npm(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	struct preset_npmrc user, builtin, global, ws;
	_cleanup_free_ char *root = NULL;
	_cleanup_free_ char *user_path = NULL;
	_cleanup_free_ char *builtin_path = NULL;
	_cleanup_free_ char *global_path = NULL;
	char registry[PRESET_URL_MAX] = "", from[PRESET_PATH_MAX + 64] = "";
	const char *v;
	struct preset_strv tmp = { 0 };

	v = env_any("npm_config_userconfig", "NPM_CONFIG_USERCONFIG");
	user_path = v ? xstrdup(v) : xasprintf("%s/.npmrc", env->home);
	npmrc_read(user_path, &user);
	root = npm_root();
	builtin_path = root ? xasprintf("%s/npmrc", root) : NULL;
	npmrc_read(builtin_path, &builtin);
	/* The global file: $PREFIX/etc/npmrc, prefix as npm finds it. */
	v = env_any("npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG");
	if (v != NULL) {
		global_path = xstrdup(v);
	} else if (user.globalconfig[0] == '/') {
		global_path = xstrdup(user.globalconfig);
	} else if (builtin.globalconfig[0] == '/') {
		global_path = xstrdup(builtin.globalconfig);
	} else {
		const char *prefix = env_any("npm_config_prefix", "NPM_CONFIG_PREFIX");
		_cleanup_free_ char *node = NULL;

		if (prefix == NULL && user.prefix[0] == '/')
			prefix = user.prefix;
		if (prefix == NULL && builtin.prefix[0] == '/')
			prefix = builtin.prefix;
		if (prefix == NULL)
			prefix = env_any("PREFIX", NULL);
		/*
		 * npm's own rule is node's prefix (dirname twice of its path);
		 * npm installed with that node sits in PREFIX/lib/node_modules/npm.
		 */
		if (prefix == NULL && root != NULL && strlen(root) > 21 &&
		    strcmp(root + strlen(root) - 21, "/lib/node_modules/npm") == 0) {
			node = xstrdup(root);
			prefix = up(node, 3);
		}
		if (prefix == NULL && (node = which_real("node")) != NULL)
			prefix = up(node, 2);
		if (prefix != NULL && prefix[0] == '/')
			global_path = xasprintf("%s/etc/npmrc", strcmp(prefix, "/") ? prefix : "");
	}
	npmrc_read(global_path, &global);

	/* npm's precedence: environment, user, global, builtin, its default. */
	if ((v = env_any("npm_config_registry", "NPM_CONFIG_REGISTRY")) != NULL) {
		snprintf(registry, sizeof(registry), "%s", v);
		snprintf(from, sizeof(from), "$npm_config_registry");
	} else if (user.registry[0]) {
		snprintf(registry, sizeof(registry), "%s", user.registry);
		snprintf(from, sizeof(from), "%s", user_path);
	} else if (global.registry[0]) {
		snprintf(registry, sizeof(registry), "%s", global.registry);
		snprintf(from, sizeof(from), "%s", global_path);
	} else if (builtin.registry[0]) {
		snprintf(registry, sizeof(registry), "%s", builtin.registry);
		snprintf(from, sizeof(from), "%s", builtin_path);
	} else if (npm_default(root, registry, sizeof(registry), from, sizeof(from)) < 0) {
		registry[0] = '\0';
	}
	if (registry[0] != '\0') {
		_cleanup_free_ char *set = xasprintf("npm_config_registry=%s", registry);

		url_to(&tmp, registry);
		if (tmp.n > 0)
			/*
			 * ~/.npmrc is masked inside (it holds tokens), and a project
			 * .npmrc must not redirect npm: hand npm the registry it
			 * would have used, through the environment, which wins.
			 */
			preset_strv_add(&rc->out->env_set, set);
		take_hosts(rc, &tmp, from);
	} else {
		note(rc,
		     "%s: no npm registry is configured (environment, %s, the global "
		     "npmrc) and npm's own default could not be read (%s); nothing is "
		     "allowed for npm: set registry= in ~/.npmrc or use --allow-domain",
		     rc->p->name, user_path,
		     root ? "no definitions file" : "npm not found in PATH");
	}
	/* Scoped registries: the user's win over the global and builtin files. */
	for (int f = 0; f < 3; f++) {
		struct preset_npmrc *c = f == 0 ? &user : f == 1 ? &global : &builtin;
		const char *path = f == 0 ? user_path : f == 1 ? global_path : builtin_path;

		for (size_t i = 0; i < c->scoped.n; i++) {
			const char *eq = strchr(c->scoped.v[i], '=');
			_cleanup_free_ char *set = xasprintf("npm_config_%s", c->scoped.v[i]);
			bool later = false;

			for (size_t k = 0; k < rc->out->env_set.n && !later; k++)
				later = strncmp(rc->out->env_set.v[k], set,
						(size_t)(eq - c->scoped.v[i]) + 11) == 0;
			if (later)
				continue;
			url_to(&tmp, eq + 1);
			if (tmp.n > 0)
				preset_strv_add(&rc->out->env_set, set);
			take_hosts(rc, &tmp, path);
		}
	}
	/* The workspace's .npmrc: said, never allowed. */
	if (env->workspace != NULL) {
		_cleanup_free_ char *p = xasprintf("%s/.npmrc", env->workspace);

		npmrc_read(p, &ws);
		url_to(&tmp, ws.registry[0] ? ws.registry : NULL);
		for (size_t i = 0; i < ws.scoped.n; i++)
			url_to(&tmp, strchr(ws.scoped.v[i], '=') + 1);
		ws_hosts(rc, &tmp, "the workspace's .npmrc");
		preset_strv_free(&ws.scoped);
	}
	preset_strv_free(&user.scoped);
	preset_strv_free(&builtin.scoped);
	preset_strv_free(&global.scoped);
}

/* ---- python: pip and uv ---- */

/* Space-separated URLs in an environment variable; uv also takes "name=URL". */
static size_t
env_urls(const char *name, struct preset_strv *out)
{
	const char *v = getenv(name);
	size_t before = out->n;

	for (const char *p = v; p != NULL && *p;) {
		const char *w = p, *eq;
		char host[PRESET_HOST_MAX];

		while (*p && *p != ' ')
			p++;
		eq = memchr(w, '=', (size_t)(p - w));
		if (eq != NULL && strncmp(eq + 1, "http", 4) == 0)
			w = eq + 1;
		if (preset_url_host(w, (size_t)(p - w), host, sizeof(host), NULL) == 0)
			preset_strv_add(out, host);
		while (*p == ' ')
			p++;
	}
	return out->n - before;
}

static void
strv_move(struct preset_strv *to, struct preset_strv *from)
{
	preset_strv_free(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

/* pip's own default index, from the module pip ships; 0 or -1. */
static int
pip_default(const struct rctx *rc, struct preset_strv *out, char *from, size_t from_size)
{
	static const char tail[] = "pip/_internal/models/index.py";
	const char *venv = getenv("VIRTUAL_ENV");
	_cleanup_free_ char *py = NULL;
	char *pats[8];
	size_t n = 0;
	int r = -1;

	if (venv != NULL && venv[0] == '/')
		pats[n++] = xasprintf("%s/lib/python3*/site-packages/%s", venv, tail);
	py = which_real("python3");
	if (py != NULL && up(py, 2)[0] == '/')
		pats[n++] = xasprintf("%s/lib/python3*/*-packages/%s", py, tail);
	pats[n++] = xasprintf("%s/.local/lib/python3*/site-packages/%s", rc->env->home, tail);
	pats[n++] = xasprintf("/usr/lib/python3/dist-packages/%s", tail);
	pats[n++] = xasprintf("/usr/local/lib/python3*/*-packages/%s", tail);
	pats[n++] = xasprintf("/usr/lib/python3*/site-packages/%s", tail);
	pats[n++] =
	    xasprintf("%s/.pyenv/versions/*/lib/python3*/site-packages/%s", rc->env->home, tail);
	for (size_t i = 0; i < n; i++) {
		glob_t g;

		if (r == 0 || glob(pats[i], GLOB_NOSORT, NULL, &g) != 0) {
			free(pats[i]);
			continue;
		}
		for (size_t k = 0; k < g.gl_pathc && r < 0; k++) {
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;

			if ((buf = slurp(g.gl_pathv[k], &len)) != NULL &&
			    preset_parse_pip_default(buf, len, out) == 0) {
				snprintf(from, from_size, "pip's built-in index in %s",
					 g.gl_pathv[k]);
				r = 0;
			}
		}
		globfree(&g);
		free(pats[i]);
	}
	return r;
}

static void
resolve_pip(struct rctx *rc)
{
	static const char *const uv_keys[] = { "index-url",  "extra-index-url", "url",
					       "find-links", "default-index",   NULL };
	const struct preset_env *env = rc->env;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *dirs = getenv("XDG_CONFIG_DIRS");
	const char *cfg_file = getenv("PIP_CONFIG_FILE"), *venv = getenv("VIRTUAL_ENV");
	struct preset_strv files = { 0 }, index = { 0 }, extra = { 0 }, uv = { 0 }, tmp = { 0 };
	_cleanup_free_ char *dcopy = xstrdup(dirs && dirs[0] ? dirs : "/etc/xdg");
	_cleanup_free_ char *uv_user = NULL;
	char index_from[PRESET_PATH_MAX + 64] = "", from[PRESET_PATH_MAX + 64] = "";
	bool uv_index = false;

	/* pip's order: global files, user (unless PIP_CONFIG_FILE), site, that file. */
	for (char *save = NULL, *d = strtok_r(dcopy, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save))
		if (d[0] == '/') {
			char *p = xasprintf("%s/pip/pip.conf", d);

			preset_strv_add(&files, p);
			free(p);
		}
	preset_strv_add(&files, "/etc/pip.conf");
	if (!is_file(cfg_file)) {
		char *a = xasprintf("%s/.pip/pip.conf", env->home);
		char *b = xdg && xdg[0] == '/' ? xasprintf("%s/pip/pip.conf", xdg)
					       : xasprintf("%s/.config/pip/pip.conf", env->home);

		preset_strv_add(&files, a);
		preset_strv_add(&files, b);
		free(a);
		free(b);
	}
	if (venv != NULL && venv[0] == '/') {
		char *p = xasprintf("%s/pip.conf", venv);

		preset_strv_add(&files, p);
		free(p);
	}
	if (is_file(cfg_file))
		preset_strv_add(&files, cfg_file);
	for (size_t i = 0; i < files.n; i++) {
		struct preset_pip_conf c = { 0 };
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if ((buf = slurp(files.v[i], &len)) == NULL)
			continue;
		preset_parse_pipconf(buf, len, &c);
		/* A later file's option replaces an earlier one's. */
		if (c.index.n > 0) {
			strv_move(&index, &c.index);
			snprintf(index_from, sizeof(index_from), "%s", files.v[i]);
		}
		if (c.extra.n > 0) {
			strv_move(&extra, &c.extra);
			snprintf(from, sizeof(from), "%s", files.v[i]);
		}
		preset_strv_free(&c.index);
		preset_strv_free(&c.extra);
	}
	if (env_urls("PIP_INDEX_URL", &tmp) > 0) {
		strv_move(&index, &tmp);
		snprintf(index_from, sizeof(index_from), "$PIP_INDEX_URL");
	}
	if (env_urls("PIP_EXTRA_INDEX_URL", &tmp) > 0 || env_urls("PIP_FIND_LINKS", &tmp) > 0) {
		strv_move(&extra, &tmp);
		snprintf(from, sizeof(from), "$PIP_EXTRA_INDEX_URL");
	}
	take_hosts(rc, &index, index_from);
	take_hosts(rc, &extra, from);

	/* uv: its user and system files, its environment. */
	uv_user = xdg && xdg[0] == '/' ? xasprintf("%s/uv/uv.toml", xdg)
				       : xasprintf("%s/.config/uv/uv.toml", env->home);
	for (int f = 0; f < 2; f++) {
		const char *path = f == 0 ? "/etc/uv/uv.toml" : uv_user;
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if ((buf = slurp(path, &len)) == NULL)
			continue;
		preset_parse_toml_urls(buf, len, uv_keys, &uv);
		uv_index = uv_index || uv.n > 0;
		take_hosts(rc, &uv, path);
	}
	uv_index =
	    env_urls("UV_INDEX_URL", &uv) > 0 || env_urls("UV_DEFAULT_INDEX", &uv) > 0 || uv_index;
	take_hosts(rc, &uv, "$UV_INDEX_URL/$UV_DEFAULT_INDEX");
	env_urls("UV_EXTRA_INDEX_URL", &uv);
	env_urls("UV_INDEX", &uv);
	take_hosts(rc, &uv, "$UV_EXTRA_INDEX_URL/$UV_INDEX");

	/* pip's (and uv's) own default, unless an index replaces it. */
	if (index_from[0] == '\0' && !uv_index) {
		if (pip_default(rc, &tmp, from, sizeof(from)) == 0)
			take_hosts(rc, &tmp, from);
		else
			note(rc,
			     "%s: no Python package index is configured (pip.conf, uv.toml, "
			     "PIP_INDEX_URL) and pip's own default could not be read (pip not "
			     "found); nothing is allowed for pip: set index-url in "
			     "~/.config/pip/pip.conf or use --allow-domain",
			     rc->p->name);
	}
	/* The workspace's own files: said, never allowed. */
	for (int f = 0; env->workspace != NULL && f < 3; f++) {
		static const char *const names[] = { "uv.toml", "pyproject.toml", "pip.conf" };
		_cleanup_free_ char *path = xasprintf("%s/%s", env->workspace, names[f]);
		_cleanup_free_ char *buf = NULL;
		_cleanup_free_ char *what = NULL;
		size_t len = 0;

		if ((buf = slurp(path, &len)) == NULL)
			continue;
		if (f == 2) {
			struct preset_pip_conf c = { 0 };

			preset_parse_pipconf(buf, len, &c);
			ws_hosts(rc, &c.index, "the workspace's pip.conf");
			ws_hosts(rc, &c.extra, "the workspace's pip.conf");
			continue;
		}
		preset_parse_toml_urls(buf, len, uv_keys, &tmp);
		what = xasprintf("the workspace's %s", names[f]);
		ws_hosts(rc, &tmp, what);
	}
	preset_strv_free(&files);
}

/* ---- rust: cargo ---- */

/* Hosts of the registries cargo has used: $CARGO_HOME/registry/index/<host>-<hash>. */
static size_t
cargo_cached(struct rctx *rc, const char *cargo_home)
{
	static const char *const keys[] = { "dl", "api", NULL };
	_cleanup_free_ char *dir = xasprintf("%s/registry/index", cargo_home);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		struct preset_strv tmp = { 0 };
		const char *dash = strrchr(e->d_name, '-');
		_cleanup_free_ char *url = NULL;
		_cleanup_free_ char *cfg = NULL;
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if (e->d_name[0] == '.' || dash == NULL)
			continue;
		url = xasprintf("https://%.*s/", (int)(dash - e->d_name), e->d_name);
		if (strchr(url + 8, '.') != NULL)
			url_to(&tmp, url);
		cfg = xasprintf("%s/%s/config.json", dir, e->d_name);
		/* {"dl": "URL", "api": "URL"}: the TOML scan reads `"dl": "URL"` too. */
		if ((buf = slurp(cfg, &len)) != NULL) {
			for (size_t i = 0; i < len; i++)
				if (buf[i] == ':' && i + 1 < len &&
				    (buf[i + 1] == ' ' || buf[i + 1] == '"'))
					buf[i] = '=';
				else if (buf[i] == ',')
					buf[i] = '\n';
			preset_parse_toml_urls(buf, len, keys, &tmp);
		}
		n += take_hosts(rc, &tmp, dir);
	}
	return n;
}

static void
resolve_cargo(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	const char *ch = getenv("CARGO_HOME");
	_cleanup_free_ char *cargo_home =
	    ch && ch[0] == '/' ? xstrdup(ch) : xasprintf("%s/.cargo", env->home);
	struct preset_cargo_conf c = { 0 };
	size_t n = 0;

	for (int f = 0; f < 3; f++) {
		_cleanup_free_ char *path = NULL;
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if (f < 2)
			path = xasprintf("%s/%s", cargo_home, f == 0 ? "config.toml" : "config");
		else if (env->workspace != NULL)
			path = xasprintf("%s/.cargo/config.toml", env->workspace);
		if ((buf = slurp(path, &len)) == NULL)
			continue;
		if (f == 2) {
			struct preset_cargo_conf w = { 0 };

			preset_parse_cargo(buf, len, &w);
			ws_hosts(rc, &w.hosts, "the workspace's .cargo/config.toml");
			continue;
		}
		preset_parse_cargo(buf, len, &c);
		n += take_hosts(rc, &c.hosts, path);
	}
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "CARGO_REGISTRIES_", 17) == 0 && strstr(*e, "_INDEX=") != NULL) {
			struct preset_strv tmp = { 0 };

			url_to(&tmp, strchr(*e, '=') + 1);
			n += take_hosts(rc, &tmp, "$CARGO_REGISTRIES_*_INDEX");
		}
	}
	/* crates.io's hosts are built into cargo: the ones it has used are on disk. */
	if (!c.crates_io_replaced && cargo_cached(rc, cargo_home) == 0 && n == 0)
		note(rc,
		     "%s: no cargo registry is configured or cached yet (cargo's default "
		     "is built into the cargo binary); nothing is allowed for cargo: run "
		     "`cargo fetch` once outside cordon, or use --allow-domain",
		     rc->p->name);
}

/* ---- go ---- */

/* Go's env files, highest first: `go env -w`'s file, then $GOROOT/go.env. */
static bool
go_setting(struct rctx *rc, const char *const *files, const char *key, char *out, size_t size,
	   char *from, size_t from_size)
{
	const char *v = getenv(key);

	(void)rc;
	if (v != NULL && v[0] != '\0') {
		snprintf(out, size, "%s", v);
		snprintf(from, from_size, "$%s", key);
		return true;
	}
	for (size_t i = 0; files[i] != NULL; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if ((buf = slurp(files[i], &len)) != NULL &&
		    preset_parse_goenv(buf, len, key, out, size) == 0) {
			snprintf(from, from_size, "%s", files[i]);
			return true;
		}
	}
	return false;
}

static void
resolve_go(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	const char *goenv = getenv("GOENV"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *xcache = getenv("XDG_CACHE_HOME");
	_cleanup_free_ char *user = NULL;
	_cleanup_free_ char *goroot = NULL;
	_cleanup_free_ char *goroot_env = NULL;
	const char *files[3] = { NULL, NULL, NULL };
	char val[PRESET_URL_MAX], from[PRESET_PATH_MAX + 16], root[PRESET_PATH_MAX];
	struct preset_strv tmp = { 0 };
	size_t n = 0;

	if (goenv != NULL && strcmp(goenv, "off") == 0)
		user = NULL;
	else if (goenv != NULL && goenv[0] == '/')
		user = xstrdup(goenv);
	else if (xdg != NULL && xdg[0] == '/')
		user = xasprintf("%s/go/env", xdg);
	else
		user = xasprintf("%s/.config/go/env", env->home);
	files[0] = user;
	/* GOROOT: the environment, the user's env file, or where `go` lives. */
	if (go_setting(rc, files, "GOROOT", root, sizeof(root), from, sizeof(from)) &&
	    root[0] == '/') {
		goroot = xstrdup(root);
	} else {
		char *go = which_real("go");

		goroot = go ? up(go, 2) : NULL;
	}
	if (goroot != NULL) {
		goroot_env = xasprintf("%s/go.env", goroot);
		files[user ? 1 : 0] = goroot_env;
	}
	if (go_setting(rc, files, "GOPROXY", val, sizeof(val), from, sizeof(from))) {
		preset_parse_goproxy(val, strlen(val), &tmp);
		n += take_hosts(rc, &tmp, from);
		if (strstr(val, "direct") != NULL)
			note(rc,
			     "%s: GOPROXY includes \"direct\": modules not on the proxy are "
			     "fetched from their VCS hosts, which need --allow-domain",
			     rc->p->name);
	}
	if (go_setting(rc, files, "GOSUMDB", val, sizeof(val), from, sizeof(from))) {
		preset_parse_gosumdb(val, strlen(val), &tmp);
		take_hosts(rc, &tmp, from);
	}
	if (n == 0)
		note(rc,
		     "%s: no Go module proxy is configured ($GOPROXY, %s) and Go's own "
		     "go.env was not found (%s); nothing is allowed for go: set GOPROXY "
		     "or use --allow-domain",
		     rc->p->name, user ? user : "GOENV=off",
		     goroot ? "Go older than 1.21 has none" : "go not found in PATH");
	/* The module and build caches where this user's go keeps them. */
	if (go_setting(rc, files, "GOMODCACHE", val, sizeof(val), from, sizeof(from)) &&
	    val[0] == '/') {
		preset_strv_add(&rc->out->caches, val);
	} else {
		char *p;

		if (go_setting(rc, files, "GOPATH", val, sizeof(val), from, sizeof(from)) &&
		    val[0] == '/') {
			char *colon = strchr(val, ':');

			if (colon != NULL)
				*colon = '\0';
			p = xasprintf("%s/pkg/mod", val);
		} else {
			p = xasprintf("%s/go/pkg/mod", env->home);
		}
		preset_strv_add(&rc->out->caches, p);
		free(p);
	}
	if (go_setting(rc, files, "GOCACHE", val, sizeof(val), from, sizeof(from)) &&
	    val[0] == '/') {
		preset_strv_add(&rc->out->caches, val);
	} else {
		char *p = xcache != NULL && xcache[0] == '/'
			      ? xasprintf("%s/go-build", xcache)
			      : xasprintf("%s/.cache/go-build", env->home);

		preset_strv_add(&rc->out->caches, p);
		free(p);
	}
}

/* ---- java: maven and gradle ---- */

static size_t
from_file(struct rctx *rc, const char *path, void (*fn)(const char *, size_t, struct preset_strv *))
{
	struct preset_strv tmp = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, n;

	if ((buf = slurp(path, &len)) == NULL)
		return 0;
	fn(buf, len, &tmp);
	n = take_hosts(rc, &tmp, path);
	return n;
}

static void
resolve_maven(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	static const char *const ws_files[] = {
		"pom.xml",
		"settings.gradle",
		"settings.gradle.kts",
		"build.gradle",
		"build.gradle.kts",
		"gradle.properties",
		"gradle/wrapper/gradle-wrapper.properties",
	};
	const char *mh = env_any("MAVEN_HOME", "M2_HOME");
	const char *gh = getenv("GRADLE_USER_HOME");
	_cleanup_free_ char *m2 = xasprintf("%s/.m2/settings.xml", env->home);
	_cleanup_free_ char *mglobal =
	    mh && mh[0] == '/' ? xasprintf("%s/conf/settings.xml", mh) : NULL;
	_cleanup_free_ char *gdir =
	    gh && gh[0] == '/' ? xstrdup(gh) : xasprintf("%s/.gradle", env->home);
	_cleanup_free_ char *gp = xasprintf("%s/gradle.properties", gdir);
	_cleanup_free_ char *gi = xasprintf("%s/init.gradle", gdir);
	_cleanup_free_ char *gik = xasprintf("%s/init.gradle.kts", gdir);
	_cleanup_free_ char *gid = xasprintf("%s/init.d/*.gradle*", gdir);
	size_t n = 0;
	glob_t g;

	n += from_file(rc, "/etc/maven/settings.xml", preset_parse_maven);
	n += from_file(rc, mglobal, preset_parse_maven);
	n += from_file(rc, m2, preset_parse_maven);
	n += from_file(rc, gp, preset_parse_gradle);
	n += from_file(rc, gi, preset_parse_gradle);
	n += from_file(rc, gik, preset_parse_gradle);
	if (glob(gid, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && i < 64; i++)
			n += from_file(rc, g.gl_pathv[i], preset_parse_gradle);
		globfree(&g);
	}
	for (size_t i = 0; env->workspace != NULL && i < ARRAY_SIZE(ws_files); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", env->workspace, ws_files[i]);
		_cleanup_free_ char *buf = NULL;
		_cleanup_free_ char *what = NULL;
		struct preset_strv tmp = { 0 };
		size_t len = 0;

		if ((buf = slurp(path, &len)) == NULL)
			continue;
		if (i == 0)
			preset_parse_maven(buf, len, &tmp);
		else
			preset_parse_gradle(buf, len, &tmp);
		what = xasprintf("the workspace's %s", ws_files[i]);
		ws_hosts(rc, &tmp, what);
	}
	if (n == 0)
		note(rc,
		     "%s: no Maven or Gradle repository is configured (~/.m2/settings.xml "
		     "mirrors, ~/.gradle init scripts); Maven Central and Gradle's built-in "
		     "repositories are named inside their jars, not in a file cordon reads, "
		     "so nothing is allowed for them: add a mirror to ~/.m2/settings.xml or "
		     "use --allow-domain",
		     rc->p->name);
}

/* ---- agents: the API's base URL ---- */

/* The path of an http(s) URL, without query, fragment or trailing '/' ("" for none). */
static void
url_path(const char *url, char *out, size_t size)
{
	const char *s = strstr(url, "://"), *e;
	size_t n;

	out[0] = '\0';
	if (s == NULL)
		return;
	s = s + 3 + strcspn(s + 3, "/?#");
	e = s + strcspn(s, "?#");
	while (e > s && e[-1] == '/')
		e--;
	n = (size_t)(e - s);
	if (*s == '/' && n < size) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
}

static bool
is_loopback_name(const char *h)
{
	size_t n = strlen(h);

	return strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0);
}

static void
resolve_base_urls(struct rctx *rc)
{
	for (size_t i = 0; rc->p->base_url_env != NULL && rc->p->base_url_env[i] != NULL; i++) {
		const char *name = rc->p->base_url_env[i], *v = getenv(name);
		char host[PRESET_HOST_MAX], norm[PX_HOST_MAX], rule[PX_HOST_MAX + 16];
		struct px_addr a;
		uint16_t port = 0;
		int is_ip = 0;
		const char *why = NULL;
		bool api = rc->p->api_base_env != NULL && strcmp(name, rc->p->api_base_env) == 0;

		if (v == NULL || v[0] == '\0')
			continue;
		/* Until the host is taken: no host the proxy can add the key for. */
		rc->api_no_inject = rc->api_no_inject || api;
		if (preset_url_host(v, strlen(v), host, sizeof(host), &port) < 0 ||
		    px_host_normalize(host, norm, sizeof(norm), &is_ip, &a) < 0) {
			note(rc, "%s: $%s is not an http(s) URL with a host name; not allowed",
			     rc->p->name, name);
			continue;
		}
		if (is_ip)
			why = px_addr_refused(&a, NULL);
		else if (is_loopback_name(norm))
			why = "loopback";
		if (port == 0)
			port = strncasecmp(v, "https:", 6) == 0 ? 443 : 80;
		if (why != NULL && strcmp(why, "loopback") == 0) {
			note(rc,
			     "%s: $%s names this machine's loopback (%s%s%u), which the sandbox "
			     "reaches only with --allow-loopback %u (through cordon's proxy)",
			     rc->p->name, name, norm, ":", port, port);
			continue;
		}
		if (why != NULL) {
			note(rc,
			     "%s: $%s names %s, an address the proxy refuses for every host (%s); "
			     "allow it explicitly with --allow-domain %s",
			     rc->p->name, name, norm, why, norm);
			continue;
		}
		/* Only the port the URL uses (its scheme's default when it names none). */
		if (is_ip && strchr(norm, ':') != NULL)
			snprintf(rule, sizeof(rule), "[%s]:%u", norm, port);
		else
			snprintf(rule, sizeof(rule), "%s:%u", norm, port);
		preset_strv_add(&rc->out->domains, rule);
		note(rc, "%s: API host %s (from $%s)", rc->p->name, rule, name);
		if (api) {
			free(rc->api_rule);
			rc->api_rule = xstrdup(rule);
			url_path(v, rc->api_path, sizeof(rc->api_path));
			/* The proxy adds headers inside intercepted HTTPS only. */
			rc->api_no_inject = strncasecmp(v, "https:", 6) != 0;
		}
	}
}

/* ---- agents: the API keys, injected, and what the API host may receive ---- */

static void
add_rules(struct rctx *rc, const char *host, const char *base)
{
	struct preset_resolved *out = rc->out;

	for (const struct preset_api_rule *ar = rc->p->api_rules; ar != NULL && ar->methods != NULL;
	     ar++) {
		struct preset_rule *r;

		out->rules = xrealloc(out->rules, (out->n_rules + 1) * sizeof(*out->rules));
		r = &out->rules[out->n_rules++];
		memset(r, 0, sizeof(*r));
		r->host = xstrdup(host);
		r->methods = ar->methods;
		for (const char *const *p = ar->paths; *p != NULL; p++) {
			_cleanup_free_ char *path = xasprintf("%s%s", base, *p);

			preset_strv_add(&r->paths, path);
		}
	}
}

static void
add_inject(struct preset_resolved *out, const char *host, const struct preset_key *k)
{
	struct preset_inject *in;

	out->inject = xrealloc(out->inject, (out->n_inject + 1) * sizeof(*out->inject));
	in = &out->inject[out->n_inject++];
	in->host = xstrdup(host);
	in->header = k->header;
	in->from_env = k->env;
	in->prefix = k->prefix;
}

/*
 * The model API host (and the host of the API's base-URL variable, below
 * its path) narrowed to the agent's methods and paths; each key variable
 * set on the host injected for those hosts instead of passed in. A key
 * whose base URL the proxy cannot add it to (plain http, loopback, a
 * refused address) is passed in, as before, and a note says why.
 */
static void
resolve_keys(struct rctx *rc)
{
	const struct cordon_preset *p = rc->p;
	char host[PRESET_HOST_MAX], base[PRESET_PATH_MAX];

	if (p->api_url == NULL ||
	    preset_url_host(p->api_url, strlen(p->api_url), host, sizeof(host), NULL) < 0)
		return;
	url_path(p->api_url, base, sizeof(base));
	add_rules(rc, host, base);
	if (rc->api_rule != NULL && strcmp(rc->api_rule, host) != 0)
		add_rules(rc, rc->api_rule, rc->api_path);
	for (const struct preset_key *k = p->keys; k != NULL && k->env != NULL; k++) {
		const char *v = getenv(k->env);

		if (v == NULL || v[0] == '\0')
			continue;
		if (rc->api_no_inject) {
			preset_strv_add(&rc->out->env_pass, k->env);
			note(rc,
			     "%s: $%s is passed into the sandbox: $%s is not an https URL to a "
			     "host cordon's proxy can add the key for",
			     p->name, k->env, p->api_base_env);
			continue;
		}
		add_inject(rc->out, host, k);
		if (rc->api_rule != NULL && strcmp(rc->api_rule, host) != 0)
			add_inject(rc->out, rc->api_rule, k);
		note(rc,
		     "%s: $%s stays on the host: the proxy adds it to requests to %s%s%s (the "
		     "sandbox sees a placeholder; to pass the key itself, allow the variable "
		     "with credentials.envVars mode \"allow\")",
		     p->name, k->env, host, rc->api_rule != NULL ? " and " : "",
		     rc->api_rule != NULL ? rc->api_rule : "");
	}
	free(rc->api_rule);
	rc->api_rule = NULL;
}

static void
add_list(const struct preset_env *env, const char *const *list, struct preset_strv *out, bool paths)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		_cleanup_free_ char *s = paths ? expand(env, list[i]) : xstrdup(list[i]);

		if (s != NULL)
			preset_strv_add(out, s);
	}
}

/* min(cap, pct % of ram), whole MiB; 0 when cap is 0. */
static uint64_t
ram_share(uint64_t cap, unsigned pct, uint64_t ram)
{
	uint64_t v = ram / 100 * pct;

	if (cap == 0)
		return 0;
	if (v == 0 || v > cap)
		v = cap;
	return v & ~((1ull << 20) - 1);
}

/* The agent's default ceilings; with several agents, the largest. */
static void
default_limits(const struct cordon_preset *p, const struct preset_env *env,
	       struct preset_resolved *out)
{
	uint64_t ram = env->ram, mem, disk;

	if (ram == 0) {
		long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

		ram = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
	}
	mem = ram_share(p->memory_cap, p->memory_ram_pct, ram);
	disk = ram_share(p->disk_cap, p->disk_ram_pct, ram);
	if (mem > out->memory_max)
		out->memory_max = mem;
	if (disk > out->disk_max)
		out->disk_max = disk;
	if (p->pids_max > out->pids_max)
		out->pids_max = p->pids_max;
}

int
preset_resolve(const struct cordon_preset *p, const struct preset_env *env,
	       struct preset_resolved *out, struct cordon_err *err)
{
	struct rctx rc = { .p = p, .env = env, .out = out };

	if (env->home == NULL || env->home[0] != '/' || strcmp(env->home, "/") == 0) {
		cordon_err_set(err, 0, "preset %s: home directory \"%s\" is not usable", p->name,
			       env->home ? env->home : "");
		return cordon_err_hint(err, "set HOME to your home directory");
	}
	add_list(env, p->domains, &out->domains, false);
	add_list(env, p->state, &out->state, true);
	add_list(env, p->caches, &out->caches, true);
	add_list(env, p->writable, &out->writable, true);
	add_list(env, p->readonly, &out->readonly, true);
	if (p->kind == PRESET_AGENT)
		add_list(env, p->readonly, &out->protect, true);
	add_list(env, p->env_set, &out->env_set, false);
	add_list(env, p->env_pass, &out->env_pass, false);
	resolve_base_urls(&rc);
	resolve_keys(&rc);
	if (p->registries & PRESET_REG_NPM)
		resolve_npm(&rc);
	if (p->registries & PRESET_REG_PIP)
		resolve_pip(&rc);
	if (p->registries & PRESET_REG_CARGO)
		resolve_cargo(&rc);
	if (p->registries & PRESET_REG_GO)
		resolve_go(&rc);
	if (p->registries & PRESET_REG_MAVEN)
		resolve_maven(&rc);
	ws_notes(&rc);
	default_limits(p, env, out);
	return 0;
}
