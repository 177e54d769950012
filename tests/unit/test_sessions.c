/* SPDX-License-Identifier: MIT */
/*
 * Session records and the clean-up of a killed session: the text formats
 * (percent-encoding, quarantine snapshot, record) round-trip and refuse
 * damage; a killed session is closed in its audit log exactly once and
 * `cordon log verify` then reports it closed; a session that ended is left
 * alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/pct.h"
#include "supervisor/gitscan.h"
#include "supervisor/quarantine.h"
#include "supervisor/registry.h"
#include "tap.h"

static char dir[64];

static int
test_pct_round_trip(void)
{
	static const char bytes[] = "a b%c\n\t\x01\xff\"'=/~";
	size_t len = 0;
	char *e = pct_encode(bytes, sizeof(bytes) - 1), *d;

	CHECK(strpbrk(e, " \n\t") == NULL);
	d = pct_decode(e, &len);
	CHECK(d != NULL && len == sizeof(bytes) - 1 && memcmp(d, bytes, len) == 0);
	free(e);
	free(d);
	e = pct_encode("", 0);
	CHECK_STR(e, "%");
	d = pct_decode(e, &len);
	CHECK(d != NULL && len == 0);
	free(e);
	free(d);
	CHECK(pct_decode("%0", &len) == NULL);
	CHECK(pct_decode("%zz", &len) == NULL);
	CHECK(pct_decode("%00", &len) == NULL); /* no NUL inside a C string */
	CHECK(pct_decode("a b", &len) == NULL);
	return 0;
}

/*
 * A workspace whose repository has a config (bytes that are not UTF-8, a
 * key that runs commands) and no hooks directory yet.
 */
static int
make_repo(char *ws, size_t len)
{
	char p[256];
	FILE *f;

	snprintf(ws, len, "%s/ws", dir);
	if (mkdir(ws, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/.git", ws);
	if (mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/.git/config", ws);
	f = fopen(p, "we");
	if (f == NULL)
		return -1;
	fputs("[core]\n\tpager = less\n[user]\n\tname = J\xe9r\xf4me  x\n", f);
	return fclose(f);
}

static int
test_snapshot_round_trip(void)
{
	char ws[128], hooks[256], config[256], hook[300];
	char *protect[1], *watch[2], *text, *again;
	struct qr_snapshot a, b;
	struct qr_inputs in = { 0 };
	struct qr_git_scan scan;
	struct cordon_err err = { 0 };
	FILE *f;
	int r;

	CHECK(make_repo(ws, sizeof(ws)) == 0);
	snprintf(hooks, sizeof(hooks), "%s/.git/hooks", ws);
	snprintf(config, sizeof(config), "%s/.git/config", ws);
	protect[0] = config;
	watch[0] = hooks;
	watch[1] = (char *)"/nonexistent/.envrc";
	qr_git_scan(ws, NULL, &scan);
	CHECK(scan.n_dirs == 1);
	in.protect = protect;
	in.n_protect = 1;
	in.watch = watch;
	in.n_watch = 2;
	in.git = &scan;
	CHECK(qr_snapshot_take(&a, ws, &in, &err) == 0);
	CHECK(a.n_known == 1);
	text = qr_snapshot_save(&a);
	CHECK(qr_snapshot_load(&b, text, &err) == 0);
	again = qr_snapshot_save(&b);
	CHECK_STR(again, text);
	free(again);

	/*
	 * The loaded snapshot judges as the original would: a hook that
	 * appeared goes, a command key added to the config goes, the key that
	 * was there stays.
	 */
	CHECK(mkdir(hooks, 0755) == 0);
	snprintf(hook, sizeof(hook), "%s/pre-commit", hooks);
	f = fopen(hook, "we");
	CHECK(f != NULL);
	fputs("#!/bin/sh\necho PWNED\n", f);
	fclose(f);
	f = fopen(config, "ae");
	CHECK(f != NULL);
	fputs("[core]\n\thooksPath = /tmp/evil\n", f);
	fclose(f);
	r = qr_run(&b, dir, &err);
	for (size_t i = 0; i < b.n_report; i++)
		printf("# %s\n", b.report[i]);
	CHECK(r == 2);
	CHECK(access(hook, F_OK) < 0 && errno == ENOENT);
	{
		char buf[512] = "";
		int fd = open(config, O_RDONLY | O_CLOEXEC);
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		CHECK(n > 0);
		CHECK(strstr(buf, "hooksPath") == NULL && strstr(buf, "pager = less") != NULL);
	}
	qr_snapshot_free(&a);
	qr_snapshot_free(&b);
	qr_git_scan_free(&scan);

	/* Damage is refused, never half-loaded. */
	text[strlen(text) - 4] = '\0'; /* "end" cut off */
	CHECK(qr_snapshot_load(&b, text, &err) < 0);
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 1\nitem hooks 1 1 1 40755 /a /\nend\n",
			       &err) < 0); /* an item before the workspace */
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 1\nworkspace /w\nhook x 00\nend\n", &err) <
	      0);
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 3\nworkspace /w\nend\n", &err) < 0);
	/* Known git directories: version 2 only, before the items, absolute. */
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 1\nworkspace /w\nknown /w/.git\nend\n",
			       &err) < 0);
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 2\nworkspace /w\nknown w/.git\nend\n", &err) <
	      0);
	CHECK(qr_snapshot_load(&b,
			       "cordon-quarantine 2\nworkspace /w\nitem generic 0 0 0 0 /w/x /w\n"
			       "known /w/.git\nend\n",
			       &err) < 0);
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 2\nworkspace /w\nknown /w/.git\nend\n",
			       &err) == 0);
	CHECK(b.walk && b.n_known == 1);
	qr_snapshot_free(&b);
	/* A version 1 snapshot (an older cordon was killed) is finished as it would have. */
	CHECK(qr_snapshot_load(&b, "cordon-quarantine 1\nworkspace /w\nend\n", &err) == 0);
	CHECK(!b.walk);
	qr_snapshot_free(&b);
	free(text);
	return 0;
}

