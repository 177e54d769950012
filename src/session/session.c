/* SPDX-License-Identifier: MIT */
/* One session, composed: see session.h for the order of a run. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "proxy/proxy.h"
#include "cli/policy_run.h"
#include "session/branch.h"
#include "session/internal.h"
#include "supervisor/supervisor.h"

extern char **environ;

bool
session_test_switch(const char *name)
{
	const char *hooks = getenv("CORDON_TEST_HOOKS");

	return hooks != NULL && strcmp(hooks, "1") == 0 && getenv(name) != NULL;
}

void
session_report(const struct cordon_session *s, const struct cordon_err *err)
{
	if (s->report != NULL)
		s->report(err);
	else
		log_warnx("%s", err->msg);
}

struct cordon_session *
session_new(void)
{
	struct cordon_session *s = xcalloc(1, sizeof(*s));

	s->workspace_arg = ".";
	s->guard = (struct session_guard)SESSION_GUARD_INIT;
	s->named = (struct session_named)NAMED_INIT;
	s->audit.opts.fail_closed = true;
	s->audit.exec = true;
	return s;
}

void
session_free(struct cordon_session *s)
{
	if (s == NULL)
		return;
	session_policy_free(&s->policy);
	session_named_end(&s->named);
	session_walls_free(&s->walls);
	for (size_t i = 0; i < s->n_mounts; i++)
		free(s->mounts[i].path);
	free(s);
}

/* Canonical absolute path of an existing file or directory, or NULL (err). */
static char *
canonical(const char *path, const char *what, struct cordon_err *err)
{
	char *p = fd_realpath(path);

	if (p == NULL)
		cordon_err_set(err, errno, "%s %s", what, path);
	return p;
}

int
session_add_path(struct cordon_session *s, enum sb_mount_kind kind, const char *path,
		 struct cordon_err *err)
{
	struct sb_mount *m;
	char *real;

