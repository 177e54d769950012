/* SPDX-License-Identifier: MIT */
/*
 * The hook's command policy: a deny list with reasons, an "ask" list, and
 * a default (allow inside cordon, defer to the agent's own prompt outside).
 *
 * This is a second line, not the wall: a pattern can always be dodged by a
 * determined command (globs, variables, an interpreter). Its job is to stop
 * the common accidents and injected one-liners early and to tell the model
 * *why*, so it picks another way. The sandbox enforces the boundary. Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "hook/hook.h"
#include "hook/shparse.h"

struct pctx {
	const struct hook_ctx *ctx;
	struct hook_verdict *v;
	int depth;
};

static void analyse(struct pctx *pc, const char *s, size_t len, bool *fetches);

static void raise_v(struct pctx *pc, enum hook_decision d, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
raise_v(struct pctx *pc, enum hook_decision d, const char *rule, const char *fmt, ...)
{
	struct hook_verdict *v = pc->v;
	va_list ap;
	int n;

	if (d <= v->decision && v->rule != NULL)
		return;
	if (d < v->decision)
		return;
	v->decision = d;
	v->rule = rule;
	n = snprintf(v->reason, sizeof(v->reason), "cordon %s (rule %s): ",
		     d == HOOK_DENY ? "blocked this command" : "wants confirmation", rule);
	if (n < 0 || (size_t)n >= sizeof(v->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(v->reason + n, sizeof(v->reason) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- word helpers ---- */

static const char *
base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

static bool
in_set(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i] != NULL; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/*
 * Does pattern occur in w as a path piece: not glued to a longer name on
 * either side? prefix: anything may follow (".claude/settings" matches
 * ".claude/settings.local.json").
 */
static bool
has_piece(const char *w, const char *pat, bool prefix)
{
	size_t n = strlen(pat);

	for (const char *p = strstr(w, pat); p != NULL; p = strstr(p + 1, pat)) {
		bool before_ok = p == w || !name_char(p[-1]) || pat[0] == '/';
		bool after_ok = prefix || !name_char(p[n]);

		if (pat[0] == '/' && p != w && name_char(p[-1]) && p[-1] != '.')
			before_ok = p[-1] == '/' || !name_char(p[-1]);
		if (before_ok && after_ok)
			return true;
	}
	return false;
}

/* Credentials: reading them from a tool call is never needed for coding. */
static const char *const cred_pieces[] = {
	".ssh",
	".aws",
	".config/gcloud",
	".azure",
	".kube",
	".docker/config.json",
	".netrc",
	".git-credentials",
	".npmrc",
	".pypirc",
	".gnupg",
	".password-store",
	".config/gh/hosts.yml",
	".local/share/keyrings",
	".vault-token",
	".cargo/credentials",
	".cargo/credentials.toml",
	".claude/.credentials.json",
	".mozilla",
	".config/google-chrome",
	".config/chromium",
	".config/BraveSoftware",
	"/etc/shadow",
	"/etc/gshadow",
	"/etc/sudoers",
	NULL,
};

static const char *
cred_hit(const char *w)
{
	for (size_t i = 0; cred_pieces[i] != NULL; i++)
		if (has_piece(w, cred_pieces[i], false))
			return cred_pieces[i];
	if (has_piece(w, "/etc/ssh/ssh_host_", true))
		return "/etc/ssh/ssh_host_*";
	return NULL;
}

/* Files that run later, outside the sandbox, or hold the agent's own policy. */
static const struct {
	const char *piece;
	bool prefix;
	const char *why;
} protected_pieces[] = {
	{ ".claude/settings", true, "the agent's own settings (its permissions and hooks)" },
	{ ".claude/hooks", false, "the agent's hook scripts" },
	{ ".gemini/settings.json", false, "the agent's own settings" },
	{ ".codex/config.toml", false, "the agent's own settings" },
	{ ".mcp.json", false, "MCP server definitions, started later by the agent" },
	{ ".git/hooks", false, "git hooks, which run at your next git command" },
	{ ".git/config", false, "git configuration (aliases, hooksPath, fsmonitor run code)" },
	{ ".gitmodules", false, "submodule definitions" },
	{ ".cordon", false, "cordon's project policy" },
	{ ".config/cordon", false, "cordon's user policy" },
	{ "/etc/cordon", false, "cordon's managed policy" },
	{ ".envrc", false, "direnv code, run when you enter the directory" },
	{ ".bashrc", false, "a shell start-up file" },
	{ ".bash_profile", false, "a shell start-up file" },
	{ ".bash_login", false, "a shell start-up file" },
	{ ".bash_logout", false, "a shell start-up file" },
	{ ".profile", false, "a shell start-up file" },
	{ ".zshrc", false, "a shell start-up file" },
	{ ".zshenv", false, "a shell start-up file" },
	{ ".zprofile", false, "a shell start-up file" },
	{ ".zlogin", false, "a shell start-up file" },
	{ ".config/fish", false, "a shell start-up file" },
};

