/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers for package-tool configuration: registry hosts out. No
 * syscalls; every loop is bounded by the input; nothing is copied into a
 * fixed buffer without a length check.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "presets/presets.h"

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

void
preset_strv_del(struct preset_strv *v, size_t i)
{
	if (i >= v->n)
		return;
	free(v->v[i]);
	memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(*v->v));
	v->n--;
}

void
preset_strv_free(struct preset_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Decimal port in [s, e): 1..65535, else -1. */
static int
parse_port(const char *s, const char *e)
{
	unsigned v = 0;

	if (s == e || e - s > 5)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int
preset_url_host(const char *url, size_t len, char *out, size_t size, uint16_t *port)
{
	const char *p = url, *end = url + len, *h, *he, *at;
	size_t n = 0;

	if (port != NULL)
		*port = 0;
	if (size == 0)
		return -1;
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
	       !is_blank(*p) && *p != '<')
		p++;
	he = p;
	if (p < end && is_blank(*p))
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
		if (rb + 1 < he) {
			int pv = rb[1] == ':' ? parse_port(rb + 2, he) : -1;

			if (pv < 0)
				return -1;
			if (port != NULL)
				*port = (uint16_t)pv;
		}
		return 0;
	}
	for (const char *q = h; q < he; q++) {
		char c = *q >= 'A' && *q <= 'Z' ? (char)(*q - 'A' + 'a') : *q;

		if (c == ':') {
			int pv = parse_port(q + 1, he);

			if (pv < 0)
				return -1;
			if (port != NULL)
				*port = (uint16_t)pv;
			break;
		}
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
	char host[PRESET_HOST_MAX];

	if (preset_url_host(s, len, host, sizeof(host), NULL) == 0)
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
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

static bool
span_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

/* Strip one pair of matching quotes. */
static void
unquote(const char **s, const char **e)
{
	if (*e - *s >= 2 && (**s == '"' || **s == '\'') && (*e)[-1] == **s) {
		(*s)++;
		(*e)--;
	}
}

/* Copy [s, e) into out (size bytes) as a C string; "" when it does not fit. */
static void
copy_span(const char *s, const char *e, char *out, size_t size)
{
	size_t n = (size_t)(e - s);

	if (n >= size)
		n = 0;
	memcpy(out, s, n);
	out[n] = '\0';
}

void
preset_ini_scan(const char *buf, size_t len, unsigned flags, preset_kv_fn fn, void *arg)
{
	const char *ls, *le, *sec = "";
	size_t pos = 0, sec_len = 0;
	struct preset_kv cur;
	bool open = false; /* cur waits for continuation lines */

	while (next_line(buf, len, &pos, &ls, &le)) {
		bool indented = ls < le && (*ls == ' ' || *ls == '\t');
		const char *eq, *ks, *ke, *vs, *ve;

		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue; /* blank lines and comments do not end a value */
		if (open && indented) {
			cur.value_len = (size_t)(le - cur.value);
			continue;
		}
		if (open) {
			fn(&cur, arg);
			open = false;
		}
		if (*ls == '[') {
			const char *rb = memchr(ls, ']', (size_t)(le - ls));

			if (rb != NULL) {
				const char *s = ls + 1, *e = rb;

				trim(&s, &e);
				sec = s;
				sec_len = (size_t)(e - s);
			}
			continue;
		}
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (flags & PRESET_INI_COLON) {
			const char *co = memchr(ls, ':', (size_t)(le - ls));

			if (co != NULL && (eq == NULL || co < eq))
				eq = co;
		}
		if (eq == NULL)
			continue;
		ks = ls;
		ke = eq;
		vs = eq + 1;
		ve = le;
		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ks == ke)
			continue;
		cur = (struct preset_kv){ .section = sec,
					  .section_len = sec_len,
					  .key = ks,
					  .key_len = (size_t)(ke - ks),
					  .value = vs,
					  .value_len = (size_t)(ve - vs) };
		if (flags & PRESET_INI_CONTINUATION) {
			if (cur.value_len == 0)
				cur.value = le; /* an empty first line: the value starts below */
			open = true;
			continue;
		}
		fn(&cur, arg);
	}
	if (open)
		fn(&cur, arg);
}

/* ---- npm ---- */

static void
npmrc_kv(const struct preset_kv *kv, void *arg)
{
	struct preset_npmrc *c = arg;
	const char *vs = kv->value, *ve = kv->value + kv->value_len;
	const char *k = kv->key;
	size_t kl = kv->key_len;

	unquote(&vs, &ve);
	if (memmem(vs, (size_t)(ve - vs), "${", 2) != NULL)
		return; /* npm expands it from its environment: not ours to guess */
	if (span_is(k, kl, "registry")) {
		copy_span(vs, ve, c->registry, sizeof(c->registry));
	} else if (span_is(k, kl, "prefix")) {
		copy_span(vs, ve, c->prefix, sizeof(c->prefix));
	} else if (span_is(k, kl, "globalconfig")) {
		copy_span(vs, ve, c->globalconfig, sizeof(c->globalconfig));
	} else if (kl > 10 && k[0] == '@' && strncasecmp(k + kl - 9, ":registry", 9) == 0 &&
		   memchr(k, '/', kl) == NULL && ve - vs < PRESET_URL_MAX) {
		char *s = xasprintf("%.*s=%.*s", (int)kl, k, (int)(ve - vs), vs);
		size_t scope = kl - 9;

		/* A later line for the same scope wins. */
		for (size_t i = 0; i < c->scoped.n; i++)
			if (strncmp(c->scoped.v[i], k, scope) == 0 &&
			    c->scoped.v[i][scope] == ':') {
				preset_strv_del(&c->scoped, i);
				break;
			}
		preset_strv_add(&c->scoped, s);
		free(s);
	}
}

void
preset_parse_npmrc(const char *buf, size_t len, struct preset_npmrc *c)
{
	preset_ini_scan(buf, len, 0, npmrc_kv, c);
}

/* The first quoted string in [p, e), into [*s, *q). */
static bool
next_quoted(const char *p, const char *e, const char **s, const char **q)
{
	while (p < e && *p != '"' && *p != '\'' && *p != '`')
		p++;
	if (p >= e)
		return false;
	*q = memchr(p + 1, *p, (size_t)(e - p - 1));
	if (*q == NULL)
		return false;
	*s = p + 1;
	return true;
}

int
preset_parse_npm_default(const char *buf, size_t len, char *out, size_t size)
{
	/* npm 9.5 and later: `new Definition('registry', {`; before (Debian 12's
	 * 9.2, lib/utils/config/definitions.js): `define('registry', {`. */
	static const char *const anchors[] = { "Definition('registry'", "Definition(\"registry\"",
					       "define('registry'", "define(\"registry\"", NULL };
	const char *e = buf + len;

	for (size_t a = 0; anchors[a] != NULL; a++) {
		const char *p = memmem(buf, len, anchors[a], strlen(anchors[a])), *d, *s, *q;
		const char *lim;
		char host[PRESET_HOST_MAX];

		if (p == NULL)
			continue;
		/* `default:` of this definition: within its first few hundred bytes. */
		lim = (size_t)(e - p) > 512 ? p + 512 : e;
		d = memmem(p, (size_t)(lim - p), "default:", 8);
		if (d == NULL || !next_quoted(d + 8, lim, &s, &q))
			continue;
		/* Only a literal right after `default:` (not a later key's string). */
		for (const char *x = d + 8; x < s - 1; x++)
			if (!is_blank(*x))
				return -1;
		if (preset_url_host(s, (size_t)(q - s), host, sizeof(host), NULL) < 0 ||
		    (size_t)(q - s) >= size)
			return -1;
		copy_span(s, q, out, size);
		return 0;
	}
	return -1;
}

/* ---- pip ---- */

/* Whitespace- or comma-separated URLs -> hosts. */
static void
add_urls_ws(const char *s, const char *e, struct preset_strv *out)
{
	while (s < e) {
		const char *w;

		while (s < e && (is_blank(*s) || *s == ','))
			s++;
		w = s;
		while (s < e && !is_blank(*s) && *s != ',')
			s++;
		if (s > w)
			add_url(w, (size_t)(s - w), out);
	}
}

static void
pip_kv(const struct preset_kv *kv, void *arg)
{
	struct preset_pip_conf *c = arg;
	const char *k = kv->key;
	size_t kl = kv->key_len;

	if (span_is(k, kl, "index-url") || span_is(k, kl, "index_url"))
		add_urls_ws(kv->value, kv->value + kv->value_len, &c->index);
	else if (span_is(k, kl, "extra-index-url") || span_is(k, kl, "extra_index_url") ||
		 span_is(k, kl, "find-links") || span_is(k, kl, "find_links"))
		add_urls_ws(kv->value, kv->value + kv->value_len, &c->extra);
}

void
preset_parse_pipconf(const char *buf, size_t len, struct preset_pip_conf *c)
{
	preset_ini_scan(buf, len, PRESET_INI_CONTINUATION | PRESET_INI_COLON, pip_kv, c);
}

int
preset_parse_pip_default(const char *buf, size_t len, struct preset_strv *out)
{
	static const char anchor[] = "PyPI = PackageIndex(";
	const char *p = memmem(buf, len, anchor, sizeof(anchor) - 1), *e = buf + len, *lim, *s, *q;
	const char *fs;
	char host[PRESET_HOST_MAX];

	if (p == NULL)
		return -1;
	p += sizeof(anchor) - 1;
	lim = (size_t)(e - p) > 512 ? p + 512 : e;
	if (!next_quoted(p, lim, &s, &q) ||
	    preset_url_host(s, (size_t)(q - s), host, sizeof(host), NULL) < 0)
		return -1;
	preset_strv_add(out, host);
	fs = memmem(q, (size_t)(lim - q), "file_storage_domain", 19);
	if (fs != NULL && next_quoted(fs + 19, lim, &s, &q) && (size_t)(q - s) < 200) {
		char url[256];
		int n = snprintf(url, sizeof(url), "https://%.*s/", (int)(q - s), s);

		if (n > 0 && (size_t)n < sizeof(url))
			add_url(url, (size_t)n, out);
	}
	return 0;
}

/* ---- TOML subset (cargo, uv) ---- */

/* Every quoted string in [s, e) that is a URL. */
static void
add_quoted_urls(const char *s, const char *e, struct preset_strv *out)
{
	const char *a, *b;

	while (s < e && next_quoted(s, e, &a, &b)) {
		add_url(a, (size_t)(b - a), out);
		s = b + 1;
	}
}

/*
 * Call fn for each `key = value` on a TOML line, with the key prefixed by
 * the current table and, inside one level of inline table, by that key:
 * "source.crates-io.replace-with". Values: [vs, ve) of a quoted string
 * (without quotes) or of an array. Keys longer than 256 bytes are skipped.
 */
typedef void (*toml_fn)(const char *key, const char *vs, const char *ve, bool array, void *arg);

static void
toml_line(const char *table, const char *ls, const char *le, toml_fn fn, void *arg)
{
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "%s", table);
	for (const char *p = ls; p < le;) {
		const char *eq, *ks, *ke, *vs;
		char key[1024];

		while (p < le && (is_blank(*p) || *p == ','))
			p++;
		if (p < le && *p == '}') {
			snprintf(prefix, sizeof(prefix), "%s", table);
			p++;
			continue;
		}
		if (p >= le || *p == '#')
			return;
		eq = memchr(p, '=', (size_t)(le - p));
		if (eq == NULL)
			return;
		ks = p;
		ke = eq;
		trim(&ks, &ke);
		if (ke - ks > 256)
			return;
		/* "a"."b" keys: drop the quotes, keep the dots. */
		{
			size_t n = 0;

			for (const char *x = ks; x < ke && n + 1 < 300; x++)
				if (*x != '"' && *x != '\'' && *x != ' ' && *x != '\t')
					key[n++] = *x;
			key[n] = '\0';
		}
		{
			char full[1024 + 512];

			snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", key);
			vs = eq + 1;
			while (vs < le && is_blank(*vs))
				vs++;
			if (vs < le && (*vs == '"' || *vs == '\'')) {
				const char *close = memchr(vs + 1, *vs, (size_t)(le - vs - 1));

				if (close == NULL)
					return;
				fn(full, vs + 1, close, false, arg);
				p = close + 1;
			} else if (vs < le && *vs == '[') {
				const char *rb = memchr(vs, ']', (size_t)(le - vs));

				fn(full, vs + 1, rb ? rb : le, true, arg);
				if (rb == NULL)
					return;
				p = rb + 1;
			} else if (vs < le && *vs == '{') {
				snprintf(prefix, sizeof(prefix), "%.511s", full);
				p = vs + 1;
			} else {
				while (vs < le && *vs != ',' && *vs != '}')
					vs++;
				p = vs;
			}
		}
	}
}

