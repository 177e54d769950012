/* SPDX-License-Identifier: MIT */
/*
 * Session records (see registry.h). The record text, one item per line,
 * strings percent-encoded (common/pct.h):
 *
 *   cordon-session 1
 *   id <32 hex>
 *   supervisor <pid> <start time>
 *   sandbox <pid> <start time>          (0 0 before the sandbox exists)
 *   started <unix time>
 *   workspace <path>
 *   audit <path>                         (absent: no audit log)
 *   state <dir>
 *   argv <arg> <arg> ...
 *   unsafe                               (present: its own quarantine failed)
 *   snapshot                             (the rest: qr_snapshot_save text)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/pct.h"
#include "common/xalloc.h"
#include "supervisor/control.h"
#include "supervisor/quarantine.h"
#include "supervisor/registry.h"

#define REG_MAGIC    "cordon-session 1"
#define REG_SUFFIX   ".session"
#define REG_TMP      ".tmp"
#define REG_MAX_SIZE (64u * 1024u * 1024u)
#define REG_MAX_ARGS 4096u

int
sv_reg_dir(char *out, size_t len, bool create, struct cordon_err *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char parent[PATH_MAX];
	int n;

	/* The same rule as the audit log's default place (audit_default_path). */
	if (state != NULL && state[0] == '/') {
		n = snprintf(parent, sizeof(parent), "%s/cordon", state);
	} else {
		if (home == NULL || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			home = pw != NULL ? pw->pw_dir : NULL;
		}
		if (home == NULL || home[0] != '/') {
			cordon_err_set(err, 0,
				       "cannot find a home directory for the session records");
			return cordon_err_hint(err, "set HOME or XDG_STATE_HOME");
		}
		n = snprintf(parent, sizeof(parent), "%s/.local/state/cordon",
			     strcmp(home, "/") == 0 ? "" : home);
	}
	if (n < 0 || (size_t)n + strlen("/sessions") >= len || (size_t)n >= sizeof(parent))
		return cordon_err_set(err, ENAMETOOLONG, "session records directory");
	snprintf(out, len, "%s/sessions", parent);
	if (!create)
		return 0;
	if (fd_mkdir_p(parent, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", parent);
	return sv_private_dir(out, err);
}

int
sv_proc_start(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, so start after its last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	*state = p[2];
	p += 3;
	for (int field = 4; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return -1;
	}
	errno = 0;
	*start = strtoull(p + 1, NULL, 10);
	return errno == 0 ? 0 : -1;
}

/* Does pid run, with that start time (so not a reused pid)? */
static bool
runs(pid_t pid, unsigned long long start)
{
	unsigned long long now;
	char state;

	if (pid <= 0 || sv_proc_start(pid, &now, &state) < 0)
		return false;
	return now == start && state != 'Z' && state != 'X';
}

static void
put(FILE *f, const char *s)
{
	_cleanup_free_ char *e = pct_encode(s, strlen(s));

	fprintf(f, " %s", e);
}

char *
sv_reg_format(const struct sv_reg_info *info)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		abort();
	fprintf(f, "%s\nid %s\nsupervisor %d %llu\nsandbox %d %llu\nstarted %lld\nworkspace",
		REG_MAGIC, info->id, (int)info->pid, info->pid_start, (int)info->sandbox_pid,
		info->sandbox_start, info->started);
	put(f, info->workspace);
	if (info->audit_log != NULL) {
		fputs("\naudit", f);
		put(f, info->audit_log);
	}
	fputs("\nstate", f);
	put(f, info->state_dir);
	fputs("\nargv", f);
	for (size_t i = 0; info->argv != NULL && info->argv[i] != NULL; i++)
		put(f, info->argv[i]);
	if (info->unsafe)
		fputs("\nunsafe", f);
	fputs("\nsnapshot\n", f);
	if (info->snapshot != NULL)
		fputs(info->snapshot, f);
	if (fclose(f) != 0)
		abort();
	return text;
}

void
sv_reg_info_free(struct sv_reg_info *info)
{
	free(info->workspace);
	free(info->audit_log);
	free(info->state_dir);
	for (size_t i = 0; info->argv != NULL && info->argv[i] != NULL; i++)
		free(info->argv[i]);
	free(info->argv);
	free(info->snapshot);
	memset(info, 0, sizeof(*info));
}