static const char *
protected_hit(const char *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(protected_pieces); i++)
		if (has_piece(w, protected_pieces[i].piece, protected_pieces[i].prefix))
			return protected_pieces[i].why;
	return NULL;
}

/* Commands that only read the paths they are given. */
static const char *const readers[] = {
	"cat",     "less",     "more",     "head",     "tail",    "grep",      "egrep",     "fgrep",
	"rg",      "ag",       "ack",      "jq",       "yq",      "ls",        "stat",      "diff",
	"cmp",     "wc",       "file",     "md5sum",   "sha1sum", "sha256sum", "sha512sum", "b2sum",
	"cksum",   "bat",      "readlink", "realpath", "test",    "[",         "[[",        "echo",
	"printf",  "basename", "dirname",  "git",      "tree",    "du",        "nl",        "od",
	"hexdump", "xxd",      "strings",  "column",   "sort",    "uniq",      "cut",       "tr",
	"awk",     "true",     "false",    "type",     "which",   "command",   NULL,
};

static const char *const shells[] = {
	"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox", NULL,
};

static const char *const interpreters[] = {
	"python", "python2", "python3", "perl", "ruby", "node",
	"nodejs", "php",     "lua",     "deno", "bun",  NULL,
};

static const char *const fetchers[] = {
	"curl",   "wget",        "fetch", "aria2c", "http", "https",
	"httpie", "lwp-request", "GET",   "xh",     NULL,
};

static const char *const privilege[] = {
	"sudo", "su", "doas", "pkexec", "run0", "sudoedit", NULL,
};

static const char *const escapes[] = {
	"unshare",  "nsenter", "chroot",      "pivot_root",     "capsh",      "bwrap",
	"firejail", "setpriv", "systemd-run", "systemd-nspawn", "machinectl", "docker",
	"podman",   "lxc",     "lxc-attach",  "runc",           "crun",       "ctr",
	"nerdctl",  "mount",   "umount",      "insmod",         "modprobe",   "rmmod",
	"kexec",    "gdb",     "strace",      "ltrace",         NULL,
};

static const char *const disk_tools[] = {
	"mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "parted", "blkdiscard", NULL,
};

static bool
is_python(const char *name)
{
	return strncmp(name, "python", 6) == 0;
}

static bool
is_shell(const char *name)
{
	return in_set(name, shells);
}

static bool
is_interp(const char *name)
{
	return is_shell(name) || in_set(name, interpreters) || is_python(name);
}

/* ---- path normalisation for deletion targets ---- */

/* Expand ~, $HOME, ${HOME}; join relative paths to cwd; clean . and .. */
static void
norm_path(const char *w, const struct hook_ctx *ctx, char *out, size_t size)
{
	char tmp[4096];
	const char *rest = NULL;
	size_t o = 0;

	if (ctx->home != NULL) {
		if (strcmp(w, "~") == 0 || strncmp(w, "~/", 2) == 0)
			rest = w + 1;
		else if (strncmp(w, "$HOME", 5) == 0 && (w[5] == '\0' || w[5] == '/'))
			rest = w + 5;
		else if (strncmp(w, "${HOME}", 7) == 0 && (w[7] == '\0' || w[7] == '/'))
			rest = w + 7;
	}
	if (rest != NULL)
		snprintf(tmp, sizeof(tmp), "%s/%s", ctx->home, rest);
	else if (w[0] != '/' && ctx->cwd != NULL)
		snprintf(tmp, sizeof(tmp), "%s/%s", ctx->cwd, w);
	else
		snprintf(tmp, sizeof(tmp), "%s", w);
	/* Lexical clean: components, dropping "." and popping on "..". */
	out[0] = '\0';
	for (char *save = NULL, *c = strtok_r(tmp, "/", &save); c != NULL;
	     c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + strlen(c) + 2 >= size)
			break;
		out[o++] = '/';
		memcpy(out + o, c, strlen(c));
		o += strlen(c);
		out[o] = '\0';
	}
	if (o == 0)
		snprintf(out, size, "/");
}

static bool
path_is_or_above(const char *p, const char *base)
{
	size_t n = strlen(p);

	if (strcmp(p, "/") == 0)
		return true;
	return strncmp(base, p, n) == 0 && (base[n] == '\0' || base[n] == '/');
}

static const char *const system_dirs[] = {
	"/bin",   "/boot",   "/dev", "/etc",  "/home", "/lib",   "/lib32",
	"/lib64", "/libx32", "/opt", "/proc", "/root", "/run",   "/sbin",
	"/srv",   "/sys",    "/usr", "/var",  "/mnt",  "/media", NULL,
};

