/* SPDX-License-Identifier: MIT */
/*
 * The session's policy: its layers loaded and planned into mounts, the
 * command's environment, the quarantine snapshot and, after the session,
 * the quarantine pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "policy/internal.h"
#include "policy/load.h"
#include "policy/plan.h"
#include "policy/policy.h"
#include "presets/presets.h"
#include "cli/policy_run.h"
#include "session/internal.h"
#include "session/branch.h"
#include "supervisor/quarantine.h"

extern char **environ;

int
session_home(char *buf, size_t len)
{
	char *real;

	if (policy_home(buf, len) < 0)
		return -1;
	real = realpath(buf, NULL);
	if (real != NULL && strlen(real) < len)
		memcpy(buf, real, strlen(real) + 1);
	free(real);
	return 0;
}

static enum sb_mount_kind
sb_kind(enum policy_mount_kind k)
{
	switch (k) {
	case POLICY_MOUNT_RW:
		return SB_MOUNT_RW;
	case POLICY_MOUNT_RO:
		return SB_MOUNT_RO;
	case POLICY_MOUNT_MASK:
	default:
		return SB_MOUNT_MASK;
	}
}

int
session_add_domain(struct cordon_session *s, const char *pattern, bool deny, struct cordon_err *err)
{
	struct session_policy *sp = &s->policy;

	if (sp->n_domains == ARRAY_SIZE(sp->domains)) {
		cordon_err_set(err, E2BIG, "more than %zu --allow-domain/--deny-domain",
			       ARRAY_SIZE(sp->domains));
		return cordon_err_hint(err, "put long lists in a settings file");
	}
	sp->domains[sp->n_domains].pattern = pattern;
	sp->domains[sp->n_domains].deny = deny;
	sp->n_domains++;
	return 0;
}

/*
 * PATH directories inside the workspace (./bin, node_modules/.bin put in
 * PATH by hand, a workspace that is the home with ~/.local/bin): a program
 * planted there runs outside as soon as the user types its name. They are
 * read-only inside, and quarantined at the end when they appear. The
 * active virtualenv's bin is left writable: `pip install` must work in it,
 * and it is what the user asked for by activating it (cordon-policy(5)).
 */
static void
add_path_dirs(struct cordon_policy *layer, const char *workspace)
{
	struct policy_origin o = { POLICY_LAYER_BUILTIN, "PATH", 0, 0 };
	const char *path = getenv("PATH"), *venv = getenv("VIRTUAL_ENV");
	size_t wl = strlen(workspace);
	char venv_bin[PATH_MAX] = "";

	if (path == NULL)
		return;
	if (venv != NULL && venv[0] == '/')
		snprintf(venv_bin, sizeof(venv_bin), "%s/bin", venv);
	while (*path) {
		size_t l = strcspn(path, ":");
		char dir[PATH_MAX];
		_cleanup_free_ char *real = NULL;

		if (l > 0 && l < sizeof(dir) && path[0] == '/') {
			memcpy(dir, path, l);
			dir[l] = '\0';
			real = fd_realpath(dir);
			if (real != NULL && strncmp(real, workspace, wl) == 0 && real[wl] == '/' &&
			    strcmp(dir, venv_bin) != 0)
				policy_rules_add(layer, POLICY_FS_DENY_WRITE, real, o);
		}
		path += l + (path[l] == ':');
	}
}

static int read_inject_file(struct session_policy *sp, const struct policy_inject *in,
			    struct sb_mount *mounts, size_t *n_mounts, size_t max,
			    struct cordon_err *err);

