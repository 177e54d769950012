/* SPDX-License-Identifier: MIT */
/*
 * A position-only JSON tokenizer (see pos.h). It trusts nothing: on input
 * that is not JSON it stops and reports the deepest position reached.
 */
#include <string.h>

#include "policy/pos.h"

struct cur {
	const char *s;
	size_t n, i;
};

static void
ws(struct cur *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
			       c->s[c->i] == '\r'))
		c->i++;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Skip a string at c->i (which must be '"'), decoding it into out (cap
 * bytes) when out is not NULL. Escapes beyond ASCII decode as 0x01 so they
 * never compare equal to a schema key (which is plain ASCII). -1 when
 * malformed or out is too small (the cursor still moves past the string
 * when possible).
 */
static int
string(struct cur *c, char *out, size_t cap)
{
	size_t o = 0;
	int overflow = 0;

	if (c->i >= c->n || c->s[c->i] != '"')
		return -1;
	c->i++;
	while (c->i < c->n) {
		char ch = c->s[c->i++];

		if (ch == '"') {
			if (out != NULL) {
				if (o >= cap)
					return -1;
				out[o] = '\0';
			}
			return overflow ? -1 : 0;
		}
		if (ch == '\\') {
			if (c->i >= c->n)
				return -1;
			ch = c->s[c->i++];
			switch (ch) {
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u': {
				int v = 0;

				if (c->i + 4 > c->n)
					return -1;
				for (int k = 0; k < 4; k++) {
					int h = hexval(c->s[c->i + (size_t)k]);

					if (h < 0)
						return -1;
					v = v * 16 + h;
				}
				c->i += 4;
				ch = (v > 0 && v < 0x80) ? (char)v : '\x01';
				break;
			}
			default:
				break; /* \" \\ \/ stand for themselves */
			}
		}
		if (out != NULL) {
			if (o + 1 < cap)
				out[o++] = ch;
			else
				overflow = 1;
		}
	}
	return -1;
}

static int
skip_value(struct cur *c, int depth)
{
	if (depth > 2 * POLICY_POS_MAX_DEPTH + 4096)
		return -1;
	ws(c);
	if (c->i >= c->n)
		return -1;
	switch (c->s[c->i]) {
	case '"':
		return string(c, NULL, 0);
	case '{':
	case '[': {
		char close = c->s[c->i] == '{' ? '}' : ']';
		int obj = close == '}';

		c->i++;
		ws(c);
		if (c->i < c->n && c->s[c->i] == close) {
			c->i++;
			return 0;
		}
		for (;;) {
			if (obj) {
				ws(c);
				if (string(c, NULL, 0) < 0)
					return -1;
				ws(c);
				if (c->i >= c->n || c->s[c->i] != ':')
					return -1;
				c->i++;
			}
			if (skip_value(c, depth + 1) < 0)
				return -1;
			ws(c);
			if (c->i >= c->n)
				return -1;
			if (c->s[c->i] == ',') {
				c->i++;
				continue;
			}
			if (c->s[c->i] == close) {
				c->i++;
				return 0;
			}
			return -1;
		}
	}
	default:
		/* number, true, false, null */
		while (c->i < c->n && strchr(",]} \t\r\n", c->s[c->i]) == NULL)
			c->i++;
		return 0;
	}
}

static void
advance_line_col(const char *s, size_t from, size_t to, unsigned *line, unsigned *col)
{
	for (size_t i = from; i < to; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void
to_line_col(const char *s, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, k = 1;

	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			l++;
			k = 1;
		} else {
			k++;
		}
	}
	*line = l;
	*col = k;
}

int
policy_pos_find(const char *text, size_t len, const struct policy_jpath *path, size_t depth,
		int want_key, unsigned *line, unsigned *col)
{
	struct cur c = { text, len, 0 };
	size_t best, d;

	ws(&c);
	best = c.i;
	for (d = 0; d < depth && d < POLICY_POS_MAX_DEPTH; d++) {
		int found = 0;

		ws(&c);
		if (c.i >= c.n)
			break;
		if (path[d].key != NULL) {
			if (c.s[c.i] != '{')
				break;
			c.i++;
			ws(&c);
			if (c.i < c.n && c.s[c.i] == '}')
				break;
			while (c.i < c.n) {
				char key[256];
				size_t key_off;
				int r;

				ws(&c);
				key_off = c.i;
				r = string(&c, key, sizeof(key));
				if (c.i == key_off)
					goto out;
				ws(&c);
				if (c.i >= c.n || c.s[c.i] != ':')
					goto out;
				c.i++;
				ws(&c);
				if (r == 0 && strcmp(key, path[d].key) == 0) {
					best = (want_key && d + 1 == depth) ? key_off : c.i;
					found = 1;
					break;
				}
				if (skip_value(&c, 0) < 0)
					goto out;
				ws(&c);
				if (c.i < c.n && c.s[c.i] == ',') {
					c.i++;
					continue;
				}
				break;
			}
		} else {
			size_t k = 0;

			if (c.s[c.i] != '[')
				break;
			c.i++;
			ws(&c);
			if (c.i < c.n && c.s[c.i] == ']')
				break;
			while (c.i < c.n) {
				ws(&c);
				if (k == path[d].index) {
					best = c.i;
					found = 1;
					break;
				}
				if (skip_value(&c, 0) < 0)
					goto out;
				ws(&c);
				if (c.i < c.n && c.s[c.i] == ',') {
					c.i++;
					k++;
					continue;
				}
				break;
			}
		}
		if (!found)
			break;
	}
out:
	to_line_col(text, best <= len ? best : len, line, col);
	return d == depth ? 0 : -1;
}

size_t
policy_pos_elements(const char *text, size_t len, const struct policy_jpath *path, size_t depth,
		    unsigned *lines, unsigned *cols, size_t max)
{
	struct cur c = { text, len, 0 };
	unsigned line, col;
	size_t k = 0, last = 0;

	if (policy_pos_find(text, len, path, depth, 0, &line, &col) < 0)
		return 0;
	/* Recompute the offset of the array from its line and column. */
	for (unsigned l = 1; c.i < len && l < line; c.i++)
		if (text[c.i] == '\n')
			l++;
	c.i += col - 1;
	if (c.i >= len || text[c.i] != '[')
		return 0;
	last = c.i;
	c.i++;
	ws(&c);
	if (c.i < len && text[c.i] == ']')
		return 0;
	while (c.i < len && k < max) {
		ws(&c);
		advance_line_col(text, last, c.i, &line, &col);
		last = c.i;
		lines[k] = line;
		cols[k] = col;
		k++;
		if (skip_value(&c, 0) < 0)
			break;
		ws(&c);
		if (c.i < len && text[c.i] == ',') {
			c.i++;
			continue;
		}
		break;
	}
	return k;
}
