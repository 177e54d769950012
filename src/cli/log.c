/* SPDX-License-Identifier: MIT */
/*
 * `cordon log`: read the audit log (docs/audit-schema.md).
 *
 *   cordon log [--file PATH] [-w DIR] [--all] [--limit N] [--since T]
 *              [--session ID] [--json] [--net] [--exec] [--follow]
 *   cordon log verify [--file PATH]
 *
 * By default the last session of the workspace (the current directory or
 * the one it lies in): "what did the agent just do". --limit N the last N,
 * --since T every one since T, --all every workspace, --session ID one.
 * The human view is one timeline (session start and end, programs run,
 * network decisions, violations, policy changes) and then a network
 * summary (host, port, decision, rule, count, last seen). --json prints
 * the matching records as they are in the file. --follow starts at the
 * end and prints records as they are appended (one line per record).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "supervisor/registry.h"

static const char log_usage[] =
    "Usage: cordon log [OPTIONS]\n"
    "       cordon log verify [--file PATH]\n"
    "\n"
    "Show what the sandbox did: sessions, the programs run inside, network\n"
    "decisions, violations, policy changes, in one timeline. By default the last\n"
    "session of this workspace (the current directory, or the workspace it lies\n"
    "in). `verify` checks the hash chain of the whole log.\n"
    "\n"
    "Options:\n"
    "  -f, --file PATH    audit log (default: ~/.local/state/cordon/audit/audit.jsonl;\n"
    "                     --audit-log is the same)\n"
    "  -w, --workspace DIR  the workspace (default: .)\n"
    "      --limit N      the last N sessions of the workspace (default 1)\n"
    "      --since T      every session's records at or after T: 2026-01-31T12:00,\n"
    "                     or 30s, 10m, 2h, 3d ago\n"
    "      --all          sessions of every workspace (with --limit, --since)\n"
    "      --session ID   one session, of any workspace: the id `cordon run -v`\n"
    "                     and this view print (a prefix is enough, as `cordon ps`\n"
    "                     shows)\n"
    "      --json         print the matching records as JSON Lines\n"
    "      --net          network decisions only\n"
    "      --exec         exec records only\n"
    "      --follow       print records as they are written, from now on\n"
    "  -h, --help         this text\n"
    "\n"
    "verify exit status: 0 chain intact and every session ended (a session whose\n"
    "cordon was killed is ended by the next `cordon run` or `cordon ps`, and a\n"
    "note says so); 1 a record was changed, deleted or cut (the first bad line is\n"
    "named); 2 chain intact but some session has no end record (still running,\n"
    "killed and not yet cleaned up, or its tail cut).\n";

enum { OPT_JSON = 256, OPT_NET, OPT_EXEC, OPT_SESSION, OPT_SINCE, OPT_FOLLOW, OPT_ALL, OPT_LIMIT };

#define LOG_ID_LEN 32 /* AUDIT_SESSION_ID_LEN */

struct log_filter {
	bool json, net, exec, follow, all;
	const char *session;
	const char *workspace; /* canonical; sessions in it or around it */
	char since[40];        /* "" or a timestamp prefix compared as text */
	unsigned long limit;   /* the last N sessions (0: no limit) */
	/* The sessions chosen (unless --session or --all without a limit). */
	char (*ids)[LOG_ID_LEN + 1];
	size_t n_ids, cap_ids;
	bool by_id;
};

/* One row of the network summary. */
struct net_row {
	char *host;
	json_int_t port;
	char *decision;
	char *rule;
	unsigned long count;    /* connections (and refusals) */
	unsigned long requests; /* HTTP requests the proxy read */
	char last[40];
};

struct log_view {
	struct net_row *net;
	size_t n_net, cap_net;
	unsigned long sessions, execs, violations, policies;
};

static volatile sig_atomic_t stop_follow;

static void
on_int(int sig)
{
	(void)sig;
	stop_follow = 1;
}

static const char *
str(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s != NULL ? s : "";
}