/* Add dir's mask unless it holds a workspace or is the invoker's home. */
static void
hide_home(struct cordon_policy *layer, const char *dir, const struct policy_ctx *ws,
	  const char *home)
{
	struct policy_origin o = { POLICY_LAYER_BUILTIN, "other users' homes", 0, 0 };
	_cleanup_free_ char *real = fd_realpath(dir), *rule = NULL;
	struct stat st;

	if (real == NULL || strcmp(real, "/") == 0 || stat(real, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    policy_path_within(ws->workspace, real) ||
	    (home != NULL && policy_path_within(home, real)) ||
	    (home != NULL && policy_path_within(real, home)))
		return;
	for (size_t k = 0; k < ws->n_more; k++)
		if (policy_path_within(ws->more[k], real))
			return;
	rule = session_policy_rule_of(real);
	policy_rules_add(layer, POLICY_FS_DENY_READ, rule, o);
}

/*
 * Root runs cordon: other users' homes are readable to root, and so to a
 * sandbox that keeps root's uid (their world-readable .npmrc, .env). Every
 * directory in /home and the home of every ordinary account (uid 1000 and
 * up) is masked, but the one that holds the workspace and the invoker's.
 */
static void
hide_other_homes(struct cordon_policy *layer, const struct policy_ctx *ws, const char *home)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct passwd *pw;
	struct dirent *e;

	if (geteuid() != 0)
		return;
	d = opendir("/home");
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "/home/%s", e->d_name) >= (int)sizeof(path))
			continue;
		hide_home(layer, path, ws, home);
	}
	setpwent();
	while ((pw = getpwent()) != NULL)
		if (pw->pw_uid >= 1000 && pw->pw_uid != 65534 && pw->pw_dir != NULL &&
		    pw->pw_dir[0] == '/')
			hide_home(layer, pw->pw_dir, ws, home);
	endpwent();
}

/*
 * The workspaces' own rules in the command-line layer: a further
 * workspace is an allowWrite (a denyWrite when read-only), a read-only
 * primary a denyWrite over itself. 0 or -1 (err).
 */
int
session_policy_workspace_rules(const struct session_policy *sp, const char *workspace,
			       struct cordon_policy *cli, struct cordon_err *err)
{
	if (sp->primary_ro &&
	    policy_add_rule(cli, POLICY_FS_DENY_WRITE, workspace, POLICY_LAYER_CLI, err) < 0)
		return -1;
	for (size_t i = 0; i < sp->n_extra; i++)
		if (policy_add_rule(cli,
				    sp->extra[i].ro ? POLICY_FS_DENY_WRITE : POLICY_FS_ALLOW_WRITE,
				    sp->extra[i].path, POLICY_LAYER_CLI, err) < 0)
			return -1;
	return 0;
}

/*
 * Each further read-write workspace must be writable in the plan: a rule
 * of the policy that takes that away (a denyWrite around it, a managed
 * lock) is refused rather than run with a workspace the user did not get.
 */
static int
workspaces_planned(const struct session_policy *sp, struct cordon_err *err)
{
	for (size_t i = 0; i < sp->n_extra; i++) {
		bool rw = false;

		for (size_t k = 0; k < sp->plan.n_mounts && !rw; k++)
			rw = sp->plan.mounts[k].kind == POLICY_MOUNT_RW &&
			     strcmp(sp->plan.mounts[k].path, sp->extra[i].path) == 0;
		if (!rw && !sp->extra[i].ro) {
			cordon_err_set(err, 0,
				       "workspace %s cannot be writable: the policy keeps it "
				       "read-only",
				       sp->extra[i].path);
			return cordon_err_hint(err,
					       "see `cordon policy show --mounts -w %s`, or give "
					       "it as %s:ro",
					       sp->extra[i].path, sp->extra[i].path);
		}
	}
	return 0;
}

void
session_policy_ctx(const struct session_policy *sp, const char *workspace, const char **more,
		   struct policy_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->workspace = workspace;
	ctx->home = sp->have_home ? sp->home : NULL;
	for (size_t i = 0; i < sp->n_extra; i++)
		more[i] = sp->extra[i].path;
	ctx->more = more;
	ctx->n_more = sp->n_extra;
}