/* Recursive deletion (or chmod/chown) target: 2 deny, 1 ask, 0 fine. */
static int
danger_target(struct pctx *pc, const char *w, const char **what)
{
	char p[4096];
	size_t n;

	if (w[0] == '$' && strncmp(w, "$HOME", 5) != 0 && strncmp(w, "${HOME}", 7) != 0) {
		/* "$DIR/" with DIR empty is "/": ask unless more path follows. */
		const char *slash = strchr(w, '/');

		if (slash == NULL || strcmp(slash, "/") == 0 || strcmp(slash, "/*") == 0) {
			*what = "a path made only of a variable, which may be empty";
			return 1;
		}
	}
	norm_path(w, pc->ctx, p, sizeof(p));
	/* A trailing slash-star: the directory's whole content. */
	n = strlen(p);
	if (n >= 2 && strcmp(p + n - 2, "/*") == 0)
		p[n == 2 ? 1 : n - 2] = '\0';
	else if (strcmp(p, "*") == 0 && pc->ctx->cwd != NULL)
		snprintf(p, sizeof(p), "%s", pc->ctx->cwd);
	if (strcmp(p, "/") == 0) {
		*what = "the whole filesystem";
		return 2;
	}
	if (pc->ctx->home != NULL && path_is_or_above(p, pc->ctx->home)) {
		*what = "your home directory";
		return 2;
	}
	for (size_t i = 0; system_dirs[i] != NULL; i++) {
		size_t k = strlen(system_dirs[i]);

		if (strncmp(p, system_dirs[i], k) == 0 &&
		    (p[k] == '\0' || (p[k] == '/' && strchr(p + k + 1, '/') == NULL))) {
			*what = "a system directory";
			return 2;
		}
	}
	if (p[0] == '/' && strchr(p + 1, '/') == NULL) {
		*what = "a top-level directory";
		return 2;
	}
	if (pc->ctx->cwd != NULL && path_is_or_above(p, pc->ctx->cwd)) {
		*what = "the whole project directory";
		return 1;
	}
	if (has_piece(w, ".git", false) && strcmp(base_name(p), ".git") == 0) {
		*what = "the repository's history (.git)";
		return 1;
	}
	return 0;
}

/* ---- per-command rules ---- */

struct cmd_view {
	struct sh_cmd *c;
	size_t a0;        /* index of the program word after wrappers */
	const char *name; /* base name of the program */
};

static const char *const keywords[] = {
	"if", "then", "else", "elif", "do",   "while",  "until", "!",
	"{",  "}",    "fi",   "done", "time", "coproc", NULL,
};