/* "30s", "10m", "2h", "3d" ago, or an absolute time (UTC). 0 or -1. */
static int
parse_since(const char *arg, char *out, size_t size)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end != arg && v >= 0 && end[0] != '\0' && end[1] == '\0' && strchr("smhd", end[0])) {
		long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
		time_t t = time(NULL) - (time_t)(v * mult);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
		return 0;
	}
	if (strlen(arg) < 4 || strlen(arg) >= size ||
	    strspn(arg, "0123456789-:T .Z") != strlen(arg))
		return -1;
	snprintf(out, size, "%s", arg);
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = 'T';
	if (out[strlen(out) - 1] == 'Z')
		out[strlen(out) - 1] = '\0';
	return 0;
}

/* A session in the workspace: its directory is the workspace or holds it. */
static bool
in_workspace(const struct log_filter *f, const char *cwd)
{
	size_t n = strlen(cwd);

	if (f->all)
		return true;
	if (strncmp(f->workspace, cwd, n) != 0)
		return false;
	return f->workspace[n] == '\0' || f->workspace[n] == '/' || strcmp(cwd, "/") == 0;
}

static void
ids_add(struct log_filter *f, const char *id)
{
	if (f->n_ids == f->cap_ids) {
		size_t cap = f->cap_ids ? f->cap_ids * 2 : 16;
		void *n = realloc(f->ids, cap * sizeof(*f->ids));

		if (n == NULL)
			return;
		f->ids = n;
		f->cap_ids = cap;
	}
	snprintf(f->ids[f->n_ids++], LOG_ID_LEN + 1, "%s", id);
}

static bool
ids_has(const struct log_filter *f, const char *id)
{
	for (size_t i = 0; i < f->n_ids; i++)
		if (strcmp(f->ids[i], id) == 0)
			return true;
	return false;
}

static bool
wanted(const struct log_filter *f, json_t *rec)
{
	const char *type = str(rec, "type");

	if (f->session != NULL && strncmp(str(rec, "session"), f->session, strlen(f->session)) != 0)
		return false;
	if (f->by_id && !ids_has(f, str(rec, "session")))
		return false;
	if (f->since[0] && strcmp(str(rec, "ts"), f->since) < 0)
		return false;
	if (f->net || f->exec)
		return (f->net && strcmp(type, "net") == 0) ||
		       (f->exec &&
			(strcmp(type, "exec") == 0 || strcmp(type, "exec_request") == 0));
	return true;
}

/* "HH:MM:SS.mmm" out of an RFC 3339 timestamp. */
static const char *
clock_of(const char *ts, char *buf, size_t size)
{
	snprintf(buf, size, "%.12s", strlen(ts) >= 23 ? ts + 11 : ts);
	return buf;
}

static void
print_argv(FILE *out, json_t *argv)
{
	size_t i;
	json_t *v;

	json_array_foreach(argv, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		/* Quote what a reader could misread; control bytes shown as '?'. */
		if (s[0] != '\0' && strpbrk(s, " \t\n'\"\\$`") == NULL) {
			fprintf(out, "%s%s", i ? " " : "", s);
			continue;
		}
		fprintf(out, "%s'", i ? " " : "");
		for (const char *p = s; *p; p++) {
			if (*p == '\'')
				fputs("'\\''", out);
			else if ((unsigned char)*p < 0x20 || *p == 0x7f)
				fputc('?', out);
			else
				fputc(*p, out);
		}
		fputc('\'', out);
	}
}

/*
 * Records hold what the sandbox chose (argv, host names): never let a
 * control character (an escape sequence) reach the terminal.
 */