int
session_policy_apply(struct session_policy *sp, const char *workspace, struct sb_mount *mounts,
		     size_t *n_mounts, size_t max, struct cordon_err *err)
{
	struct cordon_policy cli, git;
	struct policy_load_opts lo;
	struct policy_ctx ctx;
	const char *more[SESSION_MAX_WORKSPACES];
	size_t k = 0;
	int r;

	policy_init(&cli);
	policy_init(&git);
	sp->have_home = session_home(sp->home, sizeof(sp->home)) == 0;
	session_policy_ctx(sp, workspace, more, &ctx);
	for (size_t i = 0; i < *n_mounts; i++) {
		struct sb_mount *m = &mounts[i];
		enum policy_list list;

		if (m->origin == NULL || strcmp(m->origin, "command line") != 0 ||
		    m->target != NULL) {
			mounts[k++] = *m;
			continue;
		}
		list = m->kind == SB_MOUNT_RW   ? POLICY_FS_ALLOW_WRITE
		       : m->kind == SB_MOUNT_RO ? POLICY_FS_DENY_WRITE
						: POLICY_FS_DENY_READ;
		r = policy_add_rule(&cli, list, m->path, POLICY_LAYER_CLI, err);
		free(m->path);
		m->path = NULL;
		if (r < 0) {
			for (size_t j = i + 1; j < *n_mounts; j++)
				mounts[k++] = mounts[j];
			*n_mounts = k;
			policy_free(&cli);
			return -1;
		}
	}
	*n_mounts = k;
	if (cli_run_policy_loopback_rules(sp, &cli, err) < 0 ||
	    session_policy_workspace_rules(sp, workspace, &cli, err) < 0) {
		policy_free(&cli);
		return -1;
	}
	for (size_t i = 0; i < sp->n_domains; i++)
		if (policy_add_rule(&cli,
				    sp->domains[i].deny ? POLICY_NET_DENIED_DOMAINS
							: POLICY_NET_ALLOWED_DOMAINS,
				    sp->domains[i].pattern, POLICY_LAYER_CLI, err) < 0) {
			policy_free(&cli);
			return -1;
		}
	memset(&lo, 0, sizeof(lo));
	lo.workspace = workspace;
	lo.home = sp->have_home ? sp->home : NULL;
	lo.profile = sp->profile;
	lo.provide = true;
	lo.claude_settings = sp->claude_settings;
	lo.policy_file = sp->policy_file;
	lo.cli = &cli;
	r = policy_load(&sp->pol, &lo, err);
	policy_free(&cli);
	if (r < 0)
		return -1;
	sp->loaded = true;
	if (session_policy_add_git(sp, workspace, err) < 0) {
		policy_free(&git);
		return -1;
	}
	add_path_dirs(&git, workspace);
	for (size_t i = 0; i < sp->n_extra; i++)
		if (!sp->extra[i].ro)
			add_path_dirs(&git, sp->extra[i].path);
	if (session_branch_rules(sp->branch, &git, err) < 0) {
		policy_free(&git);
		return -1;
	}
	hide_other_homes(&git, &ctx, sp->have_home ? sp->home : NULL);
	r = policy_merge(&sp->pol, &git, POLICY_LAYER_BUILTIN, true, NULL, err);
	policy_free(&git);
	if (r < 0)
		return -1;
	if (policy_plan_build(&sp->pol, &ctx, sp->allow_degraded, &sp->plan, err) < 0 ||
	    workspaces_planned(sp, err) < 0)
		return -1;
	for (size_t i = 0; i < sp->pol.n_notes; i++) {
		/* A setting the user made that does not apply: always say so. */
		if (strncmp(sp->pol.notes[i], "ignored", 7) == 0)
			log_warnx("warning: %s", sp->pol.notes[i]);
		else
			log_info("policy: %s", sp->pol.notes[i]);
	}
	for (size_t i = 0; i < sp->plan.n_notes; i++) {
		if (strncmp(sp->plan.notes[i], "DEGRADED", 8) == 0)
			log_warnx("warning: %s", sp->plan.notes[i]);
		else
			log_info("policy: %s", sp->plan.notes[i]);
	}
	if (*n_mounts + sp->plan.n_mounts + 1 > max) {
		cordon_err_set(err, 0,
			       "the policy needs %zu mounts, more than the %zu this build "
			       "supports",
			       sp->plan.n_mounts, max - *n_mounts - 1);
		return cordon_err_hint(err, "use fewer or broader path rules (a directory rather "
					    "than its files)");
	}
	for (size_t i = 0; i < sp->plan.n_mounts; i++) {
		struct sb_mount *m = &mounts[(*n_mounts)++];

		memset(m, 0, sizeof(*m));
		m->kind = sb_kind(sp->plan.mounts[i].kind);
		m->path = xstrdup(sp->plan.mounts[i].path);
		m->origin = sp->plan.mounts[i].origin;
		log_debug("%s %s (%s)",
			  m->kind == SB_MOUNT_RW   ? "writable:"
			  : m->kind == SB_MOUNT_RO ? "read-only:"
						   : "hidden:",
			  m->path, m->origin);
	}
	/* after the plan's mounts: no allowRead rule reopens the file */
	for (size_t i = 0; i < sp->pol.n_inject; i++) {
		const char *f = sp->pol.inject[i].from_file;
		size_t j = 0;

		/* a file two entries name is read and masked once (the stash is by path) */
		while (
		    f != NULL && j < i &&
		    (sp->pol.inject[j].from_file == NULL || strcmp(sp->pol.inject[j].from_file, f)))
			j++;
		if (f != NULL && j == i &&
		    read_inject_file(sp, &sp->pol.inject[i], mounts, n_mounts, max, err) < 0)
			return -1;
	}
	return 0;
}

