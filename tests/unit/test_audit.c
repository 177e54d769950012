/* SPDX-License-Identifier: MIT */
/* The audit writer, its escaping, the hash chain and the verifier. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "tap.h"

static char dir[64];

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	buf = malloc(1 << 20);
	cap = fread(buf, 1, (1 << 20) - 1, f);
	buf[cap] = '\0';
	fclose(f);
	*len = cap;
	return buf;
}

static int
spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "we");

	if (f == NULL)
		return -1;
	fwrite(buf, 1, len, f);
	return fclose(f);
}

static char *
log_path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	return p;
}

/* Line n (1-based) of buf as a parsed record. */
static json_t *
line_json(const char *buf, int n)
{
	const char *p = buf;

	for (int i = 1; i < n && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return NULL;
	return json_loadb(p, strcspn(p, "\n"), 0, NULL);
}

static int
count_lines(const char *buf)
{
	int n = 0;

	for (const char *p = buf; *p; p++)
		n += *p == '\n';
	return n;
}

static int
test_utf8_sanitize(void)
{
	char out[64];

	CHECK(audit_utf8_sanitize("plain", 5, out, sizeof(out)) == 5);
	CHECK_STR(out, "plain");
	CHECK(audit_utf8_sanitize("\xc3\xa9t\xc3\xa9", 6, out, sizeof(out)) == 6);
	CHECK_STR(out, "\xc3\xa9t\xc3\xa9");
	audit_utf8_sanitize("a\xff"
			    "b",
			    3, out, sizeof(out));
	CHECK_STR(out, "a\xef\xbf\xbd"
		       "b");
	/* overlong "/" and a UTF-16 surrogate: every byte replaced */
	audit_utf8_sanitize("\xc0\xaf", 2, out, sizeof(out));
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
	audit_utf8_sanitize("\xed\xa0\x80", 3, out, sizeof(out));
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* 4-byte emoji kept; a cut sequence at the end replaced */
	audit_utf8_sanitize("\xf0\x9f\x98\x80\xf0\x9f", 6, out, sizeof(out));
	CHECK_STR(out, "\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
	/* never cuts a character when out is short */
	CHECK(audit_utf8_sanitize("\xc3\xa9\xc3\xa9", 4, out, 4) == 2);
	return 0;
}

static int
test_format_argv_hostile(void)
{
	const char *argv[] = { "rm", "-rf\n{\"v\":1}", "\xff\xfe", "tab\there", "q\"\\" };
	size_t len[] = { 2, 11, 2, 8, 3 };
	char *s = audit_format_argv(argv, len, 5);
	json_t *arr;

	CHECK(s != NULL);
	CHECK(strchr(s, '\n') == NULL);
	for (const char *p = s; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	CHECK_STR(s, "[\"rm\",\"-rf\\n{\\\"v\\\":1}\",\"\\uFFFD\\uFFFD\",\"tab\\there\","
		     "\"q\\\"\\\\\"]");
	arr = json_loads(s, 0, NULL);
	CHECK(arr != NULL && json_array_size(arr) == 5);
	CHECK_STR(json_string_value(json_array_get(arr, 1)), "-rf\n{\"v\":1}");
	json_decref(arr);
	free(s);
	return 0;
}

static struct cordon_audit *
open_log(const char *path)
{
	struct audit_options o = { .path = path, .fail_closed = true };
	struct cordon_err err = { 0 };
	struct cordon_audit *a = audit_open(&o, &err);

	if (a == NULL)
		printf("# audit_open: %s\n", err.msg);
	return a;
}

static int
start(struct cordon_audit *a)
{
	static char *argv[] = { (char *)"bash", (char *)"-c", (char *)"echo hi", NULL };
	static const char *const ns[] = { "user", "mnt", NULL };
	struct audit_layers layers = {
		.namespaces = ns, .seccomp = true, .limits = "none", .exec_audit = true
	};
	struct audit_session_info info = { .argv = argv,
					   .cwd = "/ws",
					   .user = "alice",
					   .uid = 1000,
					   .policy_digest = "sha256:00",
					   .layers = &layers };
	struct cordon_err err = { 0 };

	return audit_session_start(a, &info, &err);
}

static int
end(struct cordon_audit *a)
{
	struct audit_session_end e = { .status = 3, .reason = "exit" };
	struct cordon_err err = { 0 };

	return audit_session_end(a, &e, &err);
}

static int
test_records_exact_fields(void)
{
	const char *path = log_path("fields.jsonl");
	struct cordon_audit *a = open_log(path);
	struct cordon_err err = { 0 };
	const char *argv[] = { "/bin/echo", "a\nb" };
	size_t alen[] = { 9, 3 };
	struct audit_exec_event ex = { .pid = 42,
				       .syscall = "execve",
				       .path = "/bin/echo",
				       .path_len = 9,
				       .argv = argv,
				       .argv_len = alen,
				       .argc = 2,
				       .outcome = "ran",
				       .file_path = "/usr/bin/echo",
				       .file_dev = 0x0801,
				       .file_ino = 77 };
	struct audit_net_event net = { .host = "allowed.test",
				       .port = 443,
				       .address = "192.0.2.1",
				       .protocol = "http-connect",
				       .decision = "allow",
				       .rule = "*.test",
				       .bytes_up = 10,
				       .bytes_down = 20,
				       .duration_ms = 5 };
	struct audit_violation vio = {
		.kind = "net", .what = "evil.test:443", .reason = "not in the allowlist", .pid = 0
	};
	struct audit_policy_change pol = { .action = "allow-domain",
					   .target = "x.test",
					   .origin = "cordon allow" };
	struct audit_credential cred = { .name = "GITHUB_TOKEN",
					 .host = "api.github.test",
					 .header = "authorization" };
	struct audit_verify_report rep;
	size_t len;
	char *buf;
	json_t *r;

	CHECK(a != NULL);
	CHECK(start(a) == 0);
	CHECK(audit_exec(a, &ex, &err) == 0);
	CHECK(audit_net(a, &net, &err) == 0);
	CHECK(audit_violation(a, &vio, &err) == 0);
	CHECK(audit_policy_change(a, &pol, &err) == 0);
	CHECK(audit_credential(a, &cred, &err) == 0);
	CHECK(end(a) == 0);
	CHECK(audit_counters(a)->exec == 1 && audit_counters(a)->net == 1);
	audit_close(a);

	buf = slurp(path, &len);
	CHECK(buf != NULL);
	CHECK(count_lines(buf) == 7);
	for (size_t i = 0; i < len; i++)
		CHECK(buf[i] == '\n' ||
		      ((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x7f));

	r = line_json(buf, 1);
	CHECK(r != NULL);
	CHECK(json_integer_value(json_object_get(r, "v")) == 1);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "session_start");
	CHECK(json_integer_value(json_object_get(r, "seq")) == 0);
	CHECK(strlen(json_string_value(json_object_get(r, "session"))) == AUDIT_SESSION_ID_LEN);
	CHECK_STR(json_string_value(json_object_get(r, "cwd")), "/ws");
	/* No workspace list given: the one of cwd, read-write. */
	CHECK(json_array_size(json_object_get(r, "workspaces")) == 1);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(json_object_get(r, "workspaces"), 0), "path")),
		  "/ws");
	CHECK(json_is_false(
	    json_object_get(json_array_get(json_object_get(r, "workspaces"), 0), "ro")));
	CHECK_STR(json_string_value(json_object_get(r, "user")), "alice");
	CHECK(json_integer_value(json_object_get(r, "uid")) == 1000);
	CHECK_STR(json_string_value(json_object_get(r, "policy_digest")), "sha256:00");
	CHECK_STR(json_string_value(json_array_get(json_object_get(r, "argv"), 2)), "echo hi");
	CHECK(json_is_true(json_object_get(json_object_get(r, "layers"), "seccomp")));
	CHECK(json_integer_value(json_object_get(json_object_get(r, "layers"), "landlock_abi")) ==
	      0);
	CHECK_STR(json_string_value(json_array_get(
		      json_object_get(json_object_get(r, "layers"), "namespaces"), 1)),
		  "mnt");
	CHECK_STR(json_string_value(json_object_get(r, "prev")),
		  "0000000000000000000000000000000000000000000000000000000000000000");
	CHECK(strncmp(json_string_value(json_object_get(r, "ts")), "20", 2) == 0);
	json_decref(r);

	r = line_json(buf, 2);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "exec");
	CHECK(json_integer_value(json_object_get(r, "pid")) == 42);
	CHECK_STR(json_string_value(json_object_get(r, "syscall")), "execve");
	CHECK_STR(json_string_value(json_object_get(r, "path")), "/bin/echo");
	CHECK_STR(json_string_value(json_array_get(json_object_get(r, "argv"), 1)), "a\nb");
	CHECK(json_is_false(json_object_get(r, "truncated")));
	CHECK(json_integer_value(json_object_get(r, "seq")) == 1);
	CHECK_STR(json_string_value(json_object_get(r, "outcome")), "ran");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "file"), "path")),
		  "/usr/bin/echo");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "file"), "dev")), "8:1");
	CHECK(json_integer_value(json_object_get(json_object_get(r, "file"), "ino")) == 77);
	CHECK(json_object_get(r, "path_mismatch") == NULL && json_object_get(r, "digest") == NULL);
	json_decref(r);

	r = line_json(buf, 3);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "net");
	CHECK_STR(json_string_value(json_object_get(r, "host")), "allowed.test");
	CHECK(json_integer_value(json_object_get(r, "port")) == 443);
	CHECK_STR(json_string_value(json_object_get(r, "address")), "192.0.2.1");
	CHECK_STR(json_string_value(json_object_get(r, "protocol")), "http-connect");
	CHECK_STR(json_string_value(json_object_get(r, "decision")), "allow");
	CHECK_STR(json_string_value(json_object_get(r, "rule")), "*.test");
	CHECK(json_is_null(json_object_get(r, "reason")));
	CHECK(json_integer_value(json_object_get(r, "bytes_up")) == 10);
	CHECK(json_integer_value(json_object_get(r, "bytes_down")) == 20);
	CHECK(json_integer_value(json_object_get(r, "duration_ms")) == 5);
	json_decref(r);

	r = line_json(buf, 4);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "violation");
	CHECK_STR(json_string_value(json_object_get(r, "kind")), "net");
	CHECK_STR(json_string_value(json_object_get(r, "what")), "evil.test:443");
	CHECK_STR(json_string_value(json_object_get(r, "reason")), "not in the allowlist");
	json_decref(r);

	r = line_json(buf, 5);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "policy");
	CHECK_STR(json_string_value(json_object_get(r, "action")), "allow-domain");
	CHECK_STR(json_string_value(json_object_get(r, "target")), "x.test");
	json_decref(r);

	r = line_json(buf, 6);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "credential");
	CHECK_STR(json_string_value(json_object_get(r, "name")), "GITHUB_TOKEN");
	CHECK(json_object_get(r, "value") == NULL);
	json_decref(r);

	r = line_json(buf, 7);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "session_end");
	CHECK(json_integer_value(json_object_get(r, "status")) == 3);
	CHECK_STR(json_string_value(json_object_get(r, "reason")), "exit");
	CHECK(json_integer_value(json_object_get(json_object_get(r, "counters"), "records")) == 6);
	CHECK(json_integer_value(json_object_get(json_object_get(r, "counters"), "exec")) == 1);
	CHECK(json_integer_value(json_object_get(json_object_get(r, "counters"), "violations")) ==
	      1);
	json_decref(r);

	audit_verify_buf(buf, len, &rep);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	CHECK(rep.lines == 7 && rep.sessions == 1);
	free(buf);
	return 0;
}

