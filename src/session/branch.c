/* SPDX-License-Identifier: MIT */
/* Branch mode: a git worktree of the workspace's repository as the workspace (branch.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "policy/internal.h"
#include "session/branch.h"
#include "session/internal.h"
#include "supervisor/gitscan.h"

extern char **environ;

#define GIT_OUT_MAX  4096
#define GIT_MAX_ARGS 16

static int git_exec(char *const *argv, char *out, size_t outlen, char *msg, size_t msglen);

/*
 * Run the host's git in dir: `git -c core.hooksPath=/dev/null -c
 * core.fsmonitor=false -C dir ARGS...` with the caller's environment
 * without its GIT_* variables, stdin /dev/null, no signal blocked. Its stdout (first line, trimmed)
 * into out, its stderr's last line into msg. Returns git's exit status,
 * or -1 when it could not run (msg says why).
 */
static int
git_run(const char *dir, char *out, size_t outlen, char *msg, size_t msglen, ...)
{
	char *argv[GIT_MAX_ARGS + 8];
	size_t n = 0, k = 0;
	int r;
	va_list ap;

	static const char *const head[] = {
		"git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-C"
	};

	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		argv[n++] = xstrdup(head[i]);
	argv[n++] = xstrdup(dir);
	va_start(ap, msglen);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && k < GIT_MAX_ARGS; k++)
		argv[n++] = xstrdup(a);
	va_end(ap);
	argv[n] = NULL;
	r = git_exec(argv, out, outlen, msg, msglen);
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	return r;
}

