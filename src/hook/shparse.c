/* SPDX-License-Identifier: MIT */
/* Shell tokenizer for the hook's command policy (see shparse.h). Pure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "hook/shparse.h"

#define SH_MAX_WORDS    4096 /* per command line, all commands together */
#define SH_MAX_HEREDOCS 8    /* pending on one line */

struct heredoc {
	char *delim;
	bool strip_tabs;
	size_t cmd; /* index of the command it feeds */
};

struct parser {
	const char *s;
	size_t len, i;
	struct sh_list *out;
	sh_inner_fn inner;
	void *arg;
	/* word being built */
	char *wb;
	size_t wlen, wcap;
	bool in_word;
	unsigned wflags;
	/* a redirection waiting for its target word */
	bool redir_pending;
	enum sh_redir_kind redir_kind;
	bool redir_strip;
	/* command being built: index into out->cmd, or SIZE_MAX */
	size_t cur;
	unsigned pipeline, stage;
	struct heredoc hd[SH_MAX_HEREDOCS];
	size_t n_hd;
	size_t n_words;
	const char *why;
};

static void
wb_putc(struct parser *p, char c)
{
	if (p->wlen + 2 > p->wcap) {
		p->wcap = p->wcap ? p->wcap * 2 : 64;
		p->wb = xrealloc(p->wb, p->wcap);
	}
	p->wb[p->wlen++] = c;
	p->wb[p->wlen] = '\0';
	p->in_word = true;
}

static void
wb_put(struct parser *p, const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++)
		wb_putc(p, s[k]);
}

static struct sh_cmd *
cur_cmd(struct parser *p)
{
	struct sh_list *l = p->out;

	if (p->cur != SIZE_MAX)
		return &l->cmd[p->cur];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->cmd = xrealloc(l->cmd, l->cap * sizeof(*l->cmd));
	}
	memset(&l->cmd[l->n], 0, sizeof(l->cmd[l->n]));
	l->cmd[l->n].pipeline = p->pipeline;
	l->cmd[l->n].stage = p->stage;
	p->cur = l->n++;
	return &l->cmd[p->cur];
}

static int
end_word(struct parser *p)
{
	struct sh_cmd *c;
	char *s;

	if (!p->in_word)
		return 0;
	if (++p->n_words > SH_MAX_WORDS) {
		p->why = "too many words";
		return -1;
	}
	s = xstrdup(p->wb ? p->wb : "");
	c = cur_cmd(p);
	if (p->redir_pending) {
		if (c->n_r == c->cap_r) {
			c->cap_r = c->cap_r ? c->cap_r * 2 : 4;
			c->r = xrealloc(c->r, c->cap_r * sizeof(*c->r));
		}
		c->r[c->n_r].kind = p->redir_kind;
		c->r[c->n_r].target = s;
		c->r[c->n_r].flags = p->wflags;
		c->n_r++;
		if (p->redir_kind == SH_REDIR_HEREDOC) {
			if (p->n_hd == SH_MAX_HEREDOCS) {
				p->why = "too many here-documents";
				return -1;
			}
			p->hd[p->n_hd].delim = xstrdup(s);
			p->hd[p->n_hd].strip_tabs = p->redir_strip;
			p->hd[p->n_hd].cmd = p->cur;
			p->n_hd++;
		}
		p->redir_pending = false;
	} else {
		if (c->n_w == c->cap_w) {
			c->cap_w = c->cap_w ? c->cap_w * 2 : 8;
			c->w = xrealloc(c->w, c->cap_w * sizeof(*c->w));
		}
		c->w[c->n_w].s = s;
		c->w[c->n_w].flags = p->wflags;
		c->n_w++;
	}
	p->wlen = 0;
	if (p->wb)
		p->wb[0] = '\0';
	p->in_word = false;
	p->wflags = 0;
	return 0;
}

/* End the current command; pipe = the next one continues the pipeline. */
static int
end_cmd(struct parser *p, bool pipe)
{
	if (end_word(p) < 0)
		return -1;
	if (p->redir_pending) {
		p->why = "redirection without a target";
		return -1;
	}
	if (pipe) {
		if (p->cur == SIZE_MAX) {
			p->why = "pipe without a command";
			return -1;
		}
		p->stage++;
	} else {
		p->pipeline++;
		p->stage = 0;
	}
	p->cur = SIZE_MAX;
	return 0;
}

