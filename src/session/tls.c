/* SPDX-License-Identifier: MIT */
/*
 * The session's TLS interception: whether the policy needs it (a method or
 * path rule, a credential to inject, a tls.inspect host), the per-user CA
 * (made on first use), the CA bundle the sandbox trusts (and the Java trust
 * stores with the CA, session/javastore.c), the CA's directory masked
 * inside, and,
 * once the sandbox is cloned, the proxy told what to read and what to
 * inject. The credentials' values reach this process only then, from the
 * stash session/policy.c made before the clone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "policy/load.h"
#include "proxy/proxy.h"
#include "session/internal.h"

/* Where distributions keep the system's CA bundle (the first that exists). */
static const char *const dist_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Arch, Alpine, Gentoo */
	"/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
	"/etc/ssl/ca-bundle.pem",             /* openSUSE */
	"/etc/ssl/cert.pem",                  /* Alpine, others */
};

#define BUNDLE_MAX (16u << 20)

static bool
regular_file(const char *path, struct stat *st)
{
	return path != NULL && path[0] == '/' && stat(path, st) == 0 && S_ISREG(st->st_mode);
}

/* Does the policy need interception, given the variables that are set? */
static bool
tls_needed(const struct cordon_policy *pol)
{
	if (pol->n_net_rules > 0 || pol->lists[POLICY_TLS_INSPECT].n > 0)
		return true;
	for (size_t i = 0; i < pol->n_inject; i++)
		if (pol->inject[i].from_file != NULL || getenv(pol->inject[i].from_env) != NULL)
			return true;
	return false;
}

static int
add_mount(struct sb_mount *mounts, size_t *n, size_t max, enum sb_mount_kind kind, const char *path,
	  const char *target, const char *origin, struct cordon_err *err)
{
	if (*n + 2 > max) /* one stays free for the audit log's mask */
		return cordon_err_set(err, E2BIG, "more than %zu path rules", max);
	memset(&mounts[*n], 0, sizeof(mounts[*n]));
	mounts[*n].kind = kind;
	mounts[*n].path = xstrdup(path);
	mounts[*n].target = (char *)(uintptr_t)target;
	mounts[*n].origin = (char *)(uintptr_t)origin;
	(*n)++;
	return 0;
}

/*
 * Is the bundle at path the base (sb; NULL: none) followed by the CA (crt)?
 * Its size, its end (the CA, which `cordon ca rotate` may have replaced
 * within the same second) and its age against the base's say so.
 */
static bool
bundle_fresh(const char *path, const struct stat *sb, const char *crt, size_t lc)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *tail = NULL;
	struct stat so;

	if (fd < 0 || fstat(fd, &so) < 0 ||
	    (uint64_t)so.st_size != (sb ? (uint64_t)sb->st_size + 1 : 0) + lc)
		return false;
	if (sb != NULL &&
	    (so.st_mtim.tv_sec < sb->st_mtim.tv_sec ||
	     (so.st_mtim.tv_sec == sb->st_mtim.tv_sec && so.st_mtim.tv_nsec < sb->st_mtim.tv_nsec)))
		return false;
	tail = xmalloc(lc + 1);
	return pread(fd, tail, lc, so.st_size - (off_t)lc) == (ssize_t)lc &&
	       memcmp(tail, crt, lc) == 0;
}

/*
 * The bundle: the host's bundle (SSL_CERT_FILE when the user set one, else
 * the distribution's) followed by the CA. Kept per base in the state
 * directory and rewritten when it is not that any more. The Java trust
 * stores' copies are kept beside it.
 */
