/* SPDX-License-Identifier: MIT */
/*
 * git config files as git reads them (see gitconfig.h). The reader follows
 * git's own state machine (config.c: get_next_char, parse_value,
 * get_value, get_base_var, get_extended_base_var, git_parse_source)
 * character for character, so that what is checked here is what git
 * will run; the character classes are git's (ASCII only; space is
 * SP, TAB, LF and CR, not VT or FF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "supervisor/gitconfig.h"

/* ---- git's character classes ---- */

static bool
g_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
g_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
g_alnum(int c)
{
	return g_alpha(c) || (c >= '0' && c <= '9');
}

static bool
g_keychar(int c)
{
	return g_alnum(c) || c == '-';
}

static int
g_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* ---- a growing string ---- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void
sb_add(struct sbuf *b, char c)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->p = xrealloc(b->p, b->cap);
	}
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
}

static void
sb_reset(struct sbuf *b)
{
	b->n = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* ---- the reader ---- */

struct src {
	const unsigned char *p;
	size_t len, pos;
	bool eof;
	unsigned line;
};

/* git's get_next_char: CRLF is LF; past the end, LF with eof set. */
static int
next_char(struct src *s)
{
	int c;

	if (s->pos >= s->len) {
		s->eof = true;
		return '\n';
	}
	c = s->p[s->pos++];
	if (c == '\r' && s->pos < s->len && s->p[s->pos] == '\n') {
		s->pos++;
		c = '\n';
	}
	if (c == '\n')
		s->line++;
	return c;
}

/* git's parse_value. false: git would refuse the line. */
static bool
parse_value(struct src *s, struct sbuf *v)
{
	bool quote = false, comment = false;
	size_t space = 0;

	sb_reset(v);
	sb_add(v, 'x'); /* make v->p non-NULL: an empty value is "", not NULL */
	sb_reset(v);
	for (;;) {
		int c = next_char(s);

		if (c == '\n')
			return !quote;
		if (comment)
			continue;
		if (g_space(c) && !quote) {
			if (v->n > 0)
				space++;
			continue;
		}
		if (!quote && (c == ';' || c == '#')) {
			comment = true;
			continue;
		}
		for (; space > 0; space--)
			sb_add(v, ' ');
		if (c == '\\') {
			c = next_char(s);
			switch (c) {
			case '\n':
				continue;
			case 't':
				c = '\t';
				break;
			case 'b':
				c = '\b';
				break;
			case 'n':
				c = '\n';
				break;
			case '\\':
			case '"':
				break;
			default:
				return false;
			}
			sb_add(v, (char)c);
			continue;
		}
		if (c == '"') {
			quote = !quote;
			continue;
		}
		sb_add(v, (char)c);
	}
}

/* git's get_extended_base_var: `[base "sub"]` from the blank after base. */
static bool
parse_subsection(struct src *s, struct sbuf *var, int c)
{
	do {
		if (c == '\n')
			return false;
		c = next_char(s);
	} while (g_space(c));
	if (c != '"')
		return false;
	sb_add(var, '.');
	for (;;) {
		c = next_char(s);
		if (c == '\n')
			return false;
		if (c == '"')
			break;
		if (c == '\\') {
			c = next_char(s);
			if (c == '\n')
				return false;
		}
		sb_add(var, (char)c);
	}
	return next_char(s) == ']';
}

/* git's get_base_var, after '['. */
static bool
parse_header(struct src *s, struct sbuf *var)
{
	for (;;) {
		int c = next_char(s);

		if (s->eof)
			return false;
		if (c == ']')
			return true;
		if (g_space(c))
			return parse_subsection(s, var, c);
		if (!g_keychar(c) && c != '.')
			return false;
		sb_add(var, (char)g_lower(c));
	}
}

/* Split var as git's parse_config_key does: section up to the first dot, name after the last. */
static void
entry_fill(struct gitcfg_entry *e, const char *var, const char *value)
{
	const char *first = strchr(var, '.'), *last = strrchr(var, '.');

	e->var = xstrdup(var);
	e->value = value != NULL ? xstrdup(value) : NULL;
	if (first == NULL) {
		e->section = xstrdup("");
		e->sub = NULL;
		e->name = xstrdup(var);
		return;
	}
	e->section = dup_n(var, (size_t)(first - var));
	e->name = xstrdup(last + 1);
	e->sub = first == last ? NULL : dup_n(first + 1, (size_t)(last - first - 1));
}

static bool
blanks_only(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		/* A byte order mark at the start of the file is not text either. */
		if (i < 3 && from == 0 && p[0] == 0xef &&
		    (p[i] == 0xef || p[i] == 0xbb || p[i] == 0xbf))
			continue;
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	}
	return true;
}