char *
session_policy_rule_of(const char *path)
{
	char *r = xstrdup(path);

	for (char *p = r; *p; p++)
		if (strchr("*?[{\\", *p) != NULL)
			*p = '?';
	return r;
}

/* One workspace's git directories into scan, their control files into sp->pol. */
static int
add_git(struct session_policy *sp, const char *workspace, struct qr_git_scan *scan, bool *scanned,
	struct cordon_err *err)
{
	struct policy_origin o = { POLICY_LAYER_BUILTIN, "git", 0, 0 };
	struct cordon_policy git;
	int r;

	if (*scanned)
		qr_git_scan_free(scan);
	qr_git_scan(workspace, sp->have_home ? sp->home : NULL, scan);
	*scanned = true;
	log_debug("git: %s: %zu repositories, %zu control files kept read-only (%zu entries read)",
		  workspace, scan->n_dirs, scan->n_paths, scan->walked);
	if (scan->truncated) {
		if (!sp->allow_degraded && policy_fail_if_unavailable(&sp->pol)) {
			cordon_err_set(
			    err, 0,
			    "the workspace has more git directories or files than cordon "
			    "looks through (%u git directories, %u control files, %u "
			    "directory entries, depth %u)",
			    QR_GIT_MAX_DIRS, QR_GIT_MAX_PATHS, POLICY_GLOB_MAX_ENTRIES,
			    POLICY_GLOB_MAX_DEPTH);
			return cordon_err_hint(err,
					       "run cordon in a smaller directory, or accept a "
					       "weaker sandbox explicitly with --allow-degraded");
		}
		log_warnx("warning: DEGRADED: the workspace is too large to find every git "
			  "directory; hooks and configs beyond the limit are not protected");
	}
	policy_init(&git);
	for (size_t i = 0; i < scan->n_paths; i++) {
		_cleanup_free_ char *rule = NULL;

		/* A `.git` directory itself stays writable: only its control files are bound. */
		if (scan->paths[i].kind == QR_GIT_DOTGIT)
			continue;
		rule = session_policy_rule_of(scan->paths[i].path);
		policy_rules_add(&git, POLICY_FS_DENY_WRITE, rule, o);
	}
	r = policy_merge(&sp->pol, &git, POLICY_LAYER_BUILTIN, true, NULL, err);
	policy_free(&git);
	return r;
}

int
session_policy_add_git(struct session_policy *sp, const char *workspace, struct cordon_err *err)
{
	if (add_git(sp, workspace, &sp->git, &sp->scanned, err) < 0)
		return -1;
	for (size_t i = 0; i < sp->n_extra; i++) {
		struct session_workspace *w = &sp->extra[i];

		if (!w->ro && add_git(sp, w->path, &w->git, &w->scanned, err) < 0)
			return -1;
	}
	return 0;
}

/* Is path writable inside by the plan (the workspace, or a read-write bind)? */
static bool
plan_writable(const struct policy_plan *plan, const char *workspace, const char *path)
{
	if (policy_path_within(path, workspace))
		return true;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (plan->mounts[i].kind == POLICY_MOUNT_RW &&
		    policy_path_within(path, plan->mounts[i].path))
			return true;
	return false;
}

/*
 * The protected paths of one snapshot: those in workspace ws when it is a
 * further one; when it is the primary (n_extra others given), all but
 * those in a further workspace. Borrowed strings in a malloc'd array.
 */
static char **
paths_for(const struct session_policy *sp, char *const *v, size_t n, const char *ws, bool primary,
	  size_t *out_n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	*out_n = 0;
	for (size_t i = 0; i < n; i++) {
		bool mine = !primary && policy_path_within(v[i], ws);

		if (primary) {
			mine = true;
			for (size_t k = 0; k < sp->n_extra && mine; k++)
				mine =
				    sp->extra[k].ro || !policy_path_within(v[i], sp->extra[k].path);
		}
		if (mine)
			out[(*out_n)++] = v[i];
	}
	return out;
}

