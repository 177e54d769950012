/* SPDX-License-Identifier: MIT */
/*
 * The layers on disk (see load.h): find, read (bounded), parse, merge; and
 * the trust store, written atomically outside any workspace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "presets/presets.h"
#include "policy/internal.h"
#include "policy/load.h"

static bool
test_hooks(void)
{
	const char *t = getenv("CORDON_TEST_HOOKS");

	return t != NULL && strcmp(t, "1") == 0;
}

int
policy_home(char *buf, size_t len)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/') {
		if (strlen(h) >= len)
			return -1;
		memcpy(buf, h, strlen(h) + 1);
		return 0;
	}
	pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/' || strlen(pw->pw_dir) >= len)
		return -1;
	memcpy(buf, pw->pw_dir, strlen(pw->pw_dir) + 1);
	return 0;
}

int
policy_config_dir(const char *home, char *buf, size_t len)
{
	const char *x = getenv("XDG_CONFIG_HOME");
	int n;

	if (test_hooks() && getenv("CORDON_TEST_CONFIG_DIR") != NULL)
		n = snprintf(buf, len, "%s", getenv("CORDON_TEST_CONFIG_DIR"));
	else if (x != NULL && x[0] == '/')
		n = snprintf(buf, len, "%s/cordon", x);
	else if (home != NULL)
		n = snprintf(buf, len, "%s/.config/cordon", home);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *
policy_managed_path(void)
{
	const char *t = getenv("CORDON_TEST_MANAGED_SETTINGS");
	struct stat st;

	if (test_hooks() && t != NULL && lstat(POLICY_MANAGED_PATH, &st) < 0 && errno == ENOENT)
		return t;
	return POLICY_MANAGED_PATH;
}

int
policy_read_file(const char *path, char **text, size_t *len, struct cordon_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *buf;
	ssize_t n;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		cordon_err_set(err, errno, "read settings %s", path);
		return cordon_err_hint(err, "make the file readable or remove it");
	}
	if (fstat(fd, &st) < 0)
		return cordon_err_set(err, errno, "read settings %s", path);
	if (!S_ISREG(st.st_mode)) {
		cordon_err_set(err, 0, "read settings %s: not a regular file", path);
		return cordon_err_hint(err, "settings must be a plain JSON file");
	}
	if (st.st_size > (off_t)POLICY_MAX_FILE_SIZE) {
		cordon_err_set(err, 0, "%s: settings file larger than %u bytes", path,
			       POLICY_MAX_FILE_SIZE);
		return cordon_err_hint(err,
				       "settings files are small; check that %s is the file "
				       "you mean",
				       path);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = fd_read_all(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		return cordon_err_set(err, errno, "read settings %s", path);
	}
	buf[n] = '\0';
	*text = buf;
	*len = (size_t)n;
	return 0;
}

int
policy_load_file(struct cordon_policy *pol, const char *path, enum policy_layer layer,
		 unsigned flags, struct cordon_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = policy_read_file(path, &text, &len, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (policy_parse(pol, text, len, path, layer, flags, err) < 0)
		return -1;
	return policy_refuse_unenforced(pol, err);
}

static int
merge_file(struct cordon_policy *eff, const char *path, enum policy_layer layer, unsigned flags,
	   bool trusted, const struct cordon_policy *locks, struct cordon_err *err)
{
	struct cordon_policy one;
	int r;

	policy_init(&one);
	r = policy_load_file(&one, path, layer, flags, err);
	if (r == 0)
		r = policy_merge(eff, &one, layer, trusted, locks, err);
	policy_free(&one);
	return r;
}

static void
add_all(struct cordon_policy *pol, enum policy_list list, const struct preset_strv *v,
	struct policy_origin o)
{
	for (size_t i = 0; i < v->n; i++)
		policy_rules_add(pol, list, v->v[i], o);
}

/* One resources.* value of the profile layer; size: text "8g" or "4096m". */
static void
set_limit(struct cordon_policy *layer, enum policy_scalar s, uint64_t v, bool size,
	  struct policy_origin origin)
{
	struct policy_value *pv = &layer->scalars[s];
	char text[32];

	if (v == 0)
		return;
	memset(pv, 0, sizeof(*pv));
	pv->set = true;
	pv->u = v;
	pv->origin = origin;
	if (size) {
		if (v % (1ull << 30) == 0)
			snprintf(text, sizeof(text), "%llug", (unsigned long long)(v >> 30));
		else
			snprintf(text, sizeof(text), "%llum", (unsigned long long)(v >> 20));
		pv->s = policy_strdup(layer, text);
	}
}