static char *
defang(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p != NULL && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static void format_line(FILE *out, json_t *rec);

/*
 * What an exec record says happened: the file that ran where it is not the
 * path, a mismatch, a digest, a failure. Records from before outcomes were
 * recorded have none of these fields and print as they did.
 */
/* A request the proxy read: " GET /path -> 200, 80 B up, 312 B down". */
static void
print_request(FILE *out, json_t *rec)
{
	json_t *status = json_object_get(rec, "status");

	fprintf(out, " %s %s -> ", str(rec, "method"), str(rec, "path"));
	if (json_is_integer(status))
		fprintf(out, "%lld", (long long)json_integer_value(status));
	else
		fputs("no response", out);
	if (strcmp(str(rec, "decision"), "allow") == 0)
		fprintf(out, ", %lld B up, %lld B down",
			(long long)json_integer_value(json_object_get(rec, "bytes_up")),
			(long long)json_integer_value(json_object_get(rec, "bytes_down")));
	if (json_is_true(json_object_get(rec, "intercepted")))
		fputs(", TLS intercepted", out);
}

static void
print_exec_outcome(FILE *out, json_t *rec)
{
	const char *outcome = json_string_value(json_object_get(rec, "outcome"));
	json_t *file = json_object_get(rec, "file");
	const char *digest = json_string_value(json_object_get(rec, "digest"));

	if (outcome == NULL)
		return;
	if (strcmp(outcome, "failed") == 0) {
		const char *e = json_string_value(json_object_get(rec, "error"));

		fprintf(out, "  [failed%s%s]", e ? ": " : "", e ? e : "");
		return;
	}
	if (strcmp(outcome, "ran") != 0) {
		fprintf(out, "  [outcome %s]", outcome);
		return;
	}
	if (json_is_true(json_object_get(rec, "path_mismatch"))) {
		json_t *c = json_object_get(rec, "claimed");

		fprintf(out, "  [PATH MISMATCH: named %s ino %lld at the call; ran %s %s ino %lld]",
			str(c, "dev"), (long long)json_integer_value(json_object_get(c, "ino")),
			str(file, "path"), str(file, "dev"),
			(long long)json_integer_value(json_object_get(file, "ino")));
	} else if (json_is_object(file) && strcmp(str(file, "path"), str(rec, "path")) != 0) {
		fprintf(out, "  -> %s", str(file, "path"));
	} else if (!json_is_object(file)) {
		fputs("  [ran: file unreadable]", out);
	}
	if (json_is_true(json_object_get(rec, "fd_exec")))
		fputs("  [fd exec]", out);
	if (digest != NULL)
		fprintf(out, "  [%.23s]", digest);
}

/* One record as one human line, control characters shown as '?'. */
static void
print_line(FILE *out, json_t *rec)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m == NULL)
		return;
	format_line(m, rec);
	if (fclose(m) == 0 && buf != NULL) {
		if (len > 0 && buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		fprintf(out, "%s\n", defang(buf));
	}
	free(buf);
}

