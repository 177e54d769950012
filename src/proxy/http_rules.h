/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_HTTP_RULES_H
#define CORDON_PROXY_HTTP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proxy/allow.h"

/*
 * Method and path rules for HTTP requests (the policy's network.rules), on
 * plain-HTTP forwards and inside intercepted tunnels. A host that one or
 * more rules name may only receive requests that one of them allows; a
 * host no rule names is not narrowed. Pure: no syscalls; memory is taken
 * in px_http_rules_add only.
 *
 * Host patterns: a name, `*.suffix` (any depth of subdomain, not the apex)
 * or an IP literal, each optionally `:PORT` (allow.h's grammar, without
 * CIDR). Methods are compared exactly. A path pattern is matched against
 * the request's path (the query cut off), after percent-decoding and
 * merging repeated slashes; `*` in a pattern stands for any run of
 * characters, `/` included (so `/org/` followed by `*` is everything below
 * /org/). A path that cannot be read one way only (a `.` or `..` segment in any
 * spelling, a backslash, an encoded NUL or control byte, a bad escape) is
 * refused on a host that has rules.
 */

#define PX_HTTP_RULES_MAX 256  /* rules (as the policy's limit) */
#define PX_HTTP_PATH_MAX  4096 /* longest normalised path considered */

struct px_host_pat {
	char name[PX_HOST_MAX]; /* normalised name, suffix (without "*.") or address text */
	int wildcard;
	uint16_t port; /* 0: any */
};

struct px_http_rule {
	struct px_host_pat host;
	char **methods; /* NULL-terminated; empty: any method */
	char **paths;   /* NULL-terminated; empty: any path */
	char *text;     /* "github.com: methods GET; paths ..." for messages */
	char *origin;   /* where it came from ("user settings.json:3:5"), may be "" */
};

struct px_http_rules {
	struct px_http_rule *v;
	size_t n;
};

enum px_http_verdict {
	PX_HTTP_PASS = 0, /* no rule names the host: not narrowed */
	PX_HTTP_ALLOW,    /* a rule allows the request */
	PX_HTTP_DENY,     /* the host has rules and none allows it */
};

struct px_http_decision {
	enum px_http_verdict verdict;
	const struct px_http_rule *rule; /* ALLOW: the rule that allowed; DENY: the host's first */
	char path[PX_HTTP_PATH_MAX];     /* the normalised path ("" if unreadable) */
	char why[256];                   /* DENY: what did not match */
};

/*
 * Parse a host pattern (grammar above) into p. 0, or -1 (EINVAL) when it
 * is not one (a CIDR, a bad name).
 */
int px_host_pat_parse(const char *pattern, struct px_host_pat *p);

/* Does p cover the normalised host norm on port? */
bool px_host_pat_match(const struct px_host_pat *p, const char *norm, uint16_t port);

/*
 * Add a rule. methods and paths are NULL-terminated (NULL or empty: any);
 * every string is copied. origin may be NULL. 0, or -1 with err (bad host
 * pattern, bad method or path, too many rules, ENOMEM).
 */
int px_http_rules_add(struct px_http_rules *r, const char *host, const char *const *methods,
		      const char *const *paths, const char *origin, struct cordon_err *err);

/* Free every rule; r is left empty. */
void px_http_rules_fini(struct px_http_rules *r);

/* Does any rule name norm:port (so its requests must be read)? */
bool px_http_rules_cover(const struct px_http_rules *r, const char *norm, uint16_t port);

/*
 * Decide on one request: method, and its target as sent (origin form
 * "/path?query", or "*"). Fills d; returns d->verdict.
 */
enum px_http_verdict px_http_rules_check(const struct px_http_rules *r, const char *norm,
					 uint16_t port, const char *method, const char *target,
					 size_t target_len, struct px_http_decision *d);

/*
 * Normalise the path of a request target for matching (see above): the
 * query cut off, %XX decoded, repeated slashes merged. 0, or -1 with *why
 * when the path cannot be read one way only.
 */
int px_http_path_normalize(const char *target, size_t len, char *out, size_t outlen,
			   const char **why);

/* Does the path pattern match the normalised path ('*': any run, '/' included)? */
bool px_http_path_match(const char *pattern, const char *path);

/*
 * The body of the 403 for a denied request: method, scheme://host path,
 * why, and every rule for that host with its origin. Returns buf (always
 * NUL-terminated, cut to len).
 */
char *px_http_deny_body(const struct px_http_rules *r, const struct px_http_decision *d,
			const char *scheme, const char *norm, uint16_t port, const char *method,
			char *buf, size_t len);

#endif
