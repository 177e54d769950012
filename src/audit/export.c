/* SPDX-License-Identifier: MIT */
/*
 * Audit export: OTLP/HTTP (JSON encoding, POST /v1/logs) and syslog(3).
 *
 * The supervisor's event loop must never wait on a collector, so the sinks
 * run in one thread of their own. audit_export_push() copies the record into
 * a bounded queue (AUDIT_EXPORT_QUEUE records) and signals the thread; when
 * the queue is full the oldest record is dropped and counted (the counter
 * ends up in the session end record). The thread sends batches of up to
 * AUDIT_EXPORT_BATCH records; a failed POST (no connection, timeout, HTTP
 * 429/502/503/504) is retried with exponential backoff, other HTTP errors
 * drop the batch (counted). At the end of a session the queue is flushed
 * for a bounded time, then whatever is left is counted as dropped.
 *
 * Each OTLP log record's body is the audit line itself, so a collector can
 * re-check the hash chain; attributes carry the record type and session.
 * Only plain http:// endpoints for now (a local collector or agent).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fd.h"

#define AUDIT_EXPORT_QUEUE          4096
#define AUDIT_EXPORT_BATCH          256
#define AUDIT_EXPORT_IO_MS          3000 /* connect / send / receive timeout */
#define AUDIT_EXPORT_BACKOFF_MIN_MS 200
#define AUDIT_EXPORT_BACKOFF_MAX_MS 10000

struct export_item {
	char *line;
	size_t len;
	char type[24];
	char session[AUDIT_SESSION_ID_LEN + 1];
};

struct audit_export {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool otlp, syslog;
	char host[256], port[16], path[512];
	struct export_item q[AUDIT_EXPORT_QUEUE];
	size_t head, count;
	uint64_t dropped;
	bool stop;
	bool started;             /* the thread runs */
	struct timespec deadline; /* valid once stop is set */
};

int
audit_otlp_parse_url(const char *url, char *host, size_t host_size, char *port, size_t port_size,
		     char *path, size_t path_size, struct cordon_err *err)
{
	const char *p, *hend, *pstart;
	size_t hlen;

	if (strncmp(url, "https://", 8) == 0) {
		cordon_err_set(err, 0, "OTLP endpoint %s: https is not supported yet", url);
		return cordon_err_hint(err, "send to a local collector over http://127.0.0.1:4318");
	}
	if (strncmp(url, "http://", 7) != 0) {
		cordon_err_set(err, 0, "OTLP endpoint %s: not an http:// URL", url);
		return cordon_err_hint(err, "write it as http://HOST:PORT[/v1/logs]");
	}
	p = url + 7;
	pstart = strchr(p, '/');
	if (pstart == NULL)
		pstart = p + strlen(p);
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(pstart - p));
		if (hend == NULL)
			goto bad;
		hlen = (size_t)(hend - p - 1);
		p++;
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(pstart - p));
		if (hend == NULL)
			hend = pstart;
		hlen = (size_t)(hend - p);
	}
	if (hlen == 0 || hlen >= host_size)
		goto bad;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	if (*hend == ':') {
		size_t plen = (size_t)(pstart - hend - 1);

		if (plen == 0 || plen >= port_size || strspn(hend + 1, "0123456789") < plen)
			goto bad;
		memcpy(port, hend + 1, plen);
		port[plen] = '\0';
	} else if (hend == pstart) {
		snprintf(port, port_size, "80");
	} else {
		goto bad;
	}
	if (*pstart == '\0' || strcmp(pstart, "/") == 0)
		pstart = "/v1/logs";
	if (strlen(pstart) >= path_size || strpbrk(pstart, " \r\n\t") != NULL)
		goto bad;
	snprintf(path, path_size, "%s", pstart);
	return 0;
bad:
	cordon_err_set(err, 0, "OTLP endpoint %s: cannot parse", url);
	return cordon_err_hint(err, "write it as http://HOST:PORT[/v1/logs]");
}

static json_t *
kv(const char *key, const char *value)
{
	return json_pack("{s:s, s:{s:s}}", "key", key, "value", "stringValue", value);
}