/* Two sessions, the second linked to the first, interleaved writers. */
static int
test_chain_across_sessions(void)
{
	const char *path = log_path("two.jsonl");
	struct cordon_audit *a = open_log(path), *b;
	struct audit_violation v = { .kind = "fs", .what = "/x", .reason = "r" };
	struct cordon_err err = { 0 };
	struct audit_verify_report rep;
	size_t len;
	char *buf;
	json_t *l2, *l3;
	char h[AUDIT_HASH_HEX + 1];

	CHECK(a != NULL && start(a) == 0 && end(a) == 0);
	audit_close(a);
	a = open_log(path);
	b = open_log(path);
	CHECK(a != NULL && b != NULL);
	CHECK(start(a) == 0 && start(b) == 0);
	CHECK(audit_violation(a, &v, &err) == 0 && audit_violation(b, &v, &err) == 0);
	CHECK(audit_violation(a, &v, &err) == 0);
	CHECK(end(b) == 0 && end(a) == 0);
	audit_close(a);
	audit_close(b);
	buf = slurp(path, &len);
	CHECK(count_lines(buf) == 9);
	/* line 3 (second session's start) links to line 2 (first session's end) */
	l2 = line_json(buf, 2);
	l3 = line_json(buf, 3);
	{
		const char *p2 = strchr(buf, '\n') + 1;

		audit_sha256_hex(p2, strcspn(p2, "\n"), h);
	}
	CHECK_STR(json_string_value(json_object_get(l3, "prev")), h);
	CHECK_STR(json_string_value(json_object_get(l2, "type")), "session_end");
	json_decref(l2);
	json_decref(l3);
	audit_verify_buf(buf, len, &rep);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	CHECK(rep.sessions == 3);
	free(buf);
	return 0;
}