/* The --follow view and the timelines: one line per record. */
static void
format_line(FILE *out, json_t *rec)
{
	const char *type = str(rec, "type");
	char clk[16];

	fprintf(out, "%s  ", clock_of(str(rec, "ts"), clk, sizeof(clk)));
	if (strcmp(type, "exec") == 0) {
		fprintf(out, "exec  pid %-7lld ",
			(long long)json_integer_value(json_object_get(rec, "pid")));
		print_argv(out, json_object_get(rec, "argv"));
		if (strcmp(str(rec, "path"), "") != 0) {
			json_t *a0 = json_array_get(json_object_get(rec, "argv"), 0);

			if (a0 == NULL || strcmp(json_string_value(a0) ? json_string_value(a0) : "",
						 str(rec, "path")) != 0)
				fprintf(out, "  (%s)", str(rec, "path"));
		}
		if (json_is_true(json_object_get(rec, "truncated")))
			fputs("  [truncated]", out);
		print_exec_outcome(out, rec);
	} else if (strcmp(type, "net") == 0) {
		fprintf(out, "net   %s %s:%lld", str(rec, "decision"), str(rec, "host"),
			(long long)json_integer_value(json_object_get(rec, "port")));
		if (json_string_value(json_object_get(rec, "method")))
			print_request(out, rec);
		if (json_string_value(json_object_get(rec, "rule")))
			fprintf(out, " rule %s", str(rec, "rule"));
		if (json_string_value(json_object_get(rec, "reason")))
			fprintf(out, " (%s)", str(rec, "reason"));
	} else if (strcmp(type, "violation") == 0) {
		fprintf(out, "DENY  %s %s: %s", str(rec, "kind"), str(rec, "what"),
			str(rec, "reason"));
	} else if (strcmp(type, "policy") == 0) {
		fprintf(out, "policy %s %s (by %s)", str(rec, "action"), str(rec, "target"),
			str(rec, "origin"));
	} else if (strcmp(type, "credential") == 0) {
		fprintf(out, "cred  %s injected for %s", str(rec, "name"), str(rec, "host"));
	} else if (strcmp(type, "join") == 0) {
		fprintf(out, "join  #%lld session %s by uid %lld%s: ",
			(long long)json_integer_value(json_object_get(rec, "join")),
			str(rec, "session"),
			(long long)json_integer_value(json_object_get(rec, "uid")),
			json_is_true(json_object_get(rec, "tty")) ? " (terminal)" : "");
		print_argv(out, json_object_get(rec, "argv"));
	} else if (strcmp(type, "join_end") == 0) {
		fprintf(out, "join_end #%lld status %lld (%s) after %lld ms",
			(long long)json_integer_value(json_object_get(rec, "join")),
			(long long)json_integer_value(json_object_get(rec, "status")),
			str(rec, "reason"),
			(long long)json_integer_value(json_object_get(rec, "duration_ms")));
	} else if (strcmp(type, "session_start") == 0) {
		fprintf(out, "start session %s by %s in %s: ", str(rec, "session"),
			str(rec, "user"), str(rec, "cwd"));
		print_argv(out, json_object_get(rec, "argv"));
	} else if (strcmp(type, "session_end") == 0 &&
		   json_is_object(json_object_get(rec, "closed_by"))) {
		json_t *by = json_object_get(rec, "closed_by");

		fprintf(out, "end   session %s (%s): closed by `cordon %s`", str(rec, "session"),
			str(rec, "reason"), str(by, "command"));
		if (json_string_value(json_object_get(by, "session")) != NULL)
			fprintf(out, " of session %s", str(by, "session"));
	} else if (strcmp(type, "session_end") == 0) {
		json_t *c = json_object_get(rec, "counters");
		long long ne = (long long)json_integer_value(json_object_get(c, "exec"));
		long long nn = (long long)json_integer_value(json_object_get(c, "net"));

		fprintf(out,
			"end   session %s status %lld (%s) after %lld ms, %lld exec%s, %lld "
			"connection%s",
			str(rec, "session"),
			(long long)json_integer_value(json_object_get(rec, "status")),
			str(rec, "reason"),
			(long long)json_integer_value(json_object_get(rec, "duration_ms")), ne,
			ne == 1 ? "" : "s", nn, nn == 1 ? "" : "s");
		{
			long long nf =
			    (long long)json_integer_value(json_object_get(c, "exec_failed"));

			if (nf > 0)
				fprintf(out, ", %lld failed exec%s", nf, nf == 1 ? "" : "s");
		}
	} else {
		fprintf(out, "%s", type);
	}
	fputc('\n', out);
}

static void
net_add(struct log_view *v, json_t *rec)
{
	const char *host = str(rec, "host"), *decision = str(rec, "decision");
	const char *rule = str(rec, "rule");
	json_int_t port = json_integer_value(json_object_get(rec, "port"));
	struct net_row *r = NULL;
	/* A request's record counts on its destination's row, whatever its rule. */
	bool request = json_string_value(json_object_get(rec, "method")) != NULL;

	for (size_t i = 0; i < v->n_net && r == NULL; i++)
		if (strcmp(v->net[i].host, host) == 0 && v->net[i].port == port &&
		    strcmp(v->net[i].decision, decision) == 0 &&
		    (request || v->net[i].count == 0 || strcmp(v->net[i].rule, rule) == 0))
			r = &v->net[i];
	/* A row of requests only (their connection ends later) takes its rule. */
	if (r != NULL && !request && r->count == 0 && strcmp(r->rule, rule) != 0) {
		char *nr = defang(strdup(rule));

		if (nr != NULL) {
			free(r->rule);
			r->rule = nr;
		}
	}
	if (r == NULL) {
		if (v->n_net == v->cap_net) {
			size_t cap = v->cap_net ? v->cap_net * 2 : 16;
			struct net_row *n = realloc(v->net, cap * sizeof(*n));

			if (n == NULL)
				return;
			v->net = n;
			v->cap_net = cap;
		}
		r = &v->net[v->n_net++];
		memset(r, 0, sizeof(*r));
		r->host = defang(strdup(host));
		r->decision = defang(strdup(decision));
		r->rule = defang(strdup(rule));
		r->port = port;
		if (r->host == NULL || r->decision == NULL || r->rule == NULL) {
			v->n_net--;
			free(r->host);
			free(r->decision);
			free(r->rule);
			return;
		}
	}
	if (request)
		r->requests++;
	else
		r->count++;
	snprintf(r->last, sizeof(r->last), "%s", str(rec, "ts"));
}