	if (s->n_mounts == ARRAY_SIZE(s->mounts)) {
		cordon_err_set(err, E2BIG, "more than %zu path rules", ARRAY_SIZE(s->mounts));
		return cordon_err_hint(err, "use broader path rules (a directory rather than its "
					    "files)");
	}
	real = canonical(path, "path", err);
	if (real == NULL)
		return cordon_err_hint(err, "paths given to --rw, --ro and --mask must exist");
	if (strcmp(real, "/") == 0) {
		free(real);
		cordon_err_set(err, 0, "refusing a rule on / itself");
		return cordon_err_hint(err, "name the directory you mean");
	}
	m = &s->mounts[s->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->origin = (char *)"command line";
	m->path = real;
	return 0;
}

int
session_bind_self(struct cordon_session *s, struct cordon_err *err)
{
	char *self = fd_realpath("/proc/self/exe");
	struct sb_mount *m;

	if (self == NULL)
		return cordon_err_set(err, errno, "cannot find cordon's own binary");
	if (s->n_mounts == ARRAY_SIZE(s->mounts)) {
		free(self);
		return cordon_err_set(err, E2BIG, "more than %zu path rules",
				      ARRAY_SIZE(s->mounts));
	}
	m = &s->mounts[s->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->kind = SB_MOUNT_RO;
	m->path = self;
	m->origin = (char *)"cordon check";
	m->target = (char *)SESSION_SELF_INSIDE;
	return 0;
}

/*
 * Invoked by root, the command runs as an unprivileged uid to which root's
 * home (0700) is closed. Give it an empty private home instead: a tmpfs,
 * writable, gone at exit, in which the policy's binds (~/.claude, caches)
 * and the workspace, if it lies there, still appear. Nothing of root's own
 * home becomes visible. NULL when not needed.
 */
static const char *
private_home_for(const char *home, const char *workspace)
{
	struct stat st;

	if (home == NULL || home[0] != '/' || strcmp(home, "/") == 0 || !sb_invoker_is_root() ||
	    stat(home, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & S_IXOTH))
		return NULL;
	/* A workspace that is the home itself keeps its own content. */
	if (strcmp(home, workspace) == 0)
		return NULL;
	return home;
}

/*
 * TMPDIR from the host points at a directory that is read-only inside, or
 * not there at all (the host's /tmp is replaced). Keep it when it lies in
 * the workspace; otherwise the sandbox's private /tmp. env is changed in
 * place; the new string is static.
 */
static char **
fix_tmpdir(char **env, const char *workspace)
{
	size_t wl = strlen(workspace);

	for (size_t i = 0; env[i] != NULL; i++) {
		const char *v;

		if (strncmp(env[i], "TMPDIR=", 7) != 0)
			continue;
		v = env[i] + 7;
		if (strncmp(v, workspace, wl) == 0 && (v[wl] == '\0' || v[wl] == '/'))
			continue;
		env[i] = (char *)"TMPDIR=/tmp";
	}
	return env;
}

/*
 * In a private home (root invoker) nothing of the real home is visible, so
 * the read-only paths a --profile asks for (a toolchain under ~: ~/.rustup,
 * ~/.cargo/bin) are bound in read-only. Only the profile's: the built-in
 * protected files (~/.gitconfig, rc files) stay out of sight. 0, or -1 when
 * mounts is full.
 */
static int
add_profile_binds(const struct cordon_policy *pol, const char *home, struct sb_mount *mounts,
		  size_t *n, size_t max)
{
	const struct policy_rules *l = &pol->lists[POLICY_FS_DENY_WRITE];
	size_t hl = strlen(home);

	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->v[i].value;
		char *real;

		if (l->v[i].origin.layer != POLICY_LAYER_PROFILE || strncmp(p, home, hl) != 0 ||
		    p[hl] != '/')
			continue;
		real = fd_realpath(p);
		if (real == NULL)
			continue; /* not there: nothing to show */
		if (strncmp(real, home, hl) != 0 || real[hl] != '/') {
			free(real); /* a symlink out of the home: not ours to bind */
			continue;
		}
		if (*n == max) {
			free(real);
			return -1;
		}
		mounts[*n] = (struct sb_mount){ .kind = SB_MOUNT_RO,
						.path = real,
						.origin = (char *)"profile (private home)" };
		(*n)++;
	}
	return 0;
}

static int
workspace_ok(const char *ws, struct cordon_err *err)
{
	static const char *const forbidden[] = { "/proc", "/sys", "/dev" };
	struct stat st;

	if (stat(ws, &st) < 0)
		return cordon_err_set(err, errno, "workspace %s", ws);
	if (!S_ISDIR(st.st_mode))
		return cordon_err_set(err, ENOTDIR, "workspace %s", ws);
	if (strcmp(ws, "/") == 0) {
		cordon_err_set(err, 0,
			       "refusing / as the workspace: the whole host would be "
			       "writable");
		return cordon_err_hint(err, "run cordon from your project directory, or pass "
					    "--workspace DIR");
	}
	for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
		size_t n = strlen(forbidden[i]);

		if (strncmp(ws, forbidden[i], n) == 0 && (ws[n] == '\0' || ws[n] == '/')) {
			cordon_err_set(err, 0, "refusing %s as the workspace", ws);
			return cordon_err_hint(err, "the sandbox has its own %s", forbidden[i]);
		}
	}
	return 0;
}

int
session_add_workspace(struct cordon_session *s, const char *arg, struct cordon_err *err)
{
	if (s->workspace_given && s->n_workspace_more == ARRAY_SIZE(s->workspace_more)) {
		cordon_err_set(err, E2BIG, "more than %d workspaces", SESSION_MAX_WORKSPACES);
		return cordon_err_hint(err, "give a directory that holds several of them, or bind "
					    "the others with --rw");
	}
	if (!s->workspace_given)
		s->workspace_arg = arg;
	else
		s->workspace_more[s->n_workspace_more++] = arg;
	s->workspace_given = true;
	return 0;
}

/*
 * DIR, DIR:ro or DIR:rw (session.h): the directory part into buf, the
 * mode into *ro. -1 (err) when it does not fit.
 */
static int
workspace_split(const char *arg, char *buf, size_t len, bool *ro, struct cordon_err *err)
{
	size_t n = strlen(arg);

	*ro = false;
	if (n > 3 && (strcmp(arg + n - 3, ":ro") == 0 || strcmp(arg + n - 3, ":rw") == 0)) {
		*ro = arg[n - 1] == 'o';
		n -= 3;
	}
	if (n >= len)
		return cordon_err_set(err, ENAMETOOLONG, "workspace %s", arg);
	memcpy(buf, arg, n);
	buf[n] = '\0';
	return 0;
}