static int
write_bundle(struct session_tls *t, const char *state, struct cordon_err *err)
{
	const char *base = NULL, *env = getenv("SSL_CERT_FILE");
	struct stat sb, so;
	char dir[PATH_MAX], hex[AUDIT_HASH_HEX + 1];
	_cleanup_free_ char *a = NULL, *b = NULL, *all = NULL;
	size_t la = 0, lb = 0;
	_cleanup_close_ int fa = -1, fb = -1;

	if (regular_file(env, &sb))
		base = env;
	for (size_t i = 0; base == NULL && i < ARRAY_SIZE(dist_bundles); i++)
		if (regular_file(dist_bundles[i], &sb))
			base = dist_bundles[i];
	/* the path clients look for, bound over with the merged bundle */
	t->dist[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(dist_bundles) && t->dist[0] == '\0'; i++) {
		char *real = fd_realpath(dist_bundles[i]);

		if (real != NULL && regular_file(real, &so) && strlen(real) < sizeof(t->dist))
			memcpy(t->dist, real, strlen(real) + 1);
		free(real);
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/tls", state) >= sizeof(dir) - 32 ||
	    audit_sha256_hex(base ? base : "", base ? strlen(base) : 0, hex) < 0)
		return cordon_err_set(err, ENAMETOOLONG, "%s/tls", state);
	if ((size_t)snprintf(t->bundle, sizeof(t->bundle), "%s/bundle-%.16s.pem", dir, hex) >=
	    sizeof(t->bundle))
		return cordon_err_set(err, ENAMETOOLONG, "%s", dir);
	fb = open(t->ca.crt, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	b = fb < 0 ? NULL : fd_read_whole(fb, BUNDLE_MAX, &lb);
	if (b == NULL)
		return cordon_err_set(err, errno, "read %s", t->ca.crt);
	session_java_stores(t, dir, b, lb);
	if (bundle_fresh(t->bundle, base ? &sb : NULL, b, lb))
		return 0;
	if (fd_mkdir_p(dir, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", dir);
	if (base != NULL) {
		fa = open(base, O_RDONLY | O_CLOEXEC);
		a = fa < 0 ? NULL : fd_read_whole(fa, BUNDLE_MAX, &la);
		if (a == NULL)
			return cordon_err_set(err, errno, "read %s", base);
	}
	all = xmalloc(la + 1 + lb);
	memcpy(all, a ? a : "", la);
	if (base != NULL)
		all[la++] = '\n';
	memcpy(all + la, b, lb);
	if (fd_replace_file(t->bundle, all, la + lb, 0644) < 0)
		return cordon_err_set(err, errno, "write %s", t->bundle);
	log_debug("CA bundle %s from %s and %s", t->bundle, base ? base : "(none)", t->ca.crt);
	return 0;
}

int
session_tls_prepare(struct session_tls *t, const struct session_policy *sp, struct sb_mount *mounts,
		    size_t *n_mounts, size_t max, struct cordon_err *err)
{
	const struct cordon_policy *pol = &sp->pol;
	const char *home = sp->have_home ? sp->home : NULL;
	char cfg[PATH_MAX], state[PATH_MAX + 32];
	const char *x = getenv("XDG_STATE_HOME");
	struct stat st;
	bool created = false;

	t->on = false;
	if (policy_config_dir(home, cfg, sizeof(cfg)) < 0) {
		if (!tls_needed(pol))
			return 0;
		cordon_err_set(err, 0, "no configuration directory for the interception CA");
		return cordon_err_hint(err, "set HOME");
	}
	if (px_ca_paths_for(cfg, &t->ca, err) < 0)
		return -1;
	for (size_t i = 0; i < pol->n_inject; i++) {
		const struct policy_inject *in = &pol->inject[i];
		const char *unset =
		    in->from_env != NULL && getenv(in->from_env) == NULL ? in->from_env
		    : in->basic_user_env != NULL && getenv(in->basic_user_env) == NULL
			? in->basic_user_env
			: NULL;

		if (unset != NULL)
			log_warnx("warning: credentials.inject: %s is not set; nothing is injected "
				  "into requests to %s",
				  unset, in->host);
	}
	if (tls_needed(pol)) {
		if (px_ca_ensure(&t->ca, &created, err) < 0)
			return cordon_err_wrap(err, "interception CA");
		if (created)
			log_msg(LOG_LEVEL_WARN, 0,
				"made the interception CA %s (trusted only inside sandboxes; "
				"`cordon ca show`)",
				t->ca.crt);
		if (x != NULL && x[0] == '/')
			snprintf(state, sizeof(state), "%s/cordon", x);
		else if (home != NULL)
			snprintf(state, sizeof(state), "%s/.local/state/cordon", home);
		else
			snprintf(state, sizeof(state), "/var/tmp/cordon-%u", (unsigned)getuid());
		if (write_bundle(t, state, err) < 0)
			return cordon_err_wrap(err, "interception CA bundle");
		if (add_mount(mounts, n_mounts, max, SB_MOUNT_RO, t->bundle,
			      SESSION_CA_BUNDLE_INSIDE, "interception CA bundle", err) < 0 ||
		    add_mount(mounts, n_mounts, max, SB_MOUNT_RO, t->ca.crt, SESSION_CA_CERT_INSIDE,
			      "interception CA", err) < 0 ||
		    (t->dist[0] != '\0' && add_mount(mounts, n_mounts, max, SB_MOUNT_RO, t->bundle,
						     t->dist, "interception CA bundle", err) < 0))
			return -1;
		for (size_t i = 0; i < t->n_java; i++)
			if (add_mount(mounts, n_mounts, max, SB_MOUNT_RO, t->java[i].merged,
				      t->java[i].target,
				      "Java trust store with the interception CA", err) < 0)
				return -1;
		t->on = true;
	}
	/* the key never inside, by any path: mask the directory (as the audit log) */
	if (lstat(t->ca.dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *real = fd_realpath(t->ca.dir);
		int r;

		if (real == NULL)
			return cordon_err_set(err, errno, "%s", t->ca.dir);
		r = add_mount(mounts, n_mounts, max, SB_MOUNT_MASK, real, NULL,
			      "interception CA key", err);
		free(real);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The stash of credentials (session/policy.c): NAME\0VALUE\0 records. */
static int
add_injections(struct session_policy *sp, struct px_proxy *px, struct cordon_err *err)
{
	const struct cordon_policy *pol = &sp->pol;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = 0;

	if (!sp->inject_open)
		return 0;
	if (lseek(sp->inject_fd, 0, SEEK_SET) < 0 ||
	    (buf = fd_read_whole(sp->inject_fd, 1u << 20, &len)) == NULL) {
		r = cordon_err_set(err, errno, "read the credentials to inject");
		goto out;
	}
	for (size_t i = 0; i < pol->n_inject && r == 0; i++) {
		const struct policy_inject *in = &pol->inject[i];
		const char *key = in->from_env, *user = in->basic_user;
		char path[PATH_MAX];

		if (in->from_file != NULL) {
			if (session_inject_file_path(sp, in->from_file, path, sizeof(path)) < 0)
				continue; /* cannot be: the file was read by this name */
			key = path;
		}
		if (in->basic_user_env != NULL && (user = getenv(in->basic_user_env)) == NULL)
			continue; /* warned by session_tls_prepare */
		for (size_t o = 0; o < len;) {
			const char *name = buf + o, *value = name + strlen(name) + 1;

			o = (size_t)(value - buf) + strlen(value) + 1;
			if (strcmp(name, key) != 0)
				continue;
			r = in->header != NULL
				? px_proxy_add_inject(px, in->host, in->header, key, in->prefix,
						      value, err)
				: px_proxy_add_inject_basic(px, in->host, key, user, value, err);
			break;
		}
	}
	explicit_bzero(buf, len);
out:
	close(sp->inject_fd);
	sp->inject_open = false;
	return r;
}

int
session_tls_start(struct session_tls *t, struct session_policy *sp, struct px_proxy *px,
		  struct cordon_err *err)
{
	const struct cordon_policy *pol = &sp->pol;

	if (!t->on) {
		if (sp->inject_open)
			close(sp->inject_fd);
		sp->inject_open = false;
		return 0;
	}
	if (px_proxy_set_ca(px, t->ca.crt, t->ca.key, err) < 0)
		return cordon_err_wrap(err, "interception CA");
	for (size_t i = 0; i < pol->n_net_rules; i++) {
		const struct policy_net_rule *nr = &pol->net_rules[i];
		char origin[PATH_MAX + 64];

		policy_origin_format(&nr->origin, origin, sizeof(origin));
		if (px_proxy_add_http_rule(px, nr->host, nr->methods, nr->paths, origin, err) < 0)
			return -1;
	}
	for (int b = 0; b < 2; b++) {
		const struct policy_rules *r =
		    &pol->lists[b ? POLICY_TLS_BYPASS : POLICY_TLS_INSPECT];

		for (size_t i = 0; i < r->n; i++)
			if (px_proxy_add_tls_host(px, r->v[i].value, b, err) < 0)
				return -1;
	}
	return add_injections(sp, px, err);
}
