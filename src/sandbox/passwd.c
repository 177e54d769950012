/* SPDX-License-Identifier: MIT */
/*
 * /etc/passwd and /etc/group for a root invoker's sandbox.
 *
 * The command's uid inside (1000, or the workspace owner's) would
 * otherwise be named after whichever host account has it (`whoami`
 * printing an unrelated user), or be nameless. The supervisor builds both
 * files before clone from the host's: system accounts (id < 1000, and
 * nobody/nogroup) are kept, so `ls -l` still names them; other accounts
 * are left out; one line names the command's uid: the workspace owner's
 * account name when the command runs as or shows that owner, "cordon"
 * otherwise, with the home the command gets ($HOME) and root's shell. The
 * child writes them into its base tmpfs and binds them read-only over the
 * host's (mount.c). A few kilobytes; cost: reading two small files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"

#define SB_PASSWD_MAX (1u << 20)

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Append to a growing text. */
static void
append(char **buf, size_t *len, const char *s, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/*
 * The host file's system entries (the id is the third field in both
 * files), minus any with id drop_id or name drop_name.
 */
static void
keep_system(const char *file, unsigned drop_id, const char *drop_name, char **out, size_t *len)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t n = 0;
	const char *p;

	if (fd < 0 || (text = fd_read_whole(fd, SB_PASSWD_MAX, &n)) == NULL)
		return;
	for (p = text; *p;) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		const char *c1 = memchr(p, ':', (size_t)(end - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		char *stop = NULL;
		unsigned long id;

		if (c1 != NULL && c2 != NULL && p[0] != '#' && p[0] != '+' && p[0] != '-') {
			id = strtoul(c2 + 1, &stop, 10);
			if (stop != c2 + 1 && *stop == ':' && (id < 1000 || id == 65534) &&
			    id != drop_id &&
			    !((size_t)(c1 - p) == strlen(drop_name) &&
			      strncmp(p, drop_name, (size_t)(c1 - p)) == 0)) {
				append(out, len, p, (size_t)(end - p));
				append(out, len, "\n", 1);
			}
		}
		p = nl ? nl + 1 : end;
	}
}

int
sb_passwd_build(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
		struct cordon_err *err)
{
	const char *home = env_get(spec->envp, "HOME");
	const char *name = "cordon", *shell = "/bin/sh";
	_cleanup_free_ char *uname = NULL, *ushell = NULL, *line = NULL;
	struct passwd *pw;
	struct stat st;

	(void)err;
	if (!ids->privileged)
		return 0;
	/* The workspace owner's name when the command runs as or shows that uid. */
	if (stat(spec->workspace, &st) == 0 && st.st_uid != 0 && st.st_uid == ids->inner_uid &&
	    (pw = getpwuid(st.st_uid)) != NULL)
		name = uname = xstrdup(pw->pw_name);
	if ((pw = getpwuid(0)) != NULL && pw->pw_shell != NULL && pw->pw_shell[0] == '/' &&
	    access(pw->pw_shell, X_OK) == 0)
		shell = ushell = xstrdup(pw->pw_shell);
	if (home == NULL || home[0] != '/' || strchr(home, ':') != NULL || strchr(home, '\n'))
		home = "/";

	keep_system("/etc/passwd", ids->inner_uid, name, &r->passwd, &r->passwd_len);
	line = xasprintf("%s:x:%u:%u:cordon sandbox:%s:%s\n", name, (unsigned)ids->inner_uid,
			 (unsigned)ids->inner_gid, home, shell);
	append(&r->passwd, &r->passwd_len, line, strlen(line));
	free(line);
	keep_system("/etc/group", ids->inner_gid, name, &r->group, &r->group_len);
	line = xasprintf("%s:x:%u:\n", name, (unsigned)ids->inner_gid);
	append(&r->group, &r->group_len, line, strlen(line));
	return 0;
}