/* git_run's child and its output. */
static int
git_exec(char *const *argv, char *out, size_t outlen, char *msg, size_t msglen)
{
	_cleanup_close_ int errfd = -1;
	_cleanup_free_ char **env = NULL;
	int pfd[2], status;
	char buf[GIT_OUT_MAX];
	ssize_t got;
	size_t have = 0, k;
	pid_t pid;

	for (k = 0; environ[k] != NULL; k++)
		;
	env = xcalloc(k + 1, sizeof(*env));
	for (size_t i = 0, j = 0; i < k; i++)
		if (strncmp(environ[i], "GIT_", 4) != 0)
			env[j++] = environ[i];
	if (out != NULL && outlen > 0)
		out[0] = '\0';
	msg[0] = '\0';
	errfd = memfd_create("cordon-git", MFD_CLOEXEC);
	if (errfd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(msg, msglen, "cannot run git: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "cannot run git: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		sigset_t none;

		/* The supervisor blocks signals it reads through a signalfd; git must not inherit that. */
		sigemptyset(&none);
		if (null < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0 || dup2(null, 0) < 0 ||
		    dup2(pfd[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execvpe("git", argv, env);
		_exit(127);
	}
	close(pfd[1]);
	while ((got = read(pfd[0], buf + have, sizeof(buf) - 1 - have)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		have += (size_t)got;
		if (have == sizeof(buf) - 1) {
			/* Only the first line counts: drain the rest. */
			char sink[512];

			while (read(pfd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	buf[have] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(msg, msglen, "wait for git: %s", strerror(errno));
			return -1;
		}
	if (out != NULL && outlen > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(out, outlen, "%s", buf);
	}
	got = pread(errfd, buf, sizeof(buf) - 1, 0);
	if (got > 0) {
		char *last, *end;

		buf[got] = '\0';
		end = buf + strlen(buf);
		while (end > buf && end[-1] == '\n')
			*--end = '\0';
		last = strrchr(buf, '\n');
		snprintf(msg, msglen, "%s", last != NULL ? last + 1 : buf);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && msg[0] == '\0')
		snprintf(msg, msglen, "git is not installed (not found in PATH)");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The worktrees' directory: the sandboxes' sibling (never masked like it is). */
static int
worktree_path(const char *name, char *out, size_t len, struct cordon_err *err)
{
	char root[PATH_MAX];
	_cleanup_free_ char *real = NULL;
	char *slash;

	if (named_root(root, sizeof(root), err) < 0)
		return -1;
	slash = strrchr(root, '/');
	snprintf(slash, sizeof(root) - (size_t)(slash - root), "/worktrees");
	if (fd_mkdir_p(root, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", root);
	real = fd_realpath(root);
	if (real == NULL)
		return cordon_err_set(err, errno, "%s", root);
	if ((size_t)snprintf(out, len, "%s/%s", real, name) >= len)
		return cordon_err_set(err, ENAMETOOLONG, "worktree of %s", name);
	return 0;
}

/* The repository's common git directory seen from dir, canonical (malloc'd), or NULL. */
static char *
common_dir(const char *dir, char *msg, size_t msglen)
{
	char out[PATH_MAX];
	_cleanup_free_ char *abs = NULL;

	if (git_run(dir, out, sizeof(out), msg, msglen, "rev-parse", "--git-common-dir",
		    (char *)NULL) != 0 ||
	    out[0] == '\0')
		return NULL;
	abs = out[0] == '/' ? xstrdup(out) : xasprintf("%s/%s", dir, out);
	return fd_realpath(abs);
}

static int
not_a_repo(const char *workspace, const char *msg, struct cordon_err *err)
{
	cordon_err_set(err, 0, "--branch needs a git repository: %s is not in one%s%s", workspace,
		       msg[0] ? " (git: " : "", msg[0] ? msg : "");
	if (msg[0])
		strncat(err->msg, ")", sizeof(err->msg) - strlen(err->msg) - 1);
	return cordon_err_hint(err, "run it in your repository, or pass --workspace DIR of one; "
				    "without --branch the workspace need not be a repository");
}

/* True when dir holds a worktree of the repository whose common directory is common. */
static bool
worktree_ok(const char *dir, const char *common)
{
	char msg[256];
	_cleanup_free_ char *c = NULL;
	char path[PATH_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s/.git", dir);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	c = common_dir(dir, msg, sizeof(msg));
	return c != NULL && strcmp(c, common) == 0;
}

/*
 * Make the worktree at path on n's branch; a branch that does not exist
 * is made from base (the workspace's commit on first use), else from the
 * repository's HEAD.
 */
static int
worktree_add(struct session_named *n, const char *repo, const char *path, const char *base,
	     struct cordon_err *err)
{
	char msg[512], ref[PATH_MAX];
	int r;

	snprintf(ref, sizeof(ref), "refs/heads/%s", n->branch);
	/* A worktree removed by hand is still registered until pruned. */
	git_run(repo, NULL, 0, msg, sizeof(msg), "worktree", "prune", (char *)NULL);
	if (git_run(repo, NULL, 0, msg, sizeof(msg), "rev-parse", "--verify", "--quiet", ref,
		    (char *)NULL) == 0)
		r = git_run(repo, NULL, 0, msg, sizeof(msg), "worktree", "add", "--quiet", path,
			    n->branch, (char *)NULL);
	else
		r = git_run(repo, NULL, 0, msg, sizeof(msg), "worktree", "add", "--quiet", "-b",
			    n->branch, path, base[0] ? base : "HEAD", (char *)NULL);
	if (r == 0)
		return 0;
	cordon_err_set(err, 0, "cannot make the worktree %s on branch %s: %s", path, n->branch,
		       msg[0] ? msg : "git failed");
	return cordon_err_hint(err, "a branch checked out in another worktree cannot be used "
				    "(`git worktree list`); name another with --branch");
}

static int
branch_valid(const char *repo, const char *branch, struct cordon_err *err)
{
	char msg[256];

	if (branch[0] != '-' && strlen(branch) < 200 &&
	    git_run(repo, NULL, 0, msg, sizeof(msg), "check-ref-format", "--branch", branch,
		    (char *)NULL) == 0)
		return 0;
	cordon_err_set(err, 0, "invalid branch name '%s'", branch);
	return cordon_err_hint(err, "a branch name as git takes it (`git check-ref-format "
				    "--branch NAME`), such as agent/fix-tests");
}

static int enter(struct session_named *n, const char *workspace, char **workspace_out,
		 struct cordon_err *err);

static int
no_review(struct cordon_err *err)
{
	cordon_err_set(err, 0, "--branch does not go with a review sandbox (--review)");
	return cordon_err_hint(err, "a branch sandbox keeps its work as commits: use another "
				    "--name for the branch");
}

/*
 * --branch on first use: not with review mode, the workspace in a
 * repository, the name one git takes. Returns the repository's common
 * git directory (malloc'd), or NULL with err.
 */
static char *
first_use(const struct session_named *n, const char *workspace, struct cordon_err *err)
{
	_cleanup_free_ char *ws = fd_realpath(workspace), *common = NULL;
	char msg[512];

	if (n->review) {
		no_review(err);
		return NULL;
	}
	if (ws == NULL) {
		cordon_err_set(err, errno, "workspace %s", workspace);
		return NULL;
	}
	common = common_dir(ws, msg, sizeof(msg));
	if (common == NULL) {
		not_a_repo(ws, msg, err);
		return NULL;
	}
	return branch_valid(ws, n->branch_arg, err) < 0 ? NULL : steal_ptr(common);
}

int
session_branch_begin(struct session_named *n, const char *workspace, char **workspace_out,
		     struct cordon_err *err)
{
	_cleanup_free_ char *branch = NULL;

	*workspace_out = NULL;
	if (n->branch_arg != NULL && n->name == NULL) {
		cordon_err_set(err, 0, "--branch needs a named sandbox");
		return cordon_err_hint(err, "add --name NAME: the worktree of the branch is kept "
					    "with that sandbox until `cordon rm NAME`");
	}
	if (n->name == NULL)
		return 0;
	if (named_branch(n->name, &branch, NULL, err) < 0)
		return -1;
	if (branch == NULL && n->branch_arg == NULL)
		return 0; /* not a branch sandbox: session_named_begin takes the lock */
	/* A first use is checked before the sandbox is made... */
	if (n->branch_arg != NULL) {
		_cleanup_free_ char *common = branch == NULL ? first_use(n, workspace, err) : NULL;

		if (branch == NULL && common == NULL)
			return -1;
	}
	if (named_take(n, err) < 0)
		return -1;
	/* ... and one refused later (the branch checked out elsewhere) leaves nothing either. */
	if (enter(n, workspace, workspace_out, err) < 0) {
		named_abandon(n);
		return -1;
	}
	return 0;
}

/* session_branch_begin with the sandbox's lock held. */
static int
enter(struct session_named *n, const char *workspace, char **workspace_out, struct cordon_err *err)
{
	char path[PATH_MAX], msg[512], out[256], base[128] = "";
	_cleanup_free_ char *branch = NULL, *worktree = NULL, *common = NULL, *from = NULL;

	named_branch_of(n->dir, &branch, &worktree, &common, &from);
	if (branch == NULL && n->branch_arg == NULL)
		return 0;
	n->review |= named_review_of(n->dir);
	if (n->review)
		return no_review(err);
	if (branch != NULL && n->branch_arg != NULL && strcmp(branch, n->branch_arg) != 0) {
		cordon_err_set(err, 0, "sandbox '%s' works on branch %s, not %s", n->name, branch,
			       n->branch_arg);
		return cordon_err_hint(err,
				       "run it with --branch %s (or without --branch), or "
				       "use another --name for branch %s",
				       branch, n->branch_arg);
	}
	if (branch == NULL) {
		/* First use: the repository of the workspace given. */
		common = first_use(n, workspace, err);
		if (common == NULL)
			return -1;
		branch = xstrdup(n->branch_arg);
		if (git_run(workspace, out, sizeof(out), msg, sizeof(msg), "symbolic-ref",
			    "--quiet", "--short", "HEAD", (char *)NULL) != 0 ||
		    out[0] == '\0')
			git_run(workspace, out, sizeof(out), msg, sizeof(msg), "rev-parse",
				"--short", "HEAD", (char *)NULL);
		from = xstrdup(out[0] ? out : "HEAD");
		/* The workspace may be a linked worktree on another commit than the main one. */
		git_run(workspace, base, sizeof(base), msg, sizeof(msg), "rev-parse", "--verify",
			"--quiet", "HEAD", (char *)NULL);
		if (worktree_path(n->name, path, sizeof(path), err) < 0)
			return -1;
		worktree = xstrdup(path);
	}
	n->branch = steal_ptr(branch);
	n->worktree = steal_ptr(worktree);
	n->common = steal_ptr(common);
	n->from = steal_ptr(from);
	if (!worktree_ok(n->worktree, n->common)) {
		struct stat st;

		if (lstat(n->worktree, &st) == 0 &&
		    !(S_ISDIR(st.st_mode) && rmdir(n->worktree) == 0)) {
			cordon_err_set(err, 0, "%s is in the way of the worktree of sandbox '%s'",
				       n->worktree, n->name);
			return cordon_err_hint(err, "move it away, or `cordon rm %s`", n->name);
		}
		if (worktree_add(n, n->common, n->worktree, base, err) < 0)
			return -1;
		log_info("branch %s: worktree %s", n->branch, n->worktree);
	}
	if (git_run(n->worktree, out, sizeof(out), msg, sizeof(msg), "rev-parse", "--verify",
		    "HEAD", (char *)NULL) == 0)
		n->start = xstrdup(out);
	*workspace_out = fd_realpath(n->worktree);
	if (*workspace_out == NULL)
		return cordon_err_set(err, errno, "worktree %s", n->worktree);
	return 0;
}

/* One branch mode rule; false when the policy holds too many rules. */
static bool
rule(struct cordon_policy *layer, enum policy_list list, const char *path)
{
	struct policy_origin o = { POLICY_LAYER_BUILTIN, "branch mode", 0, 0 };
	const struct policy_rules *l = &layer->lists[list];
	_cleanup_free_ char *r = session_policy_rule_of(path);

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].value, r) == 0)
			return true;
	return policy_rules_add(layer, list, r, o) == 0;
}

/*
 * path read-only, when it exists, and each directory between top (a
 * writable directory) and it bound writable onto itself: a mount point
 * cannot be renamed, so no directory holding a read-only path can be moved
 * aside and replaced.
 */
static bool
deny(struct cordon_policy *layer, const char *common, const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	size_t cl = strlen(common);
	struct stat st;
	char *slash;

	if (lstat(path, &st) < 0)
		return true;
	if (!rule(layer, POLICY_FS_DENY_WRITE, path))
		return false;
	while ((slash = strrchr(dir, '/')) != NULL && (size_t)(slash - dir) > cl) {
		*slash = '\0';
		if (!rule(layer, POLICY_FS_ALLOW_WRITE, dir))
			return false;
	}
	return true;
}

/*
 * Every entry of dir read-only but the one on the way to keep (what is
 * left of its path below dir, as "a/b"; NULL: none kept).
 */
static bool
deny_all_but(struct cordon_policy *layer, const char *common, const char *dir, const char *rest)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	size_t seg = rest != NULL ? strcspn(rest, "/") : 0;
	struct dirent *e;
	bool ok = true;

	while (ok && d != NULL && (e = readdir(d)) != NULL) {
		_cleanup_free_ char *p = NULL;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (rest != NULL && strlen(e->d_name) == seg &&
		    strncmp(e->d_name, rest, seg) == 0) {
			/* On keep's path: keep itself stays writable. */
			if (rest[seg] == '/')
				ok = deny_all_but(layer, common, p, rest + seg + 1);
			continue;
		}
		ok = deny(layer, common, p);
	}
	return ok;
}

/* The worktree's administrative directory (.git/worktrees/X), canonical, malloc'd. */
static char *
admin_dir(const char *worktree)
{
	char path[PATH_MAX + 8];
	_cleanup_free_ char *text = NULL, *target = NULL;

	snprintf(path, sizeof(path), "%s/.git", worktree);
	text = fd_read_small_file(path, 4096);
	if (text == NULL)
		return NULL;
	target = qr_git_pointer_target(text, worktree);
	return target != NULL ? fd_realpath(target) : NULL;
}

int
session_branch_rules(const struct session_named *n, struct cordon_policy *layer,
		     struct cordon_err *err)
{
	/*
	 * The repository's git directory stays read-only but for what a
	 * commit on the branch writes: objects/, the branch's own ref (its
	 * folder, for git's lock file beside it) and reflog, and this
	 * worktree's administrative directory. So nothing can appear that
	 * the host's git acts on later (a rebase-merge/ todo list, a
	 * sequencer, new tags, remotes or modules, another worktree's state).
	 */
	_cleanup_free_ char *admin = NULL, *ref = NULL, *log = NULL, *objects = NULL;
	_cleanup_free_ char *alternates = NULL;
	char *slash;
	struct stat st;
	bool ok;

	if (n == NULL || n->branch == NULL)
		return 0;
	objects = xasprintf("%s/objects", n->common);
	alternates = xasprintf("%s/objects/info/alternates", n->common);
	ref = xasprintf("%s/refs/heads/%s", n->common, n->branch);
	log = xasprintf("%s/logs/refs/heads/%s", n->common, n->branch);
	admin = admin_dir(n->worktree);
	ok = rule(layer, POLICY_FS_ALLOW_WRITE, objects) && deny(layer, objects, alternates);
	if (admin != NULL)
		ok = ok && rule(layer, POLICY_FS_ALLOW_WRITE, admin);
	/* The ref's folder: every other entry in it read-only (a branch "a/b" too). */
	slash = strrchr(ref, '/');
	*slash = '\0';
	ok = ok && rule(layer, POLICY_FS_ALLOW_WRITE, ref) &&
	     deny_all_but(layer, ref, ref, slash + 1);
	slash = strrchr(log, '/');
	*slash = '\0';
	if (ok && lstat(log, &st) == 0 && S_ISDIR(st.st_mode))
		ok = rule(layer, POLICY_FS_ALLOW_WRITE, log) &&
		     deny_all_but(layer, log, log, slash + 1);
	if (ok)
		return 0;
	cordon_err_set(err, E2BIG,
		       "the repository %s has more branches beside %s than cordon "
		       "keeps read-only one by one (%u path rules in all)",
		       n->common, n->branch, POLICY_MAX_RULES);
	return cordon_err_hint(err, "pack them into one file with `git pack-refs --all`, or "
				    "prune old worktrees (`git worktree prune`)");
}

bool
session_branch_kept(const struct session_named *n, const char *path, const struct qr_git_scan *scan)
{
	size_t cl;

	if (n == NULL || n->branch == NULL)
		return false;
	cl = strlen(n->common);
	return strncmp(path, n->common, cl) == 0 && path[cl] == '/' &&
	       (scan == NULL || qr_git_scan_kind(scan, path) < 0);
}

const char *
session_branch_root(const struct session_named *n)
{
	return n != NULL && n->branch != NULL ? n->common : NULL;
}

char **
session_branch_env(struct session_named *n, char **env)
{
	/* Variables that would send git inside to another repository than the worktree. */
	static const char *const elsewhere[] = { "GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=",
						 "GIT_COMMON_DIR=", "GIT_OBJECT_DIRECTORY=" };
	const char *count = NULL;
	unsigned long k = 0;
	size_t len = 0, j = 0;

	if (n->branch == NULL || env == NULL)
		return env;
	for (; env[len] != NULL; len++) {
		bool drop = false;

		for (size_t i = 0; i < ARRAY_SIZE(elsewhere); i++)
			drop |= strncmp(env[len], elsewhere[i], strlen(elsewhere[i])) == 0;
		if (strncmp(env[len], "GIT_CONFIG_COUNT=", 17) == 0) {
			count = env[len] + 17;
			drop = true;
		}
		if (!drop)
			env[j++] = env[len];
	}
	if (count != NULL)
		k = strtoul(count, NULL, 10);
	free(n->env[0]);
	free(n->env[1]);
	free(n->env[2]);
	n->env[0] = xasprintf("GIT_CONFIG_COUNT=%lu", k + 1);
	n->env[1] = xasprintf("GIT_CONFIG_KEY_%lu=safe.directory", k);
	n->env[2] = xasprintf("GIT_CONFIG_VALUE_%lu=%s", k, n->worktree);
	env = xrealloc(env, (j + 4) * sizeof(*env));
	env[j++] = n->env[0];
	env[j++] = n->env[1];
	env[j++] = n->env[2];
	env[j] = NULL;
	return env;
}

void
session_branch_report(const struct session_named *n)
{
	char out[64], msg[256];
	_cleanup_free_ char *range = NULL;
	unsigned long count;

	if (n->branch == NULL || n->start == NULL)
		return;
	range = xasprintf("%s..%s", n->start, n->branch);
	if (git_run(n->common, out, sizeof(out), msg, sizeof(msg), "rev-list", "--count", range,
		    (char *)NULL) != 0) {
		log_warnx("branch %s: %s", n->branch, msg[0] ? msg : "git rev-list failed");
		return;
	}
	count = strtoul(out, NULL, 10);
	log_warnx("branch %s: %lu new commit%s (git log %s..%s)", n->branch, count,
		  count == 1 ? "" : "s", n->from ? n->from : "HEAD", n->branch);
}

int
session_branch_remove(const char *common, const char *worktree, struct cordon_err *err)
{
	char msg[512];
	struct stat st;

	if (common == NULL || worktree == NULL || lstat(worktree, &st) < 0)
		return 0; /* gone already */
	if (lstat(common, &st) < 0 && errno == ENOENT) {
		/* The repository is gone: nothing of git's to tidy, only the files. */
		if (named_empty_dir(worktree) < 0 || rmdir(worktree) < 0)
			return cordon_err_set(err, errno, "remove %s", worktree);
		return 0;
	}
	if (git_run(common, NULL, 0, msg, sizeof(msg), "worktree", "remove", "--force", worktree,
		    (char *)NULL) != 0 &&
	    lstat(worktree, &st) == 0) {
		cordon_err_set(err, 0, "cannot remove the worktree %s: %s", worktree,
			       msg[0] ? msg : "git failed");
		return cordon_err_hint(err, "remove it with `git worktree remove --force %s`",
				       worktree);
	}
	return 0;
}

void
session_branch_free(struct session_named *n)
{
	free(n->branch);
	free(n->worktree);
	free(n->common);
	free(n->from);
	free(n->start);
	n->branch = n->worktree = n->common = n->from = n->start = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(n->env); i++) {
		free(n->env[i]);
		n->env[i] = NULL;
	}
}
