/* SPDX-License-Identifier: MIT */
/*
 * credentials.inject: the table of headers the proxy sets, and the header
 * rewrite (see inject.h). Pure code, unit-tested by tests/unit/test_inject.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/inject.h"

static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", c) != NULL))
			return false;
	}
	return true;
}

static bool
is_field_value(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n' || (unsigned char)*s == 0x7f ||
		    ((unsigned char)*s < 0x20 && *s != '\t'))
			return false;
	return true;
}

static void
entry_free(struct px_inject *e)
{
	if (e->value != NULL)
		explicit_bzero(e->value, e->value_len);
	free(e->value);
	free(e->header);
	free(e->name);
	memset(e, 0, sizeof(*e));
}

int
px_injects_add(struct px_injects *in, const char *host, const char *header, const char *name,
	       const char *prefix, const char *secret, struct cordon_err *err)
{
	struct px_inject e, *v;
	size_t pl = prefix ? strlen(prefix) : 0, sl = strlen(secret);

	memset(&e, 0, sizeof(e));
	if (in->n >= PX_INJECT_MAX)
		return cordon_err_set(err, E2BIG, "more than %d credentials to inject",
				      PX_INJECT_MAX);
	if (px_host_pat_parse(host, &e.host) < 0)
		return cordon_err_set(err, EINVAL, "credentials.inject: bad host pattern `%s`",
				      host);
	if (!is_token(header))
		return cordon_err_set(err, EINVAL, "credentials.inject: bad header name `%s`",
				      header);
	if ((prefix != NULL && !is_field_value(prefix)) || !is_field_value(secret))
		return cordon_err_set(err, EINVAL,
				      "credentials.inject: the value of %s (or its prefix) holds a "
				      "line break or control character and cannot be a header",
				      name);
	e.header = strdup(header);
	e.name = strdup(name);
	e.value = malloc(pl + sl + 1);
	if (e.header == NULL || e.name == NULL || e.value == NULL) {
		entry_free(&e);
		return cordon_err_set(err, ENOMEM, "credentials.inject");
	}
	if (pl > 0)
		memcpy(e.value, prefix, pl);
	memcpy(e.value + pl, secret, sl + 1);
	e.value_len = pl + sl;
	v = realloc(in->v, (in->n + 1) * sizeof(*v));
	if (v == NULL) {
		entry_free(&e);
		return cordon_err_set(err, ENOMEM, "credentials.inject");
	}
	in->v = v;
	in->v[in->n++] = e;
	return 0;
}

void
px_injects_fini(struct px_injects *in)
{
	for (size_t i = 0; i < in->n; i++)
		entry_free(&in->v[i]);
	free(in->v);
	in->v = NULL;
	in->n = 0;
}

bool
px_injects_cover(const struct px_injects *in, const char *norm, uint16_t port)
{
	for (size_t i = 0; i < in->n; i++)
		if (px_host_pat_match(&in->v[i].host, norm, port))
			return true;
	return false;
}

size_t
px_injects_select(const struct px_injects *in, const char *norm, uint16_t port,
		  const struct px_inject **sel, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < in->n; i++) {
		const struct px_inject *e = &in->v[i];
		size_t j;

		if (!px_host_pat_match(&e->host, norm, port))
			continue;
		for (j = 0; j < k; j++)
			if (strcasecmp(sel[j]->header, e->header) == 0)
				break;
		if (j < k)
			sel[j] = e;
		else if (k < max)
			sel[k++] = e;
	}
	return k;
}

static bool
named(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);

	return len > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0;
}

ssize_t
px_http_head_set(const char *head, size_t head_len, const struct px_inject *const *sel, size_t n,
		 char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (head_len < 4)
		return -1;
	/* request line */
	while (i < head_len && head[i] != '\n')
		i++;
	if (i >= head_len || i + 1 > outlen)
		return -1;
	memcpy(out, head, i + 1);
	o = i + 1;
	i++;
	while (i < head_len - 2) {
		size_t ls = i, le;
		bool drop = false;

		while (i < head_len && head[i] != '\n')
			i++;
		le = ++i;
		drop = named(head + ls, le - ls, "Proxy-Authorization") ||
		       named(head + ls, le - ls, "Proxy-Connection");
		for (size_t k = 0; k < n && !drop; k++)
			drop = named(head + ls, le - ls, sel[k]->header);
		if (drop)
			continue;
		if (o + (le - ls) > outlen)
			return -1;
		memcpy(out + o, head + ls, le - ls);
		o += le - ls;
	}
	for (size_t k = 0; k < n; k++) {
		size_t hl = strlen(sel[k]->header);

		if (o + hl + 2 + sel[k]->value_len + 2 > outlen)
			return -1;
		memcpy(out + o, sel[k]->header, hl);
		o += hl;
		memcpy(out + o, ": ", 2);
		o += 2;
		memcpy(out + o, sel[k]->value, sel[k]->value_len);
		o += sel[k]->value_len;
		memcpy(out + o, "\r\n", 2);
		o += 2;
	}
	if (o + 2 > outlen)
		return -1;
	memcpy(out + o, "\r\n", 2);
	return (ssize_t)(o + 2);
}