static bool
is_assignment(const char *w)
{
	const char *eq = strchr(w, '=');

	if (eq == NULL || eq == w)
		return false;
	for (const char *p = w; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (p > w && *p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Skip assignments, keywords and wrappers (env, nice, timeout, xargs...). */
static void
find_program(struct pctx *pc, struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;
	size_t i = 0;

	for (int guard = 0; guard < 16 && i < c->n_w; guard++) {
		const char *w = c->w[i].s;
		const char *b = base_name(w);

		if (in_set(w, keywords) || is_assignment(w)) {
			i++;
			continue;
		}
		if (strcmp(b, "env") == 0) {
			i++;
			while (i < c->n_w && (c->w[i].s[0] == '-' || is_assignment(c->w[i].s))) {
				const char *o = c->w[i].s;

				if ((strcmp(o, "-S") == 0 || strcmp(o, "--split-string") == 0) &&
				    i + 1 < c->n_w) {
					analyse(pc, c->w[i + 1].s, strlen(c->w[i + 1].s), NULL);
					i++;
				} else if ((strcmp(o, "-u") == 0 || strcmp(o, "-C") == 0) &&
					   i + 1 < c->n_w) {
					i++;
				}
				i++;
			}
			continue;
		}
		if (strcmp(b, "command") == 0 || strcmp(b, "builtin") == 0 ||
		    strcmp(b, "exec") == 0 || strcmp(b, "nohup") == 0 || strcmp(b, "setsid") == 0 ||
		    strcmp(b, "unbuffer") == 0 || strcmp(b, "chronic") == 0 ||
		    strcmp(b, "stdbuf") == 0 || strcmp(b, "ionice") == 0 ||
		    strcmp(b, "nice") == 0 || strcmp(b, "timeout") == 0 ||
		    strcmp(b, "xargs") == 0 || strcmp(b, "watch") == 0 || strcmp(b, "flock") == 0) {
			bool takes_num = strcmp(b, "timeout") == 0 || strcmp(b, "flock") == 0;

			if ((strcmp(b, "command") == 0 || strcmp(b, "type") == 0) &&
			    i + 1 < c->n_w &&
			    (strcmp(c->w[i + 1].s, "-v") == 0 || strcmp(c->w[i + 1].s, "-V") == 0))
				break; /* "command -v x" only looks x up */
			i++;
			while (i < c->n_w && c->w[i].s[0] == '-') {
				const char *o = c->w[i].s;

				/* Options with a separate value. */
				if ((strcmp(o, "-n") == 0 || strcmp(o, "-s") == 0 ||
				     strcmp(o, "-k") == 0 || strcmp(o, "-I") == 0 ||
				     strcmp(o, "-c") == 0 || strcmp(o, "-L") == 0 ||
				     strcmp(o, "-P") == 0 || strcmp(o, "-d") == 0 ||
				     strcmp(o, "-E") == 0 || strcmp(o, "-a") == 0) &&
				    i + 1 < c->n_w)
					i++;
				i++;
			}
			if (takes_num && i < c->n_w)
				i++; /* the duration / lock file */
			if (strcmp(b, "watch") == 0 && i < c->n_w && i + 1 == c->n_w) {
				analyse(pc, c->w[i].s, strlen(c->w[i].s), NULL);
				i = c->n_w;
			}
			continue;
		}
		break;
	}
	cv->a0 = i;
	cv->name = i < c->n_w ? base_name(c->w[i].s) : "";
}

static bool
is_fetch_cmd(const struct cmd_view *cv)
{
	return in_set(cv->name, fetchers);
}

/* Downloads, or runs a substitution that downloads. */
static bool
cmd_fetches(const struct cmd_view *cv)
{
	if (is_fetch_cmd(cv))
		return true;
	for (size_t i = 0; i < cv->c->n_w; i++)
		if (cv->c->w[i].flags & SH_W_SUBST_FETCH)
			return true;
	return false;
}

/* Is this an interpreter reading its program from stdin? */
static bool
reads_program_from_stdin(const struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;

	if (!is_interp(cv->name))
		return false;
	for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
		const char *w = c->w[i].s;

		if (strcmp(w, "-") == 0 || strcmp(w, "-s") == 0)
			return true;
		if (strcmp(w, "-c") == 0 || strcmp(w, "-e") == 0 || strcmp(w, "-m") == 0 ||
		    strcmp(w, "-E") == 0 || strcmp(w, "-r") == 0 || strcmp(w, "-p") == 0)
			return false;
		if (w[0] != '-' && w[0] != '+')
			return false; /* a script file */
	}
	return true;
}

static bool
decodes(const struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;

	if (strcmp(cv->name, "base64") == 0 || strcmp(cv->name, "base32") == 0 ||
	    strcmp(cv->name, "xxd") == 0 || strcmp(cv->name, "openssl") == 0 ||
	    strcmp(cv->name, "uudecode") == 0 || strcmp(cv->name, "rev") == 0) {
		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strcmp(c->w[i].s, "-d") == 0 || strcmp(c->w[i].s, "--decode") == 0 ||
			    strcmp(c->w[i].s, "-r") == 0 || strcmp(c->w[i].s, "-D") == 0 ||
			    strcmp(cv->name, "uudecode") == 0 || strcmp(cv->name, "rev") == 0)
				return true;
	}
	return false;
}

static bool
opt_has(const char *w, char letter)
{
	return w[0] == '-' && w[1] != '-' && strchr(w + 1, letter) != NULL;
}

static void
rule_recursive_target(struct pctx *pc, struct cmd_view *cv, const char *verb, bool need_recursive)
{
	struct sh_cmd *c = cv->c;
	bool recursive = !need_recursive, end_opts = false;

	for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
		const char *w = c->w[i].s;

		if (!end_opts && strcmp(w, "--no-preserve-root") == 0) {
			raise_v(
			    pc, HOOK_DENY, "rm-root",
			    "`%s --no-preserve-root` exists only to delete the whole filesystem. "
			    "Delete the specific paths inside the project you mean.",
			    cv->name);
			return;
		}
		if (!end_opts && w[0] == '-' && w[1] != '\0') {
			if (strcmp(w, "--") == 0)
				end_opts = true;
			else if (strcmp(w, "--recursive") == 0 || opt_has(w, 'r') ||
				 opt_has(w, 'R'))
				recursive = true;
		}
	}
	if (!recursive)
		return;
	end_opts = false;
	for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
		const char *w = c->w[i].s, *what = NULL;
		int d;

		if (!end_opts && w[0] == '-' && w[1] != '\0') {
			end_opts = strcmp(w, "--") == 0;
			continue;
		}
		d = danger_target(pc, w, &what);
		if (d == 2)
			raise_v(pc, HOOK_DENY,
				strcmp(verb, "delete") == 0 ? "rm-root" : "chmod-root",
				"`%s -r %.100s` would %s %s. Name the specific paths inside the "
				"project instead.",
				cv->name, w, verb, what);
		else if (d == 1)
			raise_v(pc, HOOK_ASK, "rm-project",
				"`%s -r %.100s` would %s %s; the user must confirm.", cv->name, w,
				verb, what);
	}
}

