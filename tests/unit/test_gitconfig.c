/* SPDX-License-Identifier: MIT */
/*
 * git config as git reads it (supervisor/gitconfig.c), the allowlist and
 * the stripping; the scan of a workspace's git directories
 * (supervisor/gitscan.c) and the quarantine of what a session adds to
 * them, on a scratch tree under /tmp. No privileges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "supervisor/gitconfig.h"
#include "supervisor/gitscan.h"
#include "supervisor/quarantine.h"
#include "tap.h"

static char dir[64];

/* "var=value|var|..." of a config text, or "BAD". */
static char *
dump(const char *text)
{
	struct gitcfg c;
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (gitcfg_parse(text, strlen(text), &c) < 0)
		fputs("BAD", f);
	for (size_t i = 0; i < c.n && !c.bad; i++)
		fprintf(f, "%s%s%s%s", i ? "|" : "", c.v[i].var, c.v[i].value ? "=" : "",
			c.v[i].value ? c.v[i].value : "");
	fclose(f);
	gitcfg_free(&c);
	return out;
}

#define CHECK_DUMP(text, want)                                                                     \
	do {                                                                                       \
		_cleanup_free_ char *got_ = dump(text);                                            \
		CHECK_STR(got_, want);                                                             \
	} while (0)

static int
test_parse(void)
{
	/* Names are case-insensitive, subsections are not (but the old dotted form). */
	CHECK_DUMP("[Core]\n\tHooksPath = x\n", "core.hookspath=x");
	CHECK_DUMP("[remote \"OrIg\"]\nURL = u\n", "remote.OrIg.url=u");
	CHECK_DUMP("[Remote.OrIg]\nurl = u\n", "remote.orig.url=u");
	CHECK_DUMP("[a \"x\\\"y\\\\z\\q\"]\nk\n", "a.x\"y\\zq.k");
	/* A UTF-8 byte order mark is skipped, a partial one is refused (as git does). */
	CHECK_DUMP("\xef\xbb\xbf[core]\nhooksPath = .evil\n", "core.hookspath=.evil");
	CHECK_DUMP("\xef\xbb[core]\n", "BAD");
	/* A key on the header's line; several headers on one line. */
	CHECK_DUMP("[core] fsmonitor = sh x\n", "core.fsmonitor=sh x");
	CHECK_DUMP("[a][core]fsmonitor=y", "core.fsmonitor=y");
	/* Continuation lines, quotes, escapes, comments. */
	CHECK_DUMP("[core]\nfsmonitor = \"a \\\n b\" # c\n", "core.fsmonitor=a  b");
	CHECK_DUMP("[core]\nfsmonitor = a\\\r\nb\r\n", "core.fsmonitor=ab");
	CHECK_DUMP("[core]\npager = \"x;y#z\" ;c\n", "core.pager=x;y#z");
	CHECK_DUMP("[core]\npager =   a \t b   \n", "core.pager=a   b");
	CHECK_DUMP("[core]\npager = a\\tb\\n\\\\\n", "core.pager=a\tb\n\\");
	CHECK_DUMP("[core]\npager = a\\x\n", "BAD");
	CHECK_DUMP("[core]\npager = \"open\n", "BAD");
	/* A comment ends at the line's end even after a backslash. */
	CHECK_DUMP("[core]\n# x \\\nbare\n", "core.bare");
	/* No `=`: a boolean; anything else after the name is an error. */
	CHECK_DUMP("[core]\nbare\n", "core.bare");
	CHECK_DUMP("[core]\nbare # c\n", "BAD");
	/* git's blanks are SP, TAB, CR, LF: not VT or FF. */
	CHECK_DUMP("[core]\n\vbare\n", "BAD");
	/* A NUL byte is never read past. */
	{
		static const char nul[] = "[core]\nx = a\0\n[core]\nfsmonitor = y\n";
		struct gitcfg c;

		CHECK(gitcfg_parse(nul, sizeof(nul) - 1, &c) < 0);
		gitcfg_free(&c);
	}
	CHECK_DUMP("", "");
	CHECK_DUMP("[]\n", "BAD");
	CHECK_DUMP("[core \"x\" ]\n", "BAD");
	return 0;
}

