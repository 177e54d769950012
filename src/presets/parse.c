/* SPDX-License-Identifier: MIT */
/* Pure parsers for package-tool configuration: registry hosts out. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "presets/presets.h"

#define HOST_MAX 256

void
preset_strv_add(struct preset_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return;
	v->v = xrealloc(v->v, (v->n + 2) * sizeof(*v->v));
	v->v[v->n++] = xstrdup(s);
	v->v[v->n] = NULL;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int
preset_url_host(const char *url, size_t len, char *out, size_t size)
{
	const char *p = url, *end = url + len, *h, *he, *at;
	size_t n = 0;

	/* "sparse+https://", "git+https://", "registry+https://" */
	for (const char *q = p; q < end && q < p + 16; q++) {
		if (*q == '+') {
			p = q + 1;
			break;
		}
		if (*q == ':')
			break;
	}
	if ((size_t)(end - p) > 8 && strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if ((size_t)(end - p) > 7 && strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else
		return -1;
	h = p;
	while (p < end && *p != '/' && *p != '?' && *p != '#' && *p != '"' && *p != '\'' &&
	       *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '<')
		p++;
	he = p;
	if (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		return -1; /* callers pass one URL: blanks mean garbage */
	/* user:password@ */
	at = NULL;
	for (const char *q = h; q < he; q++)
		if (*q == '@')
			at = q;
	if (at != NULL)
		h = at + 1;
	if (h < he && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(he - h));

		if (rb == NULL || rb == h + 1)
			return -1;
		for (const char *q = h + 1; q < rb; q++) {
			char c = *q >= 'A' && *q <= 'F' ? (char)(*q - 'A' + 'a') : *q;

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' ||
			      c == '.'))
				return -1;
			if (n + 1 >= size)
				return -1;
			out[n++] = c;
		}
		out[n] = '\0';
		return 0;
	}
	for (const char *q = h; q < he && *q != ':'; q++) {
		char c = *q >= 'A' && *q <= 'Z' ? (char)(*q - 'A' + 'a') : *q;

		if (!host_char(c) || n + 1 >= size)
			return -1;
		out[n++] = c;
	}
	while (n > 0 && out[n - 1] == '.')
		n--;
	if (n == 0 || out[0] == '.' || out[0] == '-')
		return -1;
	out[n] = '\0';
	return 0;
}

static void
add_url(const char *s, size_t len, struct preset_strv *out)
{
	char host[HOST_MAX];

	if (preset_url_host(s, len, host, sizeof(host)) == 0)
		preset_strv_add(out, host);
}

/* Next line of buf: [*ls, *le) without the newline; returns false at end. */
static bool
next_line(const char *buf, size_t len, size_t *pos, const char **ls, const char **le)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*ls = buf + *pos;
	nl = memchr(*ls, '\n', len - *pos);
	*le = nl ? nl : buf + len;
	*pos = (size_t)(*le - buf) + 1;
	if (*le > *ls && (*le)[-1] == '\r')
		(*le)--;
	return true;
}

static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Split "key = value"; false when there is no '=' (or ':' when colon_ok). */
static bool
split_kv(const char *ls, const char *le, bool colon_ok, const char **ks, const char **ke,
	 const char **vs, const char **ve)
{
	const char *eq = memchr(ls, '=', (size_t)(le - ls));

	if (colon_ok) {
		const char *co = memchr(ls, ':', (size_t)(le - ls));

		if (co != NULL && (eq == NULL || co < eq))
			eq = co;
	}
	if (eq == NULL)
		return false;
	*ks = ls;
	*ke = eq;
	*vs = eq + 1;
	*ve = le;
	trim(ks, ke);
	trim(vs, ve);
	return true;
}

static bool
key_is(const char *ks, const char *ke, const char *want)
{
	return (size_t)(ke - ks) == strlen(want) && strncasecmp(ks, want, (size_t)(ke - ks)) == 0;
}