/* Scan a TOML file line by line; arrays may span lines (strings in them only). */
static void
toml_scan(const char *buf, size_t len, toml_fn fn, void *arg)
{
	const char *ls, *le;
	char table[512] = "", array_key[1024 + 512] = "";
	size_t pos = 0;

	while (next_line(buf, len, &pos, &ls, &le)) {
		trim(&ls, &le);
		if (ls == le || *ls == '#')
			continue;
		if (array_key[0] != '\0') {
			const char *rb = memchr(ls, ']', (size_t)(le - ls));

			fn(array_key, ls, rb ? rb : le, true, arg);
			if (rb != NULL)
				array_key[0] = '\0';
			continue;
		}
		if (*ls == '[') {
			const char *s = ls, *e;
			size_t n = 0;

			while (s < le && *s == '[')
				s++;
			e = memchr(s, ']', (size_t)(le - s));
			if (e == NULL)
				continue;
			for (const char *x = s; x < e && n + 1 < sizeof(table); x++)
				if (*x != '"' && *x != '\'' && *x != ' ' && *x != '\t')
					table[n++] = *x;
			table[n] = '\0';
			continue;
		}
		/* An array left open at the end of the line continues below. */
		{
			const char *eq = memchr(ls, '=', (size_t)(le - ls)), *vs;

			if (eq != NULL) {
				vs = eq + 1;
				while (vs < le && is_blank(*vs))
					vs++;
				if (vs < le && *vs == '[' &&
				    memchr(vs, ']', (size_t)(le - vs)) == NULL) {
					const char *ks = ls, *ke = eq;
					size_t n = 0;
					char key[300];

					trim(&ks, &ke);
					for (const char *x = ks; x < ke && n + 1 < sizeof(key); x++)
						if (*x != '"' && *x != '\'')
							key[n++] = *x;
					key[n] = '\0';
					snprintf(array_key, sizeof(array_key), "%s%s%s", table,
						 table[0] ? "." : "", key);
					fn(array_key, vs + 1, le, true, arg);
					continue;
				}
			}
		}
		toml_line(table, ls, le, fn, arg);
	}
}

