/* SPDX-License-Identifier: MIT */
/*
 * network.rules: which methods and paths an allowed host may receive (see
 * http_rules.h). Pure code, unit-tested by tests/unit/test_http_rules.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http.h"
#include "proxy/http_rules.h"

int
px_host_pat_parse(const char *pattern, struct px_host_pat *p)
{
	char buf[PX_HOST_MAX + 16], *host = buf, *colon = NULL;
	struct px_addr a;
	int is_ip = 0;
	size_t n = strlen(pattern), colons = 0;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(buf) || strchr(pattern, '/') != NULL)
		return -1;
	memcpy(buf, pattern, n + 1);
	for (size_t i = 0; i < n; i++)
		colons += buf[i] == ':';
	if (buf[0] == '[') {
		char *rb = strchr(buf, ']');

		if (rb == NULL)
			return -1;
		if (rb[1] == ':')
			colon = rb + 1;
		else if (rb[1] != '\0')
			return -1;
	} else if (colons == 1) {
		colon = strchr(buf, ':');
	}
	if (colon != NULL) {
		unsigned long port = 0;

		if (colon[1] == '\0' || strlen(colon + 1) > 5)
			return -1;
		for (const char *q = colon + 1; *q; q++) {
			if (*q < '0' || *q > '9')
				return -1;
			port = port * 10 + (unsigned long)(*q - '0');
		}
		if (port == 0 || port > 65535)
			return -1;
		p->port = (uint16_t)port;
		*colon = '\0';
	}
	if (host[0] == '*') {
		if (host[1] != '.' || host[2] == '\0')
			return -1;
		p->wildcard = 1;
		host += 2;
	}
	if (px_host_normalize(host, p->name, sizeof(p->name), &is_ip, &a) < 0)
		return -1;
	if (is_ip && p->wildcard)
		return -1;
	return 0;
}

bool
px_host_pat_match(const struct px_host_pat *p, const char *norm, uint16_t port)
{
	size_t nl, pl;

	if (p->port != 0 && p->port != port)
		return false;
	if (!p->wildcard)
		return strcmp(p->name, norm) == 0;
	nl = strlen(norm);
	pl = strlen(p->name);
	return nl > pl + 1 && norm[nl - pl - 1] == '.' && strcmp(norm + nl - pl, p->name) == 0;
}

static char **
strv_copy(const char *const *v, size_t *n)
{
	size_t k = 0;
	char **out;

	while (v != NULL && v[k] != NULL)
		k++;
	out = calloc(k + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		out[i] = strdup(v[i]);
		if (out[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	*n = k;
	return out;
}

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Append printf output at *o in buf[len], never past its end. */
static void appendf(char *buf, size_t len, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
appendf(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*o += (size_t)n < len - *o ? (size_t)n : len - *o - 1;
}

static char *
rule_text(const char *host, char **methods, char **paths)
{
	char buf[1024];
	size_t o = 0;

	appendf(buf, sizeof(buf), &o, "%s: methods ", host);
	if (methods[0] == NULL)
		appendf(buf, sizeof(buf), &o, "any");
	for (size_t i = 0; methods[i] != NULL; i++)
		appendf(buf, sizeof(buf), &o, "%s%s", i ? ", " : "", methods[i]);
	appendf(buf, sizeof(buf), &o, "; paths ");
	if (paths[0] == NULL)
		appendf(buf, sizeof(buf), &o, "any");
	for (size_t i = 0; paths[i] != NULL; i++)
		appendf(buf, sizeof(buf), &o, "%s%s", i ? ", " : "", paths[i]);
	return strdup(buf);
}

int
px_http_rules_add(struct px_http_rules *r, const char *host, const char *const *methods,
		  const char *const *paths, const char *origin, struct cordon_err *err)
{
	struct px_http_rule nr, *v;
	size_t nm = 0, np = 0;

	memset(&nr, 0, sizeof(nr));
	if (r->n >= PX_HTTP_RULES_MAX)
		return cordon_err_set(err, E2BIG, "more than %d HTTP rules", PX_HTTP_RULES_MAX);
	if (px_host_pat_parse(host, &nr.host) < 0)
		return cordon_err_set(err, EINVAL, "HTTP rule: bad host pattern `%s`", host);
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++)
		if (paths[i][0] != '/' || strlen(paths[i]) >= PX_HTTP_PATH_MAX)
			return cordon_err_set(err, EINVAL, "HTTP rule for %s: bad path `%s`", host,
					      paths[i]);
	nr.methods = strv_copy(methods, &nm);
	nr.paths = strv_copy(paths, &np);
	nr.origin = strdup(origin != NULL ? origin : "");
	if (nr.methods != NULL && nr.paths != NULL)
		nr.text = rule_text(host, nr.methods, nr.paths);
	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (nr.methods == NULL || nr.paths == NULL || nr.origin == NULL || nr.text == NULL ||
	    v == NULL) {
		strv_free(nr.methods);
		strv_free(nr.paths);
		free(nr.origin);
		free(nr.text);
		if (v != NULL)
			r->v = v;
		return cordon_err_set(err, ENOMEM, "HTTP rule for %s", host);
	}
	r->v = v;
	r->v[r->n++] = nr;
	return 0;
}

