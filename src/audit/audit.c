/* SPDX-License-Identifier: MIT */
/*
 * The audit log writer: JSON Lines, schema v1 (docs/audit-schema.md), a
 * SHA-256 hash chain, one record per write(2) on an O_APPEND fd.
 *
 * Concurrency: several cordon sessions may share one log file. Each record
 * is written under flock(LOCK_EX); the writer remembers the file size after
 * its own last record and, when the file grew meanwhile (another session
 * wrote), reads the new last line to link to it. So the file is one chain
 * in file order, whoever wrote each line.
 *
 * Strings: argv and paths come from the sandbox and may hold any bytes.
 * JSON needs UTF-8, so every string goes through audit_utf8_sanitize()
 * (invalid bytes become U+FFFD) and jansson escapes the rest
 * (JSON_ENSURE_ASCII: control characters, newlines and non-ASCII are
 * \u-escaped, so a record is always exactly one line of ASCII).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/crypto.h"
#include "config.h"

enum { RATE_EXEC = 0, RATE_NET, RATE_VIOLATION, RATE_CREDENTIAL, RATE_N, RATE_NONE = -1 };

static const char *const rate_type[RATE_N] = { "exec", "net", "violation", "credential" };

/* One rate window of one record type (see AUDIT_RATE_WINDOW_S). */
struct audit_rate {
	uint64_t start_ms; /* monotonic; 0: no window yet */
	uint64_t n, bytes; /* written in this window */
	uint64_t suppressed, first_ms, last_ms;
	bool limited; /* the limit record of this window is written */
};

struct cordon_audit {
	int fd;
	char *path;
	bool fail_closed;
	char session[AUDIT_SESSION_ID_LEN + 1];
	uint64_t seq;
	char prev[AUDIT_HASH_HEX + 1];
	off_t end; /* file size after our last record, -1 unknown */
	struct audit_counters c;
	bool failed;
	struct cordon_err fail;
	struct audit_export *ex;
	struct timespec start;
	audit_fail_fn on_fail;
	void *on_fail_arg;
	uint64_t *seq_out; /* the next record's seq goes here once it is written */
	struct audit_rate rate[RATE_N];
	uint64_t rate_records, rate_bytes;
	bool flushing; /* writing suppressed summaries */
};

/* The JSON flags of every record: one line of ASCII, fields in order. */
#define AUDIT_JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

static char *dump(const json_t *j);