/* One string token of a line; NULL when missing, malformed or followed by more. */
static char *
one_token(char *rest)
{
	size_t len;

	if (rest == NULL || rest[0] == '\0' || strchr(rest, ' ') != NULL)
		return NULL;
	return pct_decode(rest, &len);
}

static bool
parse_line(struct sv_reg_info *info, char *line, unsigned *seen)
{
	char *rest = strchr(line, ' ');
	int used = 0;

	if (rest != NULL)
		*rest++ = '\0';
	if (strcmp(line, "id") == 0 && !(*seen & 1)) {
		*seen |= 1;
		if (!audit_session_id_ok(rest))
			return false;
		memcpy(info->id, rest, sizeof(info->id));
		return true;
	}
	if (strcmp(line, "supervisor") == 0 && !(*seen & 2)) {
		int pid;

		*seen |= 2;
		if (rest == NULL || sscanf(rest, "%d %llu%n", &pid, &info->pid_start, &used) != 2 ||
		    rest[used] != '\0' || pid <= 0)
			return false;
		info->pid = pid;
		return true;
	}
	if (strcmp(line, "sandbox") == 0 && !(*seen & 4)) {
		int pid;

		*seen |= 4;
		if (rest == NULL ||
		    sscanf(rest, "%d %llu%n", &pid, &info->sandbox_start, &used) != 2 ||
		    rest[used] != '\0' || pid < 0)
			return false;
		info->sandbox_pid = pid;
		return true;
	}
	if (strcmp(line, "started") == 0 && !(*seen & 8)) {
		*seen |= 8;
		return rest != NULL && sscanf(rest, "%lld%n", &info->started, &used) == 1 &&
		       rest[used] == '\0';
	}
	if (strcmp(line, "workspace") == 0 && info->workspace == NULL) {
		info->workspace = one_token(rest);
		return info->workspace != NULL && info->workspace[0] == '/';
	}
	if (strcmp(line, "audit") == 0 && info->audit_log == NULL) {
		info->audit_log = one_token(rest);
		return info->audit_log != NULL && info->audit_log[0] == '/';
	}
	if (strcmp(line, "state") == 0 && info->state_dir == NULL) {
		info->state_dir = one_token(rest);
		return info->state_dir != NULL && info->state_dir[0] == '/';
	}
	if (strcmp(line, "unsafe") == 0 && rest == NULL && !info->unsafe) {
		info->unsafe = true;
		return true;
	}
	if (strcmp(line, "argv") == 0 && info->argv == NULL) {
		char *save = NULL, *t;
		size_t n = 0;

		info->argv = xcalloc(1, sizeof(*info->argv));
		for (t = rest ? strtok_r(rest, " ", &save) : NULL; t != NULL;
		     t = strtok_r(NULL, " ", &save)) {
			size_t len;
			char *a = pct_decode(t, &len);

			if (a == NULL || n == REG_MAX_ARGS) {
				free(a);
				return false;
			}
			info->argv = xrealloc(info->argv, (n + 2) * sizeof(*info->argv));
			info->argv[n++] = a;
			info->argv[n] = NULL;
		}
		return true;
	}
	return false;
}

