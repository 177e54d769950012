/* SPDX-License-Identifier: MIT */
/*
 * Planning: path expansion, the bounded glob walk, conflict resolution.
 * Uses a scratch tree under $TMPDIR (or /tmp); no privileges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "policy/internal.h"
#include "policy/plan.h"
#include "tap.h"

static char root[PATH_MAX];

static void
mk(const char *rel, bool dir)
{
	char p[PATH_MAX * 2];
	char *s;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	if (dir)
		mkdir(p, 0755);
	else
		close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}

static int
test_expand(void)
{
	struct policy_ctx ctx = { .workspace = "/ws", .home = "/home/u" };
	char out[PATH_MAX];

	CHECK(policy_path_expand("~/.ssh", &ctx, out, sizeof(out)) == 0);
	CHECK_STR(out, "/home/u/.ssh");
	CHECK(policy_path_expand("~", &ctx, out, sizeof(out)) == 0);
	CHECK_STR(out, "/home/u");
	CHECK(policy_path_expand(".env*", &ctx, out, sizeof(out)) == 0);
	CHECK_STR(out, "/ws/.env*");
	CHECK(policy_path_expand("a/../../etc//./x/", &ctx, out, sizeof(out)) == 0);
	CHECK_STR(out, "/etc/x");
	CHECK(policy_path_expand("/../..", &ctx, out, sizeof(out)) == 0);
	CHECK_STR(out, "/");
	ctx.home = NULL;
	CHECK(policy_path_expand("~/x", &ctx, out, sizeof(out)) == -1);
	CHECK(policy_path_within("/a/b", "/a"));
	CHECK(!policy_path_within("/ab", "/a"));
	CHECK(policy_path_within("/a", "/"));
	return 0;
}

struct found {
	char *v[64];
	size_t n;
};

static void
collect(const char *path, void *arg)
{
	struct found *f = arg;

	if (f->n < 64)
		f->v[f->n++] = strdup(path + strlen(root));
}

static bool
has(const struct found *f, const char *rel)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i], rel) == 0)
			return true;
	return false;
}

static int
test_glob(void)
{
	char pat[PATH_MAX * 2];
	struct found f = { { NULL }, 0 };
	size_t n;

	mk("ws/a.pem", false);
	mk("ws/sub/deep/b.pem", false);
	mk("ws/node_modules/pkg/c.pem", false);
	mk("ws/.git/d.pem", false);
	mk("ws/.env", false);
	mk("ws/.env.local", false);
	mk("ws/env", false);
	snprintf(pat, sizeof(pat), "%s/ws/**/*.pem", root);
	n = policy_glob(pat, collect, &f);
	CHECK(n != (size_t)-1 && n > 0);
	CHECK(f.n == 2);
	CHECK(has(&f, "/ws/a.pem"));
	CHECK(has(&f, "/ws/sub/deep/b.pem"));
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	f.n = 0;
	/* Naming node_modules enters it. */
	snprintf(pat, sizeof(pat), "%s/ws/node_modules/**/*.pem", root);
	policy_glob(pat, collect, &f);
	CHECK(f.n == 1 && has(&f, "/ws/node_modules/pkg/c.pem"));
	free(f.v[0]);
	f.n = 0;
	snprintf(pat, sizeof(pat), "%s/ws/.env*", root);
	policy_glob(pat, collect, &f);
	CHECK(f.n == 2 && has(&f, "/ws/.env") && has(&f, "/ws/.env.local"));
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	f.n = 0;
	/* {a,b} alternatives in one component: one walk, both names, any depth. */
	mk("ws/sub/.env.prod", false);
	mk("ws/config/secrets.env", false);
	mk("ws/config/app.environment.ts", false);
	snprintf(pat, sizeof(pat), "%s/ws/**/{.env*,*.env}", root);
	policy_glob(pat, collect, &f);
	CHECK(f.n == 4);
	CHECK(has(&f, "/ws/.env") && has(&f, "/ws/.env.local"));
	CHECK(has(&f, "/ws/sub/.env.prod") && has(&f, "/ws/config/secrets.env"));
	CHECK(!has(&f, "/ws/config/app.environment.ts") && !has(&f, "/ws/env"));
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	f.n = 0;
	/* An alternative holding '/' is looked up below each folder the walk
	 * reaches, beside the names matched there: one walk, several depths. */
	mk("ws/p/.npmrc", false);
	mk("ws/p/.yarn/releases/y.cjs", false);
	mk("ws/p/q/gradle/wrapper/g.jar", false);
	mk("ws/.yarn/releases/root.cjs", false);
	mk("ws/p/.yarn/cache/c.zip", false);
	snprintf(pat, sizeof(pat), "%s/ws/**/*/{.npmrc,.yarn/releases,gradle/wrapper}", root);
	policy_glob(pat, collect, &f);
	CHECK(f.n == 3);
	CHECK(has(&f, "/ws/p/.npmrc") && has(&f, "/ws/p/.yarn/releases"));
	CHECK(has(&f, "/ws/p/q/gradle/wrapper"));
	CHECK(!has(&f, "/ws/.yarn/releases") && !has(&f, "/ws/p/.yarn/cache"));
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	f.n = 0;
	snprintf(pat, sizeof(pat), "%s/ws/**/{.yarn/releases,nothing/here}", root);
	policy_glob(pat, collect, &f);
	CHECK(f.n == 2 && has(&f, "/ws/.yarn/releases") && has(&f, "/ws/p/.yarn/releases"));
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i]);
	CHECK(policy_has_glob("{a,b}") && !policy_has_glob("plain"));
	return 0;
}