static void
rule_git(struct pctx *pc, struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;
	size_t i = cv->a0 + 1;
	const char *sub;

	/* git [-C dir] [-c k=v] [--git-dir=...] SUBCOMMAND */
	while (i < c->n_w && c->w[i].s[0] == '-') {
		const char *o = c->w[i].s;

		if (strcmp(o, "-c") == 0 && i + 1 < c->n_w) {
			const char *kv = c->w[i + 1].s;

			if (strncasecmp(kv, "core.hooksPath=", 15) == 0 ||
			    strncasecmp(kv, "core.fsmonitor=", 15) == 0)
				raise_v(pc, HOOK_ASK, "git-hookspath",
					"`git -c %.60s` makes git run programs from another path; "
					"the user must confirm.",
					kv);
			i += 2;
			continue;
		}
		if ((strcmp(o, "-C") == 0 || strcmp(o, "--git-dir") == 0 ||
		     strcmp(o, "--work-tree") == 0) &&
		    i + 1 < c->n_w) {
			i += 2;
			continue;
		}
		i++;
	}
	if (i >= c->n_w)
		return;
	sub = c->w[i].s;
	if (strcmp(sub, "config") == 0) {
		bool reading = false, writing = false;
		const char *key = NULL, *value = NULL;
		size_t values = 0;

		for (size_t k = i + 1; k < c->n_w; k++) {
			const char *w = c->w[k].s;

			if (strncmp(w, "--get", 5) == 0 || strcmp(w, "--list") == 0 ||
			    strcmp(w, "-l") == 0 || strcmp(w, "get") == 0 || strcmp(w, "list") == 0)
				reading = true;
			else if (strncmp(w, "--unset", 7) == 0 || strcmp(w, "--add") == 0 ||
				 strcmp(w, "--replace-all") == 0 || strcmp(w, "set") == 0 ||
				 strcmp(w, "unset") == 0)
				writing = true;
			else if ((strcmp(w, "--file") == 0 || strcmp(w, "-f") == 0) &&
				 k + 1 < c->n_w)
				k++;
			else if (w[0] == '-')
				continue;
			else if (key == NULL)
				key = w;
			else if (values++ == 0)
				value = w;
		}
		if (key == NULL || (reading && !writing) || (!writing && values == 0))
			return;
		if (strcasecmp(key, "core.hooksPath") == 0 ||
		    strcasecmp(key, "core.fsmonitor") == 0 ||
		    strcasecmp(key, "core.sshCommand") == 0 || strcasecmp(key, "core.pager") == 0 ||
		    strcasecmp(key, "core.editor") == 0 || strncasecmp(key, "include", 7) == 0 ||
		    strcasecmp(key, "diff.external") == 0 || strncasecmp(key, "filter.", 7) == 0 ||
		    (strncasecmp(key, "alias.", 6) == 0 && value != NULL && value[0] == '!'))
			raise_v(
			    pc, HOOK_DENY, "git-config-exec",
			    "`git config %.60s` makes git run a program later, outside the "
			    "sandbox, at your next git command. Leave git's configuration alone.",
			    key);
		return;
	}
	if (strcmp(sub, "push") == 0) {
		for (size_t k = i + 1; k < c->n_w; k++) {
			const char *w = c->w[k].s;

			if (strcmp(w, "--force") == 0 || strcmp(w, "-f") == 0 ||
			    strncmp(w, "--force-with-lease", 18) == 0 ||
			    strcmp(w, "--mirror") == 0 || strcmp(w, "--delete") == 0 ||
			    (w[0] == '+' && w[1] != '\0') ||
			    (w[0] == '-' && w[1] != '-' && strchr(w, 'f') != NULL))
				raise_v(
				    pc, HOOK_ASK, "git-force-push",
				    "`git push %.40s` rewrites or deletes history on the remote; "
				    "the user must confirm.",
				    w);
		}
		return;
	}
	if (strcmp(sub, "reset") == 0) {
		for (size_t k = i + 1; k < c->n_w; k++)
			if (strcmp(c->w[k].s, "--hard") == 0)
				raise_v(pc, HOOK_ASK, "git-discard",
					"`git reset --hard` throws away uncommitted work; the user "
					"must confirm.");
		return;
	}
	if (strcmp(sub, "clean") == 0) {
		for (size_t k = i + 1; k < c->n_w; k++)
			if (opt_has(c->w[k].s, 'f') || strcmp(c->w[k].s, "--force") == 0)
				raise_v(pc, HOOK_ASK, "git-discard",
					"`git clean -f` deletes untracked files for good; the user "
					"must confirm.");
	}
}