int
sv_reg_parse(const char *text, struct sv_reg_info *info, struct cordon_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *p = copy, *nl;
	unsigned seen = 0;
	size_t no = 0;

	memset(info, 0, sizeof(*info));
	while ((nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		no++;
		if (no == 1) {
			if (strcmp(p, REG_MAGIC) != 0)
				goto bad;
		} else if (strcmp(p, "snapshot") == 0) {
			if (seen != 15 || info->workspace == NULL || info->state_dir == NULL ||
			    info->argv == NULL)
				goto bad;
			if (nl[1] != '\0')
				info->snapshot = xstrdup(nl + 1);
			return 0;
		} else if (!parse_line(info, p, &seen)) {
			goto bad;
		}
		p = nl + 1;
	}
bad:
	sv_reg_info_free(info);
	return cordon_err_set(err, EINVAL, "malformed session record (line %zu)", no);
}

/*
 * Write text to dir/<id>.tmp, lock it, rename it to path. Returns the
 * locked fd, or -1 with err.
 */
static int
write_record(const struct sv_reg *r, const char *text, struct cordon_err *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s" REG_TMP, r->dir, r->info.id) >= sizeof(tmp))
		return cordon_err_set(err, ENAMETOOLONG, "session record in %s", r->dir);
	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		/* A temporary file of ours left by a killed run: ids do not repeat. */
		if (fd < 0 && errno == EEXIST)
			unlink(tmp);
	}
	if (fd < 0)
		return cordon_err_set(err, errno, "create %s", tmp);
	/* Locked before it has its name: never seen unlocked while we live. */
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0 || fd_write_all(fd, text, strlen(text)) < 0 ||
	    rename(tmp, r->path) < 0) {
		cordon_err_set(err, errno, "write the session record %s", r->path);
		unlink(tmp);
		return -1;
	}
	return steal_fd(fd);
}

static void
dup_info(struct sv_reg_info *to, const struct sv_reg_info *from)
{
	size_t n = 0;

	*to = *from;
	to->workspace = xstrdup(from->workspace);
	to->audit_log = from->audit_log ? xstrdup(from->audit_log) : NULL;
	to->state_dir = xstrdup(from->state_dir);
	to->snapshot = from->snapshot ? xstrdup(from->snapshot) : NULL;
	while (from->argv != NULL && from->argv[n] != NULL)
		n++;
	to->argv = xcalloc(n + 1, sizeof(*to->argv));
	for (size_t i = 0; i < n; i++)
		to->argv[i] = xstrdup(from->argv[i]);
}

int
sv_reg_open(struct sv_reg *r, const struct sv_reg_info *info, struct cordon_err *err)
{
	_cleanup_free_ char *text = NULL;
	char state;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (!audit_session_id_ok(info->id)) {
		cordon_err_set(err, EINVAL, "bad session id");
		return -1;
	}
	if (sv_reg_dir(r->dir, sizeof(r->dir), true, err) < 0)
		return -1;
	if ((size_t)snprintf(r->path, sizeof(r->path), "%s/%s" REG_SUFFIX, r->dir, info->id) >=
	    sizeof(r->path))
		return cordon_err_set(err, ENAMETOOLONG, "session record in %s", r->dir);
	dup_info(&r->info, info);
	r->info.pid = getpid();
	if (sv_proc_start(r->info.pid, &r->info.pid_start, &state) < 0) {
		sv_reg_info_free(&r->info);
		return cordon_err_set(err, errno, "read /proc/self/stat");
	}
	text = sv_reg_format(&r->info);
	r->fd = write_record(r, text, err);
	if (r->fd < 0) {
		sv_reg_info_free(&r->info);
		return -1;
	}
	return 0;
}

int
sv_reg_set_sandbox(struct sv_reg *r, pid_t pid, struct cordon_err *err)
{
	_cleanup_free_ char *text = NULL;
	char state;
	int fd;

	if (r->fd < 0)
		return 0;
	r->info.sandbox_pid = pid;
	if (sv_proc_start(pid, &r->info.sandbox_start, &state) < 0)
		return cordon_err_set(err, errno, "read /proc/%d/stat", (int)pid);
	text = sv_reg_format(&r->info);
	/* The new record is locked before it replaces the old one. */
	fd = write_record(r, text, err);
	if (fd < 0)
		return -1;
	close(r->fd);
	r->fd = fd;
	return 0;
}

void
sv_reg_close(struct sv_reg *r, bool cleaned)
{
	if (r->fd < 0)
		return;
	/* Removed while still locked: a reader never finds it unlocked and whole. */
	if (cleaned) {
		unlink(r->path);
	} else {
		_cleanup_free_ char *text = NULL;
		int fd;

		r->info.unsafe = true;
		text = sv_reg_format(&r->info);
		fd = write_record(r, text, NULL);
		if (fd >= 0)
			close(fd);
	}
	close(r->fd);
	r->fd = -1;
	sv_reg_info_free(&r->info);
}