/*
 * The agents' default ceilings (presets.h): resources.pids, .memory and
 * .disk of the profile layer, so that `policy show` names their origin,
 * the user's settings and the command line override them, and an
 * untrusted workspace may only lower them.
 */
static void
default_limits(struct cordon_policy *layer, const struct preset_resolved *res,
	       struct policy_origin origin)
{
	set_limit(layer, POLICY_RES_PIDS, res->pids_max, false, origin);
	set_limit(layer, POLICY_RES_MEMORY, res->memory_max, true, origin);
	set_limit(layer, POLICY_RES_DISK, res->disk_max, true, origin);
}

/*
 * The profile layer: comma-separated names, each a policy profile
 * (default, strict) or an agent or toolchain preset (src/presets), which is
 * resolved against the user's own configuration: model API hosts, package
 * registries read at run time, state and cache directories writable (made
 * to exist when o->provide, else said what a run would create), the
 * agent's settings and hooks read-only, its API key variable let through.
 * What the presets noted (sources, what is left out and why) becomes the
 * layer's notes.
 */
static int
profile_layer(struct cordon_policy *layer, const struct policy_load_opts *o, struct cordon_err *err)
{
	struct preset_resolved res;
	struct policy_origin origin = { POLICY_LAYER_PROFILE, NULL, 0, 0 };
	char names[256], *save = NULL;
	int r = -1;

	memset(&res, 0, sizeof(res));
	if (snprintf(names, sizeof(names), "%s", o->profile) >= (int)sizeof(names))
		return cordon_err_set(err, ENAMETOOLONG, "--profile %s", o->profile);
	origin.file = policy_strdup(layer, o->profile);
	for (char *n = strtok_r(names, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
		const struct cordon_preset *p;
		struct preset_env env = { .home = o->home, .workspace = o->workspace };

		if (strcmp(n, "default") == 0 || strcmp(n, "strict") == 0) {
			if (policy_profile(layer, n, err) < 0)
				goto out;
			continue;
		}
		p = preset_lookup(n);
		if (p == NULL) {
			cordon_err_set(err, 0, "no profile named \"%s\"", n);
			cordon_err_hint(err, "profiles: default, strict, and the presets "
					     "claude, codex, gemini, node, python, rust, go, java "
					     "(several: --profile claude,node)");
			goto out;
		}
		if (o->home == NULL) {
			cordon_err_set(err, 0, "--profile %s needs the home directory", n);
			cordon_err_hint(err, "set HOME");
			goto out;
		}
		if (preset_resolve(p, &env, &res, err) < 0)
			goto out;
		/* The agent's own login token: it must read it to log in; no other agent's. */
		for (const char *const *t = p->secrets; t != NULL && *t != NULL; t++)
			policy_rules_add(layer, POLICY_FS_ALLOW_READ, *t, origin);
	}
	if (o->home != NULL && preset_provide(&res, o->home, o->workspace, !o->provide, err) < 0) {
		cordon_err_wrap(err, "--profile %s", o->profile);
		goto out;
	}
	add_all(layer, POLICY_NET_ALLOWED_DOMAINS, &res.domains, origin);
	add_all(layer, POLICY_FS_ALLOW_WRITE, &res.state, origin);
	add_all(layer, POLICY_FS_ALLOW_WRITE, &res.caches, origin);
	add_all(layer, POLICY_FS_ALLOW_WRITE, &res.writable, origin);
	add_all(layer, POLICY_FS_DENY_WRITE, &res.readonly, origin);
	add_all(layer, POLICY_CRED_ENV_ALLOW, &res.env_pass, origin);
	for (size_t i = 0; i < res.n_rules; i++) {
		const struct preset_rule *pr = &res.rules[i];
		struct policy_net_rule nr = { .origin = origin };
		const char **methods, **paths;
		size_t nm = 0;

		while (pr->methods[nm] != NULL)
			nm++;
		methods = xcalloc(nm + 1, sizeof(*methods));
		policy_pool_add(layer, (char *)methods);
		for (size_t k = 0; k < nm; k++)
			methods[k] = policy_strdup(layer, pr->methods[k]);
		paths = xcalloc(pr->paths.n + 1, sizeof(*paths));
		policy_pool_add(layer, (char *)paths);
		for (size_t k = 0; k < pr->paths.n; k++)
			paths[k] = policy_strdup(layer, pr->paths.v[k]);
		nr.host = policy_strdup(layer, pr->host);
		nr.methods = methods;
		nr.paths = paths;
		policy_net_rule_add(layer, &nr);
	}
	for (size_t i = 0; i < res.n_inject; i++) {
		const struct preset_inject *pi = &res.inject[i];
		struct policy_inject in;

		memset(&in, 0, sizeof(in));
		in.host = policy_strdup(layer, pi->host);
		in.header = policy_strdup(layer, pi->header);
		in.from_env = policy_strdup(layer, pi->from_env);
		in.prefix = pi->prefix ? policy_strdup(layer, pi->prefix) : NULL;
		in.origin = origin;
		policy_inject_add(layer, &in);
	}
	for (size_t i = 0; i < res.env_set.n; i++)
		if (strncmp(res.env_set.v[i], "CORDON_PROFILE=", 15) != 0)
			policy_env_set_add(layer, res.env_set.v[i], origin);
	{
		char assignment[300];

		snprintf(assignment, sizeof(assignment), "CORDON_PROFILE=%s", o->profile);
		policy_env_set_add(layer, assignment, origin);
	}
	default_limits(layer, &res, origin);
	for (size_t i = 0; i < res.notes.n; i++)
		policy_note(layer, "profile: %s", res.notes.v[i]);
	r = 0;
out:
	preset_resolved_free(&res);
	return r;
}

/*
 * The presets' credentials.inject entries give way to the user's word on
 * the same variable, from any layer above the profile: the user's own
 * inject entry for it (which then is the only one, not doubled), or an
 * allow entry in credentials.envVars naming it exactly (the way to pass
 * the key itself into the sandbox; a pattern does not count). Pure.
 */
static void
profile_injects_yield(struct cordon_policy *eff)
{
	const struct policy_rules *allow = &eff->lists[POLICY_CRED_ENV_ALLOW];
	_cleanup_free_ const struct policy_rule **why = xcalloc(eff->n_inject + 1, sizeof(*why));
	_cleanup_free_ bool *drop = xcalloc(eff->n_inject + 1, sizeof(*drop));
	size_t k = 0;

	for (size_t i = 0; i < eff->n_inject; i++) {
		const struct policy_inject *in = &eff->inject[i];

		if (in->origin.layer != POLICY_LAYER_PROFILE)
			continue;
		for (size_t j = 0; j < eff->n_inject && !drop[i]; j++)
			drop[i] = eff->inject[j].origin.layer > POLICY_LAYER_PROFILE &&
				  eff->inject[j].from_env != NULL && /* not a fromFile entry */
				  strcmp(eff->inject[j].from_env, in->from_env) == 0;
		for (size_t j = 0; j < allow->n && !drop[i]; j++)
			if (allow->v[j].origin.layer > POLICY_LAYER_PROFILE &&
			    strcmp(allow->v[j].value, in->from_env) == 0) {
				drop[i] = true;
				why[i] = &allow->v[j];
			}
	}
	for (size_t i = 0; i < eff->n_inject; i++) {
		bool said = false;
		char where[300];

		if (why[i] == NULL) /* kept, or a user's entry (a fromFile one has no variable) */
			continue;
		for (size_t j = 0; j < i && !said; j++)
			said = why[j] != NULL &&
			       strcmp(eff->inject[j].from_env, eff->inject[i].from_env) == 0;
		if (said)
			continue;
		policy_origin_format(&why[i]->origin, where, sizeof(where));
		policy_note(eff,
			    "profile: $%s is passed into the sandbox, not injected: "
			    "credentials.envVars allows it (%s)",
			    eff->inject[i].from_env, where);
	}
	for (size_t i = 0; i < eff->n_inject; i++)
		if (!drop[i])
			eff->inject[k++] = eff->inject[i];
	eff->n_inject = k;
}

static void
hex_digest(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];

	cordon_sha256(buf, len, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int
policy_project_read(const char *dir, char hex[65], char **text, size_t *len, struct cordon_err *err)
{
	char path[PATH_MAX + 64];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -1;
	size_t n = 0;
	int r;

	if (text != NULL)
		*text = NULL;
	if (len != NULL)
		*len = 0;
	snprintf(path, sizeof(path), "%s/.cordon/settings.json", dir);
	r = policy_read_file(path, &buf, &n, err);
	if (r < 0 && err->code == EACCES) {
		/* The workspace itself may be closed: say so, not the file. */
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* Readable but not searchable (mode 0600): nothing in it opens. */
		if (dfd >= 0 && access(dir, X_OK) < 0 && errno == EACCES) {
			cordon_err_set(err, EACCES,
				       "workspace %s cannot be entered (no search "
				       "permission)",
				       dir);
			return cordon_err_hint(
			    err,
			    "cordon runs as uid %u here: make the directory "
			    "searchable for it (chmod u+x), or run cordon as its "
			    "owner",
			    (unsigned)getuid());
		}
		if (dfd < 0 && errno == EACCES) {
			cordon_err_set(err, EACCES, "workspace %s cannot be read", dir);
			return cordon_err_hint(
			    err,
			    "cordon runs as uid %u here: make the directory "
			    "readable for it (chmod), or run cordon as its owner",
			    (unsigned)getuid());
		}
	}
	if (r < 0)
		return -1;
	if (r == 1) {
		snprintf(hex, 65, "%s", POLICY_TRUST_NO_FILE);
		return 0;
	}
	hex_digest(buf, n, hex);
	if (text != NULL)
		*text = steal_ptr(buf);
	if (len != NULL)
		*len = n;
	return 0;
}

#define CHANGED_HINT                                                                               \
	"this workspace was trusted, but its .cordon/settings.json has changed since: review "     \
	"what it allows now (`cordon trust --show`), then run `cordon trust` again"

/*
 * The project layer: the bytes hashed for the trust check are the bytes
 * parsed, so a file swapped in between cannot ride on the old trust.
 */
static int
project_layer(struct cordon_policy *eff, const struct policy_load_opts *o,
	      const struct cordon_policy *managed, struct cordon_err *err)
{
	char hex[65], path[PATH_MAX + 64];
	_cleanup_free_ char *text = NULL;
	struct cordon_policy one;
	enum policy_trust state;
	size_t len = 0;
	int r;

	if (policy_project_read(o->workspace, hex, &text, &len, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	if (policy_trust_check(o->home, o->workspace, hex, &state, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/.cordon/settings.json", o->workspace);
	policy_init(&one);
	r = policy_parse(&one, text, len, path, POLICY_LAYER_PROJECT, 0, err);
	if (r == 0)
		r = policy_refuse_unenforced(&one, err);
	if (r == 0) {
		r = policy_merge(eff, &one, POLICY_LAYER_PROJECT, state == POLICY_TRUST_YES,
				 managed, err);
		if (r < 0 && state == POLICY_TRUST_CHANGED)
			cordon_err_hint(err, CHANGED_HINT);
	}
	policy_free(&one);
	return r;
}

int
policy_project_review(const char *home, const char *dir, char hex[65], char **widen,
		      struct cordon_err *err)
{
	struct policy_load_opts o = { .home = home };
	struct cordon_policy base, one;
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX + 64];
	size_t len = 0;
	int r;

	*widen = NULL;
	if (policy_project_read(dir, hex, &text, &len, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	if (policy_load(&base, &o, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/.cordon/settings.json", dir);
	policy_init(&one);
	r = policy_parse(&one, text, len, path, POLICY_LAYER_PROJECT, 0, err);
	if (r == 0)
		r = policy_refuse_unenforced(&one, err);
	if (r == 0)
		*widen = policy_widenings(&base, &one);
	policy_free(&one);
	policy_free(&base);
	return r;
}

int
policy_load(struct cordon_policy *eff, const struct policy_load_opts *o, struct cordon_err *err)
{
	struct cordon_policy managed, layer;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int r = -1;

	policy_init(eff);
	policy_init(&managed);
	policy_init(&layer);
	if (policy_load_file(&managed, policy_managed_path(), POLICY_LAYER_MANAGED,
			     POLICY_PARSE_MANAGED, err) < 0)
		goto out;
	policy_builtin(&layer);
	if (policy_merge(eff, &layer, POLICY_LAYER_BUILTIN, true, &managed, err) < 0)
		goto out;
	policy_free(&layer);
	if (o->profile != NULL) {
		if (profile_layer(&layer, o, err) < 0 ||
		    policy_merge(eff, &layer, POLICY_LAYER_PROFILE, true, &managed, err) < 0)
			goto out;
		/* Not a policy list (nothing to merge or lock): carried as is. */
		for (size_t i = 0; i < layer.env_set.n; i++)
			policy_env_set_add(eff, layer.env_set.v[i].value,
					   layer.env_set.v[i].origin);
		policy_free(&layer);
	}
	if (policy_config_dir(o->home, dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/settings.json", dir);
		if (merge_file(eff, path, POLICY_LAYER_USER, 0, true, &managed, err) < 0)
			goto out;
	}
	if (o->claude_settings) {
		if (o->home == NULL) {
			cordon_err_set(err, 0, "--claude-settings: no home directory");
			cordon_err_hint(err, "set HOME");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/.claude/settings.json", o->home);
		if (merge_file(eff, path, POLICY_LAYER_CLAUDE, POLICY_PARSE_CLAUDE, true, &managed,
			       err) < 0)
			goto out;
	}
	if (o->workspace != NULL && project_layer(eff, o, &managed, err) < 0)
		goto out;
	if (o->policy_file != NULL) {
		struct stat st;

		if (stat(o->policy_file, &st) < 0) {
			cordon_err_set(err, errno, "--policy %s", o->policy_file);
			cordon_err_hint(err, "give the path of a settings file");
			goto out;
		}
		if (merge_file(eff, o->policy_file, POLICY_LAYER_CLI, 0, true, &managed, err) < 0)
			goto out;
	}
	if (o->cli != NULL && policy_merge(eff, o->cli, POLICY_LAYER_CLI, true, &managed, err) < 0)
		goto out;
	if (policy_merge(eff, &managed, POLICY_LAYER_MANAGED, true, &managed, err) < 0)
		goto out;
	profile_injects_yield(eff);
	/* each file was checked alone; a bypass and a rule may come from two layers */
	if (policy_check_tls_bypass(eff, err) < 0)
		goto out;
	r = 0;
out:
	policy_free(&managed);
	policy_free(&layer);
	if (r < 0)
		policy_free(eff);
	return r;
}

/* ---- trust store ---- */

static int
trust_path(const char *home, char *buf, size_t len, struct cordon_err *err)
{
	char dir[PATH_MAX];

	if (policy_config_dir(home, dir, sizeof(dir)) < 0 ||
	    (size_t)snprintf(buf, len, "%s/trusted.json", dir) >= len) {
		cordon_err_set(err, 0, "no place for the trust store");
		return cordon_err_hint(err, "set HOME (or XDG_CONFIG_HOME)");
	}
	return 0;
}

void
policy_trust_free(struct policy_trust_entry *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].dir);
		free(v[i].sha256);
	}
	free(v);
}

int
policy_trust_list(const char *home, struct policy_trust_entry **v, size_t *n,
		  struct cordon_err *err)
{
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX + 16];
	size_t len;
	int r;

	*v = NULL;
	*n = 0;
	if (trust_path(home, path, sizeof(path), err) < 0)
		return -1;
	r = policy_read_file(path, &text, &len, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	return policy_trust_parse(text, len, path, v, n, err);
}

int
policy_trust_check(const char *home, const char *dir, const char *digest, enum policy_trust *state,
		   struct cordon_err *err)
{
	struct policy_trust_entry *v;
	size_t n;

	*state = POLICY_TRUST_NO;
	if (policy_trust_list(home, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].dir, dir) == 0)
			*state = v[i].sha256 != NULL && strcmp(v[i].sha256, digest) == 0
				     ? POLICY_TRUST_YES
				     : POLICY_TRUST_CHANGED;
	policy_trust_free(v, n);
	return 0;
}

int
policy_trust_set(const char *home, const char *dir, const char *digest, bool trust,
		 struct cordon_err *err)
{
	char path[PATH_MAX + 16], cdir[PATH_MAX];
	_cleanup_free_ char *out = NULL;
	struct policy_trust_entry *v;
	size_t n, k = 0;

	if (trust_path(home, path, sizeof(path), err) < 0)
		return -1;
	if (policy_trust_list(home, &v, &n, err) < 0)
		return -1;
	/* One entry per directory: the old one goes, the new one is appended. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].dir, dir) == 0) {
			free(v[i].dir);
			free(v[i].sha256);
			continue;
		}
		v[k++] = v[i];
	}
	if (trust) {
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k].dir = xstrdup(dir);
		v[k].sha256 = xstrdup(digest);
		k++;
	}
	out = policy_trust_render(v, k);
	policy_trust_free(v, k);
	policy_config_dir(home, cdir, sizeof(cdir));
	if (fd_mkdir_p(cdir, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", cdir);
	if (fd_replace_file(path, out, strlen(out), 0600) < 0)
		return cordon_err_set(err, errno, "write %s", path);
	return 0;
}