/* Paths in arguments and redirections: credentials and protected files. */
static void
rule_paths(struct pctx *pc, struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;
	bool reader = in_set(cv->name, readers);
	const char *hit;

	if (strcmp(cv->name, "find") == 0) {
		reader = true;
		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strcmp(c->w[i].s, "-delete") == 0 ||
			    strncmp(c->w[i].s, "-exec", 5) == 0 ||
			    strncmp(c->w[i].s, "-ok", 3) == 0 ||
			    strncmp(c->w[i].s, "-fprint", 7) == 0)
				reader = false;
	}
	if (strcmp(cv->name, "sed") == 0) {
		reader = true;
		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strncmp(c->w[i].s, "-i", 2) == 0 ||
			    strcmp(c->w[i].s, "--in-place") == 0 ||
			    (c->w[i].s[0] == '-' && c->w[i].s[1] != '-' && strchr(c->w[i].s, 'i')))
				reader = false;
	}
	for (size_t i = cv->a0; i < c->n_w; i++) {
		const char *w = c->w[i].s;

		if ((hit = cred_hit(w)) != NULL) {
			raise_v(pc, HOOK_DENY, "credentials",
				"`%.100s` touches %s, where credentials live. Coding tasks do not "
				"need them; ask the user to provide what is needed another way.",
				w, hit);
			continue;
		}
		if (i == cv->a0 || reader)
			continue;
		if ((hit = protected_hit(w)) != NULL)
			raise_v(pc, HOOK_DENY, "protected-path",
				"`%s` on `%.100s` would change %s. That file is off limits to the "
				"agent; tell the user what change you would make instead.",
				cv->name, w, hit);
	}
	for (size_t i = 0; i < c->n_r; i++) {
		const struct sh_redir *r = &c->r[i];

		if (r->kind == SH_REDIR_HEREDOC)
			continue;
		if ((hit = cred_hit(r->target)) != NULL) {
			raise_v(pc, HOOK_DENY, "credentials",
				"the redirection to `%.100s` touches %s, where credentials live.",
				r->target, hit);
			continue;
		}
		if (r->kind != SH_REDIR_OUT)
			continue;
		if ((hit = protected_hit(r->target)) != NULL)
			raise_v(pc, HOOK_DENY, "protected-path",
				"writing to `%.100s` would change %s. That file is off limits to "
				"the agent; tell the user what change you would make instead.",
				r->target, hit);
		if (strncmp(r->target, "/dev/sd", 7) == 0 ||
		    strncmp(r->target, "/dev/nvme", 9) == 0 ||
		    strncmp(r->target, "/dev/vd", 7) == 0 ||
		    strncmp(r->target, "/dev/xvd", 8) == 0 ||
		    strncmp(r->target, "/dev/mmcblk", 11) == 0 ||
		    strncmp(r->target, "/dev/hd", 7) == 0)
			raise_v(pc, HOOK_DENY, "disk",
				"writing to `%.60s` overwrites a disk device.", r->target);
	}
	for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
		const char *w = c->w[i].s;
		const char *b = base_name(w);

		if (strncmp(b, ".env", 4) == 0 && (b[4] == '\0' || b[4] == '.') &&
		    strstr(b, "example") == NULL && strstr(b, "sample") == NULL &&
		    strstr(b, "template") == NULL)
			raise_v(pc, HOOK_ASK, "dotenv",
				"`%.100s` may hold secrets (a .env file); the user must confirm.",
				w);
	}
}

