/* SPDX-License-Identifier: MIT */
/*
 * `cordon log verify`: walk the hash chain of an audit log.
 *
 * Line 1 must link to the zero hash, every later line to the SHA-256 of the
 * line before it (its bytes without the newline). Within a session, "seq"
 * counts 0, 1, 2... from its session_start to its session_end. What each
 * finding means:
 *   - a line whose "prev" does not match: the line before it was edited, or
 *     records between them were deleted (BROKEN at that line);
 *   - a last line without a newline: the file was cut mid-record
 *     (TRUNCATED);
 *   - a session with a start but no end while the chain is intact: it is
 *     still running, it was killed before it could write its end, or its
 *     tail was cut at a record boundary (OPEN). The report names it; the
 *     reader decides which (`cordon log --session ID`);
 *   - a session_end with "closed_by" was written by a later cordon for a
 *     session whose supervisor was killed: the session is closed, and the
 *     report counts it (closed_later) so that the reader is told.
 * The last record of a file can be rewritten by someone who also recomputes
 * nothing else: no later line covers it. Shipping records off the machine
 * (OTLP, syslog) closes that gap; docs/audit-schema.md says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"

struct open_session {
	char id[AUDIT_SESSION_ID_LEN + 1];
	uint64_t line;
	json_int_t next_seq;
};

struct verify_state {
	struct open_session *open;
	size_t n_open, cap_open;
};

static void __attribute__((format(printf, 3, 4)))
broken(struct audit_verify_report *rep, uint64_t line, const char *fmt, ...)
{
	va_list ap;

	rep->result = AUDIT_VERIFY_BROKEN;
	rep->line = line;
	va_start(ap, fmt);
	vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
	va_end(ap);
}

static struct open_session *
find_open(struct verify_state *st, const char *id)
{
	for (size_t i = 0; i < st->n_open; i++)
		if (strcmp(st->open[i].id, id) == 0)
			return &st->open[i];
	return NULL;
}

/* Check one record (already linked). 0, or -1 with rep set to BROKEN. */
static int
check_record(struct verify_state *st, json_t *rec, uint64_t line, struct audit_verify_report *rep)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	const char *session = json_string_value(json_object_get(rec, "session"));
	json_t *seqv = json_object_get(rec, "seq");
	struct open_session *os;

	if (json_integer_value(json_object_get(rec, "v")) != AUDIT_SCHEMA_VERSION ||
	    !json_is_integer(json_object_get(rec, "v"))) {
		broken(rep, line, "unknown schema version");
		return -1;
	}
	if (type == NULL || session == NULL || strlen(session) != AUDIT_SESSION_ID_LEN ||
	    !json_is_integer(seqv)) {
		broken(rep, line, "record lacks type, session or seq");
		return -1;
	}
	os = find_open(st, session);
	if (strcmp(type, "session_start") == 0) {
		if (os != NULL || json_integer_value(seqv) != 0) {
			broken(rep, line, "session %s starts twice or with seq %lld", session,
			       (long long)json_integer_value(seqv));
			return -1;
		}
		if (st->n_open == st->cap_open) {
			size_t cap = st->cap_open ? st->cap_open * 2 : 16;
			struct open_session *n = realloc(st->open, cap * sizeof(*n));

			if (n == NULL) {
				broken(rep, line, "out of memory");
				return -1;
			}
			st->open = n;
			st->cap_open = cap;
		}
		os = &st->open[st->n_open++];
		memcpy(os->id, session, AUDIT_SESSION_ID_LEN + 1);
		os->line = line;
		os->next_seq = 1;
		rep->sessions++;
		return 0;
	}
	if (os == NULL) {
		broken(rep, line, "record of session %s outside its start and end", session);
		return -1;
	}
	if (json_integer_value(seqv) != os->next_seq) {
		broken(rep, line, "session %s: seq %lld where %lld was due", session,
		       (long long)json_integer_value(seqv), (long long)os->next_seq);
		return -1;
	}
	os->next_seq++;
	if (strcmp(type, "session_end") == 0) {
		json_t *by = json_object_get(rec, "closed_by");

		if (json_is_object(by) && rep->closed_later++ == 0) {
			const char *s = json_string_value(json_object_get(by, "session"));
			const char *c = json_string_value(json_object_get(by, "command"));
			const char *r = json_string_value(json_object_get(rec, "reason"));

			memcpy(rep->closed_session, session, AUDIT_SESSION_ID_LEN + 1);
			snprintf(rep->closed_by, sizeof(rep->closed_by), "%s",
				 s != NULL && audit_session_id_ok(s) ? s : "");
			snprintf(rep->closed_by_command, sizeof(rep->closed_by_command), "%s",
				 c != NULL ? c : "?");
			snprintf(rep->closed_reason, sizeof(rep->closed_reason), "%s",
				 r != NULL ? r : "?");
		}
		*os = st->open[--st->n_open];
	}
	return 0;
}