/* Read the file from *off, handing each complete line to fn. */
static int
read_lines(FILE *f, off_t *off, void (*fn)(void *arg, const char *line, size_t len), void *arg)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (fseeko(f, *off, SEEK_SET) < 0)
		return -1;
	clearerr(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a record still being written: read it next time */
		*off += n;
		fn(arg, line, (size_t)n - 1);
	}
	return 0;
}

struct log_ctx {
	struct log_filter *f;
	struct log_view *v;
	FILE *out;
	bool live; /* --follow: one line per record, no summary */
};

/* A program ran (records without an outcome predate it: each was a call). */
static bool
exec_ran(json_t *rec)
{
	const char *o = json_string_value(json_object_get(rec, "outcome"));

	return o == NULL || strcmp(o, "ran") == 0;
}

static void
on_line(void *arg, const char *line, size_t len)
{
	struct log_ctx *c = arg;
	json_error_t jerr;
	json_t *rec = json_loadb(line, len, 0, &jerr);
	const char *type;

	if (rec == NULL)
		return;
	/* Following a workspace: its sessions that start from now on too. */
	if (c->live && c->f->by_id && strcmp(str(rec, "type"), "session_start") == 0 &&
	    in_workspace(c->f, str(rec, "cwd")))
		ids_add(c->f, str(rec, "session"));
	if (!wanted(c->f, rec)) {
		json_decref(rec);
		return;
	}
	type = str(rec, "type");
	if (c->f->json) {
		fprintf(c->out, "%.*s\n", (int)len, line);
	} else if (strcmp(type, "exec_request") == 0) {
		/* Its exec record follows with the outcome: one line per call. */
	} else if (c->live) {
		print_line(c->out, rec);
	} else {
		if (strcmp(type, "net") == 0)
			net_add(c->v, rec);
		if (strcmp(type, "session_start") == 0)
			c->v->sessions++;
		else if (strcmp(type, "exec") == 0 && exec_ran(rec))
			c->v->execs++;
		else if (strcmp(type, "violation") == 0)
			c->v->violations++;
		else if (strcmp(type, "policy") == 0)
			c->v->policies++;
		/* The timeline: every record, network decisions inline, in order. */
		print_line(c->out, rec);
	}
	json_decref(rec);
}

/* The first pass: the sessions to show (see the top of this file). */
static void
on_start(void *arg, const char *line, size_t len)
{
	struct log_filter *f = arg;
	json_error_t jerr;
	json_t *rec;

	/* Cheap test first: most records are not session starts. */
	if (memmem(line, len, "\"session_start\"", 15) == NULL)
		return;
	rec = json_loadb(line, len, 0, &jerr);
	if (rec == NULL)
		return;
	if (strcmp(str(rec, "type"), "session_start") == 0 && in_workspace(f, str(rec, "cwd")))
		ids_add(f, str(rec, "session"));
	json_decref(rec);
}

static int
choose_sessions(FILE *in, struct log_filter *f)
{
	unsigned long limit = f->limit;
	off_t off = 0;

	if (f->session != NULL)
		return 0;
	/* Without a count: all of them (follow, --since), or just the last one. */
	if (limit == 0 && !f->all && !f->follow && f->since[0] == '\0')
		limit = 1;
	if (f->all && limit == 0)
		return 0;
	f->by_id = true;
	if (read_lines(in, &off, on_start, f) < 0)
		return -1;
	if (limit > 0 && f->n_ids > limit) {
		memmove(f->ids, f->ids + (f->n_ids - limit), limit * sizeof(*f->ids));
		f->n_ids = limit;
	}
	return 0;
}