/* One workspace's snapshot: its own protected paths, git scan and globs. 0 or -1. */
static int
snapshot_one(struct session_policy *sp, const char *ws, bool primary, const struct qr_git_scan *git,
	     char *const *agent_state, size_t n_agent_state, struct qr_snapshot *snap,
	     struct cordon_err *err)
{
	struct qr_inputs in = {
		.lifted = sp->plan.lifted,
		.n_lifted = sp->plan.n_lifted,
		.globs = sp->plan.protect_globs,
		.n_globs = sp->plan.n_protect_globs,
		.git = git,
		.agent_state = agent_state,
		.n_agent_state = n_agent_state,
		.root = primary ? session_branch_root(sp->branch) : NULL,
	};
	_cleanup_free_ char **protect =
	    paths_for(sp, sp->plan.protect, sp->plan.n_protect, ws, primary, &in.n_protect);
	_cleanup_free_ char **watch =
	    paths_for(sp, sp->plan.watch, sp->plan.n_watch, ws, primary, &in.n_watch);

	/* Branch mode's refs and main HEAD: the host's git may change them meanwhile. */
	if (primary) {
		size_t k = 0;

		for (size_t i = 0; i < in.n_protect; i++)
			if (!session_branch_kept(sp->branch, protect[i], git))
				protect[k++] = protect[i];
		in.n_protect = k;
	}

	in.protect = protect;
	in.watch = watch;
	return qr_snapshot_take(snap, ws, &in, err);
}

int
session_policy_snapshot(struct session_policy *sp, const char *workspace, struct cordon_err *err)
{
	struct preset_strv launch = { 0 }, agent_state = { 0 };
	int r;

	/* The agents' state files with launch keys, where the sandbox can write them. */
	if (sp->have_home)
		preset_launch_files(sp->home, &launch);
	for (size_t i = 0; i < launch.n; i++)
		if (plan_writable(&sp->plan, workspace, launch.v[i]))
			preset_strv_add(&agent_state, launch.v[i]);
	r = snapshot_one(sp, workspace, true, sp->scanned ? &sp->git : NULL, agent_state.v,
			 agent_state.n, &sp->snap, err);
	preset_strv_free(&launch);
	preset_strv_free(&agent_state);
	if (r < 0)
		return -1;
	sp->snapped = true;
	/* Each further read-write workspace: the same comparison at the end. */
	for (size_t i = 0; i < sp->n_extra; i++) {
		struct session_workspace *w = &sp->extra[i];

		if (w->ro)
			continue;
		if (snapshot_one(sp, w->path, false, w->scanned ? &w->git : NULL, NULL, 0, &w->snap,
				 err) < 0)
			return -1;
		w->snapped = true;
	}
	return 0;
}

/* The name of NAME=VALUE (len bytes) into buf; "" when it does not fit. */
static const char *
name_of(const char *var, size_t len, char *buf, size_t size)
{
	if (len >= size)
		len = 0;
	memcpy(buf, var, len);
	buf[len] = '\0';
	return buf;
}

static bool
injected(const struct cordon_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->n_inject; i++)
		if (pol->inject[i].from_env != NULL && strcmp(pol->inject[i].from_env, name) == 0)
			return true;
	return false;
}

/*
 * A credential the proxy injects: its value goes to a memfd (read back by
 * session/tls.c once the sandbox is cloned, closed before the command
 * runs), as the record NAME\0VALUE\0, never to this process's heap. false
 * when it could not be kept.
 */
static bool
stash(struct session_policy *sp, const char *name, const char *value)
{
	if (!sp->inject_open) {
		sp->inject_fd = memfd_create("cordon-inject", MFD_CLOEXEC);
		sp->inject_open = sp->inject_fd >= 0;
	}
	return sp->inject_open && fd_write_all(sp->inject_fd, name, strlen(name) + 1) == 0 &&
	       fd_write_all(sp->inject_fd, value, strlen(value) + 1) == 0;
}

/* A variable's value stashed; the sandbox gets a placeholder in its place. */
static void
stash_injected(struct session_policy *sp, const char *name, const char *value)
{
	char ph[600];

	if (!stash(sp, name, value)) {
		/* nothing is injected then: the variable is only scrubbed */
		log_warn("credentials.inject: cannot keep %s for the proxy", name);
		return;
	}
	snprintf(ph, sizeof(ph), "%s=cordon-injected-%s", name, name);
	sp->placeholders =
	    xrealloc(sp->placeholders, (sp->n_placeholders + 1) * sizeof(*sp->placeholders));
	sp->placeholders[sp->n_placeholders++] = xstrdup(ph);
}