void
px_http_rules_fini(struct px_http_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		strv_free(r->v[i].methods);
		strv_free(r->v[i].paths);
		free(r->v[i].text);
		free(r->v[i].origin);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

bool
px_http_rules_cover(const struct px_http_rules *r, const char *norm, uint16_t port)
{
	for (size_t i = 0; i < r->n; i++)
		if (px_host_pat_match(&r->v[i].host, norm, port))
			return true;
	return false;
}

int
px_http_path_normalize(const char *target, size_t len, char *out, size_t outlen, const char **why)
{
	size_t o = 0, seg = 0;

	*why = NULL;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (len == 0 || target[0] != '/') {
		*why = "the request target is not a path";
		return -1;
	}
	for (size_t i = 0; i < len && target[i] != '?'; i++) {
		unsigned char ch = (unsigned char)target[i];

		if (ch == '%') {
			int hi = i + 2 < len ? px_hexval(target[i + 1]) : -1;
			int lo = i + 2 < len ? px_hexval(target[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				*why = "a bad percent escape in the path";
				return -1;
			}
			ch = (unsigned char)(hi * 16 + lo);
			i += 2;
			/* an escape that decodes to another escape is read twice by some servers */
			if (ch == '%' && i + 2 < len && px_hexval(target[i + 1]) >= 0 &&
			    px_hexval(target[i + 2]) >= 0) {
				*why = "a double-encoded escape in the path";
				return -1;
			}
		}
		if (ch < 0x20 || ch == 0x7f) {
			*why = "a control byte in the path";
			return -1;
		}
		if (ch == '\\') {
			*why = "a backslash in the path";
			return -1;
		}
		if (ch == '/') {
			/* end of a segment: "." and ".." are read differently by servers */
			if ((o - seg == 1 && out[seg] == '.') ||
			    (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.')) {
				*why = "a `.` or `..` segment in the path";
				return -1;
			}
			if (o > 0 && out[o - 1] == '/')
				continue; /* merge repeated slashes */
			if (o + 1 >= outlen) {
				*why = "the path is too long";
				return -1;
			}
			out[o++] = '/';
			seg = o;
			continue;
		}
		if (o + 1 >= outlen) {
			*why = "the path is too long";
			return -1;
		}
		out[o++] = (char)ch;
	}
	if ((o - seg == 1 && out[seg] == '.') ||
	    (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.')) {
		*why = "a `.` or `..` segment in the path";
		out[0] = '\0';
		return -1;
	}
	out[o] = '\0';
	return 0;
}

bool
px_http_path_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* one-star backtracking: linear in practice, O(n*m) at worst */
	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static bool
method_ok(const struct px_http_rule *rule, const char *method)
{
	if (rule->methods[0] == NULL)
		return true;
	for (size_t i = 0; rule->methods[i] != NULL; i++)
		if (strcmp(rule->methods[i], method) == 0)
			return true;
	return false;
}

static bool
path_ok(const struct px_http_rule *rule, const char *path)
{
	if (rule->paths[0] == NULL)
		return true;
	for (size_t i = 0; rule->paths[i] != NULL; i++)
		if (px_http_path_match(rule->paths[i], path))
			return true;
	return false;
}

enum px_http_verdict
px_http_rules_check(const struct px_http_rules *r, const char *norm, uint16_t port,
		    const char *method, const char *target, size_t target_len,
		    struct px_http_decision *d)
{
	const struct px_http_rule *first = NULL;
	const char *why = NULL;
	bool any_method = false, readable;

	memset(d, 0, sizeof(*d));
	d->verdict = PX_HTTP_PASS;
	readable = px_http_path_normalize(target, target_len, d->path, sizeof(d->path), &why) == 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct px_http_rule *rule = &r->v[i];

		if (!px_host_pat_match(&rule->host, norm, port))
			continue;
		if (first == NULL)
			first = rule;
		if (!method_ok(rule, method))
			continue;
		any_method = true;
		/* an unreadable path passes only a rule that allows any path */
		if ((readable && path_ok(rule, d->path)) || rule->paths[0] == NULL) {
			d->verdict = PX_HTTP_ALLOW;
			d->rule = rule;
			return d->verdict;
		}
	}
	if (first == NULL)
		return d->verdict;
	d->verdict = PX_HTTP_DENY;
	d->rule = first;
	if (!any_method)
		snprintf(d->why, sizeof(d->why), "no rule for this host allows the method %s",
			 method);
	else if (!readable)
		snprintf(d->why, sizeof(d->why), "%s", why);
	else
		snprintf(d->why, sizeof(d->why),
			 "no rule for this host allows the path %.200s with %s", d->path, method);
	return d->verdict;
}

char *
px_http_deny_body(const struct px_http_rules *r, const struct px_http_decision *d,
		  const char *scheme, const char *norm, uint16_t port, const char *method,
		  char *buf, size_t len)
{
	size_t o = 0;
	int dflt = (strcmp(scheme, "https") == 0 && port == 443) ||
		   (strcmp(scheme, "http") == 0 && port == 80);
	char portbuf[8] = "";

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!dflt)
		snprintf(portbuf, sizeof(portbuf), ":%u", port);
	appendf(buf, len, &o, "cordon: %s %s://%s%s%s%s%.300s denied by network.rules: %s.\n",
		method, scheme, strchr(norm, ':') ? "[" : "", norm, strchr(norm, ':') ? "]" : "",
		portbuf, d->path[0] ? d->path : "(unreadable path)", d->why);
	appendf(buf, len, &o, "Rules for this host:\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct px_http_rule *rule = &r->v[i];

		if (!px_host_pat_match(&rule->host, norm, port))
			continue;
		appendf(buf, len, &o, "  %s%s%s%s\n", rule->text, rule->origin[0] ? " (" : "",
			rule->origin, rule->origin[0] ? ")" : "");
	}
	appendf(buf, len, &o,
		"To send this request, add a rule that allows it to sandbox.network.rules.\n");
	return buf;
}
