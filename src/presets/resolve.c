/* SPDX-License-Identifier: MIT */
/*
 * Resolving a preset on this machine: expand paths, and read the registry
 * hosts from the user's own tool configuration (files, environment, and the
 * tools themselves when allowed). The parsing is in parse.c (pure).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "presets/presets.h"

extern char **environ;

#define CONFIG_MAX      (1024 * 1024) /* bytes read from one configuration file */
#define TOOL_OUT_MAX    8192          /* bytes read from one tool's stdout */
#define TOOL_TIMEOUT_MS 15000         /* a tool that takes longer is killed */

typedef void (*parse_fn)(const char *buf, size_t len, struct preset_strv *out);

struct rctx {
	const struct cordon_preset *p;
	const struct preset_env *env;
	struct preset_resolved *out;
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

static void
strv_free(struct preset_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

void
preset_resolved_free(struct preset_resolved *r)
{
	strv_free(&r->domains);
	strv_free(&r->writable);
	strv_free(&r->readonly);
	strv_free(&r->env_set);
	strv_free(&r->env_pass);
	strv_free(&r->agent_args);
	strv_free(&r->notes);
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

/* Whole small file, or NULL (missing, unreadable, too big). */
static char *
slurp(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	return fd < 0 ? NULL : fd_read_whole(fd, CONFIG_MAX, len);
}

/* Add hosts in tmp to the domains, noting the source of each new one. */
static void
take_hosts(struct rctx *rc, struct preset_strv *tmp, const char *source)
{
	for (size_t i = 0; i < tmp->n; i++) {
		size_t before = rc->out->domains.n;

		preset_strv_add(&rc->out->domains, tmp->v[i]);
		if (rc->out->domains.n != before)
			note(rc, "%s: registry host %s (from %s)", rc->p->name, tmp->v[i], source);
	}
	strv_free(tmp);
}

/* Parse one file if present; returns the number of hosts it gave. */
static size_t
from_file(struct rctx *rc, const char *path, parse_fn fn)
{
	struct preset_strv tmp = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, n;

	if (path == NULL || (buf = slurp(path, &len)) == NULL)
		return 0;
	fn(buf, len, &tmp);
	n = tmp.n;
	take_hosts(rc, &tmp, path);
	return n;
}

static size_t
from_env_urls(struct rctx *rc, const char *name, parse_fn fn)
{
	struct preset_strv tmp = { 0 };
	const char *v = getenv(name);
	_cleanup_free_ char *src = NULL;
	size_t n;

	if (v == NULL || v[0] == '\0')
		return 0;
	fn(v, strlen(v), &tmp);
	n = tmp.n;
	src = xasprintf("$%s", name);
	take_hosts(rc, &tmp, src);
	return n;
}

/*
 * Run argv (PATH lookup) with stdin and stderr on /dev/null; its stdout
 * (at most TOOL_OUT_MAX bytes) in out. Returns 0 when it exited 0.
 */
static int
run_tool(char *const argv[], char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = 0;
	size_t n = 0;
	pid_t pid;
	struct timespec start, now;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		long left;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = TOOL_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || RETRY_EINTR(poll(&pfd, 1, (int)left)) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		r = RETRY_EINTR(read(pipefd[0], out + n, size - 1 - n));
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n + 1 >= size)
			break;
	}
	out[n] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* One URL per line from a tool -> hosts. */
static void
parse_lines(const char *buf, size_t len, struct preset_strv *out)
{
	preset_parse_goproxy(buf, len, out);
	for (const char *p = buf, *e = buf + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		char host[256];

		if (preset_url_host(p, (size_t)(le - p), host, sizeof(host)) == 0)
			preset_strv_add(out, host);
		p = le + 1;
	}
}

static void
resolve_npm(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	const char *user = getenv("NPM_CONFIG_USERCONFIG");
	_cleanup_free_ char *home_rc = xasprintf("%s/.npmrc", env->home);
	_cleanup_free_ char *ws_rc = env->workspace ? xasprintf("%s/.npmrc", env->workspace) : NULL;
	char buf[TOOL_OUT_MAX];
	size_t n = 0;

	n += from_env_urls(rc, "npm_config_registry", preset_parse_goproxy);
	n += from_env_urls(rc, "NPM_CONFIG_REGISTRY", preset_parse_goproxy);
	n += from_file(rc, ws_rc, preset_parse_npmrc);
	n += from_file(rc, user ? user : home_rc, preset_parse_npmrc);
	n += from_file(rc, "/etc/npmrc", preset_parse_npmrc);
	if (env->run_tools) {
		char *argv[] = { (char *)"npm", (char *)"config", (char *)"get", (char *)"registry",
				 NULL };

		if (run_tool(argv, buf, sizeof(buf)) == 0) {
			struct preset_strv tmp = { 0 };
			_cleanup_free_ char *set = NULL;

			chomp(buf);
			parse_lines(buf, strlen(buf), &tmp);
			n += tmp.n;
			if (tmp.n == 1 && strchr(buf, '\n') == NULL) {
				/*
				 * ~/.npmrc is masked inside (it holds tokens): hand npm the
				 * registry it would have used through the environment.
				 */
				set = xasprintf("npm_config_registry=%s", buf);
				preset_strv_add(&rc->out->env_set, set);
			}
			take_hosts(rc, &tmp, "`npm config get registry`");
		}
	}
	if (n == 0)
		note(rc,
		     "%s: no npm registry found in the environment, .npmrc files%s; "
		     "allow it with --allow-domain",
		     rc->p->name, env->run_tools ? " or `npm config get registry`" : "");
}

static void
resolve_pip(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	static const char *const uv_keys[] = { "index-url",  "extra-index-url", "url",
					       "find-links", "default-index",   NULL };
	static const char *const env_names[] = { "PIP_INDEX_URL",
						 "PIP_EXTRA_INDEX_URL",
						 "PIP_FIND_LINKS",
						 "UV_INDEX_URL",
						 "UV_DEFAULT_INDEX",
						 "UV_EXTRA_INDEX_URL",
						 NULL };
	_cleanup_free_ char *c1 = xasprintf("%s/.config/pip/pip.conf", env->home);
	_cleanup_free_ char *c2 = xasprintf("%s/.pip/pip.conf", env->home);
	_cleanup_free_ char *uv = xasprintf("%s/.config/uv/uv.toml", env->home);
	_cleanup_free_ char *wuv = env->workspace ? xasprintf("%s/uv.toml", env->workspace) : NULL;
	_cleanup_free_ char *wpy =
	    env->workspace ? xasprintf("%s/pyproject.toml", env->workspace) : NULL;
	const char *venv = getenv("VIRTUAL_ENV");
	_cleanup_free_ char *vc = venv ? xasprintf("%s/pip.conf", venv) : NULL;
	size_t n = 0;

	for (size_t i = 0; env_names[i] != NULL; i++) {
		struct preset_strv tmp = { 0 };
		const char *v = getenv(env_names[i]);
		_cleanup_free_ char *src = xasprintf("$%s", env_names[i]);

		if (v == NULL)
			continue;
		/* Space-separated URLs; uv also accepts "name=URL". */
		for (const char *p = v; *p;) {
			const char *w = p, *eq;
			char host[256];

			while (*p && *p != ' ')
				p++;
			eq = memchr(w, '=', (size_t)(p - w));
			if (eq != NULL && strncmp(eq + 1, "http", 4) == 0)
				w = eq + 1;
			if (preset_url_host(w, (size_t)(p - w), host, sizeof(host)) == 0)
				preset_strv_add(&tmp, host);
			while (*p == ' ')
				p++;
		}
		n += tmp.n;
		take_hosts(rc, &tmp, src);
	}
	n += from_file(rc, getenv("PIP_CONFIG_FILE"), preset_parse_pipconf);
	n += from_file(rc, "/etc/pip.conf", preset_parse_pipconf);
	n += from_file(rc, "/etc/xdg/pip/pip.conf", preset_parse_pipconf);
	n += from_file(rc, c1, preset_parse_pipconf);
	n += from_file(rc, c2, preset_parse_pipconf);
	n += from_file(rc, vc, preset_parse_pipconf);
	for (int f = 0; f < 3; f++) {
		const char *path = f == 0 ? uv : f == 1 ? wuv : wpy;
		struct preset_strv tmp = { 0 };
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if (path == NULL || (buf = slurp(path, &len)) == NULL)
			continue;
		preset_parse_toml_urls(buf, len, uv_keys, &tmp);
		n += tmp.n;
		take_hosts(rc, &tmp, path);
	}
	if (n == 0 && env->run_tools) {
		/* pip's own defaults, asked of pip: never written into cordon. */
		char buf[TOOL_OUT_MAX];
		char *argv[] = { (char *)"python3", (char *)"-c",
				 (char *)"from pip._internal.models.index import PyPI\n"
					 "print(PyPI.simple_url)\n"
					 "print('https://' + PyPI.file_storage_domain + '/')\n",
				 NULL };

		if (run_tool(argv, buf, sizeof(buf)) == 0) {
			struct preset_strv tmp = { 0 };

			parse_lines(buf, strlen(buf), &tmp);
			n += tmp.n;
			take_hosts(rc, &tmp, "pip's built-in index");
		}
	}
	if (n == 0)
		note(rc,
		     "%s: no Python package index found in pip.conf, uv.toml or the "
		     "environment; allow it with --allow-domain",
		     rc->p->name);
}

/* Hosts of the registries cargo has already used: ~/.cargo/registry/index/<host>-<hash>. */
static size_t
cargo_cached(struct rctx *rc, const char *cargo_home)
{
	_cleanup_free_ char *dir = xasprintf("%s/registry/index", cargo_home);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		struct preset_strv tmp = { 0 };
		char *dash = strrchr(e->d_name, '-');
		_cleanup_free_ char *url = NULL;
		_cleanup_free_ char *cfg = NULL;

		if (e->d_name[0] == '.' || dash == NULL)
			continue;
		url = xasprintf("https://%.*s/", (int)(dash - e->d_name), e->d_name);
		if (strchr(url + 8, '.') != NULL)
			parse_lines(url, strlen(url), &tmp);
		cfg = xasprintf("%s/%s/config.json", dir, e->d_name);
		{
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;
			static const char *const keys[] = { "dl", "api", NULL };

			/* config.json is {"dl": "...", "api": "..."}: the TOML scan reads it. */
			if ((buf = slurp(cfg, &len)) != NULL) {
				for (char *p = buf; *p; p++)
					if (*p == ':' && p[1] == ' ')
						*p = '=';
					else if (*p == ':' && p[1] == '"')
						*p = '=';
				for (char *p = buf; *p; p++)
					if (*p == ',')
						*p = '\n';
				preset_parse_toml_urls(buf, len, keys, &tmp);
			}
		}
		n += tmp.n;
		take_hosts(rc, &tmp, dir);
	}
	return n;
}

static void
resolve_cargo(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	static const char *const keys[] = { "index", "registry", "dl", "api", NULL };
	const char *ch = getenv("CARGO_HOME");
	_cleanup_free_ char *cargo_home = ch ? xstrdup(ch) : xasprintf("%s/.cargo", env->home);
	_cleanup_free_ char *c1 = xasprintf("%s/config.toml", cargo_home);
	_cleanup_free_ char *c2 = xasprintf("%s/config", cargo_home);
	_cleanup_free_ char *w1 =
	    env->workspace ? xasprintf("%s/.cargo/config.toml", env->workspace) : NULL;
	size_t n = 0;

	for (int f = 0; f < 3; f++) {
		const char *path = f == 0 ? c1 : f == 1 ? c2 : w1;
		struct preset_strv tmp = { 0 };
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if (path == NULL || (buf = slurp(path, &len)) == NULL)
			continue;
		preset_parse_toml_urls(buf, len, keys, &tmp);
		n += tmp.n;
		take_hosts(rc, &tmp, path);
	}
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "CARGO_REGISTRIES_", 17) == 0 && strstr(*e, "_INDEX=") != NULL) {
			struct preset_strv tmp = { 0 };
			const char *v = strchr(*e, '=') + 1;

			parse_lines(v, strlen(v), &tmp);
			n += tmp.n;
			take_hosts(rc, &tmp, "$CARGO_REGISTRIES_*_INDEX");
		}
	}
	n += cargo_cached(rc, cargo_home);
	if (n == 0)
		note(rc,
		     "%s: no cargo registry configured or cached yet; run `cargo fetch` "
		     "once outside cordon, or allow the registry with --allow-domain",
		     rc->p->name);
}