static void
rule_program(struct pctx *pc, struct cmd_view *cv)
{
	struct sh_cmd *c = cv->c;
	const char *n = cv->name;

	if (n[0] == '\0')
		return;
	if (in_set(n, privilege)) {
		raise_v(pc, HOOK_DENY, "privilege",
			"`%s` asks for root. There is no root to gain here and the command must "
			"not need it; run it as the current user or tell the user what needs "
			"root.",
			n);
		return;
	}
	if (strcmp(n, "cordon") == 0) {
		raise_v(pc, HOOK_DENY, "sandbox-control",
			"the agent may not run cordon itself: its sandbox and policy are the "
			"user's to change. Ask the user if a domain or path is missing.");
		return;
	}
	if (in_set(n, escapes)) {
		raise_v(pc, HOOK_DENY, "sandbox-escape",
			"`%s` manipulates namespaces, mounts, containers or other processes, "
			"which is how sandboxes are escaped. Do the task without it or ask the "
			"user.",
			n);
		return;
	}
	if (in_set(n, disk_tools) || strncmp(n, "mkfs.", 5) == 0) {
		raise_v(pc, HOOK_DENY, "disk", "`%s` destroys a filesystem or disk.", n);
		return;
	}
	if (strcmp(n, "dd") == 0) {
		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strncmp(c->w[i].s, "of=/dev/", 8) == 0 &&
			    strcmp(c->w[i].s, "of=/dev/null") != 0)
				raise_v(pc, HOOK_DENY, "disk", "`dd %.60s` overwrites a device.",
					c->w[i].s);
	}
	if (strcmp(n, "rm") == 0 || strcmp(n, "rmdir") == 0 || strcmp(n, "shred") == 0)
		rule_recursive_target(pc, cv, "delete", strcmp(n, "rm") == 0);
	if (strcmp(n, "chmod") == 0 || strcmp(n, "chown") == 0 || strcmp(n, "chgrp") == 0 ||
	    strcmp(n, "chattr") == 0 || strcmp(n, "setfacl") == 0)
		rule_recursive_target(pc, cv, "change permissions of", true);
	if (strcmp(n, "find") == 0) {
		bool deletes = false;

		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strcmp(c->w[i].s, "-delete") == 0 ||
			    (strncmp(c->w[i].s, "-exec", 5) == 0 && i + 1 < c->n_w &&
			     strcmp(base_name(c->w[i + 1].s), "rm") == 0))
				deletes = true;
		if (deletes && cv->a0 + 1 < c->n_w) {
			const char *what = NULL;

			if (danger_target(pc, c->w[cv->a0 + 1].s, &what) == 2)
				raise_v(pc, HOOK_DENY, "rm-root",
					"`find %.100s ... -delete` would delete in %s.",
					c->w[cv->a0 + 1].s, what);
		}
	}
	if (strcmp(n, "git") == 0)
		rule_git(pc, cv);
	if (strcmp(n, "kill") == 0 || strcmp(n, "pkill") == 0 || strcmp(n, "killall") == 0) {
		for (size_t i = cv->a0 + 1; i < c->n_w; i++)
			if (strcmp(c->w[i].s, "-1") == 0 && i + 1 == c->n_w)
				raise_v(pc, HOOK_ASK, "kill-all",
					"`kill -1` signals every process you own; the user must "
					"confirm.");
		if (strcmp(n, "killall") == 0 || strcmp(n, "pkill") == 0)
			raise_v(pc, HOOK_ASK, "kill-by-name",
				"`%s` ends processes by name, possibly not yours to end; the user "
				"must confirm.",
				n != NULL ? n : "");
	}
	if ((strcmp(n, "npm") == 0 || strcmp(n, "pnpm") == 0 || strcmp(n, "yarn") == 0 ||
	     strcmp(n, "cargo") == 0 || strcmp(n, "gem") == 0) &&
	    cv->a0 + 1 < c->n_w && strcmp(c->w[cv->a0 + 1].s, "publish") == 0)
		raise_v(pc, HOOK_ASK, "publish",
			"`%s publish` releases a package to the world; the user must confirm.", n);
	if (strcmp(n, "twine") == 0 && cv->a0 + 1 < c->n_w &&
	    strcmp(c->w[cv->a0 + 1].s, "upload") == 0)
		raise_v(pc, HOOK_ASK, "publish",
			"`twine upload` releases a package to the world; the user must confirm.");
	/* Shells and eval: look inside the program text they are given. */
	if (is_shell(n) || strcmp(n, "eval") == 0 || strcmp(n, "source") == 0 ||
	    strcmp(n, ".") == 0 || is_interp(n)) {
		for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
			const struct sh_word *w = &c->w[i];

			if (w->flags & SH_W_SUBST_FETCH) {
				raise_v(
				    pc, HOOK_DENY, "download-exec",
				    "`%s` would run code downloaded by `%.80s` without anyone "
				    "reading it. Download to a file, read it, then run it if it "
				    "is what you expect.",
				    n, w->s);
			}
		}
		if (strcmp(n, "eval") == 0) {
			for (size_t i = cv->a0 + 1; i < c->n_w; i++)
				analyse(pc, c->w[i].s, strlen(c->w[i].s), NULL);
		} else if (is_shell(n)) {
			for (size_t i = cv->a0 + 1; i < c->n_w; i++) {
				const char *w = c->w[i].s;

				if (w[0] == '-' && strchr(w, 'c') != NULL && w[1] != '-' &&
				    i + 1 < c->n_w) {
					analyse(pc, c->w[i + 1].s, strlen(c->w[i + 1].s), NULL);
					break;
				}
				if (w[0] != '-')
					break;
			}
		}
		if (c->heredoc != NULL && is_shell(n) && reads_program_from_stdin(cv))
			analyse(pc, c->heredoc, strlen(c->heredoc), NULL);
	}
}

/* Substitution callback: analyse the inside, report whether it downloads. */
static bool
inner_cb(const char *text, size_t len, void *arg)
{
	struct pctx *pc = arg;
	bool fetches = false;

	analyse(pc, text, len, &fetches);
	return fetches;
}