/* One workspace argument, canonical and acceptable: malloc'd, or NULL (err). */
static char *
workspace_open(const char *arg, bool *ro, struct cordon_err *err)
{
	char dir[PATH_MAX];
	char *ws;

	if (workspace_split(arg, dir, sizeof(dir), ro, err) < 0)
		return NULL;
	ws = canonical(dir, "workspace", err);
	if (ws == NULL || workspace_ok(ws, err) < 0) {
		if (!err->hint[0])
			cordon_err_hint(err, "the workspace must be an existing directory");
		free(ws);
		return NULL;
	}
	return ws;
}

int
session_workspaces_open(struct session_policy *sp, const char *primary_arg, const char *const *more,
			size_t n_more, char **primary, struct cordon_err *err)
{
	*primary = workspace_open(primary_arg, &sp->primary_ro, err);
	if (*primary == NULL)
		return -1;
	if (n_more > ARRAY_SIZE(sp->extra)) {
		cordon_err_set(err, E2BIG, "more than %d workspaces", SESSION_MAX_WORKSPACES);
		return cordon_err_hint(err, "give a directory that holds several of them, or bind "
					    "the others with --rw");
	}
	for (size_t i = 0; i < n_more; i++) {
		struct session_workspace *w = &sp->extra[sp->n_extra];

		memset(w, 0, sizeof(*w));
		w->path = workspace_open(more[i], &w->ro, err);
		if (w->path == NULL)
			return -1;
		sp->n_extra++;
		for (size_t k = 0; k < sp->n_extra; k++) {
			const char *other = k == 0 ? *primary : sp->extra[k - 1].path;

			if (strcmp(other, w->path) == 0) {
				cordon_err_set(err, 0, "workspace %s given twice", w->path);
				return cordon_err_hint(err, "name each workspace once");
			}
			if (policy_path_within(w->path, other) ||
			    policy_path_within(other, w->path)) {
				cordon_err_set(err, 0,
					       "workspace %s overlaps workspace %s: one lies "
					       "inside the other",
					       w->path, other);
				return cordon_err_hint(err, "give the outer directory alone, or "
							    "workspaces side by side");
			}
		}
	}
	return 0;
}

/*
 * Review mode sees only the primary workspace copy-on-write: a further
 * read-write workspace would take the command's changes directly, which
 * review promises not to do, so it is refused; a read-only one is fine.
 * A read-only primary leaves nothing to review: refused too. The further
 * workspaces go into the named sandbox's metadata ("rw:PATH", "ro:PATH",
 * in more, freed by the caller). 0 or -1 (err).
 */
static int
review_workspaces(struct cordon_session *s, char **more, struct cordon_err *err)
{
	const struct session_policy *sp = &s->policy;

	for (size_t i = 0; i < sp->n_extra; i++) {
		const struct session_workspace *w = &sp->extra[i];

		if (s->named.review && !w->ro) {
			cordon_err_set(err, 0,
				       "--review with a second read-write workspace (%s): only the "
				       "first workspace is copy-on-write",
				       w->path);
			return cordon_err_hint(err,
					       "give the further workspaces as DIR:ro, or review "
					       "each workspace in its own named sandbox");
		}
	}
	if (s->named.review && sp->primary_ro) {
		cordon_err_set(err, 0, "--review with a read-only workspace: nothing to review");
		return cordon_err_hint(err, "drop :ro from the first --workspace, or --review");
	}
	for (size_t i = 0; i < sp->n_extra; i++)
		more[i] = xasprintf("%s:%s", sp->extra[i].ro ? "ro" : "rw", sp->extra[i].path);
	s->named.more = (const char *const *)more;
	s->named.n_more = sp->n_extra;
	return 0;
}

/* What the supervisor does while the sandbox builds itself (sb_spec). */
struct while_building {
	struct cordon_session *s;
	struct sv_supervisor *sv;
};

static int
run_while_building(void *arg, struct cordon_err *err)
{
	struct while_building *wb = arg;

	if (sv_block_signals(wb->sv, err) < 0 ||
	    session_audit_record_start(&wb->s->audit, err) < 0 ||
	    session_net_start(&wb->s->net, wb->sv, err) < 0)
		return -1;
	return session_tls_start(&wb->s->tls, &wb->s->policy, wb->sv->proxy, err);
}

/*
 * Steps 1-3 of a run (session.h): everything before the sandbox exists.
 * Fills spec; *workspace and *env are the caller's to free. 0 or -1 (err).
 */
static int
prepare(struct cordon_session *s, struct sb_spec *spec, char **workspace, char ***env,
	struct cordon_err *err)
{
	struct session_policy *sp = &s->policy;
	const char *private_home;
	char *more[SESSION_MAX_WORKSPACES], *branch_ws = NULL;
	int r;