static const struct policy_mount *
find_mount(const struct policy_plan *p, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (size_t i = 0; i < p->n_mounts; i++)
		if (strcmp(p->mounts[i].path, path) == 0)
			return &p->mounts[i];
	return NULL;
}

static int
test_plan(void)
{
	struct cordon_policy pol;
	struct policy_plan plan;
	struct cordon_err err;
	char ws[PATH_MAX * 2], home[PATH_MAX * 2];
	struct policy_ctx ctx;
	const struct policy_mount *m;

	mk("home/.ssh/id_ed25519", false);
	mk("home/.ssh/known_hosts", false);
	mk("home/.aws/credentials", false);
	mk("home/.cache/pip", true);
	mk("home/.cache/other", true);
	mk("pw/.git/hooks", true);
	mk("pw/.git/config", false);
	snprintf(ws, sizeof(ws), "%s/pw", root);
	snprintf(home, sizeof(home), "%s/home", root);
	memset(&ctx, 0, sizeof(ctx));
	ctx.workspace = ws;
	ctx.home = home;
	policy_init(&pol);
	policy_builtin(&pol);
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_READ, "~/.ssh/known_hosts", POLICY_LAYER_CLI,
			      &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_READ, "~/.cache", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_WRITE, "~/.cache/pip", POLICY_LAYER_CLI,
			      &err) == 0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == 0);
	/* ~/.ssh masked entry by entry around the allowed known_hosts. */
	CHECK(find_mount(&plan, "home/.ssh") == NULL);
	m = find_mount(&plan, "home/.ssh/id_ed25519");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_MASK);
	CHECK(find_mount(&plan, "home/.ssh/known_hosts") == NULL);
	m = find_mount(&plan, "home/.aws");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_MASK);
	CHECK(strstr(m->origin, "built-in rule \"~/.aws\"") != NULL);
	/* Writable pip cache inside a denied ~/.cache: siblings masked. */
	m = find_mount(&plan, "home/.cache/pip");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_RW);
	m = find_mount(&plan, "home/.cache/other");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_MASK);
	/* Existing protected paths in the workspace: read-only; absent ones watched. */
	m = find_mount(&plan, "pw/.git/hooks");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_RO);
	m = find_mount(&plan, "pw/.git/config");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_RO);
	CHECK(plan.n_watch > 0);
	{
		bool vscode = false;

		for (size_t i = 0; i < plan.n_watch; i++)
			if (strstr(plan.watch[i], "/pw/.vscode") != NULL)
				vscode = true;
		CHECK(vscode);
	}
	/* ~/.bashrc is not in a writable area: no mount for it. */
	CHECK(find_mount(&plan, "home/.bashrc") == NULL);
	policy_plan_free(&plan);
	/* denyWrite beats allowWrite. */
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_WRITE, "~/.cache/pip", POLICY_LAYER_CLI, &err) ==
	      0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == 0);
	m = find_mount(&plan, "home/.cache/pip");
	CHECK(m == NULL || m->kind != POLICY_MOUNT_RW);
	policy_plan_free(&plan);
	/* A built-in protection is lifted only by an explicit allowWrite of that path. */
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_WRITE, ".git/hooks", POLICY_LAYER_CLI, &err) ==
	      0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == 0);
	CHECK(find_mount(&plan, "pw/.git/hooks") == NULL);
	m = find_mount(&plan, "pw/.git/config");
	CHECK(m != NULL && m->kind == POLICY_MOUNT_RO);
	policy_plan_free(&plan);
	/* A rule on / itself is refused. */
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_READ, "/", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == -1);
	CHECK(strstr(err.msg, "refusing denyRead on / itself") != NULL);
	policy_free(&pol);
	return 0;
}

static void
rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", path);
}

static bool
absent_has(const struct policy_plan *p, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (size_t i = 0; i < p->n_absent; i++)
		if (strcmp(p->absent[i], path) == 0)
			return true;
	return false;
}