int
session_inject_file_path(const struct session_policy *sp, const char *from_file, char *buf,
			 size_t len)
{
	int n;

	if (from_file[0] == '/')
		n = snprintf(buf, len, "%s", from_file);
	else if (sp->have_home)
		n = snprintf(buf, len, "%s%s", sp->home, from_file + 1);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * One credentials.inject fromFile: read on the host (a regular file, at
 * most SESSION_INJECT_FILE_MAX bytes, one trailing newline dropped),
 * stashed under its path, and the file masked inside (a mount appended
 * to mounts, on its real path, as denyRead masks a file). Any failure
 * refuses the run: a credential the user asked for is never silently left
 * out.
 */
static int
read_inject_file(struct session_policy *sp, const struct policy_inject *in, struct sb_mount *mounts,
		 size_t *n_mounts, size_t max, struct cordon_err *err)
{
	_cleanup_close_ int fd = -1;
	char *real;
	char path[PATH_MAX], why[160];
	char *buf;
	size_t len = 0;
	ssize_t n;
	struct stat st;
	int r = 0;

	if (session_inject_file_path(sp, in->from_file, path, sizeof(path)) < 0) {
		cordon_err_set(err, 0, "credentials.inject: no home directory for %s",
			       in->from_file);
		return cordon_err_hint(err, "set HOME, or give fromFile as an absolute path");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		cordon_err_set(err, errno, "credentials.inject: read %s (fromFile for %s)", path,
			       in->host);
		return cordon_err_hint(err, "make the file, or remove the entry from the policy");
	}
	if (!S_ISREG(st.st_mode))
		return cordon_err_set(err, EINVAL,
				      "credentials.inject: %s (fromFile for %s) is not a regular "
				      "file",
				      path, in->host);
	/* One buffer, never grown: no copy of the secret left behind in freed memory. */
	buf = xmalloc(SESSION_INJECT_FILE_MAX + 2);
	n = fd_read_all(fd, buf, SESSION_INJECT_FILE_MAX + 1);
	if (n < 0 || n > SESSION_INJECT_FILE_MAX) {
		explicit_bzero(buf, SESSION_INJECT_FILE_MAX + 2);
		free(buf);
		return cordon_err_set(err, n < 0 ? errno : EFBIG,
				      "credentials.inject: read %s (fromFile for %s; at most %u "
				      "bytes)",
				      path, in->host, SESSION_INJECT_FILE_MAX);
	}
	len = (size_t)n;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len)
		r = cordon_err_set(err, EINVAL,
				   "credentials.inject: %s (fromFile for %s) is empty or holds a "
				   "NUL byte",
				   path, in->host);
	else if (in->header != NULL && !policy_check_header_value(buf, why, sizeof(why)))
		/* refused now rather than when the proxy starts, and never quoting the value */
		r = cordon_err_set(
		    err, EINVAL,
		    "credentials.inject: %s (fromFile for %s) holds more than one line "
		    "or a control character and cannot be a header",
		    path, in->host);
	else if (!stash(sp, path, buf))
		r = cordon_err_set(err, errno, "credentials.inject: keep %s for the proxy", path);
	explicit_bzero(buf, SESSION_INJECT_FILE_MAX + 2);
	free(buf);
	if (r < 0)
		return -1;
	if (*n_mounts + 2 > max) /* one stays free for the audit log's mask */
		return cordon_err_set(err, E2BIG, "more than %zu path rules", max);
	real = fd_realpath(path);
	if (real == NULL)
		return cordon_err_set(err, errno, "credentials.inject: %s", path);
	memset(&mounts[*n_mounts], 0, sizeof(mounts[*n_mounts]));
	mounts[*n_mounts].kind = SB_MOUNT_MASK;
	mounts[*n_mounts].path = real;
	mounts[*n_mounts].origin = (char *)(uintptr_t) "credentials.inject fromFile";
	(*n_mounts)++;
	log_debug("hidden: %s (credentials.inject fromFile)", real);
	if (!sp->quiet)
		log_msg(LOG_LEVEL_WARN, 0,
			"read on the host, injected by the proxy for %s (masked inside): %s",
			in->host, path);
	return 0;
}

/*
 * The sandbox's pid 1 is a clone of this process and keeps a copy of its
 * memory (/proc/1/environ, and /proc/1/mem where pid 1 is dumpable): the
 * scrubbed values must not be in this process at all when it clones. The
 * environment moves to the heap without them, the variables the proxy
 * injects (credentials.inject) included, and the original strings are
 * wiped.
 */