/* Is fd still the file at path (not replaced, not removed)? */
static bool
still_there(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Open and read one record file; fd left open (unlocked). NULL on failure. */
static char *
read_record(const char *path, int *fd_out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	size_t len;
	char *text;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return NULL;
	text = fd_read_whole(fd, REG_MAX_SIZE, &len);
	if (text == NULL)
		return NULL;
	*fd_out = steal_fd(fd);
	return text;
}

static int
by_start(const void *a, const void *b)
{
	const struct sv_reg_info *x = a, *y = b;

	return x->started < y->started ? -1 : x->started > y->started;
}

int
sv_reg_list(struct sv_reg_info **out, size_t *n, struct cordon_err *err)
{
	char dir[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct sv_reg_info *v = NULL;
	struct dirent *e;

	*out = NULL;
	*n = 0;
	if (sv_reg_dir(dir, sizeof(dir), false, err) < 0)
		return -1;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : cordon_err_set(err, errno, "open %s", dir);
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX * 2];

		if (!has_suffix(e->d_name, REG_SUFFIX))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* A record replaced while we read it: read the new one. */
		for (int attempt = 0; attempt < 3; attempt++) {
			_cleanup_close_ int fd = -1;
			_cleanup_free_ char *text = read_record(path, &fd);
			struct sv_reg_info info;
			bool alive;

			if (text == NULL)
				break;
			alive = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
			if (!alive && !still_there(fd, path))
				continue;
			if (sv_reg_parse(text, &info, NULL) < 0)
				break;
			info.alive = alive;
			v = xrealloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = info;
			break;
		}
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), by_start);
	*out = v;
	return 0;
}

void
sv_reg_list_free(struct sv_reg_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sv_reg_info_free(&v[i]);
	free(v);
}

static void say(sv_reg_say_fn fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(sv_reg_say_fn fn, void *arg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(arg, line);
}

/*
 * The sandbox of a dead supervisor: its pid 1 got SIGKILL when the
 * supervisor died (PR_SET_PDEATHSIG), and the kernel kills the rest of its
 * pid namespace before pid 1 becomes a zombie. Make sure of it: kill it
 * ourselves if it still runs (through a pidfd taken before its start time
 * is checked, so never a reused pid), then wait a bounded time. 0 when it
 * is gone, -1 when it still runs.
 */
static int
sandbox_gone(pid_t pid, unsigned long long start)
{
	_cleanup_close_ int pidfd = -1;

	if (!runs(pid, start))
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0 && runs(pid, start))
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (!runs(pid, start))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* The command as one short line, for messages. */
static void
command_line(const struct sv_reg_info *info, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; info->argv[i] != NULL && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? " " : "", info->argv[i]);
	if (o >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/*
 * The length of the first snapshot in text, through its "end" line: a
 * session with several workspaces saved one snapshot after the other.
 */
static size_t
snapshot_len(const char *text)
{
	const char *p = text;

	for (;;) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, "end", 3) == 0 && (p[3] == '\n' || p[3] == '\0'))
			return (size_t)(p - text) + 3 + (p[3] == '\n');
		if (nl == NULL)
			return strlen(text);
		p = nl + 1;
	}
}

/* The quarantine of one loaded snapshot, said through fn; *keep when not all made safe. */
static void
recover_snapshot(struct qr_snapshot *snap, const char *state_dir, sv_reg_say_fn fn, void *arg,
		 bool *keep)
{
	struct cordon_err err = { 0 };
	int r = qr_run(snap, state_dir, &err);

	for (size_t i = 0; i < snap->n_report; i++)
		say(fn, arg, "%s: %s", snap->workspace, snap->report[i]);
	if (r < 0) {
		say(fn, arg, "warning: %s%s%s", err.msg, err.hint[0] ? "; " : "", err.hint);
		*keep = true;
	} else if (r > 0) {
		say(fn, arg,
		    "%d protected item%s of %s made safe; review them before trusting "
		    "this workspace again",
		    r, r == 1 ? "" : "s", snap->workspace);
	}
}