void
preset_parse_npmrc(const char *buf, size_t len, struct preset_strv *out)
{
	const char *ls, *le, *ks, *ke, *vs, *ve;
	size_t pos = 0;

	while (next_line(buf, len, &pos, &ls, &le)) {
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (!split_kv(ls, le, false, &ks, &ke, &vs, &ve))
			continue;
		/* "registry" or "@scope:registry" */
		if (key_is(ks, ke, "registry") ||
		    (*ks == '@' && ke - ks > 9 && strncmp(ke - 9, ":registry", 9) == 0)) {
			if (ve - vs >= 2 && (*vs == '"' || *vs == '\'') && ve[-1] == *vs) {
				vs++;
				ve--;
			}
			add_url(vs, (size_t)(ve - vs), out);
		}
	}
}

/* Whitespace-separated URLs (pip's multi-value options). */
static void
add_urls_ws(const char *s, const char *e, struct preset_strv *out, bool bare_hosts)
{
	while (s < e) {
		const char *w;

		while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
		w = s;
		while (s < e && *s != ' ' && *s != '\t' && *s != ',')
			s++;
		if (s == w)
			continue;
		if (bare_hosts) {
			/* trusted-host: "host" or "host:port" */
			char tmp[HOST_MAX + 16];
			int n = snprintf(tmp, sizeof(tmp), "https://%.*s", (int)(s - w), w);

			if (n > 0 && (size_t)n < sizeof(tmp))
				add_url(tmp, (size_t)n, out);
		} else {
			add_url(w, (size_t)(s - w), out);
		}
	}
}

void
preset_parse_pipconf(const char *buf, size_t len, struct preset_strv *out)
{
	const char *ls, *le, *ks, *ke, *vs, *ve;
	size_t pos = 0;
	int cont = 0; /* 1: continuation lines belong to a URL key, 2: to trusted-host */

	while (next_line(buf, len, &pos, &ls, &le)) {
		bool indented = ls < le && (*ls == ' ' || *ls == '\t');

		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (indented && cont) {
			add_urls_ws(ls, le, out, cont == 2);
			continue;
		}
		cont = 0;
		if (*ls == '[')
			continue;
		if (!split_kv(ls, le, true, &ks, &ke, &vs, &ve))
			continue;
		if (key_is(ks, ke, "index-url") || key_is(ks, ke, "extra-index-url") ||
		    key_is(ks, ke, "find-links") || key_is(ks, ke, "index_url") ||
		    key_is(ks, ke, "extra_index_url")) {
			add_urls_ws(vs, ve, out, false);
			cont = 1;
		} else if (key_is(ks, ke, "trusted-host")) {
			add_urls_ws(vs, ve, out, true);
			cont = 2;
		}
	}
}

/* Every double- or single-quoted string in [s, e) that is a URL. */
static void
add_quoted_urls(const char *s, const char *e, struct preset_strv *out)
{
	while (s < e) {
		const char *q = s, *close;
		char quote;

		while (q < e && *q != '"' && *q != '\'')
			q++;
		if (q >= e)
			return;
		quote = *q;
		close = memchr(q + 1, quote, (size_t)(e - q - 1));
		if (close == NULL)
			return;
		add_url(q + 1, (size_t)(close - q - 1), out);
		s = close + 1;
	}
}

void
preset_parse_toml_urls(const char *buf, size_t len, const char *const *keys,
		       struct preset_strv *out)
{
	const char *ls, *le;
	size_t pos = 0;
	bool in_array = false;

