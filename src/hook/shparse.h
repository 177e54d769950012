/* SPDX-License-Identifier: MIT */
#ifndef CORDON_HOOK_SHPARSE_H
#define CORDON_HOOK_SHPARSE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A small, bounded POSIX-shell tokenizer for the hook's command policy.
 * It does not evaluate anything: it splits a command line into simple
 * commands (words after quote removal, redirections) grouped in pipelines,
 * and hands the text of every $( ), ` `, <( ) and >( ) to a callback so the
 * policy can look inside. Here-document bodies are kept with their command
 * (data unless the command is an interpreter). Pure.
 */

enum {
	SH_W_QUOTED = 1u << 0,      /* some part of the word was quoted */
	SH_W_SUBST = 1u << 1,       /* contains $( ), ` `, <( ) or >( ) */
	SH_W_SUBST_FETCH = 1u << 2, /* ... and that substitution downloads */
	SH_W_GLOB = 1u << 3,        /* unquoted * ? [ */
};

enum sh_redir_kind {
	SH_REDIR_OUT,     /* >, >>, >|, &>, &>> */
	SH_REDIR_IN,      /* <, <> */
	SH_REDIR_HEREDOC, /* << or <<-: target is the delimiter */
};

struct sh_word {
	char *s;        /* after quote removal; substitutions kept as written */
	unsigned flags; /* SH_W_* */
};

struct sh_redir {
	enum sh_redir_kind kind;
	char *target;
	unsigned flags; /* SH_W_* of the target word */
};

struct sh_cmd {
	struct sh_word *w;
	size_t n_w, cap_w;
	struct sh_redir *r;
	size_t n_r, cap_r;
	unsigned pipeline; /* commands joined by | share this number */
	unsigned stage;    /* position in the pipeline, 0-based */
	char *heredoc;     /* body of the last here-document fed to it, or NULL */
};

struct sh_list {
	struct sh_cmd *cmd;
	size_t n, cap;
};

/*
 * Called for the text inside every substitution and here-document body,
 * before the enclosing command is complete. Returns true when that text
 * downloads (the policy's judgement); the word gets SH_W_SUBST_FETCH.
 */
typedef bool (*sh_inner_fn)(const char *text, size_t len, void *arg);

/*
 * Split s (len bytes) into out (caller frees with sh_list_free). Returns 0,
 * or -1 with *why set to a static description when the line cannot be
 * tokenized (unterminated quote or substitution, too many words). Pure.
 */
int sh_parse(const char *s, size_t len, struct sh_list *out, sh_inner_fn inner, void *arg,
	     const char **why);

/* Free everything in l and zero it. */
void sh_list_free(struct sh_list *l);

#endif