/* Linking to a long last line written by another writer (> one read window). */
static int
test_long_tail_link(void)
{
	const char *path = log_path("long.jsonl");
	struct cordon_audit *a = open_log(path), *b = open_log(path);
	static char big[50000];
	struct audit_violation v = { .kind = "fs", .what = big, .reason = "r" };
	struct cordon_err err = { 0 };
	struct audit_verify_report rep;

	memset(big, '\x01', sizeof(big) - 1); /* 6 bytes each once escaped */
	CHECK(a != NULL && b != NULL);
	CHECK(start(a) == 0 && start(b) == 0);
	CHECK(audit_violation(a, &v, &err) == 0);
	CHECK(audit_violation(b, &v, &err) == 0);
	CHECK(end(a) == 0 && end(b) == 0);
	audit_close(a);
	audit_close(b);
	CHECK(audit_verify_file(path, &rep, &err) == 0);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	CHECK(rep.lines == 6);
	return 0;
}

static char *
sample_log(size_t *len)
{
	const char *path = log_path("sample.jsonl");
	struct cordon_audit *a = open_log(path);
	struct audit_violation v = { .kind = "fs", .what = "/etc/shadow", .reason = "masked" };
	struct cordon_err err = { 0 };

	if (a == NULL || start(a) < 0)
		return NULL;
	for (int i = 0; i < 3; i++)
		audit_violation(a, &v, &err);
	end(a);
	audit_close(a);
	return slurp(path, len); /* 5 lines */
}