	/* Branch mode: the primary workspace is the branch's worktree. */
	if (session_branch_begin(&s->named, s->workspace_arg, &branch_ws, err) < 0)
		return -1;
	sp->branch = &s->named;
	r = session_workspaces_open(sp, branch_ws != NULL ? branch_ws : s->workspace_arg,
				    s->workspace_more, s->n_workspace_more, workspace, err);
	free(branch_ws);
	if (r < 0)
		return -1;
	/* Earlier killed sessions are cleaned up first; this one gets its id. */
	if (session_guard_start(&s->guard, err) < 0)
		return -1;
	s->audit.opts.session_id = s->guard.id;
	if (session_policy_apply(sp, *workspace, s->mounts, &s->n_mounts, ARRAY_SIZE(s->mounts),
				 err) < 0 ||
	    cli_run_policy_command(sp, s->argv, s->mounts, &s->n_mounts, ARRAY_SIZE(s->mounts),
				   err) < 0)
		return -1;
	/* The effective domain lists, from every layer, are the proxy's rules. */
	for (int deny = 0; deny < 2; deny++) {
		const struct policy_rules *l =
		    &sp->pol.lists[deny ? POLICY_NET_DENIED_DOMAINS : POLICY_NET_ALLOWED_DOMAINS];

		for (size_t i = 0; i < l->n; i++)
			if (session_net_rule(&s->net, l->v[i].value, deny, err) < 0)
				return -1;
	}
	session_net_warn(&s->net);
	private_home = private_home_for(sp->have_home ? sp->home : getenv("HOME"), *workspace);
	if (private_home != NULL && add_profile_binds(&sp->pol, private_home, s->mounts,
						      &s->n_mounts, ARRAY_SIZE(s->mounts)) < 0)
		return cordon_err_set(err, E2BIG, "more than %zu path rules",
				      ARRAY_SIZE(s->mounts));
	if (session_tls_prepare(&s->tls, sp, s->mounts, &s->n_mounts, ARRAY_SIZE(s->mounts), err) <
	    0)
		return -1;
	*env = fix_tmpdir(
	    session_proxy_env(session_policy_env(sp, environ), SESSION_PROXY_PORT, s->tls.on),
	    *workspace);
	*env = session_branch_env(&s->named, *env);
	memset(spec, 0, sizeof(*spec));
	spec->workspace = *workspace;
	spec->argv = sp->argv != NULL ? sp->argv : s->argv;
	spec->envp = *env;
	spec->mounts = s->mounts;
	spec->n_mounts = s->n_mounts;
	spec->hostname = "cordon";
	spec->private_home = private_home;
	spec->seal_root = sp->have_home ? sp->home : NULL;
	spec->seal_absent = sp->plan.absent;
	spec->n_seal_absent = sp->plan.n_absent;
	spec->proxy_port = SESSION_PROXY_PORT;
	spec->capture_port = SESSION_CAPTURE_PORT;
	spec->report = &s->walls_raised;
	if (review_workspaces(s, more, err) < 0)
		return -1;
	r = session_named_begin(&s->named, *workspace, s->guard.id, spec, s->mounts, &s->n_mounts,
				ARRAY_SIZE(s->mounts), err);
	for (size_t i = 0; i < s->named.n_more; i++)
		free(more[i]);
	s->named.more = NULL;
	s->named.n_more = 0;
	if (r < 0)
		return -1;
	if (s->test_no_ro_root && session_test_switch("CORDON_TEST_NO_RO_ROOT"))
		spec->test_flags |= SB_TEST_NO_RO_ROOT;
	session_walls_apply(&s->walls, spec, sp->loaded ? &sp->pol : NULL, sp->allow_degraded);
	spec->tty_fds = sv_pty_wanted();
	session_audit_from_policy(&s->audit, sp->loaded ? &sp->pol : NULL);
	s->audit.workspaces[0] = (struct audit_workspace){ *workspace, sp->primary_ro };
	for (size_t i = 0; i < sp->n_extra; i++)
		s->audit.workspaces[i + 1] =
		    (struct audit_workspace){ sp->extra[i].path, sp->extra[i].ro };
	s->audit.n_workspaces = sp->n_extra + 1;
	if (session_audit_begin(&s->audit, spec, s->mounts, &s->n_mounts, ARRAY_SIZE(s->mounts),
				err) < 0 ||
	    session_policy_snapshot(sp, *workspace, err) < 0)
		return -1;
	log_debug("workspace %s, %zu path rules", *workspace, s->n_mounts);
	return 0;
}