/* denyRead paths absent at start are listed for the sealed home. */
static int
test_absent(void)
{
	struct cordon_policy pol;
	struct policy_plan plan;
	struct cordon_err err;
	char ws[PATH_MAX * 2], home[PATH_MAX * 2];
	struct policy_ctx ctx;

	mk("ahome/.config/app", true);
	mk("ahome/.netrc", false);
	mk("aws/x", true);
	snprintf(ws, sizeof(ws), "%s/aws", root);
	snprintf(home, sizeof(home), "%s/ahome", root);
	memset(&ctx, 0, sizeof(ctx));
	ctx.workspace = ws;
	ctx.home = home;
	policy_init(&pol);
	policy_builtin(&pol);
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_READ, "~/.later", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_READ, "~/.shown", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_READ, "~/.shown", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == 0);
	/* Absent: listed (a nested one under its existing parent), not mounted. */
	CHECK(absent_has(&plan, "ahome/.aws"));
	CHECK(absent_has(&plan, "ahome/.config/gh"));
	CHECK(absent_has(&plan, "ahome/.git-credentials"));
	CHECK(absent_has(&plan, "ahome/.later"));
	CHECK(find_mount(&plan, "ahome/.aws") == NULL);
	/* Present: a mask, not listed; allowed: neither. */
	CHECK(!absent_has(&plan, "ahome/.netrc"));
	CHECK(find_mount(&plan, "ahome/.netrc") != NULL);
	CHECK(!absent_has(&plan, "ahome/.shown"));
	/* Once each, and globs are not listed. */
	for (size_t i = 0; i < plan.n_absent; i++) {
		CHECK(strchr(plan.absent[i], '*') == NULL);
		for (size_t k = i + 1; k < plan.n_absent; k++)
			CHECK(strcmp(plan.absent[i], plan.absent[k]) != 0);
	}
	policy_plan_free(&plan);
	policy_free(&pol);
	return 0;
}

/*
 * Further workspaces: relative deny rules (built-in and the user's) apply
 * in each as in the workspace; relative allow rules only in the workspace;
 * a further workspace is never masked.
 */
static int
test_more(void)
{
	struct cordon_policy pol;
	struct policy_plan plan;
	struct cordon_err err;
	char ws[PATH_MAX * 2], two[PATH_MAX * 2], home[PATH_MAX * 2];
	const char *more[1];
	struct policy_ctx ctx;

	mk("mhome/x", false);
	mk("m1/.env", false);
	mk("m1/keep.secret", false);
	mk("m2/.env", false);
	mk("m2/sub/prod.env", false);
	mk("m2/.git/hooks", true);
	mk("m2/keep.secret", false);
	mk("m2/.npmrc", false);
	snprintf(ws, sizeof(ws), "%s/m1", root);
	snprintf(two, sizeof(two), "%s/m2", root);
	snprintf(home, sizeof(home), "%s/mhome", root);
	more[0] = two;
	memset(&ctx, 0, sizeof(ctx));
	ctx.workspace = ws;
	ctx.home = home;
	ctx.more = more;
	ctx.n_more = 1;
	policy_init(&pol);
	policy_builtin(&pol);
	CHECK(policy_add_rule(&pol, POLICY_FS_DENY_READ, "*.secret", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_READ, "keep.secret", POLICY_LAYER_CLI, &err) ==
	      0);
	CHECK(policy_add_rule(&pol, POLICY_FS_ALLOW_WRITE, two, POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_plan_build(&pol, &ctx, false, &plan, &err) == 0);
	CHECK(find_mount(&plan, "m1/.env") != NULL);
	CHECK(find_mount(&plan, "m2/.env") != NULL);
	CHECK(find_mount(&plan, "m2/.env")->kind == POLICY_MOUNT_MASK);
	CHECK(find_mount(&plan, "m2/sub/prod.env") != NULL);
	CHECK(find_mount(&plan, "m2/.git/hooks") != NULL);
	CHECK(find_mount(&plan, "m2/.git/hooks")->kind == POLICY_MOUNT_RO);
	CHECK(find_mount(&plan, "m2/.npmrc") != NULL);
	CHECK(find_mount(&plan, "m2/.npmrc")->kind == POLICY_MOUNT_RO);
	/* The allowRead of keep.secret is the workspace's only. */
	CHECK(find_mount(&plan, "m1/keep.secret") == NULL);
	CHECK(find_mount(&plan, "m2/keep.secret") != NULL);
	CHECK(find_mount(&plan, "m2") != NULL && find_mount(&plan, "m2")->kind == POLICY_MOUNT_RW);
	policy_plan_free(&plan);
	policy_free(&pol);
	return 0;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/cordon-plan-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(root) == NULL) {
		printf("1..0 # SKIP no scratch directory\n");
		return 0;
	}
	{
		char *real = realpath(root, NULL);

		snprintf(root, sizeof(root), "%s", real);
		free(real);
	}
	TAP_RUN(test_expand);
	TAP_RUN(test_glob);
	TAP_RUN(test_plan);
	TAP_RUN(test_absent);
	TAP_RUN(test_more);
	rm_rf(root);
	return tap_done();
}