void
audit_verify_buf(const char *buf, size_t len, struct audit_verify_report *rep)
{
	struct verify_state st = { 0 };
	char prev[AUDIT_HASH_HEX + 1];
	size_t pos = 0;

	memset(rep, 0, sizeof(*rep));
	memset(prev, '0', AUDIT_HASH_HEX);
	prev[AUDIT_HASH_HEX] = '\0';
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		uint64_t no = rep->lines + 1;
		json_error_t jerr;
		const char *p;
		json_t *rec;

		if (nl == NULL) {
			rep->result = AUDIT_VERIFY_TRUNCATED;
			rep->line = no;
			snprintf(rep->detail, sizeof(rep->detail),
				 "the last line has no newline: the log was cut in the middle "
				 "of a record");
			goto out;
		}
		rep->lines = no;
		if (llen > AUDIT_MAX_LINE) {
			broken(rep, no, "line longer than %d bytes", AUDIT_MAX_LINE);
			goto out;
		}
		rec = json_loadb(line, llen, JSON_REJECT_DUPLICATES, &jerr);
		if (rec == NULL || !json_is_object(rec)) {
			json_decref(rec);
			broken(rep, no, "not a JSON record");
			goto out;
		}
		p = json_string_value(json_object_get(rec, "prev"));
		if (p == NULL || strcmp(p, prev) != 0) {
			json_decref(rec);
			if (no == 1)
				broken(rep, no,
				       "the first record does not start the chain: records "
				       "before it were deleted");
			else
				broken(rep, no,
				       "link broken: line %llu was changed, or records "
				       "after it were deleted",
				       (unsigned long long)(no - 1));
			goto out;
		}
		if (check_record(&st, rec, no, rep) < 0) {
			json_decref(rec);
			goto out;
		}
		json_decref(rec);
		if (audit_sha256_hex(line, llen, prev) < 0) {
			broken(rep, no, "cannot hash");
			goto out;
		}
		pos += llen + 1;
	}
	if (st.n_open > 0) {
		/* The oldest open session: the one a cut would have hit first. */
		size_t first = 0;

		for (size_t i = 1; i < st.n_open; i++)
			if (st.open[i].line < st.open[first].line)
				first = i;
		rep->result = AUDIT_VERIFY_OPEN;
		rep->open_sessions = st.n_open;
		memcpy(rep->open_session, st.open[first].id, AUDIT_SESSION_ID_LEN + 1);
		rep->open_line = st.open[first].line;
	}
out:
	free(st.open);
}

int
audit_verify_file(const char *path, struct audit_verify_report *rep, struct cordon_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;

	if (fd < 0)
		return cordon_err_set(err, errno, "open audit log %s", path);
	if (fstat(fd, &st) < 0)
		return cordon_err_set(err, errno, "audit log %s", path);
	if (!S_ISREG(st.st_mode))
		return cordon_err_set(err, EINVAL, "audit log %s is not a regular file", path);
	if (st.st_size == 0) {
		audit_verify_buf("", 0, rep);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return cordon_err_set(err, errno, "read audit log %s", path);
	audit_verify_buf(map, (size_t)st.st_size, rep);
	munmap(map, (size_t)st.st_size);
	return 0;
}