static void
resolve_go(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	char buf[TOOL_OUT_MAX] = "";
	const char *proxy = getenv("GOPROXY"), *sumdb = getenv("GOSUMDB");
	char *lines[4] = { NULL, NULL, NULL, NULL };
	struct preset_strv tmp = { 0 };
	size_t n = 0;

	if (env->run_tools) {
		char *argv[] = { (char *)"go",
				 (char *)"env",
				 (char *)"GOPROXY",
				 (char *)"GOSUMDB",
				 (char *)"GOMODCACHE",
				 (char *)"GOCACHE",
				 NULL };

		if (run_tool(argv, buf, sizeof(buf)) == 0) {
			char *save = NULL, *l = strtok_r(buf, "\n", &save);

			for (int i = 0; i < 4 && l != NULL; i++, l = strtok_r(NULL, "\n", &save))
				lines[i] = l;
		}
	}
	if (lines[0] != NULL)
		proxy = lines[0];
	if (lines[1] != NULL)
		sumdb = lines[1];
	if (proxy != NULL) {
		preset_parse_goproxy(proxy, strlen(proxy), &tmp);
		n += tmp.n;
		take_hosts(rc, &tmp, lines[0] ? "`go env GOPROXY`" : "$GOPROXY");
		if (strstr(proxy, "direct") != NULL)
			note(rc,
			     "%s: GOPROXY includes \"direct\": modules not on the proxy are "
			     "fetched from their VCS hosts, which need --allow-domain",
			     rc->p->name);
	}
	if (sumdb != NULL && strcmp(sumdb, "off") != 0 && sumdb[0] != '\0') {
		/* "name[+key] [URL]": the URL when given, else the name is the host. */
		const char *sp = strchr(sumdb, ' ');
		_cleanup_free_ char *url = NULL;

		if (sp != NULL)
			url = xstrdup(sp + 1);
		else
			url = xasprintf("https://%.*s/", (int)strcspn(sumdb, "+"), sumdb);
		parse_lines(url, strlen(url), &tmp);
		n += tmp.n;
		take_hosts(rc, &tmp, lines[1] ? "`go env GOSUMDB`" : "$GOSUMDB");
	}
	if (lines[2] != NULL && lines[2][0] == '/')
		preset_strv_add(&rc->out->writable, lines[2]);
	if (lines[3] != NULL && lines[3][0] == '/')
		preset_strv_add(&rc->out->writable, lines[3]);
	if (n == 0)
		note(rc,
		     "%s: no Go module proxy found ($GOPROXY%s); allow it with "
		     "--allow-domain",
		     rc->p->name, env->run_tools ? ", `go env`" : "");
}