static int
test_verify_catches_edit(void)
{
	struct audit_verify_report rep;
	size_t len;
	char *buf = sample_log(&len), *p;

	CHECK(buf != NULL);
	p = strstr(buf, "/etc/shadow"); /* line 2 */
	CHECK(p != NULL);
	memcpy(p, "/etc/passw", 10);
	audit_verify_buf(buf, len, &rep);
	CHECK(rep.result == AUDIT_VERIFY_BROKEN);
	CHECK(rep.line == 3);
	CHECK(strstr(rep.detail, "line 2 was changed") != NULL);
	free(buf);
	return 0;
}

static int
test_verify_catches_delete(void)
{
	struct audit_verify_report rep;
	size_t len;
	char *buf = sample_log(&len);
	char *l3, *l4;

	CHECK(buf != NULL);
	l3 = strchr(strchr(buf, '\n') + 1, '\n') + 1;
	l4 = strchr(l3, '\n') + 1;
	memmove(l3, l4, strlen(l4) + 1); /* delete line 3 */
	audit_verify_buf(buf, strlen(buf), &rep);
	CHECK(rep.result == AUDIT_VERIFY_BROKEN);
	CHECK(rep.line == 3);
	/* deleting line 1 */
	free(buf);
	buf = sample_log(&len);
	audit_verify_buf(strchr(buf, '\n') + 1, strlen(strchr(buf, '\n') + 1), &rep);
	CHECK(rep.result == AUDIT_VERIFY_BROKEN && rep.line == 1);
	free(buf);
	return 0;
}