char *
audit_otlp_body(const char *const *lines, const size_t *lens, const char *const *types,
		const char *const *sessions, size_t n)
{
	json_t *records = json_array(), *root;
	struct timespec ts;
	char nano[32];
	char *out;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(nano, sizeof(nano), "%llu",
		 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
	for (size_t i = 0; records != NULL && i < n; i++) {
		/* Lines are ASCII JSON (JSON_ENSURE_ASCII), so valid strings. */
		json_t *body = json_stringn(lines[i], lens[i]);
		json_t *rec = json_pack(
		    "{s:s, s:s, s:i, s:{s:o}, s:[o, o]}", "timeUnixNano", nano, "severityText",
		    "INFO", "severityNumber", 9, "body", "stringValue", body, "attributes",
		    kv("cordon.type", types[i]), kv("cordon.session", sessions[i]));

		if (rec == NULL || json_array_append_new(records, rec) < 0) {
			json_decref(records);
			records = NULL;
		}
	}
	if (records == NULL)
		return NULL;
	root = json_pack("{s:[{s:{s:[o]}, s:[{s:{s:s, s:s}, s:o}]}]}", "resourceLogs", "resource",
			 "attributes", kv("service.name", "cordon"), "scopeLogs", "scope", "name",
			 "cordon.audit", "version", "1", "logRecords", records);
	if (root == NULL)
		return NULL;
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

/* Connect with a timeout. fd or -1. */
static int
connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		int e = 0;
		socklen_t el = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (errno == EINPROGRESS && poll(&pfd, 1, AUDIT_EXPORT_IO_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0 && fd_set_nonblock(fd, 0) < 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0) {
		struct timeval tv = { AUDIT_EXPORT_IO_MS / 1000, 0 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* POST body. Returns the HTTP status, or -1 when no answer came. */
static int
http_post(struct audit_export *ex, const char *body)
{
	_cleanup_close_ int fd = connect_to(ex->host, ex->port);
	char head[1024], resp[512];
	size_t blen = strlen(body);
	ssize_t n, got = 0;
	int status = -1;

	if (fd < 0)
		return -1;
	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\nUser-Agent: cordon\r\n\r\n",
		 ex->path, ex->host, ex->port, blen);
	if (fd_write_all(fd, head, strlen(head)) < 0 || fd_write_all(fd, body, blen) < 0)
		return -1;
	while (got < (ssize_t)sizeof(resp) - 1 &&
	       (n = RETRY_EINTR(read(fd, resp + got, sizeof(resp) - 1 - (size_t)got))) > 0) {
		got += n;
		if (memchr(resp, '\n', (size_t)got) != NULL)
			break;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1)
		return -1;
	return status;
}

static void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
past(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void
free_batch(struct export_item *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].line);
		b[i].line = NULL;
	}
}

/* Send one batch until it is accepted, refused for good, or time is up. */
static void
send_batch(struct audit_export *ex, struct export_item *b, size_t n)
{
	const char *lines[AUDIT_EXPORT_BATCH], *types[AUDIT_EXPORT_BATCH];
	const char *sessions[AUDIT_EXPORT_BATCH];
	size_t lens[AUDIT_EXPORT_BATCH];
	_cleanup_free_ char *body = NULL;
	unsigned backoff = AUDIT_EXPORT_BACKOFF_MIN_MS;

	for (size_t i = 0; i < n; i++) {
		lines[i] = b[i].line;
		lens[i] = b[i].len;
		types[i] = b[i].type;
		sessions[i] = b[i].session;
	}
	body = audit_otlp_body(lines, lens, types, sessions, n);
	for (;;) {
		int status = body != NULL ? http_post(ex, body) : 400;
		struct timespec until;
		bool give_up;

		if (status >= 200 && status < 300)
			return;
		pthread_mutex_lock(&ex->mu);
		give_up = (status >= 0 && status != 429 && status != 502 && status != 503 &&
			   status != 504) ||
			  (ex->stop && past(&ex->deadline));
		if (give_up) {
			ex->dropped += n;
			pthread_mutex_unlock(&ex->mu);
			return;
		}
		deadline_in(&until, backoff);
		if (ex->stop && !past(&ex->deadline) &&
		    (until.tv_sec > ex->deadline.tv_sec ||
		     (until.tv_sec == ex->deadline.tv_sec && until.tv_nsec > ex->deadline.tv_nsec)))
			until = ex->deadline;
		pthread_cond_timedwait(&ex->cv, &ex->mu, &until);
		pthread_mutex_unlock(&ex->mu);
		backoff = backoff * 2 > AUDIT_EXPORT_BACKOFF_MAX_MS ? AUDIT_EXPORT_BACKOFF_MAX_MS
								    : backoff * 2;
	}
}

static void *
export_thread(void *arg)
{
	struct audit_export *ex = arg;
	struct export_item batch[AUDIT_EXPORT_BATCH];

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&ex->mu);
		while (ex->count == 0 && !ex->stop)
			pthread_cond_wait(&ex->cv, &ex->mu);
		if (ex->count == 0 || (ex->stop && past(&ex->deadline))) {
			pthread_mutex_unlock(&ex->mu);
			break;
		}
		if (ex->count < AUDIT_EXPORT_BATCH && !ex->stop) {
			/* Let a burst gather into one request. */
			struct timespec until;

			deadline_in(&until, 100);
			pthread_cond_timedwait(&ex->cv, &ex->mu, &until);
		}
		while (ex->count > 0 && n < AUDIT_EXPORT_BATCH) {
			batch[n++] = ex->q[ex->head];
			ex->q[ex->head].line = NULL;
			ex->head = (ex->head + 1) % AUDIT_EXPORT_QUEUE;
			ex->count--;
		}
		pthread_mutex_unlock(&ex->mu);
		if (ex->syslog)
			for (size_t i = 0; i < n; i++)
				syslog(LOG_INFO, "%.*s", (int)batch[i].len, batch[i].line);
		if (ex->otlp)
			send_batch(ex, batch, n);
		free_batch(batch, n);
	}
	return NULL;
}