static const char zero_hash[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

int
audit_sha256_hex(const void *buf, size_t len, char hex[AUDIT_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	const unsigned int n = sizeof(md);

	cordon_sha256(buf, len, md);
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[AUDIT_HASH_HEX] = '\0';
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if ill-formed. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
audit_utf8_sanitize(const char *s, size_t len, char *out, size_t out_size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	if (out_size == 0)
		return 0;
	while (i < len) {
		size_t n = utf8_seq(u + i, len - i);

		if (n == 0) {
			if (o + 3 >= out_size)
				break;
			out[o++] = (char)0xef;
			out[o++] = (char)0xbf;
			out[o++] = (char)0xbd;
			i++;
			continue;
		}
		if (o + n >= out_size)
			break;
		memcpy(out + o, u + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return o;
}

/* A JSON string for len bytes of s (sanitised), or JSON null for NULL. */
static json_t *
jstrn(const char *s, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;

	if (s == NULL)
		return json_null();
	if (len > SIZE_MAX / 3 - 1)
		return NULL;
	buf = malloc(len * 3 + 1);
	if (buf == NULL)
		return NULL;
	n = audit_utf8_sanitize(s, len, buf, len * 3 + 1);
	return json_stringn(buf, n);
}

static json_t *
jstr(const char *s)
{
	return jstrn(s, s ? strlen(s) : 0);
}

static int
set(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static void
timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
}

int
audit_session_id_new(char id[AUDIT_SESSION_ID_LEN + 1], struct cordon_err *err)
{
	unsigned char rnd[AUDIT_SESSION_ID_LEN / 2];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cordon_err_set(err, errno, "session id");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

bool
audit_session_id_ok(const char *id)
{
	if (id == NULL || strlen(id) != AUDIT_SESSION_ID_LEN)
		return false;
	return strspn(id, "0123456789abcdef") == AUDIT_SESSION_ID_LEN;
}

char *
audit_default_path(struct cordon_err *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;

	if (state != NULL && state[0] == '/') {
		if (asprintf(&p, "%s/cordon/audit/" AUDIT_LOG_NAME, state) < 0)
			p = NULL;
	} else {
		if (home == NULL || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			home = pw != NULL ? pw->pw_dir : NULL;
		}
		if (home == NULL || home[0] != '/') {
			cordon_err_set(err, 0, "cannot find a home directory for the audit log");
			cordon_err_hint(err,
					"set HOME or XDG_STATE_HOME, or pass --audit-log PATH");
			return NULL;
		}
		if (asprintf(&p, "%s/.local/state/cordon/audit/" AUDIT_LOG_NAME,
			     strcmp(home, "/") == 0 ? "" : home) < 0)
			p = NULL;
	}
	if (p == NULL)
		cordon_err_set(err, ENOMEM, "audit log path");
	return p;
}

/* mkdir -p for the parents of path; new directories get mode 0700. */
static int
make_parents(const char *path, struct cordon_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return cordon_err_set(err, ENAMETOOLONG, "audit log %s", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return cordon_err_set(err, errno, "create audit directory %s", buf);
		*p = '/';
	}
	return 0;
}

/*
 * Under the lock: make a->prev the hash of the file's last line, if the file
 * changed since our last record. *need_nl is set when the file ends in the
 * middle of a line (a crash or a cut): the next record starts on a new line
 * and the damage stays visible to verify.
 */
static int
link_tail(struct cordon_audit *a, off_t size, bool *need_nl)
{
	_cleanup_free_ char *buf = NULL;
	off_t start;
	size_t n;
	ssize_t r;
	char *line;

	*need_nl = false;
	if (size == a->end)
		return 0;
	if (size == 0) {
		memcpy(a->prev, zero_hash, sizeof(zero_hash));
		return 0;
	}
	/*
	 * Read a growing window back from the end until it holds the start of
	 * the last line (records are mostly short; the bound is the longest).
	 */
	for (size_t want = 8192;; want *= 2) {
		size_t last;

		if (want > AUDIT_MAX_LINE + 1)
			want = AUDIT_MAX_LINE + 1;
		start = size > (off_t)want ? size - (off_t)want : 0;
		n = (size_t)(size - start);
		free(buf);
		buf = malloc(n + 1);
		if (buf == NULL)
			return -1;
		r = pread(a->fd, buf, n, start);
		if (r < 0)
			return -1;
		if ((size_t)r != n) {
			errno = EIO;
			return -1;
		}
		*need_nl = buf[n - 1] != '\n';
		last = *need_nl ? n : n - 1;
		buf[last] = '\0';
		line = memrchr(buf, '\n', last);
		if (line != NULL || start == 0 || want == AUDIT_MAX_LINE + 1) {
			line = line != NULL ? line + 1 : buf;
			return audit_sha256_hex(line, last - (size_t)(line - buf), a->prev);
		}
	}
}

static void
remember_failure(struct cordon_audit *a, const struct cordon_err *err)
{
	a->c.write_errors++;
	if (!a->failed) {
		a->failed = true;
		a->fail = *err;
		if (a->fail_closed && a->on_fail != NULL)
			a->on_fail(a->on_fail_arg);
	}
}

void
audit_on_failure(struct cordon_audit *a, audit_fail_fn fn, void *arg)
{
	a->on_fail = fn;
	a->on_fail_arg = arg;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 1;
}

static int emit_rated(struct cordon_audit *a, json_t *rec, const char *type, int rk,
		      struct cordon_err *err);
static json_t *record(struct cordon_audit *a, const char *type);

static int
emit(struct cordon_audit *a, json_t *rec, const char *type, struct cordon_err *err)
{
	return emit_rated(a, rec, type, RATE_NONE, err);
}

/* Write the summary of type k's suppressed records; start a new window. */
static void
rate_summary(struct cordon_audit *a, int k, uint64_t now)
{
	struct audit_rate *r = &a->rate[k];
	uint64_t n = r->suppressed, secs = (r->last_ms - r->first_ms + 999) / 1000;
	struct cordon_err err = { 0 };
	char msg[160];
	json_t *o;

	memset(r, 0, sizeof(*r));
	r->start_ms = now;
	if (n == 0)
		return;
	if (secs == 0)
		secs = 1;
	snprintf(msg, sizeof(msg), "%llu similar %s records suppressed in %llu s",
		 (unsigned long long)n, rate_type[k], (unsigned long long)secs);
	o = record(a, "suppressed");
	if (o == NULL || set(o, "kind", json_string(rate_type[k])) < 0 ||
	    set(o, "count", json_integer((json_int_t)n)) < 0 ||
	    set(o, "seconds", json_integer((json_int_t)secs)) < 0 ||
	    set(o, "message", json_string(msg)) < 0) {
		json_decref(o);
		o = NULL;
	}
	emit(a, o, "suppressed", &err);
}

/* Summaries of windows that are over (all: every one, at session end). */
static void
rate_flush(struct cordon_audit *a, bool all)
{
	uint64_t now;

	if (a->flushing)
		return;
	a->flushing = true;
	now = mono_ms();
	for (int k = 0; k < RATE_N; k++)
		if (a->rate[k].suppressed > 0 &&
		    (all || now - a->rate[k].start_ms >= AUDIT_RATE_WINDOW_S * 1000u))
			rate_summary(a, k, now);
	a->flushing = false;
}

/*
 * May a record of type k of len bytes be written now? If not it is counted;
 * *limit_rec is set when this is the first one refused in the window.
 */
static bool
rate_admit(struct cordon_audit *a, int k, size_t len, bool *limit_rec)
{
	struct audit_rate *r = &a->rate[k];
	uint64_t now = mono_ms();

	*limit_rec = false;
	if (r->start_ms == 0 || now - r->start_ms >= AUDIT_RATE_WINDOW_S * 1000u) {
		if (r->suppressed == 0) {
			memset(r, 0, sizeof(*r));
			r->start_ms = now;
		}
	}
	if (r->suppressed == 0 && r->n < a->rate_records && r->bytes + len <= a->rate_bytes) {
		r->n++;
		r->bytes += len;
		return true;
	}
	if (r->suppressed++ == 0)
		r->first_ms = now;
	r->last_ms = now;
	a->c.suppressed++;
	*limit_rec = !r->limited;
	r->limited = true;
	return false;
}

/* The limit record of type k's rate window. */
static void
rate_limit_record(struct cordon_audit *a, int k)
{
	struct audit_rate *r = &a->rate[k];
	bool by_count = r->n >= a->rate_records;
	struct cordon_err err = { 0 };
	char msg[200];
	struct audit_limit l = {
		.limit = by_count ? "audit.records" : "audit.bytes",
		.kind = rate_type[k],
		.max = by_count ? a->rate_records : a->rate_bytes,
		.value = by_count ? r->n : r->bytes,
		.message = msg,
	};

	snprintf(msg, sizeof(msg),
		 "more than %llu %s of %s records in %d s: further ones are counted and "
		 "summarised",
		 (unsigned long long)l.max, by_count ? "records" : "bytes", rate_type[k],
		 AUDIT_RATE_WINDOW_S);
	audit_limit(a, &l, &err);
}

/*
 * Finish rec (add "prev"), link it, write it with one write(2). Steals rec.
 * The caller filled v, type, ts, session, seq first (insertion order is
 * the field order in the file). rk: the rate window the record counts
 * against (RATE_NONE: not limited); a record over the rate is counted,
 * not written, and the call succeeds.
 */
static int
emit_rated(struct cordon_audit *a, json_t *rec, const char *type, int rk, struct cordon_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	bool need_nl = false, limit_rec = false;
	size_t len;
	ssize_t w;
	int r = -1;
	/* Taken now: a summary written first is not the record asked about. */
	uint64_t *seq_out = a->seq_out;

	a->seq_out = NULL;
	rate_flush(a, false);
	if (rec == NULL) {
		cordon_err_set(err, ENOMEM, "audit record");
		remember_failure(a, err);
		return -1;
	}
	if (RETRY_EINTR(flock(a->fd, LOCK_EX)) < 0) {
		cordon_err_set(err, errno, "audit log %s: lock", a->path);
		goto out;
	}
	if (fstat(a->fd, &st) < 0 || link_tail(a, st.st_size, &need_nl) < 0) {
		cordon_err_set(err, errno, "audit log %s: read the last record", a->path);
		goto unlock;
	}
	/* seq now: a summary may have been written since rec was made */
	if (json_object_set_new(rec, "seq", json_integer((json_int_t)a->seq)) < 0 ||
	    json_object_set_new(rec, "prev", json_string(a->prev)) < 0) {
		cordon_err_set(err, ENOMEM, "audit record");
		goto unlock;
	}
	{
		char *body = dump(rec);
		size_t blen;

		if (body == NULL) {
			cordon_err_set(err, ENOMEM, "audit record");
			goto unlock;
		}
		blen = strlen(body);
		text = malloc(blen + 3);
		if (text == NULL) {
			free(body);
			cordon_err_set(err, ENOMEM, "audit record");
			goto unlock;
		}
		len = 0;
		if (need_nl)
			text[len++] = '\n';
		memcpy(text + len, body, blen);
		len += blen;
		text[len++] = '\n';
		text[len] = '\0';
		free(body);
	}
	if (rk != RATE_NONE && !rate_admit(a, rk, len, &limit_rec)) {
		r = 0;
		goto unlock;
	}
	w = RETRY_EINTR(write(a->fd, text, len));
	if (w != (ssize_t)len) {
		int e = w < 0 ? errno : ENOSPC;

		/* Never leave half a record behind: cut back to where we began. */
		if (w > 0 && ftruncate(a->fd, st.st_size) < 0)
			a->end = -1;
		else
			a->end = st.st_size;
		cordon_err_set(err, e, "audit log %s: cannot write the %s record", a->path, type);
		if (e == ENOSPC || e == EDQUOT)
			cordon_err_hint(err, "free space on the filesystem holding the audit log, "
					     "or point --audit-log at another one");
		else
			cordon_err_hint(err, "check the audit log's filesystem and permissions");
		goto unlock;
	}
	a->end = st.st_size + (off_t)len;
	{
		const char *line = text + (need_nl ? 1 : 0);
		size_t llen = len - 1 - (need_nl ? 1 : 0);

		if (audit_sha256_hex(line, llen, a->prev) < 0)
			a->end = -1; /* re-read on the next record */
		if (a->ex != NULL)
			audit_export_push(a->ex, line, llen, type, a->session);
	}
	if (seq_out != NULL)
		*seq_out = a->seq;
	a->seq++;
	a->c.records++;
	r = 0;
unlock:
	flock(a->fd, LOCK_UN);
out:
	json_decref(rec);
	if (r < 0)
		remember_failure(a, err);
	if (limit_rec)
		rate_limit_record(a, rk);
	return r;
}

/* A new record with the common header fields. NULL on ENOMEM. */
static json_t *
record(struct cordon_audit *a, const char *type)
{
	json_t *o = json_object();
	char ts[48];

	if (o == NULL)
		return NULL;
	timestamp(ts, sizeof(ts));
	if (set(o, "v", json_integer(AUDIT_SCHEMA_VERSION)) < 0 ||
	    set(o, "type", json_string(type)) < 0 || set(o, "ts", json_string(ts)) < 0 ||
	    set(o, "session", json_string(a->session)) < 0 ||
	    set(o, "seq", json_integer((json_int_t)a->seq)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * json_dumps with AUDIT_JSON_FLAGS, and DEL (0x7f) escaped as well:
 * JSON_ENSURE_ASCII leaves it raw, and a record must hold no control
 * character. DEL can only occur inside strings, so the rewrite is safe.
 */
static char *
dump(const json_t *j)
{
	char *s = json_dumps(j, AUDIT_JSON_FLAGS), *out, *o;
	size_t n = 0;

	if (s == NULL || strchr(s, 0x7f) == NULL)
		return s;
	for (const char *p = s; *p; p++)
		n += *p == 0x7f ? 6 : 1;
	out = malloc(n + 1);
	if (out != NULL) {
		o = out;
		for (const char *p = s; *p; p++) {
			if (*p == 0x7f) {
				memcpy(o, "\\u007f", 6);
				o += 6;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
	}
	free(s);
	return out;
}

static json_t *
jargvn(const char *const *argv, const size_t *len, size_t argc)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < argc; i++)
		if (json_array_append_new(arr, jstrn(argv[i], len[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

char *
audit_format_argv(const char *const *argv, const size_t *len, size_t argc)
{
	json_t *arr = jargvn(argv, len, argc);
	char *out;

	if (arr == NULL)
		return NULL;
	out = dump(arr);
	json_decref(arr);
	return out;
}

/* argv of the command line, cut at the exec bounds; *truncated says so. */
static json_t *
jargv(char *const *argv, bool *truncated)
{
	json_t *arr = json_array();
	size_t total = 0;

	*truncated = false;
	for (size_t i = 0; arr != NULL && argv != NULL && argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]);

		if (i == AUDIT_EXEC_MAX_ARGS || total == AUDIT_EXEC_MAX_ARGV_BYTES) {
			*truncated = true;
			break;
		}
		if (n > AUDIT_EXEC_MAX_ARG)
			n = AUDIT_EXEC_MAX_ARG, *truncated = true;
		if (n > AUDIT_EXEC_MAX_ARGV_BYTES - total)
			n = AUDIT_EXEC_MAX_ARGV_BYTES - total, *truncated = true;
		total += n;
		if (json_array_append_new(arr, jstrn(argv[i], n)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

struct cordon_audit *
audit_open(const struct audit_options *opts, struct cordon_err *err)
{
	_cleanup_free_ char *path = NULL;
	struct cordon_audit *a;
	struct stat st;

	path = opts->path ? strdup(opts->path) : audit_default_path(err);
	if (path == NULL) {
		if (opts->path)
			cordon_err_set(err, ENOMEM, "audit log path");
		return NULL;
	}
	if (make_parents(path, err) < 0) {
		cordon_err_hint(err, "choose a writable place with --audit-log PATH");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		cordon_err_set(err, ENOMEM, "audit log");
		return NULL;
	}
	a->fail_closed = opts->fail_closed;
	a->rate_records = opts->rate_records ? opts->rate_records : AUDIT_RATE_RECORDS;
	a->rate_bytes = opts->rate_bytes ? opts->rate_bytes : AUDIT_RATE_BYTES;
	a->end = -1;
	memcpy(a->prev, zero_hash, sizeof(zero_hash));
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		cordon_err_set(err, errno, "open audit log %s", path);
		cordon_err_hint(err, "the audit log must be a regular file you can write (not a "
				     "symlink); choose another with --audit-log PATH");
		goto fail;
	}
	if (fstat(a->fd, &st) < 0) {
		cordon_err_set(err, errno, "audit log %s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cordon_err_set(err, EINVAL, "audit log %s is not a regular file", path);
		cordon_err_hint(err, "choose another with --audit-log PATH");
		goto fail;
	}
	a->path = realpath(path, NULL);
	if (a->path == NULL) {
		cordon_err_set(err, errno, "audit log %s", path);
		goto fail;
	}
	if (opts->session_id != NULL) {
		if (!audit_session_id_ok(opts->session_id)) {
			cordon_err_set(err, EINVAL, "bad session id '%.40s'", opts->session_id);
			goto fail;
		}
		memcpy(a->session, opts->session_id, sizeof(a->session));
	} else if (audit_session_id_new(a->session, err) < 0) {
		goto fail;
	}
	if (audit_export_new(opts, &a->ex, err) < 0)
		goto fail;
	return a;
fail:
	audit_close(a);
	return NULL;
}

int
audit_start_export(struct cordon_audit *a, struct cordon_err *err)
{
	return audit_export_run(a->ex, err);
}

void
audit_close(struct cordon_audit *a)
{
	if (a == NULL)
		return;
	audit_export_stop(a->ex, 3000);
	a->ex = NULL;
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a);
}

const char *
audit_path(const struct cordon_audit *a)
{
	return a->path;
}

const char *
audit_session_id(const struct cordon_audit *a)
{
	return a->session;
}

bool
audit_fail_closed(const struct cordon_audit *a)
{
	return a->fail_closed;
}

const struct audit_counters *
audit_counters(const struct cordon_audit *a)
{
	return &a->c;
}

uint64_t
audit_export_dropped(const struct cordon_audit *a)
{
	return a->ex != NULL ? audit_export_dropped_count(a->ex) : 0;
}

const struct cordon_err *
audit_failed(const struct cordon_audit *a)
{
	return a->failed ? &a->fail : NULL;
}

/* layers.resources: each ceiling in force (bytes, CPUs, processes) or null; null when unknown. */
static json_t *
resources_json(const struct audit_layers *l)
{
	json_t *o;

	if (l == NULL || l->limits == NULL)
		return json_null();
	o = json_object();
	if (o == NULL ||
	    set(o, "memory",
		l->memory_max ? json_integer((json_int_t)l->memory_max) : json_null()) < 0 ||
	    set(o, "cpus", l->cpu_millis ? json_real(l->cpu_millis / 1000.0) : json_null()) < 0 ||
	    set(o, "pids", l->pids_max ? json_integer((json_int_t)l->pids_max) : json_null()) < 0 ||
	    set(o, "disk", l->disk_max ? json_integer((json_int_t)l->disk_max) : json_null()) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The session's workspaces: [{"path": ..., "ro": ...}], the primary first. */
static json_t *
workspaces_json(const struct audit_session_info *info)
{
	json_t *v = json_array();
	struct audit_workspace one = { info->cwd, false };
	const struct audit_workspace *ws = info->workspaces != NULL ? info->workspaces : &one;
	size_t n = info->workspaces != NULL ? info->n_workspaces : info->cwd != NULL;

	for (size_t i = 0; v != NULL && i < n; i++) {
		json_t *o = json_object();

		if (o == NULL || set(o, "path", jstr(ws[i].path)) < 0 ||
		    set(o, "ro", json_boolean(ws[i].ro)) < 0) {
			json_decref(o);
			o = NULL;
		}
		if (o == NULL || json_array_append_new(v, o) < 0) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

int
audit_session_start(struct cordon_audit *a, const struct audit_session_info *info,
		    struct cordon_err *err)
{
	json_t *o = record(a, "session_start");
	json_t *layers = json_object(), *ns = json_array();
	bool cut = false;
	char host[256];

	clock_gettime(CLOCK_MONOTONIC, &a->start);
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0;
	     ns != NULL && info->layers && info->layers->namespaces && info->layers->namespaces[i];
	     i++)
		json_array_append_new(ns, json_string(info->layers->namespaces[i]));
	if (o == NULL || layers == NULL || ns == NULL ||
	    set(o, "argv", jargv(info->argv, &cut)) < 0 ||
	    set(o, "truncated", json_boolean(cut)) < 0 || set(o, "cwd", jstr(info->cwd)) < 0 ||
	    set(o, "workspaces", workspaces_json(info)) < 0 ||
	    set(o, "user", jstr(info->user)) < 0 ||
	    set(o, "uid", json_integer((json_int_t)info->uid)) < 0 ||
	    set(o, "host", jstr(host)) < 0 || set(o, "pid", json_integer(getpid())) < 0 ||
	    set(o, "cordon", json_string(CORDON_VERSION)) < 0 ||
	    set(o, "policy_digest", jstr(info->policy_digest)) < 0 ||
	    set(layers, "namespaces", steal_ptr(ns)) < 0 ||
	    set(layers, "seccomp", json_boolean(info->layers && info->layers->seccomp)) < 0 ||
	    set(layers, "landlock_abi",
		info->layers && info->layers->landlock_abi >= 0
		    ? json_integer(info->layers->landlock_abi)
		    : json_null()) < 0 ||
	    set(layers, "limits",
		info->layers && info->layers->limits ? jstr(info->layers->limits) : json_null()) <
		0 ||
	    set(layers, "resources", resources_json(info->layers)) < 0 ||
	    set(layers, "exec_audit", json_boolean(info->layers && info->layers->exec_audit)) < 0 ||
	    set(layers, "identity", jstr(info->layers ? info->layers->identity : NULL)) < 0 ||
	    set(layers, "host_masks",
		json_integer(info->layers ? (json_int_t)info->layers->host_masks : 0)) < 0 ||
	    set(o, "layers", steal_ptr(layers)) < 0 ||
	    set(o, "fail_closed", json_boolean(a->fail_closed)) < 0) {
		json_decref(o);
		json_decref(layers);
		json_decref(ns);
		o = NULL;
	}
	return emit(a, o, "session_start", err);
}

int
audit_session_end(struct cordon_audit *a, const struct audit_session_end *end,
		  struct cordon_err *err)
{
	json_t *o, *c;
	struct timespec now;
	uint64_t ms;

	rate_flush(a, true);
	o = record(a, "session_end");
	c = json_object();
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (uint64_t)(now.tv_sec - a->start.tv_sec) * 1000u +
	     (uint64_t)((now.tv_nsec - a->start.tv_nsec) / 1000000);
	if (a->start.tv_sec == 0 && a->start.tv_nsec == 0)
		ms = 0;

	if (o == NULL || c == NULL || set(o, "status", json_integer(end->status)) < 0 ||
	    set(o, "reason", jstr(end->reason ? end->reason : "exit")) < 0 ||
	    set(o, "duration_ms", json_integer((json_int_t)ms)) < 0 ||
	    set(c, "records", json_integer((json_int_t)a->c.records)) < 0 ||
	    set(c, "exec", json_integer((json_int_t)a->c.exec)) < 0 ||
	    set(c, "exec_failed", json_integer((json_int_t)a->c.exec_failed)) < 0 ||
	    set(c, "exec_unknown", json_integer((json_int_t)a->c.exec_unknown)) < 0 ||
	    set(c, "net", json_integer((json_int_t)a->c.net)) < 0 ||
	    set(c, "net_denied", json_integer((json_int_t)a->c.net_denied)) < 0 ||
	    set(c, "violations", json_integer((json_int_t)a->c.violations)) < 0 ||
	    set(c, "policy", json_integer((json_int_t)a->c.policy)) < 0 ||
	    set(c, "credential", json_integer((json_int_t)a->c.credential)) < 0 ||
	    set(c, "write_errors", json_integer((json_int_t)a->c.write_errors)) < 0 ||
	    set(c, "suppressed", json_integer((json_int_t)a->c.suppressed)) < 0 ||
	    set(c, "limits", json_integer((json_int_t)a->c.limits)) < 0 ||
	    set(c, "export_dropped", json_integer((json_int_t)audit_export_dropped(a))) < 0 ||
	    set(o, "counters", steal_ptr(c)) < 0 ||
	    set(o, "layers", json_pack("{s:o}", "capture", jstr(end->capture))) < 0) {
		json_decref(o);
		json_decref(c);
		o = NULL;
	}
	return emit(a, o, "session_end", err);
}

/* The fields an exec_request and an exec record share: the call as read. */
static int
set_exec_call(json_t *o, const struct audit_exec_event *ev)
{
	json_t *argv = jargvn(ev->argv, ev->argv_len, ev->argc);

	if (argv == NULL || set(o, "pid", json_integer(ev->pid)) < 0 ||
	    set(o, "syscall", jstr(ev->syscall)) < 0 ||
	    (strcmp(ev->syscall, "execveat") == 0 &&
	     (set(o, "dirfd", json_integer(ev->dirfd)) < 0 ||
	      set(o, "flags", json_integer(ev->flags)) < 0)) ||
	    set(o, "path", jstrn(ev->path, ev->path_len)) < 0 ||
	    set(o, "argv", steal_ptr(argv)) < 0 ||
	    set(o, "truncated", json_boolean(ev->truncated)) < 0 ||
	    (ev->argv_from_command_line && set(o, "argv_from", json_string("command-line")) < 0)) {
		json_decref(argv);
		return -1;
	}
	return 0;
}

/* {"dev": "MAJ:MIN", "ino": N}: the identity of a file, as stat(1) shows it. */
static json_t *
jfile_id(const char *path, uint64_t dev, uint64_t ino)
{
	json_t *o = json_object();
	char d[32];

	snprintf(d, sizeof(d), "%u:%u", major((dev_t)dev), minor((dev_t)dev));
	if (o == NULL || (path != NULL && set(o, "path", jstr(path)) < 0) ||
	    set(o, "dev", json_string(d)) < 0 || set(o, "ino", json_integer((json_int_t)ino)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
audit_exec_request(struct cordon_audit *a, const struct audit_exec_event *ev, uint64_t *seq,
		   struct cordon_err *err)
{
	json_t *o = record(a, "exec_request");

	if (seq != NULL)
		*seq = AUDIT_SEQ_NONE; /* until written: over the rate, it is not */
	if (o != NULL && set_exec_call(o, ev) < 0) {
		json_decref(o);
		o = NULL;
	}
	/* Rated like every record a sandbox can multiply (one per call). */
	a->seq_out = seq;
	return emit_rated(a, o, "exec_request", RATE_EXEC, err);
}

int
audit_exec(struct cordon_audit *a, const struct audit_exec_event *ev, struct cordon_err *err)
{
	json_t *o = record(a, "exec");
	const char *outcome = ev->outcome ? ev->outcome : "unknown";
	char ename[32];

	snprintf(ename, sizeof(ename), "%s", ev->error > 0 ? strerrorname_np(ev->error) : "");
	if (ename[0] == '\0' && ev->error > 0)
		snprintf(ename, sizeof(ename), "errno %d", ev->error);
	if (o == NULL || set_exec_call(o, ev) < 0 ||
	    set(o, "request",
		ev->request_seq == AUDIT_SEQ_NONE
		    ? json_null()
		    : json_integer((json_int_t)ev->request_seq)) < 0 ||
	    set(o, "outcome", json_string(outcome)) < 0 ||
	    (ev->error > 0 && set(o, "error", json_string(ename)) < 0) ||
	    (ev->fd_exec && set(o, "fd_exec", json_true()) < 0) ||
	    (ev->script && set(o, "script", json_true()) < 0) ||
	    (strcmp(outcome, "ran") == 0 &&
	     set(o, "file",
		 ev->file_path ? jfile_id(ev->file_path, ev->file_dev, ev->file_ino)
			       : json_null()) < 0) ||
	    (ev->path_mismatch && ev->claimed_known &&
	     (set(o, "path_mismatch", json_true()) < 0 ||
	      set(o, "claimed", jfile_id(NULL, ev->claimed_dev, ev->claimed_ino)) < 0)) ||
	    (ev->digest != NULL && set(o, "digest", jstr(ev->digest)) < 0) ||
	    (ev->digest_skipped != NULL &&
	     set(o, "digest_skipped", jstr(ev->digest_skipped)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	if (strcmp(outcome, "ran") == 0)
		a->c.exec++;
	else if (strcmp(outcome, "failed") == 0)
		a->c.exec_failed++;
	else
		a->c.exec_unknown++;
	return emit_rated(a, o, "exec", RATE_EXEC, err);
}

int
audit_net(struct cordon_audit *a, const struct audit_net_event *ev, struct cordon_err *err)
{
	json_t *o = record(a, "net");

	if (o == NULL || set(o, "host", jstr(ev->host)) < 0 ||
	    set(o, "port", json_integer(ev->port)) < 0 ||
	    set(o, "address", jstr(ev->address)) < 0 ||
	    set(o, "protocol", jstr(ev->protocol)) < 0 ||
	    set(o, "decision", jstr(ev->decision)) < 0 || set(o, "rule", jstr(ev->rule)) < 0 ||
	    set(o, "reason", jstr(ev->reason)) < 0 ||
	    set(o, "bytes_up", json_integer((json_int_t)ev->bytes_up)) < 0 ||
	    set(o, "bytes_down", json_integer((json_int_t)ev->bytes_down)) < 0 ||
	    set(o, "duration_ms", json_integer((json_int_t)ev->duration_ms)) < 0 ||
	    (ev->method != NULL && set(o, "method", jstr(ev->method)) < 0) ||
	    (ev->path != NULL && set(o, "path", jstr(ev->path)) < 0) ||
	    (ev->method != NULL &&
	     set(o, "status", ev->status > 0 ? json_integer(ev->status) : json_null()) < 0) ||
	    (ev->intercepted && set(o, "intercepted", json_true()) < 0)) {
		json_decref(o);
		o = NULL;
	}
	a->c.net++;
	if (ev->decision != NULL && strcmp(ev->decision, "allow") != 0)
		a->c.net_denied++;
	return emit_rated(a, o, "net", RATE_NET, err);
}

int
audit_violation(struct cordon_audit *a, const struct audit_violation *v, struct cordon_err *err)
{
	json_t *o = record(a, "violation");

	if (o == NULL || set(o, "kind", jstr(v->kind)) < 0 || set(o, "what", jstr(v->what)) < 0 ||
	    set(o, "reason", jstr(v->reason)) < 0 ||
	    set(o, "pid", v->pid > 0 ? json_integer(v->pid) : json_null()) < 0) {
		json_decref(o);
		o = NULL;
	}
	a->c.violations++;
	return emit_rated(a, o, "violation", RATE_VIOLATION, err);
}

int
audit_policy_change(struct cordon_audit *a, const struct audit_policy_change *p,
		    struct cordon_err *err)
{
	json_t *o = record(a, "policy");

	if (o == NULL || set(o, "action", jstr(p->action)) < 0 ||
	    set(o, "target", jstr(p->target)) < 0 || set(o, "origin", jstr(p->origin)) < 0) {
		json_decref(o);
		o = NULL;
	}
	a->c.policy++;
	return emit(a, o, "policy", err);
}

int
audit_credential(struct cordon_audit *a, const struct audit_credential *c, struct cordon_err *err)
{
	json_t *o = record(a, "credential");

	if (o == NULL || set(o, "name", jstr(c->name)) < 0 || set(o, "host", jstr(c->host)) < 0 ||
	    set(o, "header", jstr(c->header)) < 0) {
		json_decref(o);
		o = NULL;
	}
	a->c.credential++;
	/* one per intercepted connection: the sandbox can cause them at will */
	return emit_rated(a, o, "credential", RATE_CREDENTIAL, err);
}

int
audit_join(struct cordon_audit *a, const struct audit_join *j, struct cordon_err *err)
{
	json_t *o = record(a, "join");
	bool truncated;

	if (o == NULL || set(o, "join", json_integer(j->join)) < 0 ||
	    set(o, "argv", jargv(j->argv, &truncated)) < 0 ||
	    set(o, "truncated", json_boolean(truncated)) < 0 || set(o, "cwd", jstr(j->cwd)) < 0 ||
	    set(o, "uid", json_integer((json_int_t)j->uid)) < 0 ||
	    set(o, "client_pid", json_integer((json_int_t)j->client_pid)) < 0 ||
	    set(o, "tty", json_boolean(j->tty)) < 0) {
		json_decref(o);
		o = NULL;
	}
	return emit(a, o, "join", err);
}

int
audit_join_end(struct cordon_audit *a, const struct audit_join *j, struct cordon_err *err)
{
	json_t *o = record(a, "join_end");

	if (o == NULL || set(o, "join", json_integer(j->join)) < 0 ||
	    set(o, "pid", j->pid > 0 ? json_integer((json_int_t)j->pid) : json_null()) < 0 ||
	    set(o, "status", json_integer(j->status)) < 0 ||
	    set(o, "duration_ms", json_integer((json_int_t)j->duration_ms)) < 0 ||
	    set(o, "reason", jstr(j->reason)) < 0) {
		json_decref(o);
		o = NULL;
	}
	return emit(a, o, "join_end", err);
}

int
audit_limit(struct cordon_audit *a, const struct audit_limit *l, struct cordon_err *err)
{
	json_t *o = record(a, "limit");

	if (o == NULL || set(o, "limit", jstr(l->limit)) < 0 || set(o, "kind", jstr(l->kind)) < 0 ||
	    set(o, "max", json_integer((json_int_t)l->max)) < 0 ||
	    set(o, "value", json_integer((json_int_t)l->value)) < 0 ||
	    set(o, "message", jstr(l->message)) < 0) {
		json_decref(o);
		o = NULL;
	}
	a->c.limits++;
	return emit(a, o, "limit", err);
}

/*
 * The last line of buf[0, len) that is a record of session id (compact
 * JSON: the field reads "session":"<id>" and a quote inside a string is
 * always escaped, so the text cannot occur elsewhere). NULL when none.
 */
static const char *
last_record_of(const char *buf, size_t len, const char *id, size_t *llen)
{
	char needle[AUDIT_SESSION_ID_LEN + 16];
	size_t nl = (size_t)snprintf(needle, sizeof(needle), "\"session\":\"%s\"", id);
	size_t end = buf != NULL ? len : 0;

	while (end > 0) {
		const char *start;
		size_t l;

		if (buf[end - 1] == '\n')
			end--;
		start = end > 0 ? memrchr(buf, '\n', end) : NULL;
		start = start != NULL ? start + 1 : buf;
		l = (size_t)(buf + end - start);
		if (memmem(start, l, needle, nl) != NULL) {
			*llen = l;
			return start;
		}
		end = (size_t)(start - buf);
	}
	return NULL;
}

int
audit_close_orphan(const char *path, const char *session, const char *reason,
		   const struct audit_closer *by, struct cordon_err *err)
{
	struct cordon_audit a = { .fd = -1, .end = -1 };
	_cleanup_close_ int fd = -1;
	const char *line;
	json_t *rec = NULL, *o, *who;
	json_int_t seq;
	size_t llen = 0;
	struct stat st;
	void *map;
	int r;

	if (!audit_session_id_ok(session))
		return cordon_err_set(err, EINVAL, "bad session id");
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cordon_err_set(err, errno, "open audit log %s", path);
	if (fstat(fd, &st) < 0)
		return cordon_err_set(err, errno, "audit log %s", path);
	if (!S_ISREG(st.st_mode))
		return cordon_err_set(err, EINVAL, "audit log %s is not a regular file", path);
	if (st.st_size == 0)
		return 0;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return cordon_err_set(err, errno, "read audit log %s", path);
	line = last_record_of(map, (size_t)st.st_size, session, &llen);
	if (line != NULL)
		rec = json_loadb(line, llen, 0, NULL);
	munmap(map, (size_t)st.st_size);
	if (line == NULL)
		return 0;
	if (rec == NULL || !json_is_integer(json_object_get(rec, "seq"))) {
		json_decref(rec);
		return cordon_err_set(err, EINVAL,
				      "audit log %s: the last record of session %s is damaged",
				      path, session);
	}
	seq = json_integer_value(json_object_get(rec, "seq"));
	r = json_string_value(json_object_get(rec, "type")) != NULL &&
	    strcmp(json_string_value(json_object_get(rec, "type")), "session_end") == 0;
	json_decref(rec);
	if (r)
		return 0;
	a.fd = fd;
	a.path = (char *)(uintptr_t)path;
	memcpy(a.session, session, sizeof(a.session));
	a.seq = (uint64_t)seq + 1;
	memcpy(a.prev, zero_hash, sizeof(zero_hash));
	o = record(&a, "session_end");
	who = json_object();
	if (o == NULL || who == NULL || set(o, "status", json_null()) < 0 ||
	    set(o, "reason", jstr(reason)) < 0 || set(o, "duration_ms", json_null()) < 0 ||
	    set(who, "command", jstr(by->command)) < 0 ||
	    set(who, "session", jstr(by->session)) < 0 ||
	    set(who, "pid", json_integer(by->pid)) < 0 || set(o, "closed_by", steal_ptr(who)) < 0) {
		json_decref(o);
		json_decref(who);
		o = NULL;
	}
	r = emit(&a, o, "session_end", err);
	return r < 0 ? -1 : 1;
}