/* Does the dotted key a.b.c match pattern with '*' for one component? */
static bool
key_match(const char *key, const char *pat)
{
	while (*key && *pat) {
		if (*pat == '*') {
			while (*key && *key != '.')
				key++;
			pat++;
			continue;
		}
		if (*key != *pat)
			return false;
		key++;
		pat++;
	}
	return *key == '\0' && *pat == '\0';
}

static void
cargo_fn(const char *key, const char *vs, const char *ve, bool array, void *arg)
{
	struct preset_cargo_conf *c = arg;

	if (array)
		return;
	if (key_match(key, "source.*.registry") || key_match(key, "registries.*.index") ||
	    strcmp(key, "registry.index") == 0)
		add_url(vs, (size_t)(ve - vs), &c->hosts);
	else if (strcmp(key, "source.crates-io.replace-with") == 0 && ve > vs)
		c->crates_io_replaced = true;
}

void
preset_parse_cargo(const char *buf, size_t len, struct preset_cargo_conf *c)
{
	toml_scan(buf, len, cargo_fn, c);
}

struct toml_urls {
	const char *const *keys;
	struct preset_strv *out;
};

static void
toml_urls_fn(const char *key, const char *vs, const char *ve, bool array, void *arg)
{
	struct toml_urls *t = arg;
	const char *last = strrchr(key, '.');

	last = last ? last + 1 : key;
	for (size_t k = 0; t->keys[k] != NULL; k++)
		if (strcasecmp(last, t->keys[k]) == 0) {
			if (array)
				add_quoted_urls(vs, ve, t->out);
			else
				add_url(vs, (size_t)(ve - vs), t->out);
			return;
		}
}

