/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_INJECT_H
#define CORDON_PROXY_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "proxy/http_rules.h"

/*
 * Credentials the proxy adds to requests (the policy's credentials.inject):
 * for one host pattern (http_rules.h's grammar), one header set to a
 * prefix and a value the sandbox never holds. Only requests the proxy
 * reads inside TLS (an intercepted tunnel) get it: a plain-HTTP request
 * would carry the secret in clear. Pure: no syscalls.
 */

#define PX_INJECT_MAX 64
/* user:password of a Basic entry, bytes (its base64 must fit a request head) */
#define PX_INJECT_VALUE_MAX 6144

struct px_inject {
	struct px_host_pat host;
	char *header; /* field name as configured */
	char *name;   /* the variable or file it came from, for the audit; never the value */
	char *value;  /* prefix + secret; wiped when freed */
	size_t value_len;
};

struct px_injects {
	struct px_inject *v;
	size_t n;
};

/*
 * Add an entry; every string is copied. A value or prefix with CR, LF or
 * NUL, or a header name that is not a token, is refused. 0, or -1 with err
 * (the error never contains the value).
 */
int px_injects_add(struct px_injects *in, const char *host, const char *header, const char *name,
		   const char *prefix, const char *secret, struct cordon_err *err);

/*
 * Add an HTTP Basic entry: Authorization set to `Basic base64(user:secret)`
 * (RFC 7617). The user holds no `:` and no control character. name is what
 * the audit names (the variable or the file). 0, or -1 with err (never
 * containing the secret).
 */
int px_injects_add_basic(struct px_injects *in, const char *host, const char *name,
			 const char *user, const char *secret, struct cordon_err *err);

/* Wipe the values and free everything; in is left empty. */
void px_injects_fini(struct px_injects *in);

/* Does any entry name norm:port? */
bool px_injects_cover(const struct px_injects *in, const char *norm, uint16_t port);

/*
 * The entries for norm:port, one per header name (a later entry replaces
 * an earlier one for the same header). Fills sel (at most max); returns the
 * count.
 */
size_t px_injects_select(const struct px_injects *in, const char *norm, uint16_t port,
			 const struct px_inject **sel, size_t max);

/*
 * Rewrite a parsed request head (head[0..head_len), final CRLF included):
 * the request line as it is; every field named by an entry of sel, and
 * Proxy-Authorization and Proxy-Connection, dropped; sel's fields appended
 * with their values. Returns the new length, or -1 when it does not fit
 * in outlen.
 */
ssize_t px_http_head_set(const char *head, size_t head_len, const struct px_inject *const *sel,
			 size_t n, char *out, size_t outlen);

#endif