static void
wipe_scrubbed(struct session_policy *sp, bool quiet)
{
	const struct cordon_policy *pol = &sp->pol;
	char **old = environ, **copy;
	char names[512] = "", kept[512] = "";
	size_t n = 0, k = 0, gone = 0, o = 0, ko = 0;

	while (old[n] != NULL)
		n++;
	copy = xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(old[i], '='), name[256];
		size_t len = eq ? (size_t)(eq - old[i]) : 0;
		bool secret = eq == NULL || len >= sizeof(name);

		if (!secret && injected(pol, name_of(old[i], len, name, sizeof(name)))) {
			stash_injected(sp, name, eq + 1);
			if (ko + len + 8 < sizeof(kept))
				ko += (size_t)snprintf(kept + ko, sizeof(kept) - ko, "%s%s",
						       ko ? ", " : "", name);
			explicit_bzero(eq + 1, strlen(eq + 1));
			continue;
		}
		if (!secret) {
			memcpy(name, old[i], len);
			name[len] = '\0';
			secret = policy_env_secret(pol, name, eq + 1);
			if (secret && o + len + 8 < sizeof(names))
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
						      gone ? ", " : "", name);
			else if (secret && o + 6 < sizeof(names) && !strstr(names, "..."))
				o += (size_t)snprintf(names + o, sizeof(names) - o, ", ...");
		}
		if (!secret)
			copy[k++] = xstrdup(old[i]);
		else if (eq != NULL)
			explicit_bzero(eq + 1, strlen(eq + 1));
		gone += secret;
	}
	environ = copy;
	/* Once, so that a tool that fails inside for want of its token is explained. */
	if (gone > 0 && !quiet)
		log_msg(LOG_LEVEL_WARN, 0,
			"%zu secret variable%s kept out of the sandbox: %s (allow one with "
			"credentials.envVars mode \"allow\")",
			gone, gone == 1 ? "" : "s", names);
	if (ko > 0 && !quiet)
		log_msg(LOG_LEVEL_WARN, 0,
			"kept on the host, injected by the proxy (the sandbox sees a "
			"placeholder): %s",
			kept);
}

/* env plus the placeholders of the injected credentials (strings borrowed from sp). */
static char **
placeholder_env(char **env, const struct session_policy *sp)
{
	size_t n = 0;

	if (sp->n_placeholders == 0)
		return env;
	while (env[n] != NULL)
		n++;
	env = xrealloc(env, (n + sp->n_placeholders + 1) * sizeof(*env));
	for (size_t i = 0; i < sp->n_placeholders; i++)
		env[n++] = sp->placeholders[i];
	env[n] = NULL;
	return env;
}

/*
 * env plus the profile presets' NAME=VALUE settings (IS_SANDBOX=1, the
 * registry read from the user's configuration, ...), replacing any variable
 * of the same name. Returns a new array (env freed); strings borrowed from
 * env and from pol.
 */
static char **
profile_env(char **env, const struct cordon_policy *pol)
{
	size_t n = 0, k = 0;
	char **out;

	if (pol->env_set.n == 0)
		return env;
	while (env[n] != NULL)
		n++;
	out = xcalloc(n + pol->env_set.n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		int replaced = 0;

		for (size_t j = 0; j < pol->env_set.n && !replaced; j++) {
			const char *a = pol->env_set.v[j].value, *eq = strchr(a, '=');

			replaced = eq != NULL && strncmp(env[i], a, (size_t)(eq - a + 1)) == 0;
		}
		if (!replaced)
			out[k++] = env[i];
	}
	for (size_t j = 0; j < pol->env_set.n; j++) {
		const char *a = pol->env_set.v[j].value, *eq = strchr(a, '=');
		int later = 0;

		/* Two presets may set the same variable: the later one wins. */
		for (size_t l = j + 1; l < pol->env_set.n && eq != NULL && !later; l++)
			later = strncmp(pol->env_set.v[l].value, a, (size_t)(eq - a + 1)) == 0;
		if (!later)
			out[k++] = (char *)(uintptr_t)a;
	}
	out[k] = NULL;
	free(env);
	return out;
}