static void
print_net_summary(FILE *out, struct log_view *v)
{
	if (v->n_net == 0)
		return;
	fprintf(out, "\nNetwork (%zu destination%s)\n", v->n_net, v->n_net == 1 ? "" : "s");
	fprintf(out, "  %-32s %5s  %-8s %-24s %6s  %s\n", "HOST", "PORT", "DECISION", "RULE",
		"COUNT", "LAST SEEN");
	for (size_t i = 0; i < v->n_net; i++) {
		struct net_row *r = &v->net[i];

		fprintf(out, "  %-32s %5lld  %-8s %-24s %6lu  %s", r->host, (long long)r->port,
			strcmp(r->decision, "allow") == 0 ? "allowed" : "denied",
			r->rule[0] ? r->rule : "-", r->count, r->last);
		if (r->requests > 0)
			fprintf(out, "  (%lu HTTP request%s)", r->requests,
				r->requests == 1 ? "" : "s");
		fputc('\n', out);
	}
}

static void
free_view(struct log_view *v)
{
	for (size_t i = 0; i < v->n_net; i++) {
		free(v->net[i].host);
		free(v->net[i].decision);
		free(v->net[i].rule);
	}
	free(v->net);
}

/* What this user's session records say about an open session. */
static void
open_session_note(const char *id)
{
	struct sv_reg_info *v = NULL;
	size_t n = 0;

	if (sv_reg_list(&v, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, id) != 0)
			continue;
		if (v[i].alive)
			printf("note: session %s is still running (`cordon ps` lists it)\n", id);
		else
			printf("note: the cordon of session %s was killed before its clean-up; "
			       "`cordon ps` or the next `cordon run` finishes it and closes the "
			       "session in this log\n",
			       id);
	}
	sv_reg_list_free(v, n);
}