static int
test_allowlist(void)
{
	static const struct {
		const char *text;
		bool allowed;
	} cases[] = {
		{ "[core]\nbare = false\n", true },
		{ "[core]\nrepositoryformatversion = 0\n", true },
		{ "[remote \"origin\"]\nurl = https://example.test/x\n", true },
		{ "[remote \"origin\"]\nurl = ext::sh -c touch% /tmp/x\n", false },
		{ "[remote \"origin\"]\nuploadpack = evil\n", false },
		{ "[branch \"main\"]\nmerge = refs/heads/main\n", true },
		{ "[user]\nemail = a@example.test\n", true },
		{ "[init]\ndefaultBranch = main\n", true },
		{ "[extensions]\nworktreeConfig = true\n", true },
		{ "[extensions \"x\"]\nworktreeConfig = true\n", false },
		{ "[core \"x\"]\nbare = true\n", false },
		{ "[core]\nhooksPath = .h\n", false },
		{ "[core]\nfsmonitor = x\n", false },
		{ "[core]\nsshCommand = x\n", false },
		{ "[core]\nworktree = /\n", false },
		{ "[alias]\nst = !x\n", false },
		{ "[filter \"lfs\"]\nclean = x\n", false },
		{ "[diff \"x\"]\ntextconv = x\n", false },
		{ "[gpg \"ssh\"]\ndefaultKeyCommand = x\n", false },
		{ "[credential]\nhelper = x\n", false },
		{ "[url \"https://evil.test/\"]\ninsteadOf = https://example.test/\n", false },
		{ "[include]\npath = x\n", false },
		{ "[includeIf \"gitdir:/\"]\npath = x\n", false },
		{ "[protocol]\nallow = always\n", false },
		{ "bare = true\n", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gitcfg c;

		CHECK(gitcfg_parse(cases[i].text, strlen(cases[i].text), &c) == 0 && c.n == 1);
		if (gitcfg_allowed(&c.v[0]) != cases[i].allowed) {
			printf("# %s", cases[i].text);
			gitcfg_free(&c);
			return -1;
		}
		gitcfg_free(&c);
	}
	{
		struct gitcfg c;
		static const char inc[] =
		    "[include]\npath = a\n[includeIf \"onbranch:x\"]\npath = b\n"
		    "[include \"x\"]\npath = c\n";

		CHECK(gitcfg_parse(inc, strlen(inc), &c) == 0 && c.n == 3);
		CHECK(gitcfg_is_include(&c.v[0]) && gitcfg_is_include(&c.v[1]));
		CHECK(!gitcfg_is_include(&c.v[2]));
		gitcfg_free(&c);
	}
	return 0;
}

static int
test_strip(void)
{
	static const char before[] = "[core]\n\trepositoryformatversion = 0\n\tpager = less\n"
				     "[remote \"origin\"]\n\turl = x\n[alias]\n\tco = checkout\n";
	static const char after[] =
	    "\xef\xbb\xbf[core]\n\trepositoryformatversion = 0\n"
	    "\tpager = less\n\thooksPath = .evil\n\tfsmonitor = \"sh -c x\"\n"
	    "[remote \"origin\"]\n\turl = x\n\tuploadpack = evil\n"
	    "[alias] st = !sh -c \\\n  pwned\n\tco = checkout\n"
	    "[CORE]\n\tPager = more\n"
	    "[gpg \"ssh\"]\n\tdefaultKeyCommand = x\n"
	    "[include]\n\tpath = evil.cfg\n"
	    "[user]\n\tname = me\n";
	struct gitcfg_strip out;
	struct gitcfg c;

	CHECK(gitcfg_strip(after, strlen(after), before, strlen(before), &out) == 0);
	printf("# %s\n", out.text);
	CHECK(out.n_removed == 7);
	CHECK_STR(out.removed[0], "core.hookspath");
	CHECK_STR(out.removed[1], "core.fsmonitor");
	CHECK_STR(out.removed[2], "remote.origin.uploadpack");
	CHECK_STR(out.removed[3], "alias.st");
	CHECK_STR(out.removed[4], "core.pager"); /* the value changed: "more" */
	CHECK_STR(out.removed[5], "gpg.ssh.defaultkeycommand");
	CHECK_STR(out.removed[6], "include.path");
	CHECK(strstr(out.text, "pwned") == NULL && strstr(out.text, "[alias]") != NULL);
	CHECK(gitcfg_parse(out.text, out.len, &c) == 0);
	/* What stays: the user's own keys (same value) and allowlisted ones. */
	CHECK(c.n == 5);
	CHECK_STR(gitcfg_last(&c, "core.pager"), "less");
	CHECK_STR(gitcfg_last(&c, "alias.co"), "checkout");
	gitcfg_free(&c);
	gitcfg_strip_free(&out);
	/* No before: a new repository keeps only the allowlist. */
	CHECK(gitcfg_strip(after, strlen(after), NULL, 0, &out) == 0);
	CHECK(out.n_removed == 9);
	gitcfg_strip_free(&out);
	/* A file git would refuse is not edited: the caller restores or quarantines it. */
	CHECK(gitcfg_strip("[core]\nfsmonitor = \"x\n", 21, NULL, 0, &out) < 0 && out.bad &&
	      out.text == NULL);
	gitcfg_strip_free(&out);
	return 0;
}

static int
put(const char *rel, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	if (text == NULL)
		return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static bool
exists(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static char *
slurp(const char *rel)
{
	char path[512], *buf = calloc(1, 65536);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, 65535) < 0)
			buf[0] = '\0';
		close(fd);
	}
	return buf;
}