static int
test_verify_catches_truncation(void)
{
	struct audit_verify_report rep;
	size_t len;
	char *buf = sample_log(&len);
	char *last;

	CHECK(buf != NULL);
	audit_verify_buf(buf, len - 10, &rep); /* cut mid-record */
	CHECK(rep.result == AUDIT_VERIFY_TRUNCATED);
	CHECK(rep.line == 5);
	buf[len - 1] = '\0';
	last = strrchr(buf, '\n') + 1; /* cut at a record boundary */
	audit_verify_buf(buf, (size_t)(last - buf), &rep);
	CHECK(rep.result == AUDIT_VERIFY_OPEN);
	CHECK(rep.open_sessions == 1 && rep.open_line == 1);
	CHECK(rep.lines == 4);
	free(buf);
	return 0;
}

static int
test_verify_garbage(void)
{
	struct audit_verify_report rep;

	audit_verify_buf("not json\n", 9, &rep);
	CHECK(rep.result == AUDIT_VERIFY_BROKEN && rep.line == 1);
	audit_verify_buf("", 0, &rep);
	CHECK(rep.result == AUDIT_VERIFY_OK && rep.lines == 0);
	return 0;
}

/* A write that fails halfway leaves no half record and is reported. */
static int
test_write_failure_rolls_back(void)
{
	const char *path = log_path("full.jsonl");
	struct cordon_audit *a = open_log(path);
	struct audit_violation v = { .kind = "fs", .reason = "r" };
	struct cordon_err err = { 0 };
	struct rlimit old, lim;
	struct audit_verify_report rep;
	char big[3000];
	struct stat st;
	int r;

	CHECK(a != NULL && start(a) == 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	v.what = big;
	CHECK(stat(path, &st) == 0);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 1000; /* room for part of the record */
	setrlimit(RLIMIT_FSIZE, &lim);
	r = audit_violation(a, &v, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(r == -1);
	CHECK(audit_failed(a) != NULL);
	CHECK(strstr(err.msg, "cannot write the violation record") != NULL);
	CHECK(stat(path, &st) == 0);
	CHECK(end(a) == 0); /* the log goes on where it was */
	audit_close(a);
	CHECK(audit_verify_file(path, &rep, &err) == 0);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	CHECK(rep.lines == 2);
	return 0;
}

/* A file left ending mid-line: the next record starts a new line. */
static int
test_append_after_torn_tail(void)
{
	const char *path = log_path("torn.jsonl");
	struct audit_verify_report rep;
	struct cordon_err err = { 0 };
	struct cordon_audit *a;
	size_t len;
	char *buf = sample_log(&len);

	CHECK(buf != NULL);
	CHECK(spit(path, buf, len - 10) == 0);
	free(buf);
	a = open_log(path);
	CHECK(a != NULL && start(a) == 0 && end(a) == 0);
	audit_close(a);
	CHECK(audit_verify_file(path, &rep, &err) == 0);
	CHECK(rep.result == AUDIT_VERIFY_BROKEN);
	CHECK(rep.line == 5); /* the torn line itself, not the new ones */
	return 0;
}

static int
test_open_refuses_symlink(void)
{
	const char *path = log_path("link.jsonl");
	struct audit_options o = { .path = path };
	struct cordon_err err = { 0 };

	CHECK(symlink("/dev/null", path) == 0);
	CHECK(audit_open(&o, &err) == NULL);
	CHECK(err.code == ELOOP);
	unlink(path);
	return 0;
}

static int
test_otlp_url_and_body(void)
{
	char host[64], port[8], path[64];
	struct cordon_err err = { 0 };
	const char *lines[] = { "{\"v\":1,\"type\":\"exec\"}" };
	size_t lens[] = { 21 };
	const char *types[] = { "exec" }, *sessions[] = { "abcd" };
	char *body;
	json_t *j, *rec;

	CHECK(audit_otlp_parse_url("http://127.0.0.1:4318", host, sizeof(host), port, sizeof(port),
				   path, sizeof(path), &err) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_STR(port, "4318");
	CHECK_STR(path, "/v1/logs");
	CHECK(audit_otlp_parse_url("http://[::1]:9/x/logs", host, sizeof(host), port, sizeof(port),
				   path, sizeof(path), &err) == 0);
	CHECK_STR(host, "::1");
	CHECK_STR(path, "/x/logs");
	CHECK(audit_otlp_parse_url("https://h/", host, sizeof(host), port, sizeof(port), path,
				   sizeof(path), &err) == -1);
	CHECK(audit_otlp_parse_url("http://h:x/", host, sizeof(host), port, sizeof(port), path,
				   sizeof(path), &err) == -1);
	body = audit_otlp_body(lines, lens, types, sessions, 1);
	CHECK(body != NULL);
	j = json_loads(body, 0, NULL);
	free(body);
	rec = json_array_get(
	    json_object_get(
		json_array_get(
		    json_object_get(json_array_get(json_object_get(j, "resourceLogs"), 0),
				    "scopeLogs"),
		    0),
		"logRecords"),
	    0);
	CHECK(rec != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(rec, "body"), "stringValue")),
		  lines[0]);
	json_decref(j);
	return 0;
}

/* Beyond the rate bound, records of a type are counted, then summarised. */
static int
test_rate_limit(void)
{
	const char *path = log_path("rate.jsonl");
	struct audit_options o = { .path = path, .fail_closed = true, .rate_records = 10 };
	struct cordon_err err = { 0 };
	struct cordon_audit *a = audit_open(&o, &err);
	struct audit_net_event net = { .host = "evil.test",
				       .port = 443,
				       .protocol = "http-connect",
				       .decision = "deny",
				       .reason = "denied: no allow rule matches this host" };
	struct audit_violation vio = { .kind = "socket", .what = "/run/x.sock", .reason = "r" };
	struct audit_policy_change pol = { .action = "allow-domain",
					   .target = "x.test",
					   .origin = "cordon allow" };
	struct audit_verify_report rep;
	json_t *r, *c;
	size_t len;
	char *buf;

	CHECK(a != NULL);
	CHECK(start(a) == 0);
	for (int i = 0; i < 25; i++)
		CHECK(audit_net(a, &net, &err) == 0); /* suppressed ones succeed too */
	for (int i = 0; i < 3; i++)
		CHECK(audit_violation(a, &vio, &err) == 0);
	CHECK(audit_policy_change(a, &pol, &err) == 0);
	CHECK(end(a) == 0);
	CHECK(audit_failed(a) == NULL);
	audit_close(a);

	buf = slurp(path, &len);
	CHECK(buf != NULL);
	/* start, 10 net, limit, 3 violations, policy, suppressed, end */
	CHECK(count_lines(buf) == 18);
	r = line_json(buf, 12);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "limit");
	CHECK_STR(json_string_value(json_object_get(r, "limit")), "audit.records");
	CHECK_STR(json_string_value(json_object_get(r, "kind")), "net");
	CHECK(json_integer_value(json_object_get(r, "max")) == 10);
	CHECK(strstr(json_string_value(json_object_get(r, "message")), "summarised") != NULL);
	json_decref(r);
	r = line_json(buf, 17);
	CHECK_STR(json_string_value(json_object_get(r, "type")), "suppressed");
	CHECK_STR(json_string_value(json_object_get(r, "kind")), "net");
	CHECK(json_integer_value(json_object_get(r, "count")) == 15);
	CHECK(json_integer_value(json_object_get(r, "seconds")) >= 1);
	CHECK(strstr(json_string_value(json_object_get(r, "message")),
		     "15 similar net records suppressed in ") != NULL);
	json_decref(r);
	r = line_json(buf, 18);
	c = json_object_get(r, "counters");
	CHECK(json_integer_value(json_object_get(c, "net")) == 25);
	CHECK(json_integer_value(json_object_get(c, "net_denied")) == 25);
	CHECK(json_integer_value(json_object_get(c, "suppressed")) == 15);
	CHECK(json_integer_value(json_object_get(c, "limits")) == 1);
	CHECK(json_integer_value(json_object_get(c, "records")) == 17);
	CHECK(json_integer_value(json_object_get(r, "seq")) == 17);
	json_decref(r);
	audit_verify_buf(buf, len, &rep);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	free(buf);
	return 0;
}