static int
bad(struct gitcfg *cfg, const struct src *s)
{
	cfg->bad = true;
	cfg->bad_line = s->line;
	return -1;
}

int
gitcfg_parse(const char *text, size_t len, struct gitcfg *cfg)
{
	static const unsigned char bom[] = { 0xef, 0xbb, 0xbf };
	struct src s = { (const unsigned char *)text, len, 0, false, 1 };
	struct sbuf var = { 0 }, value = { 0 };
	size_t baselen = 0, nbom = 0, line_begin = 0;
	bool comment = false, bom_done = false;
	int r = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (len > GITCFG_MAX_TEXT || memchr(text, '\0', len) != NULL)
		return bad(cfg, &s);
	for (;;) {
		int c = next_char(&s);

		if (!bom_done) {
			/* git's BOM check: the whole mark, or none of it. */
			if (!s.eof && (unsigned char)c == bom[nbom]) {
				if (++nbom == sizeof(bom))
					bom_done = true;
				continue;
			}
			if (nbom > 0)
				break;
			bom_done = true;
		}
		if (c == '\n') {
			if (s.eof) {
				r = 0;
				break;
			}
			comment = false;
			line_begin = s.pos;
			continue;
		}
		if (comment || g_space(c))
			continue;
		if (c == '#' || c == ';') {
			comment = true;
			continue;
		}
		if (c == '[') {
			sb_reset(&var);
			if (!parse_header(&s, &var) || var.n < 1)
				break;
			sb_add(&var, '.');
			baselen = var.n;
			continue;
		}
		if (!g_alpha(c))
			break;
		{
			struct gitcfg_entry *e;
			size_t key_at = s.pos - 1;
			bool has_value = false;

			var.n = baselen;
			if (var.p != NULL)
				var.p[var.n] = '\0';
			sb_add(&var, (char)g_lower(c));
			/* git's get_value */
			for (;;) {
				c = next_char(&s);
				if (s.eof || !g_keychar(c))
					break;
				sb_add(&var, (char)g_lower(c));
			}
			while (c == ' ' || c == '\t')
				c = next_char(&s);
			if (c != '\n') {
				if (c != '=' || !parse_value(&s, &value))
					break;
				has_value = true;
			}
			if (cfg->n >= GITCFG_MAX_ENTRIES)
				break;
			cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
			e = &cfg->v[cfg->n++];
			memset(e, 0, sizeof(*e));
			entry_fill(e, var.p, has_value ? (value.p != NULL ? value.p : "") : NULL);
			e->line_begin = line_begin;
			e->key_at = key_at;
			e->end = s.pos;
			e->line_start = blanks_only(s.p, line_begin, key_at);
			line_begin = s.pos;
			if (s.eof) {
				r = 0;
				break;
			}
		}
	}
	free(var.p);
	free(value.p);
	return r == 0 ? 0 : bad(cfg, &s);
}

void
gitcfg_free(struct gitcfg *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->v[i].var);
		free(cfg->v[i].section);
		free(cfg->v[i].sub);
		free(cfg->v[i].name);
		free(cfg->v[i].value);
	}
	free(cfg->v);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the allowlist ---- */

/*
 * Keys kept when a session adds them: none runs a command, loads another
 * file, or sends git to another place than the one the key names.
 * sub: 0 = no subsection, 1 = a subsection (any). See docs/git.md for
 * why each is here and what was left out.
 */
static const struct {
	const char *section;
	int sub;
	const char *names; /* space-separated */
} allowlist[] = {
	{ "core", 0,
	  "repositoryformatversion filemode bare logallrefupdates ignorecase precomposeunicode "
	  "symlinks autocrlf eol safecrlf checkstat trustctime quotepath" },
	{ "extensions", 0, "objectformat worktreeconfig partialclone preciousobjects refstorage" },
	{ "remote", 1,
	  "url pushurl fetch push tagopt prune prunetags mirror promisor partialclonefilter "
	  "skipdefaultupdate skipfetchall" },
	{ "branch", 1, "remote pushremote merge rebase description" },
	{ "submodule", 1, "url active branch" },
	{ "user", 0, "name email" },
	{ "author", 0, "name email" },
	{ "committer", 0, "name email" },
	{ "init", 0, "defaultbranch" },
	{ "pull", 0, "rebase ff" },
	{ "push", 0, "default autosetupremote" },
	{ "fetch", 0, "prune" },
};

static bool
word_in(const char *word, const char *list)
{
	size_t n = strlen(word);

	while (*list) {
		size_t k = strcspn(list, " ");

		if (k == n && strncmp(list, word, n) == 0)
			return true;
		list += k;
		while (*list == ' ')
			list++;
	}
	return false;
}