/*
 * Steps 4-5: the sandbox and its supervisor, to the end of pid 1. Returns
 * the exit status; err set when cordon failed before the command could run.
 */
static int
supervise(struct cordon_session *s, struct sb_spec *spec, struct cordon_err *err)
{
	struct while_building wb = { .s = s };
	const struct qr_snapshot *snaps[SESSION_MAX_WORKSPACES];
	size_t n_snaps = 0;
	char state[PATH_MAX + 64];
	struct sv_supervisor sv;
	struct sb_session sess;
	const char *reason;
	int status = SB_EXIT_SETUP;

	session_policy_state_dir(&s->policy, state, sizeof(state));
	if (s->policy.snapped)
		snaps[n_snaps++] = &s->policy.snap;
	for (size_t i = 0; i < s->policy.n_extra; i++)
		if (s->policy.extra[i].snapped)
			snaps[n_snaps++] = &s->policy.extra[i].snap;
	if (sv_init(&sv, err) < 0 || session_guard_begin(&s->guard, &sv, spec, s->mounts,
							 &s->n_mounts, ARRAY_SIZE(s->mounts), state,
							 snaps, n_snaps, s->audit.log, err) < 0) {
		sv_fini(&sv);
		return session_audit_end(s, SB_EXIT_SETUP, "setup-error");
	}
	wb.sv = &sv;
	spec->while_building = run_while_building;
	spec->while_building_arg = &wb;
	if (sb_spawn(spec, &sess, &status, err) < 0) {
		sv_fini(&sv);
		return session_audit_end(s, status, "setup-error");
	}
	if (sv_attach(&sv, &sess, err) < 0 || session_audit_attach(&s->audit, &sv, err) < 0 ||
	    sv_proxy_listen(&sv, err) < 0 || session_walls_attach(&s->walls, &sv, spec, err) < 0 ||
	    sv_terminal_start(
		&sv, policy_terminal_allow_clipboard(s->policy.loaded ? &s->policy.pol : NULL),
		err) < 0 ||
	    sb_release(&sv.sess, err) < 0) {
		kill(sess.pid, SIGKILL);
		sv_fini(&sv);
		sb_resources_release(&sess);
		return session_audit_end(s, SB_EXIT_SETUP, "setup-error");
	}
	s->audit.capture = sv.capture != NULL ? "on" : "off";
	status = sv_run(&sv);
	if (sv.start_state < 0)
		*err = sv.start_err;
	reason = sv_end_reason(&sv);
	session_net_report(&s->net, s->policy.quiet);
	sv_fini(&sv);
	session_walls_end(s, &sess, status);
	/* The quarantine's report goes into the log too: before the end record. */
	session_policy_finish(&s->policy, s->audit.log, &(struct cordon_err){ 0 });
	return session_audit_end(s, status, reason);
}

int
session_run(struct cordon_session *s, struct cordon_err *err)
{
	_cleanup_free_ char *workspace = NULL;
	_cleanup_free_ char **env = NULL;
	struct cordon_err qerr = { 0 };
	struct sb_spec spec = { 0 };
	bool cleaned;
	int status;

	s->net.verbose = s->verbose;
	if (s->argv == NULL || s->argv[0] == NULL) {
		cordon_err_set(err, 0, "no command given");
		cordon_err_hint(err, "name the command to run, e.g. cordon run -- bash");
		return SB_EXIT_SETUP;
	}
	if (sb_inside_cordon()) {
		cordon_err_set(err, EPERM, "already inside a cordon sandbox");
		cordon_err_hint(err, "a sandbox refuses new namespaces, and the command already "
				     "runs sandboxed: run it directly, or start cordon outside");
		return SB_EXIT_SETUP;
	}
	if (prepare(s, &spec, &workspace, &env, err) < 0)
		status = session_audit_end(s, SB_EXIT_SETUP, "setup-error");
	else
		status = supervise(s, &spec, err);
	/* After the last process inside is gone: quarantine what it planted. */
	cleaned = session_policy_finish(&s->policy, NULL, &qerr) == 0;
	if (!cleaned)
		session_report(s, &qerr);
	if (spec.workspace != NULL && status != SB_EXIT_SETUP)
		session_branch_report(&s->named);
	session_guard_end(&s->guard, cleaned);
	session_named_end(&s->named);
	return status;
}