/*
 * From just after an opening "(" find the matching ")" (nesting, quotes,
 * escapes). Returns the index of the ")" or SIZE_MAX.
 */
static size_t
match_paren(const char *s, size_t len, size_t i)
{
	int depth = 1;

	while (i < len) {
		char c = s[i];

		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '\'') {
			const char *q = memchr(s + i + 1, '\'', len - i - 1);

			if (q == NULL)
				return SIZE_MAX;
			i = (size_t)(q - s) + 1;
			continue;
		}
		if (c == '"') {
			i++;
			while (i < len && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (i >= len)
				return SIZE_MAX;
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return i;
		i++;
	}
	return SIZE_MAX;
}

/* Hand inner text to the callback; mark the word. */
static void
inner_text(struct parser *p, const char *t, size_t n)
{
	p->wflags |= SH_W_SUBST;
	if (p->inner != NULL && p->inner(t, n, p->arg))
		p->wflags |= SH_W_SUBST_FETCH;
}

/*
 * At s[i] == '(' preceded by '$', '<' or '>' (already consumed into the
 * word as the introducer). Copies "( ... )" into the word and analyses the
 * inside. Returns the index after ")" or SIZE_MAX.
 */
static size_t
take_paren_subst(struct parser *p, size_t i)
{
	size_t end;

	if (i + 1 < p->len && p->s[i + 1] == '(') {
		/* $(( arithmetic )): no commands inside worth a look. */
		end = match_paren(p->s, p->len, i + 1);
		if (end == SIZE_MAX)
			return SIZE_MAX;
		wb_put(p, p->s + i, end + 1 - i);
		return end + 1;
	}
	end = match_paren(p->s, p->len, i + 1);
	if (end == SIZE_MAX)
		return SIZE_MAX;
	inner_text(p, p->s + i + 1, end - i - 1);
	wb_put(p, p->s + i, end + 1 - i);
	return end + 1;
}

static size_t
take_backtick(struct parser *p, size_t i)
{
	size_t j = i + 1;

	while (j < p->len && p->s[j] != '`')
		j += p->s[j] == '\\' ? 2 : 1;
	if (j >= p->len)
		return SIZE_MAX;
	inner_text(p, p->s + i + 1, j - i - 1);
	wb_put(p, p->s + i, j + 1 - i);
	return j + 1;
}

/* Skip (and hand over) here-document bodies after a newline at p->i. */
static int
take_heredocs(struct parser *p)
{
	for (size_t h = 0; h < p->n_hd; h++) {
		struct heredoc *d = &p->hd[h];
		size_t body = p->i, end = SIZE_MAX, after = p->len;

		while (p->i < p->len) {
			size_t ls = p->i, le;
			const char *nl = memchr(p->s + ls, '\n', p->len - ls);

			le = nl ? (size_t)(nl - p->s) : p->len;
			p->i = nl ? le + 1 : p->len;
			while (d->strip_tabs && ls < le && p->s[ls] == '\t')
				ls++;
			if (le - ls == strlen(d->delim) &&
			    memcmp(p->s + ls, d->delim, le - ls) == 0) {
				end = ls;
				after = p->i;
				break;
			}
		}
		if (end == SIZE_MAX)
			end = p->len; /* bash accepts EOF as the end, with a warning */
		p->i = after;
		{
			struct sh_cmd *c = &p->out->cmd[d->cmd];
			size_t n = end > body ? end - body : 0;

			free(c->heredoc);
			c->heredoc = xmalloc(n + 1);
			memcpy(c->heredoc, p->s + body, n);
			c->heredoc[n] = '\0';
		}
		free(d->delim);
		d->delim = NULL;
	}
	p->n_hd = 0;
	return 0;
}

static int
take_double_quoted(struct parser *p)
{
	p->wflags |= SH_W_QUOTED;
	p->in_word = true;
	p->i++;
	while (p->i < p->len && p->s[p->i] != '"') {
		char c = p->s[p->i];

		if (c == '\\' && p->i + 1 < p->len) {
			char n = p->s[p->i + 1];

			if (n == '\n') {
				p->i += 2;
				continue;
			}
			if (n == '$' || n == '`' || n == '"' || n == '\\')
				wb_putc(p, n);
			else
				wb_put(p, p->s + p->i, 2);
			p->i += 2;
			continue;
		}
		if (c == '$' && p->i + 1 < p->len && p->s[p->i + 1] == '(') {
			wb_putc(p, '$');
			p->i = take_paren_subst(p, p->i + 1);
			if (p->i == SIZE_MAX)
				return -1;
			continue;
		}
		if (c == '`') {
			p->i = take_backtick(p, p->i);
			if (p->i == SIZE_MAX)
				return -1;
			continue;
		}
		wb_putc(p, c);
		p->i++;
	}
	if (p->i >= p->len)
		return -1;
	p->i++;
	return 0;
}

static int
start_redir(struct parser *p, enum sh_redir_kind kind)
{
	/* "2>" / "10<": a word of digits right before is the fd, not a word. */
	if (p->in_word && !(p->wflags & SH_W_QUOTED) && strspn(p->wb, "0123456789") == p->wlen) {
		p->wlen = 0;
		p->wb[0] = '\0';
		p->in_word = false;
	}
	if (end_word(p) < 0)
		return -1;
	if (p->redir_pending) {
		p->why = "redirection without a target";
		return -1;
	}
	cur_cmd(p);
	p->redir_pending = true;
	p->redir_kind = kind;
	return 0;
}

static int
step(struct parser *p)
{
	const char *s = p->s;
	char c = s[p->i];
	char n = p->i + 1 < p->len ? s[p->i + 1] : '\0';

	switch (c) {
	case ' ':
	case '\t':
		p->i++;
		return end_word(p);
	case '\n':
		p->i++;
		if (end_cmd(p, false) < 0)
			return -1;
		return take_heredocs(p);
	case ';':
		p->i += n == ';' ? 2 : 1;
		return end_cmd(p, false);
	case '&':
		if (n == '>') {
			p->i += 2;
			if (p->i < p->len && s[p->i] == '>')
				p->i++;
			return start_redir(p, SH_REDIR_OUT);
		}
		p->i += n == '&' ? 2 : 1;
		return end_cmd(p, false);
	case '|':
		if (n == '|') {
			p->i += 2;
			return end_cmd(p, false);
		}
		p->i += n == '&' ? 2 : 1;
		return end_cmd(p, true);
	case '(':
	case ')':
	case '{':
	case '}':
		if (c == '{' || c == '}') {
			/* Only a reserved word when it stands alone. */
			if (p->in_word ||
			    (n != '\0' && n != ' ' && n != '\t' && n != '\n' && n != ';')) {
				wb_putc(p, c);
				p->i++;
				return 0;
			}
		}
		p->i++;
		return end_cmd(p, false);
	case '>':
	case '<':
		if (n == '(') {
			/* Process substitution: a word, not a redirection. */
			if (end_word(p) < 0)
				return -1;
			wb_putc(p, c);
			p->i = take_paren_subst(p, p->i + 1);
			return p->i == SIZE_MAX ? -1 : 0;
		}
		if (c == '>') {
			p->i++;
			if (p->i < p->len && (s[p->i] == '>' || s[p->i] == '|'))
				p->i++;
			if (p->i < p->len && s[p->i] == '&') {
				/* >&2, >&- : duplicating an fd, no file. */
				size_t j = p->i + 1;

				while (j < p->len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '-'))
					j++;
				if (j > p->i + 1) {
					if (p->in_word && !(p->wflags & SH_W_QUOTED) &&
					    strspn(p->wb, "0123456789") == p->wlen) {
						p->wlen = 0;
						p->wb[0] = '\0';
						p->in_word = false;
					}
					p->i = j;
					return end_word(p);
				}
				p->i++;
			}
			return start_redir(p, SH_REDIR_OUT);
		}
		p->i++;
		if (p->i < p->len && s[p->i] == '<') {
			p->i++;
			if (p->i < p->len && s[p->i] == '<') {
				p->i++; /* <<< word: a here-string, input only */
				return start_redir(p, SH_REDIR_IN);
			}
			p->redir_strip = p->i < p->len && s[p->i] == '-';
			if (p->redir_strip)
				p->i++;
			return start_redir(p, SH_REDIR_HEREDOC);
		}
		if (p->i < p->len && s[p->i] == '&') {
			p->i++;
			while (p->i < p->len &&
			       ((s[p->i] >= '0' && s[p->i] <= '9') || s[p->i] == '-'))
				p->i++;
			return end_word(p);
		}
		if (p->i < p->len && s[p->i] == '>')
			p->i++;
		return start_redir(p, SH_REDIR_IN);
	case '#':
		if (!p->in_word) {
			while (p->i < p->len && s[p->i] != '\n')
				p->i++;
			return 0;
		}
		wb_putc(p, c);
		p->i++;
		return 0;
	case '\\':
		if (n == '\n') {
			p->i += 2;
			return 0;
		}
		if (p->i + 1 >= p->len)
			return -1;
		p->wflags |= SH_W_QUOTED;
		wb_putc(p, n);
		p->i += 2;
		return 0;
	case '\'': {
		const char *q = memchr(s + p->i + 1, '\'', p->len - p->i - 1);

		if (q == NULL)
			return -1;
		p->wflags |= SH_W_QUOTED;
		p->in_word = true;
		wb_put(p, s + p->i + 1, (size_t)(q - s) - p->i - 1);
		p->i = (size_t)(q - s) + 1;
		return 0;
	}
	case '"':
		return take_double_quoted(p);
	case '`':
		p->i = take_backtick(p, p->i);
		return p->i == SIZE_MAX ? -1 : 0;
	case '$':
		if (n == '(') {
			wb_putc(p, '$');
			p->i = take_paren_subst(p, p->i + 1);
			return p->i == SIZE_MAX ? -1 : 0;
		}
		if (n == '\'') {
			/* $'...' ANSI-C quoting: keep the text, escapes unexpanded. */
			const char *q = memchr(s + p->i + 2, '\'', p->len - p->i - 2);

			if (q == NULL)
				return -1;
			p->wflags |= SH_W_QUOTED;
			p->in_word = true;
			wb_put(p, s + p->i + 2, (size_t)(q - s) - p->i - 2);
			p->i = (size_t)(q - s) + 1;
			return 0;
		}
		wb_putc(p, c);
		p->i++;
		return 0;
	case '*':
	case '?':
	case '[':
		p->wflags |= SH_W_GLOB;
		wb_putc(p, c);
		p->i++;
		return 0;
	default:
		if (c == '\0') {
			p->why = "NUL byte in the command";
			return -1;
		}
		wb_putc(p, c);
		p->i++;
		return 0;
	}
}

int
sh_parse(const char *s, size_t len, struct sh_list *out, sh_inner_fn inner, void *arg,
	 const char **why)
{
	struct parser p;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.len = len;
	p.out = out;
	p.inner = inner;
	p.arg = arg;
	p.cur = SIZE_MAX;
	while (p.i < p.len) {
		if (step(&p) < 0) {
			r = -1;
			break;
		}
	}
	if (r == 0 && end_cmd(&p, false) < 0)
		r = -1;
	if (r == 0 && p.n_hd > 0)
		take_heredocs(&p);
	for (size_t h = 0; h < p.n_hd; h++)
		free(p.hd[h].delim);
	free(p.wb);
	if (r < 0) {
		*why = p.why ? p.why : "unterminated quote or substitution";
		sh_list_free(out);
	}
	return r;
}

void
sh_list_free(struct sh_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct sh_cmd *c = &l->cmd[i];

		for (size_t k = 0; k < c->n_w; k++)
			free(c->w[k].s);
		for (size_t k = 0; k < c->n_r; k++)
			free(c->r[k].target);
		free(c->w);
		free(c->r);
		free(c->heredoc);
	}
	free(l->cmd);
	memset(l, 0, sizeof(*l));
}