/*
 * A URL git would hand to a remote helper that runs a command: `ext::`
 * (off by default through protocol.ext.allow, which is not allowlisted;
 * refused here too, in case the user's own config allows it).
 */
static bool
url_runs_command(const char *v)
{
	return v != NULL && strncasecmp(v, "ext::", 5) == 0;
}

bool
gitcfg_allowed(const struct gitcfg_entry *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(allowlist); i++) {
		if (strcmp(e->section, allowlist[i].section) != 0)
			continue;
		if ((e->sub != NULL) != (allowlist[i].sub == 1))
			return false;
		if (!word_in(e->name, allowlist[i].names))
			return false;
		if ((strcmp(e->name, "url") == 0 || strcmp(e->name, "pushurl") == 0) &&
		    url_runs_command(e->value))
			return false;
		return true;
	}
	return false;
}

bool
gitcfg_is_include(const struct gitcfg_entry *e)
{
	if (strcmp(e->name, "path") != 0)
		return false;
	if (strcmp(e->section, "include") == 0)
		return e->sub == NULL;
	return strcmp(e->section, "includeif") == 0 && e->sub != NULL;
}

const char *
gitcfg_last(const struct gitcfg *cfg, const char *var)
{
	const char *v = NULL;

	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->v[i].var, var) == 0)
			v = cfg->v[i].value;
	return v;
}

/* ---- stripping ---- */

static bool
same_entry(const struct gitcfg_entry *a, const struct gitcfg_entry *b)
{
	if (strcmp(a->var, b->var) != 0)
		return false;
	if (a->value == NULL || b->value == NULL)
		return a->value == b->value;
	return strcmp(a->value, b->value) == 0;
}

static bool
in_before(const struct gitcfg *before, const struct gitcfg_entry *e)
{
	for (size_t i = 0; i < before->n; i++)
		if (same_entry(&before->v[i], e))
			return true;
	return false;
}

int
gitcfg_strip(const char *text, size_t len, const char *before, size_t before_len,
	     struct gitcfg_strip *out)
{
	struct gitcfg now, old, again;
	struct sbuf o = { 0 };
	size_t at = 0, k = 0;
	bool *drop;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(&old, 0, sizeof(old));
	if (gitcfg_parse(text, len, &now) < 0) {
		gitcfg_free(&now);
		out->bad = true;
		return -1;
	}
	/* A bad `before` counts for the keys read up to its error (git read none). */
	if (before != NULL)
		gitcfg_parse(before, before_len, &old);
	drop = xcalloc(now.n + 1, sizeof(*drop));
	for (size_t i = 0; i < now.n; i++) {
		const struct gitcfg_entry *e = &now.v[i];

		if (gitcfg_allowed(e) || in_before(&old, e))
			continue;
		drop[i] = true;
		out->removed = xrealloc(out->removed, (out->n_removed + 1) * sizeof(*out->removed));
		out->removed[out->n_removed++] = xstrdup(e->var);
	}
	sb_add(&o, 'x');
	sb_reset(&o);
	for (size_t i = 0; i < now.n; i++) {
		const struct gitcfg_entry *e = &now.v[i];
		size_t cut = e->line_start ? e->line_begin : e->key_at;

		if (!drop[i])
			continue;
		for (; at < cut; at++)
			sb_add(&o, text[at]);
		/* A header before the key on its line keeps its line end. */
		if (!e->line_start && e->end > 0 && text[e->end - 1] == '\n')
			sb_add(&o, '\n');
		at = e->end;
	}
	for (; at < len; at++)
		sb_add(&o, text[at]);
	out->text = o.p;
	out->len = o.n;
	/*
	 * The result must read as exactly the kept keys, in order: anything
	 * else means the edit changed how git reads the rest.
	 */
	if (gitcfg_parse(out->text, out->len, &again) < 0)
		r = -1;
	for (size_t i = 0; i < now.n && r == 0; i++) {
		if (drop[i])
			continue;
		if (k >= again.n || !same_entry(&again.v[k], &now.v[i]))
			r = -1;
		k++;
	}
	if (r == 0 && k != again.n)
		r = -1;
	if (r < 0) {
		free(out->text);
		out->text = NULL;
		out->len = 0;
		out->bad = true;
	}
	gitcfg_free(&again);
	gitcfg_free(&now);
	gitcfg_free(&old);
	free(drop);
	return r;
}

void
gitcfg_strip_free(struct gitcfg_strip *out)
{
	for (size_t i = 0; i < out->n_removed; i++)
		free(out->removed[i]);
	free(out->removed);
	free(out->text);
	memset(out, 0, sizeof(*out));
}
