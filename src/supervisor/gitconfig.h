/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_GITCONFIG_H
#define CORDON_SUPERVISOR_GITCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A git config file read the way git reads it (git's config.c parser): a
 * UTF-8 byte order mark at the start is skipped, CRLF is LF, section and
 * key names are case-insensitive, `[section "sub"]` keeps the subsection
 * as written (`\x` is x), `[section.sub]` lower-cases it, a key may follow
 * a section header on the same line, values are unquoted and unescaped
 * (`\n`, `\t`, `\b`, `\\`, `\"`; any other escape is an error),
 * backslash-newline continues a value, `#` and `;` outside quotes start a
 * comment, and a key without `=` is a boolean true (value NULL). Where git
 * would refuse the file ("bad config line"), so does this reader. A NUL
 * byte anywhere makes the file bad too (git would keep reading a value
 * past it and then cut it there; no honest config has one).
 *
 * Pure: no syscalls, no global state. Allocates (xmalloc: aborts on OOM).
 */

struct gitcfg_entry {
	char *var;         /* as git names it: "section[.sub].name", section and name lower-cased */
	char *section;     /* lower-cased */
	char *sub;         /* the subsection, or NULL when there is none ("" is one) */
	char *name;        /* lower-cased */
	char *value;       /* unquoted, or NULL for a key without `=` */
	size_t line_begin; /* start of the physical line the key is on */
	size_t key_at;     /* first byte of the key */
	size_t end;        /* past the newline that ends the value (or the end of text) */
	bool line_start;   /* only blanks between line_begin and key_at */
};

struct gitcfg {
	struct gitcfg_entry *v;
	size_t n;
	bool bad;          /* git would refuse the file */
	unsigned bad_line; /* where (1-based), when bad */
};

/* Bounds: larger files are bad. */
#define GITCFG_MAX_TEXT    (4u * 1024u * 1024u)
#define GITCFG_MAX_ENTRIES 65536u

/*
 * Parse text[0..len). Fills cfg (free with gitcfg_free) with the entries
 * up to the first error. Returns 0, or -1 when git would refuse the file
 * (cfg->bad set).
 */
int gitcfg_parse(const char *text, size_t len, struct gitcfg *cfg);

/* Free what gitcfg_parse filled; cfg is left empty. */
void gitcfg_free(struct gitcfg *cfg);

/*
 * True when the entry is on the allowlist of keys that never run a
 * command and never send git elsewhere (see docs/git.md): the keys git
 * itself writes when it creates, clones or tracks (core.bare,
 * remote.*.url, branch.*.merge, ...) and identity. Everything else is
 * stripped from a config the session created or changed.
 */
bool gitcfg_allowed(const struct gitcfg_entry *e);

/* True for include.path and includeIf.<condition>.path. */
bool gitcfg_is_include(const struct gitcfg_entry *e);

/* The last value of var ("core.hookspath", lower-case), or NULL. */
const char *gitcfg_last(const struct gitcfg *cfg, const char *var);

struct gitcfg_strip {
	char *text; /* the config without the removed keys (malloc'd, NUL-terminated) */
	size_t len;
	char **removed; /* var of each removed key, in order (malloc'd) */
	size_t n_removed;
	bool bad; /* text (the current one) is not a config git would read */
};

/*
 * Remove from text every key that is not allowlisted and was not in
 * before with the same value (before may be NULL: nothing was). A key the
 * user had (same name, same value) is kept; one the session added, or
 * whose value it changed, is removed. Keys are removed with their whole
 * logical line (continuations included); a section header on the same
 * line stays. When text is bad, out->bad is set and out->text is NULL:
 * the caller restores or quarantines the file whole. Returns 0 or -1
 * (bad). Free with gitcfg_strip_free.
 */
int gitcfg_strip(const char *text, size_t len, const char *before, size_t before_len,
		 struct gitcfg_strip *out);

/* Free what gitcfg_strip filled. */
void gitcfg_strip_free(struct gitcfg_strip *out);

#endif