char **
session_policy_env(struct session_policy *sp, char *const *envp)
{
	size_t gone = 0;
	char **env;

	if (sp->loaded && envp == environ) {
		wipe_scrubbed(sp, sp->quiet);
		envp = environ;
	}

	if (!sp->loaded) {
		/* No policy (cannot happen after a successful apply): scrub by the built-ins. */
		struct cordon_policy b;

		policy_init(&b);
		policy_builtin(&b);
		env = policy_env_scrub(&b, envp, &gone);
		policy_free(&b);
		return env;
	}
	env = policy_env_scrub(&sp->pol, envp, &gone);
	log_debug("%zu environment variables left out of the sandbox", gone);
	return placeholder_env(profile_env(env, &sp->pol), sp);
}

void
session_policy_state_dir(const struct session_policy *sp, char *out, size_t len)
{
	const char *x = getenv("XDG_STATE_HOME");

	if (x != NULL && x[0] == '/')
		snprintf(out, len, "%s/cordon", x);
	else if (sp->have_home)
		snprintf(out, len, "%s/.local/state/cordon", sp->home);
	else
		snprintf(out, len, "/var/tmp/cordon-%u", (unsigned)getuid());
}

/*
 * qr_run on one snapshot, its report on stderr and in the audit log. A
 * further workspace (nth > 0) has its own quarantine directory, so that
 * the same relative path in two workspaces never meets, and its lines
 * name it.
 */
static int
finish_one(struct qr_snapshot *snap, const char *state, size_t nth, struct cordon_audit *audit,
	   struct cordon_err *err)
{
	int r;

	if (nth > 0 && snap->qdir == NULL)
		snap->qdir = qr_qdir_name(state, nth);
	r = qr_run(snap, state, err);
	for (size_t i = 0; i < snap->n_report; i++) {
		_cleanup_free_ char *line =
		    nth > 0 ? xasprintf("%s: %s", snap->workspace, snap->report[i]) : NULL;
		struct audit_violation v = { .kind = "quarantine",
					     .what = line != NULL ? line : snap->report[i],
					     .reason = "made safe after the session" };
		struct cordon_err aerr = { 0 };

		fprintf(stderr, "cordon: %s\n", v.what);
		if (audit != NULL)
			audit_violation(audit, &v, &aerr);
	}
	return r;
}

int
session_policy_finish(struct session_policy *sp, struct cordon_audit *audit, struct cordon_err *err)
{
	char state[PATH_MAX + 64];
	int r;

	if (!sp->snapped)
		return 0;
	if (sp->finished) {
		if (sp->finish_r < 0)
			*err = sp->finish_err;
		return sp->finish_r;
	}
	sp->finished = true;
	session_policy_state_dir(sp, state, sizeof(state));
	r = finish_one(&sp->snap, state, 0, audit, &sp->finish_err);
	for (size_t i = 0; i < sp->n_extra; i++) {
		struct cordon_err e = { 0 };
		int q;

		if (!sp->extra[i].snapped)
			continue;
		/* Every workspace is made safe, even after one that could not be. */
		q = finish_one(&sp->extra[i].snap, state, i + 1, audit, &e);
		if (q < 0 && r >= 0)
			sp->finish_err = e;
		r = q < 0 || r < 0 ? -1 : r + q;
	}
	sp->finish_r = r < 0 ? -1 : 0;
	if (r < 0) {
		*err = sp->finish_err;
		return -1;
	}
	if (r > 0)
		fprintf(stderr,
			"cordon: %d protected item%s made safe after the session; review "
			"them before trusting this workspace again\n",
			r, r == 1 ? "" : "s");
	return 0;
}

void
session_policy_free(struct session_policy *sp)
{
	if (sp->snapped)
		qr_snapshot_free(&sp->snap);
	sp->snapped = false;
	if (sp->scanned)
		qr_git_scan_free(&sp->git);
	sp->scanned = false;
	for (size_t i = 0; i < sp->n_extra; i++) {
		struct session_workspace *w = &sp->extra[i];

		if (w->snapped)
			qr_snapshot_free(&w->snap);
		if (w->scanned)
			qr_git_scan_free(&w->git);
		free(w->path);
	}
	sp->n_extra = 0;
	policy_plan_free(&sp->plan);
	policy_free(&sp->pol);
	sp->loaded = false;
	for (size_t i = 0; sp->argv != NULL && sp->argv[i] != NULL; i++)
		free(sp->argv[i]);
	free(sp->argv);
	sp->argv = NULL;
	if (sp->inject_open)
		close(sp->inject_fd);
	sp->inject_open = false;
	for (size_t i = 0; i < sp->n_placeholders; i++)
		free(sp->placeholders[i]);
	free(sp->placeholders);
	sp->placeholders = NULL;
	sp->n_placeholders = 0;
}