static void
analyse(struct pctx *pc, const char *s, size_t len, bool *fetches)
{
	struct sh_list l;
	const char *why = NULL;
	_cleanup_free_ struct cmd_view *cv = NULL;

	if (pc->depth >= HOOK_MAX_DEPTH) {
		raise_v(pc, HOOK_ASK, "too-deep",
			"the command nests shells and substitutions too deeply to check; the "
			"user must confirm.");
		return;
	}
	pc->depth++;
	if (sh_parse(s, len, &l, inner_cb, pc, &why) < 0) {
		pc->depth--;
		raise_v(pc, HOOK_ASK, "unparsed",
			"cordon could not read this command (%s); the user must confirm.", why);
		return;
	}
	cv = xcalloc(l.n ? l.n : 1, sizeof(*cv));
	for (size_t i = 0; i < l.n; i++) {
		cv[i].c = &l.cmd[i];
		find_program(pc, &cv[i]);
		rule_program(pc, &cv[i]);
		rule_paths(pc, &cv[i]);
		if (fetches != NULL && is_fetch_cmd(&cv[i]))
			*fetches = true;
	}
	/* Pipelines: what flows into an interpreter's stdin. */
	for (size_t i = 0; i < l.n; i++) {
		if (cv[i].c->stage == 0 || !reads_program_from_stdin(&cv[i]))
			continue;
		for (size_t k = 0; k < i; k++) {
			if (cv[k].c->pipeline != cv[i].c->pipeline)
				continue;
			if (cmd_fetches(&cv[k]))
				raise_v(
				    pc, HOOK_DENY, "download-exec",
				    "`%s | %s` runs code straight from the network without anyone "
				    "reading it. Download to a file, read it, then run it if it is "
				    "what you expect.",
				    cv[k].name, cv[i].name);
			else if (decodes(&cv[k]))
				raise_v(
				    pc, HOOK_DENY, "decode-exec",
				    "`%s | %s` runs an encoded payload, a common way to hide what "
				    "a command does. Run the decoded commands directly so they can "
				    "be checked.",
				    cv[k].name, cv[i].name);
			else
				raise_v(
				    pc, HOOK_ASK, "pipe-to-shell",
				    "`%s | %s` feeds generated text to an interpreter; the user "
				    "must confirm.",
				    cv[k].name, cv[i].name);
		}
	}
	sh_list_free(&l);
	pc->depth--;
}

void
hook_decide_bash(const char *command, const struct hook_ctx *ctx, struct hook_verdict *v)
{
	struct pctx pc = { .ctx = ctx, .v = v, .depth = 0 };
	size_t len = strlen(command);

	memset(v, 0, sizeof(*v));
	if (len > HOOK_MAX_COMMAND) {
		raise_v(&pc, HOOK_ASK, "too-long",
			"the command is %zu bytes, too long to check; the user must confirm.", len);
		return;
	}
	analyse(&pc, command, len, NULL);
	if (v->decision == HOOK_DEFER && v->rule == NULL) {
		v->decision = ctx->sandboxed ? HOOK_ALLOW : HOOK_DEFER;
		v->rule = "default";
		snprintf(v->reason, sizeof(v->reason), "%s",
			 ctx->sandboxed ? "allowed by cordon's command policy; the command runs "
					  "inside the cordon sandbox"
					: "no cordon rule applies");
	}
}

void
hook_decide(const struct hook_request *req, const struct hook_ctx *ctx, struct hook_verdict *v)
{
	struct pctx pc = { .ctx = ctx, .v = v, .depth = 0 };
	const char *t = req->tool_name;
	const char *hit;

	memset(v, 0, sizeof(*v));
	if (strcmp(t, "Bash") == 0) {
		if (req->command == NULL) {
			raise_v(&pc, HOOK_ASK, "no-command",
				"the Bash call carries no command string; the user must confirm.");
			return;
		}
		hook_decide_bash(req->command, ctx, v);
		return;
	}
	if (req->file_path != NULL) {
		bool writes = strcmp(t, "Write") == 0 || strcmp(t, "Edit") == 0 ||
			      strcmp(t, "MultiEdit") == 0 || strcmp(t, "NotebookEdit") == 0;

		if ((hit = cred_hit(req->file_path)) != NULL)
			raise_v(
			    &pc, HOOK_DENY, "credentials",
			    "%s on `%.100s` touches %s, where credentials live. Coding tasks do "
			    "not need them.",
			    t, req->file_path, hit);
		else if (writes && (hit = protected_hit(req->file_path)) != NULL)
			raise_v(&pc, HOOK_DENY, "protected-path",
				"%s on `%.100s` would change %s. That file is off limits to the "
				"agent; tell the user what change you would make instead.",
				t, req->file_path, hit);
	}
	if (v->rule == NULL) {
		v->decision = ctx->sandboxed ? HOOK_ALLOW : HOOK_DEFER;
		v->rule = "default";
		snprintf(v->reason, sizeof(v->reason), "%s",
			 ctx->sandboxed ? "allowed: the tool runs inside the cordon sandbox"
					: "no cordon rule applies");
	}
}
