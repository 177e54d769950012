/* SPDX-License-Identifier: MIT */
/*
 * credentials.inject: the table of headers the proxy sets, and the header
 * rewrite (see inject.h). Pure code, unit-tested by tests/unit/test_inject.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

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

/* Append an entry whose value is a (al bytes) then b (bl bytes); both copied. */
static int
add_entry(struct px_injects *in, const struct px_inject *proto, const char *a, size_t al,
	  const char *b, size_t bl, struct cordon_err *err)
{
	struct px_inject e = *proto, *v;

	e.header = strdup(proto->header);
	e.name = strdup(proto->name);
	e.value = malloc(al + bl + 1);
	if (e.header == NULL || e.name == NULL || e.value == NULL) {
		entry_free(&e);
		return cordon_err_set(err, ENOMEM, "credentials.inject");
	}
	memcpy(e.value, a, al);
	memcpy(e.value + al, b, bl);
	e.value[al + bl] = '\0';
	e.value_len = al + bl;
	v = realloc(in->v, (in->n + 1) * sizeof(*v));
	if (v == NULL) {
		entry_free(&e);
		return cordon_err_set(err, ENOMEM, "credentials.inject");
	}
	in->v = v;
	in->v[in->n++] = e;
	return 0;
}

/* The checks every entry passes: room and the host pattern. */
static int
entry_start(struct px_injects *in, const char *host, struct px_inject *e, struct cordon_err *err)
{
	memset(e, 0, sizeof(*e));
	if (in->n >= PX_INJECT_MAX)
		return cordon_err_set(err, E2BIG, "more than %d credentials to inject",
				      PX_INJECT_MAX);
	if (px_host_pat_parse(host, &e->host) < 0)
		return cordon_err_set(err, EINVAL, "credentials.inject: bad host pattern `%s`",
				      host);
	return 0;
}

int
px_injects_add(struct px_injects *in, const char *host, const char *header, const char *name,
	       const char *prefix, const char *secret, struct cordon_err *err)
{
	struct px_inject e;

	if (entry_start(in, host, &e, err) < 0)
		return -1;
	if (!is_token(header))
		return cordon_err_set(err, EINVAL, "credentials.inject: bad header name `%s`",
				      header);
	if ((prefix != NULL && !is_field_value(prefix)) || !is_field_value(secret))
		return cordon_err_set(err, EINVAL,
				      "credentials.inject: the value of %s (or its prefix) holds a "
				      "line break or control character and cannot be a header",
				      name);
	e.header = (char *)(uintptr_t)header;
	e.name = (char *)(uintptr_t)name;
	return add_entry(in, &e, prefix ? prefix : "", prefix ? strlen(prefix) : 0, secret,
			 strlen(secret), err);
}

int
px_injects_add_basic(struct px_injects *in, const char *host, const char *name, const char *user,
		     const char *secret, struct cordon_err *err)
{
	size_t ul = strlen(user), sl = strlen(secret), cl = ul + 1 + sl;
	size_t bl = 4 * ((cl + 2) / 3);
	unsigned char *cred = NULL;
	char *b64 = NULL;
	struct px_inject e;
	int r;

	if (entry_start(in, host, &e, err) < 0)
		return -1;
	/* RFC 7617: the user-id holds no colon and no control character */
	if (*user == '\0' || strchr(user, ':') != NULL || !is_field_value(user))
		return cordon_err_set(err, EINVAL,
				      "credentials.inject: the Basic user name for %s is empty or "
				      "holds `:` or a control character",
				      name);
	if (cl > PX_INJECT_VALUE_MAX)
		return cordon_err_set(err, E2BIG, "credentials.inject: the value of %s is too long",
				      name);
	cred = malloc(cl);
	b64 = malloc(bl + 1);
	if (cred == NULL || b64 == NULL) {
		free(cred);
		free(b64);
		return cordon_err_set(err, ENOMEM, "credentials.inject");
	}
	memcpy(cred, user, ul);
	cred[ul] = ':';
	memcpy(cred + ul + 1, secret, sl);
	EVP_EncodeBlock((unsigned char *)b64, cred, (int)cl);
	e.header = (char *)(uintptr_t) "Authorization";
	e.name = (char *)(uintptr_t)name;
	r = add_entry(in, &e, "Basic ", 6, b64, bl, err);
	explicit_bzero(cred, cl);
	explicit_bzero(b64, bl);
	free(cred);
	free(b64);
	return r;
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