static int
test_record_round_trip(void)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"trap '' TERM; sleep 1000", (char *)"",
			 NULL };
	struct sv_reg_info in = {
		.id = "0123456789abcdef0123456789abcdef",
		.pid = 42,
		.pid_start = 123456,
		.sandbox_pid = 43,
		.sandbox_start = 123457,
		.started = 1700000000,
		.workspace = (char *)"/home/u/my project",
		.audit_log = (char *)"/home/u/.local/state/cordon/audit/audit.jsonl",
		.state_dir = (char *)"/home/u/.local/state/cordon",
		.argv = argv,
		.snapshot = (char *)"cordon-quarantine 1\nworkspace /home/u/my%20project\nend\n",
		.unsafe = true,
	};
	struct sv_reg_info out;
	struct cordon_err err = { 0 };
	char *text = sv_reg_format(&in), *again;

	CHECK(sv_reg_parse(text, &out, &err) == 0);
	CHECK_STR(out.id, in.id);
	CHECK(out.pid == 42 && out.pid_start == 123456 && out.sandbox_pid == 43 &&
	      out.sandbox_start == 123457 && out.started == 1700000000);
	CHECK_STR(out.workspace, in.workspace);
	CHECK_STR(out.audit_log, in.audit_log);
	CHECK_STR(out.state_dir, in.state_dir);
	CHECK_STR(out.argv[2], argv[2]);
	CHECK_STR(out.argv[3], "");
	CHECK(out.argv[4] == NULL);
	CHECK_STR(out.snapshot, in.snapshot);
	CHECK(out.unsafe);
	again = sv_reg_format(&out);
	CHECK_STR(again, text);
	free(again);
	sv_reg_info_free(&out);

	/* No audit log: the line is absent, and it reads back as NULL. */
	in.audit_log = NULL;
	in.unsafe = false;
	free(text);
	text = sv_reg_format(&in);
	CHECK(sv_reg_parse(text, &out, &err) == 0 && out.audit_log == NULL && !out.unsafe);
	sv_reg_info_free(&out);
	free(text);

	CHECK(sv_reg_parse("cordon-session 1\nid nothex\n", &out, &err) < 0);
	CHECK(sv_reg_parse("cordon-session 1\nid 0123456789abcdef0123456789abcdef\nsnapshot\n",
			   &out, &err) < 0); /* fields missing */
	CHECK(sv_reg_parse("cordon-session 1\nid 0123456789abcdef0123456789abcdef\n"
			   "supervisor 1 2\nsandbox 0 0\nstarted 3\nworkspace relative\n"
			   "state /s\nargv x\nsnapshot\n",
			   &out, &err) < 0);
	CHECK(sv_reg_parse("cordon-session 1\nid 0123456789abcdef0123456789abcdef\n"
			   "supervisor 1 2\nsandbox 0 0\nstarted 3\nworkspace /w\n"
			   "state /s\nargv x\nsnapshot\n",
			   &out, &err) == 0);
	sv_reg_info_free(&out);
	return 0;
}