	while (next_line(buf, len, &pos, &ls, &le)) {
		trim(&ls, &le);
		if (ls == le || *ls == '#')
			continue;
		if (in_array) {
			add_quoted_urls(ls, le, out);
			if (memchr(ls, ']', (size_t)(le - ls)) != NULL)
				in_array = false;
			continue;
		}
		if (*ls == '[')
			continue;
		/* key = value, possibly several in an inline table { a = "x", b = "y" } */
		for (const char *p = ls; p < le;) {
			const char *eq = memchr(p, '=', (size_t)(le - p)), *ks, *ke, *vs;
			bool want = false;

			if (eq == NULL)
				break;
			ke = eq;
			ks = eq;
			while (ks > p && (ks[-1] == ' ' || ks[-1] == '\t'))
				ks--;
			ke = ks;
			while (ks > p && ks[-1] != ' ' && ks[-1] != '{' && ks[-1] != ',' &&
			       ks[-1] != '\t')
				ks--;
			if (ks < ke && (*ks == '"' || *ks == '\'') && ke[-1] == *ks &&
			    ke - ks >= 2) {
				ks++;
				ke--;
			}
			for (size_t k = 0; keys[k] != NULL; k++)
				if (key_is(ks, ke, keys[k]))
					want = true;
			vs = eq + 1;
			while (vs < le && (*vs == ' ' || *vs == '\t'))
				vs++;
			if (vs < le && (*vs == '"' || *vs == '\'')) {
				const char *close = memchr(vs + 1, *vs, (size_t)(le - vs - 1));

				if (close == NULL)
					break;
				if (want)
					add_url(vs + 1, (size_t)(close - vs - 1), out);
				p = close + 1;
				continue;
			}
			if (vs < le && *vs == '[') {
				const char *rb = memchr(vs, ']', (size_t)(le - vs));

				if (want)
					add_quoted_urls(vs, rb ? rb : le, out);
				if (rb == NULL) {
					in_array = want;
					break;
				}
				p = rb + 1;
				continue;
			}
			p = eq + 1;
		}
	}
}

void
preset_parse_goproxy(const char *value, size_t len, struct preset_strv *out)
{
	const char *s = value, *e = value + len;

	while (s < e) {
		const char *w = s;

		while (s < e && *s != ',' && *s != '|')
			s++;
		add_url(w, (size_t)(s - w), out);
		if (s < e)
			s++;
	}
}

void
preset_parse_xml_urls(const char *buf, size_t len, struct preset_strv *out)
{
	const char *p = buf, *e = buf + len;

	while (p < e) {
		const char *open = memmem(p, (size_t)(e - p), "<url>", 5), *close;

		if (open == NULL)
			return;
		open += 5;
		close = memmem(open, (size_t)(e - open), "</url>", 6);
		if (close == NULL)
			return;
		{
			const char *s = open, *t = close;

			trim(&s, &t);
			while (s < t && (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t'))
				s++;
			while (t > s && (t[-1] == '\n' || t[-1] == '\r' || t[-1] == ' '))
				t--;
			add_url(s, (size_t)(t - s), out);
		}
		p = close + 6;
	}
}

void
preset_parse_gradle(const char *buf, size_t len, struct preset_strv *out)
{
	const char *ls, *le;
	size_t pos = 0;

	while (next_line(buf, len, &pos, &ls, &le)) {
		char line[2048];
		size_t n = 0;

		trim(&ls, &le);
		if (ls == le || *ls == '#' || (le - ls >= 2 && ls[0] == '/' && ls[1] == '/'))
			continue;
		/* Unescape "\:" (java .properties) into a bounded copy. */
		for (const char *p = ls; p < le && n + 1 < sizeof(line); p++) {
			if (*p == '\\' && p + 1 < le && (p[1] == ':' || p[1] == '='))
				continue;
			line[n++] = *p;
		}
		line[n] = '\0';
		if (strstr(line, "url") == NULL && strstr(line, "Url") == NULL &&
		    strstr(line, "uri(") == NULL && strstr(line, "URL") == NULL)
			continue;
		if (strncmp(line, "distributionUrl", 15) == 0) {
			const char *eq = strchr(line, '=');

			if (eq != NULL) {
				const char *s = eq + 1, *t = line + n;

				trim(&s, &t);
				add_url(s, (size_t)(t - s), out);
			}
			continue;
		}
		add_quoted_urls(line, line + n, out);
	}
}