/* Finish one dead session's clean-up. 1 done, 0 nothing to do / not now. */
static int
recover_one(const char *path, const struct audit_closer *by, sv_reg_say_fn fn, void *arg)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = read_record(path, &fd);
	struct sv_reg_info info;
	struct cordon_err err = { 0 };
	struct qr_snapshot snap;
	char cmd[160];
	bool keep = false;
	size_t off = 0;

	if (text == NULL || flock(fd, LOCK_EX | LOCK_NB) < 0 || !still_there(fd, path))
		return 0;
	if (sv_reg_parse(text, &info, &err) < 0) {
		char bad[PATH_MAX * 2 + 16];

		snprintf(bad, sizeof(bad), "%s.damaged", path);
		rename(path, bad);
		say(fn, arg,
		    "warning: %s: %s; its session's clean-up cannot be finished: check the "
		    "git hooks and config of its workspace by hand (kept as %s)",
		    path, err.msg, bad);
		return 0;
	}
	/* Lock free, yet the supervisor runs: not ours to touch. */
	if (runs(info.pid, info.pid_start)) {
		sv_reg_info_free(&info);
		return 0;
	}
	command_line(&info, cmd, sizeof(cmd));
	if (info.unsafe)
		say(fn, arg,
		    "session %.12s (`%s` in %s) could not make its workspace safe when it ended; "
		    "trying again",
		    info.id, cmd, info.workspace);
	else
		say(fn, arg,
		    "session %.12s (`%s` in %s) did not finish its clean-up: its cordon (pid %d) "
		    "was killed; finishing it now",
		    info.id, cmd, info.workspace, (int)info.pid);
	if (info.sandbox_pid > 0 && sandbox_gone(info.sandbox_pid, info.sandbox_start) < 0) {
		say(fn, arg,
		    "warning: the sandbox of session %.12s (pid %d) still runs; its clean-up "
		    "waits for the next cordon",
		    info.id, (int)info.sandbox_pid);
		sv_reg_info_free(&info);
		return 0;
	}
	/* One snapshot per read-write workspace, the primary first. */
	for (size_t nth = 0, len; info.snapshot != NULL && info.snapshot[off] != '\0';
	     nth++, off += len) {
		_cleanup_free_ char *one = NULL;

		len = snapshot_len(info.snapshot + off);
		one = xasprintf("%.*s", (int)len, info.snapshot + off);
		cordon_err_clear(&err);
		if (qr_snapshot_load(&snap, one, &err) < 0) {
			say(fn, arg,
			    "warning: session %.12s: %s; check the git hooks and config of %s by "
			    "hand",
			    info.id, err.msg, nth == 0 ? info.workspace : "its further workspace");
			continue; /* the others' snapshots still load */
		}
		if (nth > 0)
			snap.qdir = qr_qdir_name(info.state_dir, nth);
		recover_snapshot(&snap, info.state_dir, fn, arg, &keep);
		qr_snapshot_free(&snap);
	}
	if (info.audit_log != NULL) {
		int r;

		cordon_err_clear(&err);
		r = audit_close_orphan(info.audit_log, info.id, "supervisor-killed", by, &err);
		if (r > 0)
			say(fn, arg, "session %s closed in the audit log %s", info.id,
			    info.audit_log);
		else if (r < 0)
			say(fn, arg, "warning: session %.12s: %s", info.id, err.msg);
	}
	/* Its cordon is gone: so is whoever listened on its control socket. */
	if (info.id[0] != '\0')
		sv_control_sweep(info.id);
	if (!keep)
		unlink(path);
	sv_reg_info_free(&info);
	return 1;
}

int
sv_reg_recover(const struct audit_closer *by, sv_reg_say_fn fn, void *arg)
{
	char dir[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int n = 0;

	sv_control_sweep(NULL);
	if (sv_reg_dir(dir, sizeof(dir), false, NULL) < 0)
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX * 2];

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (has_suffix(e->d_name, REG_SUFFIX)) {
			n += recover_one(path, by, fn, arg);
		} else if (has_suffix(e->d_name, REG_TMP)) {
			/*
			 * A record its writer never named (killed in between). Old
			 * ones only: a writer locks its file just after creating it.
			 */
			_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			struct stat st;

			if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtime + 60 < time(NULL) &&
			    flock(fd, LOCK_EX | LOCK_NB) == 0 && still_there(fd, path))
				unlink(path);
		}
	}
	return n;
}