/* The byte bound holds for big records (exec argv) before the count does. */
static int
test_rate_limit_bytes(void)
{
	const char *path = log_path("rate-bytes.jsonl");
	struct audit_options o = { .path = path, .rate_bytes = 20000 };
	struct cordon_err err = { 0 };
	struct cordon_audit *a = audit_open(&o, &err);
	static char big[4000];
	const char *argv[] = { "/bin/echo", big };
	size_t alen[] = { 9, sizeof(big) };
	struct audit_exec_event ex = { .pid = 7,
				       .syscall = "execve",
				       .path = "/bin/echo",
				       .path_len = 9,
				       .argv = argv,
				       .argv_len = alen,
				       .argc = 2 };
	struct audit_verify_report rep;
	size_t len;
	int execs = 0;
	char *buf;
	json_t *r;

	memset(big, 'x', sizeof(big));
	CHECK(a != NULL);
	CHECK(start(a) == 0);
	for (int i = 0; i < 50; i++)
		CHECK(audit_exec(a, &ex, &err) == 0);
	CHECK(end(a) == 0);
	audit_close(a);
	buf = slurp(path, &len);
	CHECK(buf != NULL);
	CHECK(len < 20000 + 4000);
	for (int i = 1; i <= count_lines(buf); i++) {
		r = line_json(buf, i);
		if (strcmp(json_string_value(json_object_get(r, "type")), "exec") == 0)
			execs++;
		if (strcmp(json_string_value(json_object_get(r, "type")), "limit") == 0)
			CHECK_STR(json_string_value(json_object_get(r, "limit")), "audit.bytes");
		if (strcmp(json_string_value(json_object_get(r, "type")), "suppressed") == 0)
			CHECK(json_integer_value(json_object_get(r, "count")) ==
			      (json_int_t)(50 - execs));
		json_decref(r);
	}
	CHECK(execs == 4);
	audit_verify_buf(buf, len, &rep);
	CHECK(rep.result == AUDIT_VERIFY_OK);
	free(buf);
	return 0;
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cordon-test-audit.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TAP_RUN(test_utf8_sanitize);
	TAP_RUN(test_format_argv_hostile);
	TAP_RUN(test_records_exact_fields);
	TAP_RUN(test_chain_across_sessions);
	TAP_RUN(test_long_tail_link);
	TAP_RUN(test_verify_catches_edit);
	TAP_RUN(test_verify_catches_delete);
	TAP_RUN(test_verify_catches_truncation);
	TAP_RUN(test_verify_garbage);
	TAP_RUN(test_write_failure_rolls_back);
	TAP_RUN(test_append_after_torn_tail);
	TAP_RUN(test_open_refuses_symlink);
	TAP_RUN(test_otlp_url_and_body);
	TAP_RUN(test_rate_limit);
	TAP_RUN(test_rate_limit_bytes);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