static char *
slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int
test_close_orphan(void)
{
	char path[128];
	struct cordon_err err = { 0 };
	struct audit_options opts = { .fail_closed = true };
	struct audit_closer by = { .command = "run", .session = NULL, .pid = 7 };
	struct audit_session_end end = { .status = 0, .reason = "exit" };
	struct audit_verify_report rep;
	struct audit_policy_change pc = { "allow-domain", "x.test", "cordon allow" };
	struct cordon_audit *killed, *other;
	char killed_id[AUDIT_SESSION_ID_LEN + 1], other_id[AUDIT_SESSION_ID_LEN + 1];

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	opts.path = path;
	CHECK(audit_session_id_new(killed_id, &err) == 0 && audit_session_id_ok(killed_id));
	CHECK(audit_session_id_new(other_id, &err) == 0 && strcmp(killed_id, other_id) != 0);
	/* The id given is the id written. */
	opts.session_id = killed_id;
	killed = audit_open(&opts, &err);
	CHECK(killed != NULL);
	CHECK_STR(audit_session_id(killed), killed_id);
	opts.session_id = other_id;
	other = audit_open(&opts, &err);
	CHECK(other != NULL);
	{
		char *argv[] = { (char *)"true", NULL };
		struct audit_session_info info = { .argv = argv, .cwd = "/w", .uid = 0 };

		CHECK(audit_session_start(killed, &info, &err) == 0);
		CHECK(audit_policy_change(killed, &pc, &err) == 0);
		CHECK(audit_session_start(other, &info, &err) == 0);
		CHECK(audit_policy_change(killed, &pc, &err) == 0);
		CHECK(audit_session_end(other, &end, &err) == 0);
	}
	/* killed dies here: no end record. */
	audit_close(killed);
	audit_close(other);
	CHECK(audit_verify_file(path, &rep, &err) == 0);
	CHECK(rep.result == AUDIT_VERIFY_OPEN);

	by.session = other_id;
	CHECK(audit_close_orphan(path, killed_id, "supervisor-killed", &by, &err) == 1);
	CHECK(audit_verify_file(path, &rep, &err) == 0);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	CHECK(rep.closed_later == 1);
	CHECK_STR(rep.closed_session, killed_id);
	CHECK_STR(rep.closed_by, other_id);
	CHECK_STR(rep.closed_by_command, "run");
	CHECK_STR(rep.closed_reason, "supervisor-killed");
	CHECK(strstr(slurp(path), "\"seq\":3,") != NULL); /* after its seq 0, 1, 2 */

	/* Once: closing again, or closing a session that ended, writes nothing. */
	CHECK(audit_close_orphan(path, killed_id, "supervisor-killed", &by, &err) == 0);
	CHECK(audit_close_orphan(path, other_id, "supervisor-killed", &by, &err) == 0);
	CHECK(audit_close_orphan(path, "ffffffffffffffffffffffffffffffff", "supervisor-killed", &by,
				 &err) == 0);
	CHECK(audit_verify_file(path, &rep, &err) == 0 && rep.result == AUDIT_VERIFY_OK);
	CHECK(audit_close_orphan(path, "not an id", "x", &by, &err) < 0);

	/* A log cut mid-record still fails, closing record or not. */
	{
		char *buf = slurp(path);
		size_t len = strlen(buf);

		audit_verify_buf(buf, len - 5, &rep);
		CHECK(rep.result == AUDIT_VERIFY_TRUNCATED);
	}
	return 0;
}

static int
test_proc_start(void)
{
	unsigned long long a = 0, b = 0;
	char state = 0;

	CHECK(sv_proc_start(getpid(), &a, &state) == 0 && a > 0 && state == 'R');
	CHECK(sv_proc_start(1, &b, &state) == 0 && b <= a);
	CHECK(sv_proc_start(0x3ffffff, &b, &state) < 0);
	return 0;
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cordon-test-sessions.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(test_pct_round_trip);
	TAP_RUN(test_snapshot_round_trip);
	TAP_RUN(test_record_round_trip);
	TAP_RUN(test_close_orphan);
	TAP_RUN(test_proc_start);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