int
audit_export_new(const struct audit_options *opts, struct audit_export **out,
		 struct cordon_err *err)
{
	struct audit_export *ex;

	*out = NULL;
	if (opts->otlp_endpoint == NULL && !opts->syslog)
		return 0;
	ex = calloc(1, sizeof(*ex));
	if (ex == NULL)
		return cordon_err_set(err, ENOMEM, "audit export");
	if (opts->otlp_endpoint != NULL) {
		if (audit_otlp_parse_url(opts->otlp_endpoint, ex->host, sizeof(ex->host), ex->port,
					 sizeof(ex->port), ex->path, sizeof(ex->path), err) < 0) {
			free(ex);
			return -1;
		}
		ex->otlp = true;
	}
	if (opts->syslog) {
		openlog("cordon", LOG_PID, LOG_AUTHPRIV);
		ex->syslog = true;
	}
	pthread_mutex_init(&ex->mu, NULL);
	pthread_cond_init(&ex->cv, NULL);
	*out = ex;
	return 0;
}

int
audit_export_run(struct audit_export *ex, struct cordon_err *err)
{
	int r;

	if (ex == NULL || ex->started)
		return 0;
	{
		/* The thread must not take signals the supervisor relays. */
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r = pthread_create(&ex->th, NULL, export_thread, ex);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r != 0)
		return cordon_err_set(err, r, "start the audit export thread");
	ex->started = true;
	return 0;
}

void
audit_export_push(struct audit_export *ex, const char *line, size_t len, const char *type,
		  const char *session)
{
	char *copy = malloc(len + 1);

	pthread_mutex_lock(&ex->mu);
	if (copy == NULL) {
		ex->dropped++;
		pthread_mutex_unlock(&ex->mu);
		return;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (ex->count == AUDIT_EXPORT_QUEUE) {
		/* Drop the oldest: recent records matter most in an incident. */
		free(ex->q[ex->head].line);
		ex->q[ex->head].line = NULL;
		ex->head = (ex->head + 1) % AUDIT_EXPORT_QUEUE;
		ex->count--;
		ex->dropped++;
	}
	{
		struct export_item *it = &ex->q[(ex->head + ex->count) % AUDIT_EXPORT_QUEUE];

		it->line = copy;
		it->len = len;
		snprintf(it->type, sizeof(it->type), "%s", type);
		snprintf(it->session, sizeof(it->session), "%s", session);
	}
	ex->count++;
	pthread_cond_signal(&ex->cv);
	pthread_mutex_unlock(&ex->mu);
}

void
audit_export_stop(struct audit_export *ex, unsigned timeout_ms)
{
	if (ex == NULL)
		return;
	pthread_mutex_lock(&ex->mu);
	ex->stop = true;
	deadline_in(&ex->deadline, timeout_ms);
	pthread_cond_broadcast(&ex->cv);
	pthread_mutex_unlock(&ex->mu);
	if (ex->started)
		pthread_join(ex->th, NULL);
	while (ex->count > 0) {
		free(ex->q[ex->head].line);
		ex->head = (ex->head + 1) % AUDIT_EXPORT_QUEUE;
		ex->count--;
		ex->dropped++;
	}
	if (ex->syslog)
		closelog();
	pthread_mutex_destroy(&ex->mu);
	pthread_cond_destroy(&ex->cv);
	free(ex);
}

uint64_t
audit_export_dropped_count(struct audit_export *ex)
{
	uint64_t n;

	pthread_mutex_lock(&ex->mu);
	n = ex->dropped;
	pthread_mutex_unlock(&ex->mu);
	return n;
}
