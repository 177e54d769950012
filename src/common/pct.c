/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "common/pct.h"
#include "common/xalloc.h"

static int
plain(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '%';
}

char *
pct_encode(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(len * 3 + 2), *o = out;

	if (len == 0)
		*o++ = '%';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (plain(c)) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '%';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	*o = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
pct_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 1), *o = out;

	if (strcmp(s, "%") == 0) {
		*out = '\0';
		*len = 0;
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int hi, lo;

		if (plain(c)) {
			*o++ = (char)c;
			continue;
		}
		if (c != '%' || i + 2 >= n)
			goto bad;
		hi = hexval(s[i + 1]);
		lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
bad:
	free(out);
	return NULL;
}