void
preset_parse_toml_urls(const char *buf, size_t len, const char *const *keys,
		       struct preset_strv *out)
{
	struct toml_urls t = { keys, out };

	toml_scan(buf, len, toml_urls_fn, &t);
}

/* ---- go ---- */

struct goenv_get {
	const char *key;
	char *out;
	size_t size;
	bool found;
};

static void
goenv_kv(const struct preset_kv *kv, void *arg)
{
	struct goenv_get *g = arg;
	const char *vs = kv->value, *ve = kv->value + kv->value_len;

	if (kv->key_len != strlen(g->key) || strncmp(kv->key, g->key, kv->key_len) != 0)
		return;
	unquote(&vs, &ve);
	copy_span(vs, ve, g->out, g->size);
	g->found = true; /* later lines win, as in go's own reader */
}

int
preset_parse_goenv(const char *buf, size_t len, const char *key, char *out, size_t size)
{
	struct goenv_get g = { key, out, size, false };

	if (size == 0)
		return -1;
	out[0] = '\0';
	preset_ini_scan(buf, len, 0, goenv_kv, &g);
	return g.found ? 0 : -1;
}

void
preset_parse_goproxy(const char *value, size_t len, struct preset_strv *out)
{
	const char *s = value, *e = value + len;

	while (s < e) {
		const char *w = s, *we;

		while (s < e && *s != ',' && *s != '|')
			s++;
		we = s;
		trim(&w, &we);
		add_url(w, (size_t)(we - w), out);
		if (s < e)
			s++;
	}
}