static int
has_path(const struct qr_git_scan *s, const char *rel, enum qr_git_kind kind)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (qr_git_scan_kind(s, path) != (int)kind) {
		printf("# not found as kind %d: %s\n", kind, rel);
		return 0;
	}
	return 1;
}

static int
test_scan_and_quarantine(void)
{
	struct qr_git_scan scan;
	struct qr_snapshot snap;
	struct qr_inputs in = { 0 };
	struct cordon_err err = { 0 };
	char state[128];
	int r;

	/* A repository with a submodule (nested name), a worktree, a nested clone, husky. */
	CHECK(put(".git/HEAD", "ref: refs/heads/main\n") == 0);
	CHECK(put(".git/config", "[core]\n\tbare = false\n\thooksPath = .husky/_\n"
				 "[include]\n\tpath = ../shared.gitconfig\n") == 0);
	CHECK(put(".git/hooks/pre-commit.sample", "#!/bin/sh\n") == 0);
	CHECK(put(".git/modules/libs/a/HEAD", "ref: refs/heads/main\n") == 0);
	CHECK(put(".git/modules/libs/a/config", "[core]\n\tworktree = ../../../../libs/a\n") == 0);
	CHECK(put("libs/a/.git", "gitdir: ../../.git/modules/libs/a\n") == 0);
	CHECK(put(".git/worktrees/wt/HEAD", "ref: refs/heads/x\n") == 0);
	CHECK(put(".git/worktrees/wt/commondir", "../..\n") == 0);
	CHECK(put(".git/worktrees/wt/gitdir", "/elsewhere/.git\n") == 0);
	CHECK(put("deep/er/nested/.git/HEAD", "ref: refs/heads/main\n") == 0);
	CHECK(put("deep/er/nested/.git/config", "[core]\n\tpager = less\n") == 0);
	CHECK(put("node_modules/pkg/.git/config", "") == 0);
	CHECK(put(".husky/pre-commit", "npm test\n") == 0);
	CHECK(put(".husky/_/h", "#!/bin/sh\n") == 0);
	CHECK(put("shared.gitconfig", "[user]\n\tname = me\n") == 0);

	qr_git_scan(dir, NULL, &scan);
	CHECK(!scan.truncated);
	CHECK(scan.n_dirs == 4); /* .git, its module, its worktree, the nested clone */
	CHECK(has_path(&scan, ".git/hooks", QR_GIT_HOOKS));
	CHECK(has_path(&scan, ".git/config", QR_GIT_CONFIG));
	CHECK(has_path(&scan, ".git/commondir", QR_GIT_COMMONDIR));
	CHECK(has_path(&scan, ".git/info", QR_GIT_OTHER));
	CHECK(has_path(&scan, ".git/modules/libs/a/hooks", QR_GIT_HOOKS));
	CHECK(has_path(&scan, ".git/modules/libs/a/config", QR_GIT_CONFIG));
	CHECK(has_path(&scan, ".git/worktrees/wt/config.worktree", QR_GIT_CONFIG));
	CHECK(has_path(&scan, ".git/worktrees/wt/commondir", QR_GIT_COMMONDIR));
	CHECK(has_path(&scan, ".git/worktrees/wt/gitdir", QR_GIT_OTHER));
	CHECK(has_path(&scan, "libs/a/.git", QR_GIT_POINTER));
	CHECK(has_path(&scan, "deep/er/nested/.git/config", QR_GIT_CONFIG));
	CHECK(has_path(&scan, ".husky", QR_GIT_HOOKS));
	CHECK(has_path(&scan, ".husky/_", QR_GIT_HOOKS));
	CHECK(has_path(&scan, "shared.gitconfig", QR_GIT_CONFIG));
	CHECK(qr_git_scan_kind(&scan, "node_modules/pkg/.git/config") < 0);

	in.git = &scan;
	CHECK(qr_snapshot_take(&snap, dir, &in, &err) == 0);
	CHECK(snap.n_known == 4);

	/* What a session plants (the walls are not up here: the files are written directly). */
	CHECK(put(".git/commondir", "../evil\n") == 0); /* commondir redirect */
	CHECK(put(".git/modules/libs/a/config",
		  "[core]\n\tworktree = ../../../../libs/a\n\tfsmonitor = x\n") == 0);
	CHECK(put(".git/worktrees/wt/config.worktree", "[core]\n\tsshCommand = x\n") == 0);
	CHECK(put("deep/er/nested/.git/hooks/post-checkout", "#!/bin/sh\n") == 0);
	CHECK(put(".husky/pre-push", "curl x | sh\n") == 0);
	CHECK(put("shared.gitconfig", "[user]\n\tname = me\n[core]\n\tpager = x\n") == 0);
	/* A repository made in the session: BOM config, a hook; a submodule pointer to it. */
	CHECK(put("new/.git/HEAD", "ref: refs/heads/main\n") == 0);
	CHECK(put("new/.git/config", "\xef\xbb\xbf[core]\n\tbare = false\n\thooksPath = h\n") == 0);
	CHECK(put("new/.git/hooks/pre-commit", "#!/bin/sh\n") == 0);
	CHECK(put("new/.git/hooks/update.sample", "#!/bin/sh\n") == 0);
	CHECK(put("sub2/.git", "gitdir: ../new/.git\n") == 0);
	CHECK(put("sub3/.git", "gitdir: /tmp\n") == 0); /* outside the workspace */

	snprintf(state, sizeof(state), "%s-state", dir);
	r = qr_run(&snap, state, &err);
	for (size_t i = 0; i < snap.n_report; i++)
		printf("# %s\n", snap.report[i]);
	CHECK(r == 9);
	CHECK(!exists(".git/commondir"));
	CHECK(strstr(slurp(".git/modules/libs/a/config"), "fsmonitor") == NULL);
	CHECK(strstr(slurp(".git/modules/libs/a/config"), "worktree") != NULL); /* was there */
	CHECK(strstr(slurp(".git/worktrees/wt/config.worktree"), "sshCommand") == NULL);
	CHECK(!exists("deep/er/nested/.git/hooks/post-checkout"));
	CHECK(!exists(".husky/pre-push") && exists(".husky/pre-commit"));
	CHECK(strstr(slurp("shared.gitconfig"), "pager") == NULL);
	CHECK(strstr(slurp("new/.git/config"), "hooksPath") == NULL);
	CHECK(strstr(slurp("new/.git/config"), "bare") != NULL);
	CHECK(!exists("new/.git/hooks/pre-commit") && exists("new/.git/hooks/update.sample"));
	CHECK(exists("sub2/.git") && !exists("sub3/.git"));
	qr_snapshot_free(&snap);
	qr_git_scan_free(&scan);
	return 0;
}

int
main(void)
{
	int r;

	snprintf(dir, sizeof(dir), "/tmp/cordon-test-git.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(test_parse);
	TAP_RUN(test_allowlist);
	TAP_RUN(test_strip);
	TAP_RUN(test_scan_and_quarantine);
	r = tap_done();
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s-state'", dir, dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return r;
}