static bool
file_mentions(const char *path, const char *const *words)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if ((buf = slurp(path, &len)) == NULL)
		return false;
	for (size_t i = 0; words[i] != NULL; i++)
		if (memmem(buf, len, words[i], strlen(words[i])) != NULL)
			return true;
	return false;
}

static void
resolve_maven(struct rctx *rc)
{
	const struct preset_env *env = rc->env;
	static const char *const gradle_files[] = {
		"settings.gradle",
		"settings.gradle.kts",
		"build.gradle",
		"build.gradle.kts",
		"gradle.properties",
		"gradle/wrapper/gradle-wrapper.properties",
		NULL,
	};
	static const char *const builtin_repos[] = { "mavenCentral()", "google()",
						     "gradlePluginPortal()", NULL };
	_cleanup_free_ char *m2 = xasprintf("%s/.m2/settings.xml", env->home);
	_cleanup_free_ char *gp = xasprintf("%s/.gradle/gradle.properties", env->home);
	_cleanup_free_ char *pom = env->workspace ? xasprintf("%s/pom.xml", env->workspace) : NULL;
	bool builtin = false;
	size_t n = 0;

	n += from_file(rc, m2, preset_parse_xml_urls);
	n += from_file(rc, pom, preset_parse_xml_urls);
	n += from_file(rc, gp, preset_parse_gradle);
	for (size_t i = 0; env->workspace != NULL && gradle_files[i] != NULL; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", env->workspace, gradle_files[i]);

		n += from_file(rc, path, preset_parse_gradle);
		builtin = builtin || file_mentions(path, builtin_repos);
	}
	if (builtin)
		note(rc,
		     "%s: the build uses mavenCentral()/google()/gradlePluginPortal(), "
		     "which name no host in the build files; allow those hosts with "
		     "--allow-domain or configure a mirror in ~/.m2/settings.xml",
		     rc->p->name);
	if (n == 0 && !builtin)
		note(rc,
		     "%s: no Maven/Gradle repository found in ~/.m2/settings.xml or the "
		     "build files; allow it with --allow-domain",
		     rc->p->name);
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

/* "@CORDON@" -> the cordon binary, when it is safe inside a JSON string. */
static char *
subst_self(const char *arg, const char *self)
{
	const char *at = strstr(arg, "@CORDON@");

	if (self == NULL || strpbrk(self, "\"\\ '") != NULL)
		self = "cordon";
	if (at == NULL)
		return xstrdup(arg);
	return xasprintf("%.*s%s%s", (int)(at - arg), arg, self, at + 8);
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
	add_list(env, p->writable, &out->writable, true);
	add_list(env, p->readonly, &out->readonly, true);
	add_list(env, p->env_set, &out->env_set, false);
	add_list(env, p->env_pass, &out->env_pass, false);
	for (size_t i = 0; p->agent_args != NULL && p->agent_args[i] != NULL; i++) {
		_cleanup_free_ char *a = subst_self(p->agent_args[i], env->self);

		/* Not deduplicated: arguments are positional. */
		out->agent_args.v =
		    xrealloc(out->agent_args.v, (out->agent_args.n + 2) * sizeof(char *));
		out->agent_args.v[out->agent_args.n++] = steal_ptr(a);
		out->agent_args.v[out->agent_args.n] = NULL;
	}
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
	return 0;
}