void
preset_parse_gosumdb(const char *value, size_t len, struct preset_strv *out)
{
	const char *s = value, *e = value + len, *sp;
	char url[PRESET_HOST_MAX + 16];
	size_t n;
	int w;

	trim(&s, &e);
	if (s == e || span_is(s, (size_t)(e - s), "off"))
		return;
	sp = s;
	while (sp < e && !is_blank(*sp))
		sp++;
	if (sp < e) {
		const char *u = sp, *ue = e;

		trim(&u, &ue);
		add_url(u, (size_t)(ue - u), out);
		return;
	}
	/* "name+key": the name is the host. */
	n = 0;
	while (s + n < e && s[n] != '+')
		n++;
	if (n == 0 || n > PRESET_HOST_MAX - 1)
		return;
	w = snprintf(url, sizeof(url), "https://%.*s/", (int)n, s);
	if (w > 0 && (size_t)w < sizeof(url))
		add_url(url, (size_t)w, out);
}

/* ---- maven, gradle ---- */

/* The first <url>...</url> in [s, e) -> host. */
static void
xml_first_url(const char *s, const char *e, struct preset_strv *out)
{
	const char *open = memmem(s, (size_t)(e - s), "<url>", 5), *close, *a, *b;

	if (open == NULL)
		return;
	open += 5;
	close = memmem(open, (size_t)(e - open), "</url>", 6);
	if (close == NULL)
		return;
	a = open;
	b = close;
	trim(&a, &b);
	add_url(a, (size_t)(b - a), out);
}

void
preset_parse_maven(const char *buf, size_t len, struct preset_strv *out)
{
	static const char *const tags[] = { "mirror", "repository", "pluginRepository" };
	const char *p = buf, *e = buf + len;

	/* One pass: comments skipped, each container's first <url> taken. */
	while (p < e && (p = memchr(p, '<', (size_t)(e - p))) != NULL) {
		bool matched = false;

		if ((size_t)(e - p) >= 4 && memcmp(p, "<!--", 4) == 0) {
			const char *c = memmem(p + 4, (size_t)(e - p - 4), "-->", 3);

			if (c == NULL)
				return;
			p = c + 3;
			continue;
		}
		for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]) && !matched; t++) {
			char open[32], close[32];
			size_t ol = (size_t)snprintf(open, sizeof(open), "<%s>", tags[t]);
			size_t cl = (size_t)snprintf(close, sizeof(close), "</%s>", tags[t]);
			const char *b;

			if ((size_t)(e - p) < ol || memcmp(p, open, ol) != 0)
				continue;
			b = memmem(p + ol, (size_t)(e - p - (ptrdiff_t)ol), close, cl);
			if (b == NULL)
				return;
			xml_first_url(p + ol, b, out);
			p = b + cl;
			matched = true;
		}
		if (!matched)
			p++;
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