static const char *
plural(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

static int
log_verify(const char *path)
{
	struct audit_verify_report rep;
	struct cordon_err err = { 0 };

	if (audit_verify_file(path, &rep, &err) < 0) {
		cordon_err_hint(&err, "pass the log with --file PATH");
		cli_print_err(&err);
		return 125;
	}
	switch (rep.result) {
	case AUDIT_VERIFY_OK:
		printf("audit log %s: OK (%llu record%s, %llu session%s)\n", path,
		       (unsigned long long)rep.lines, plural(rep.lines),
		       (unsigned long long)rep.sessions, plural(rep.sessions));
		if (rep.closed_later > 0)
			printf("note: %llu session%s ended without an end record of %s own "
			       "(%s) and %s closed by a later cordon; first: session %s, "
			       "closed by `cordon %s`%s%s\n",
			       (unsigned long long)rep.closed_later, plural(rep.closed_later),
			       rep.closed_later == 1 ? "its" : "their",
			       strcmp(rep.closed_reason, "supervisor-killed") == 0
				   ? (rep.closed_later == 1 ? "its cordon was killed"
							    : "their cordon was killed")
				   : rep.closed_reason,
			       rep.closed_later == 1 ? "was" : "were", rep.closed_session,
			       rep.closed_by_command, rep.closed_by[0] ? " of session " : "",
			       rep.closed_by);
		return 0;
	case AUDIT_VERIFY_BROKEN:
	case AUDIT_VERIFY_TRUNCATED:
		cordon_err_set(&err, 0, "audit log %s: %s at line %llu: %s", path,
			       rep.result == AUDIT_VERIFY_BROKEN ? "BROKEN" : "TRUNCATED",
			       (unsigned long long)rep.line, rep.detail);
		cordon_err_hint(&err,
				"the log was modified after cordon wrote it; records up to "
				"line %llu are intact; compare with an exported copy (OTLP, "
				"syslog)",
				(unsigned long long)(rep.line > 0 ? rep.line - 1 : 0));
		cli_print_err(&err);
		return 1;
	case AUDIT_VERIFY_OPEN:
		printf("audit log %s: chain intact (%llu record%s, %llu session%s), but %llu "
		       "session%s %s no end record; first: %s (started at line %llu): still "
		       "running, killed, or its last records were cut off\n",
		       path, (unsigned long long)rep.lines, plural(rep.lines),
		       (unsigned long long)rep.sessions, plural(rep.sessions),
		       (unsigned long long)rep.open_sessions, plural(rep.open_sessions),
		       rep.open_sessions == 1 ? "has" : "have", rep.open_session,
		       (unsigned long long)rep.open_line);
		open_session_note(rep.open_session);
		return 2;
	default:
		return 1;
	}
}

int
cli_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "audit-log", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "net", no_argument, NULL, OPT_NET },
		{ "exec", no_argument, NULL, OPT_EXEC },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "workspace", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct log_filter f = { 0 };
	struct log_view v = { 0 };
	struct cordon_err err = { 0 };
	_cleanup_free_ char *def = NULL;
	_cleanup_free_ char *ws = NULL;
	_cleanup_fclose_ FILE *in = NULL;
	const char *path = NULL, *ws_arg = ".";
	char *end;
	bool verify = false;
	off_t off = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'w':
			ws_arg = optarg;
			break;
		case OPT_ALL:
			f.all = true;
			break;
		case OPT_LIMIT:
			errno = 0;
			f.limit = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || f.limit == 0 ||
			    optarg[0] == '-')
				return cli_usage_error(
				    "log", "--limit %s: a number of sessions, 1 or more", optarg);
			break;
		case OPT_JSON:
			f.json = true;
			break;
		case OPT_NET:
			f.net = true;
			break;
		case OPT_EXEC:
			f.exec = true;
			break;
		case OPT_SESSION:
			f.session = optarg;
			break;
		case OPT_SINCE:
			if (parse_since(optarg, f.since, sizeof(f.since)) < 0)
				return cli_usage_error("log",
						       "--since %s: not a time (2026-01-31T12:00) "
						       "nor an age (30s, 10m, 2h, 3d)",
						       optarg);
			break;
		case OPT_FOLLOW:
			f.follow = true;
			break;
		case 'h':
			fputs(log_usage, stdout);
			return 0;
		default:
			return cli_usage_error("log", "unknown option");
		}
	}
	if (optind < argc && strcmp(argv[optind], "verify") == 0) {
		verify = true;
		optind++;
	}
	if (optind < argc)
		return cli_usage_error("log", "unexpected argument '%s'", argv[optind]);
	if (path == NULL) {
		def = audit_default_path(&err);
		if (def == NULL) {
			cli_print_err(&err);
			return 125;
		}
		path = def;
	}
	if (verify)
		return log_verify(path);

	in = fopen(path, "re");
	if (in == NULL) {
		cordon_err_set(&err, errno, "open audit log %s", path);
		cordon_err_hint(&err, errno == ENOENT ? "no sandbox has run with this log yet; "
							"pass another with --file PATH"
						      : "pass the log with --file PATH");
		cli_print_err(&err);
		return 125;
	}
	ws = realpath(ws_arg, NULL);
	if (ws == NULL) {
		cordon_err_set(&err, errno, "workspace %s", ws_arg);
		cordon_err_hint(&err, "name an existing directory with -w DIR, or --all");
		cli_print_err(&err);
		return 125;
	}
	f.workspace = ws;
	if (choose_sessions(in, &f) < 0) {
		cordon_err_set(&err, errno, "read audit log %s", path);
		cli_print_err(&err);
		return 125;
	}
	if (f.follow && fseeko(in, 0, SEEK_END) == 0)
		off = ftello(in); /* from now on: what happens next */
	{
		struct log_ctx ctx = { .f = &f, .v = &v, .out = stdout, .live = f.follow };

		if (f.by_id && f.n_ids == 0 && !f.follow) {
			if (!f.json)
				printf("No session of %s in %s.\n`cordon log --all` shows the "
				       "sessions of every workspace.\n",
				       ws, path);
			free(f.ids);
			return 0;
		}
		if (!f.json && !f.follow && !f.net)
			printf("Timeline (%s)\n", path);
		if (!f.json && f.follow)
			printf("Following %s from now on (Ctrl-C stops)\n", path);
		read_lines(in, &off, on_line, &ctx);
		if (!f.json && !f.follow)
			print_net_summary(stdout, &v);
		if (!f.json && !f.follow && !f.net && v.sessions == 0 && v.execs == 0 &&
		    v.n_net == 0)
			printf("(no matching records)\n");
		fflush(stdout);
		if (f.follow) {
			struct sigaction sa = { .sa_handler = on_int };

			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			while (!stop_follow) {
				struct timespec ts = { 0, 200 * 1000 * 1000 };

				nanosleep(&ts, NULL);
				read_lines(in, &off, on_line, &ctx);
				fflush(stdout);
			}
		}
	}
	free_view(&v);
	free(f.ids);
	return 0;
}
