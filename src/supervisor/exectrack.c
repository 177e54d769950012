/* SPDX-License-Identifier: MIT */
/*
 * Exec outcomes: the exec record says what the kernel did, not what the
 * caller asked for.
 *
 * The exec notification is answered "continue": the kernel then reads the
 * path and argv again, from the caller's memory, which another thread (or
 * another process sharing that memory) may have rewritten since the
 * supervisor read it (seccomp_unotify(2)). So the call as read is only a
 * claim, written before the kernel acts as an exec_request record (under
 * audit.failClosed, an exec whose request cannot be written does not run).
 * Here each call is kept pending, with:
 *
 *  - what its path named at the call: the (dev, ino) of the file, looked up
 *    the way the caller would (an absolute path under /proc/PID/root with
 *    RESOLVE_IN_ROOT; a relative one beneath its cwd or dirfd with
 *    RESOLVE_BENEATH; an fd as /proc/PID/fd/N), and whether it is a "#!"
 *    script;
 *  - the caller's state before the exec: the identity of /proc/PID/exe, the
 *    mm's layout in /proc/PID/stat (start and end of code, data, brk, stack,
 *    arguments, environment) and the 16 AT_RANDOM bytes of its auxv;
 *  - a pidfd of its process, so that a reused pid is never read as it.
 *
 * A new image changes that state: a new mm gets a new random layout (the
 * sandbox cannot turn ASLR off: personality(ADDR_NO_RANDOMIZE) is refused
 * by the seccomp filter) and new AT_RANDOM bytes, which the new program
 * could only forge in its own memory, not in the kernel's layout. The call
 * is settled, and its exec record written:
 *
 *  - at the caller's next notified call (another exec, or exit_group, which
 *    the notify filter includes for this): its exec is over. State changed:
 *    "ran", and the record names the file in /proc/PID/exe, read while the
 *    process is stopped in that call. Unchanged: "failed", with the errno
 *    cordon's own lookup found (ENOENT, EACCES...) where it found one;
 *  - from a timer (5 ms, then doubling up to 1 s), or at any notified exec
 *    or exit_group in the sandbox (up to SWEEP other calls looked at: so a
 *    process's exec record comes before the calls its children make
 *    later), once the state changed: "ran", the program is still running;
 *  - when the process is gone, or at the session's end, with no change
 *    seen: "unknown" (killed by a signal before a look, or by the end).
 *
 * Guaranteed: an exec record with "ran" names the file the process was
 * executing when cordon looked, after the exec (for a "#!" script: its
 * interpreter, the record says "script"); when that is not the file the
 * claimed path named at the call, it says "path_mismatch" with both. A
 * program run by fd, or from a file with no name left (a memfd, a deleted
 * file), or a mismatch, carries the SHA-256 of the file that ran, read
 * through /proc/PID/exe after the exec, up to SV_EXEC_MAX_DIGEST bytes.
 * The kernel refuses a new open for writing of a file being executed
 * (ETXTBSY), but not writes through an fd opened before (Linux 6.18 even
 * executes a memfd still open for writing): a process that kept such an
 * fd can change the content between the exec and the digest. Failed calls are
 * not counted as programs run.
 *
 * Not guaranteed: argv is as read at the call (the new program's own
 * argument area is writable by it, so it is no better); a program that
 * ends by a signal before any look is "unknown"; a program whose file the
 * supervisor cannot read (not readable by its user, when cordon is not
 * root) has no digest; a relative path that leaves its directory (`..`
 * above it, an absolute symlink) has no claimed identity, so no mismatch
 * can be flagged for it (the file that ran is still named). Where the host
 * has ASLR off (kernel.randomize_va_space=0), a re-exec of the same file
 * whose new image rewrites its AT_RANDOM bytes at once could pass for a
 * failed call; the file named is the same either way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/log.h"
#include "supervisor/exectrack.h"
#include "supervisor/notify.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* Largest file hashed for a digest (a bigger one: "digest_skipped"). */
#define SV_EXEC_MAX_DIGEST (256u << 20)

#define FIRST_CHECK_MS 5u
#define SWEEP          32 /* other pending calls looked at per notification */
#define LAST_CHECK_MS  1000u

/* /proc/PID/stat fields of the mm's layout: 26-28 and 45-51. */
#define N_MM_FIELDS 10

struct exec_state {
	bool exe_known;
	uint64_t exe_dev, exe_ino;
	bool mm_known;
	uint64_t mm[N_MM_FIELDS];
	bool rnd_known;
	unsigned char rnd[16];
};

struct exec_claim {
	bool known; /* dev/ino */
	uint64_t dev, ino;
	mode_t mode;
	bool script;
	bool fd_exec;
	int err; /* errno of the lookup when !known */
};

struct pending {
	pid_t tid, tgid;
	int pidfd;
	struct audit_exec_event ev; /* path/argv point into buf */
	char *buf;
	const char **argv;
	size_t *argv_len;
	struct exec_claim claim;
	struct exec_state pre;
	uint64_t next_ms;
	unsigned interval_ms;
};

struct sv_exectrack {
	struct px_loop *loop;
	struct cordon_audit *audit;
	struct px_timer timer;
	struct pending *p[SV_EXEC_MAX_PENDING];
	size_t n; /* in order of begin: p[0] is the oldest */
};

static int
proc_open(pid_t pid, const char *what, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, flags | O_CLOEXEC);
}

static bool
alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* The layout fields of /proc/PID/stat (zeros when not permitted). */
static bool
read_mm(pid_t pid, uint64_t mm[N_MM_FIELDS])
{
	static const int want[N_MM_FIELDS] = { 26, 27, 28, 45, 46, 47, 48, 49, 50, 51 };
	_cleanup_close_ int fd = proc_open(pid, "stat", O_RDONLY);
	char buf[1024], *p, *save = NULL;
	ssize_t n;
	int field = 3;
	size_t k = 0;
	bool any = false;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return false;
	for (char *tok = strtok_r(p + 1, " \n", &save); tok != NULL && k < N_MM_FIELDS;
	     tok = strtok_r(NULL, " \n", &save), field++) {
		if (field != want[k])
			continue;
		mm[k] = strtoull(tok, NULL, 10);
		any |= mm[k] != 0;
		k++;
	}
	return k == N_MM_FIELDS && any;
}

/* The 16 bytes at AT_RANDOM in pid's memory. */
static bool
read_random(pid_t pid, unsigned char rnd[16])
{
	_cleanup_close_ int fd = proc_open(pid, "auxv", O_RDONLY);
	unsigned long aux[128];
	ssize_t n;

	if (fd < 0 || (n = read(fd, aux, sizeof(aux))) <= 0)
		return false;
	for (size_t i = 0; i + 1 < (size_t)n / sizeof(aux[0]); i += 2) {
		if (aux[i] != 25 /* AT_RANDOM */)
			continue;
		{
			struct iovec local = { rnd, 16 };
			struct iovec remote = { (void *)(uintptr_t)aux[i + 1], 16 };

			return process_vm_readv(pid, &local, 1, &remote, 1, 0) == 16;
		}
	}
	return false;
}

static void
read_state(pid_t pid, struct exec_state *s)
{
	struct stat st;
	char path[64];

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) == 0) {
		s->exe_known = true;
		s->exe_dev = (uint64_t)st.st_dev;
		s->exe_ino = (uint64_t)st.st_ino;
	}
	s->mm_known = read_mm(pid, s->mm);
	s->rnd_known = read_random(pid, s->rnd);
}

/* Did the process get a new image between a and b? */
static bool
state_changed(const struct exec_state *a, const struct exec_state *b)
{
	if (a->exe_known && b->exe_known && (a->exe_dev != b->exe_dev || a->exe_ino != b->exe_ino))
		return true;
	/*
	 * Readable only when cordon may look into the process: that changes
	 * only at an exec (dumpable again in the sandbox's user namespace, or
	 * no longer, for a file cordon's user cannot read) or by the
	 * process's own prctl(PR_SET_DUMPABLE).
	 */
	if (a->mm_known != b->mm_known)
		return true;
	if (a->mm_known && memcmp(a->mm, b->mm, sizeof(a->mm)) != 0)
		return true;
	return a->rnd_known && b->rnd_known && memcmp(a->rnd, b->rnd, sizeof(a->rnd)) != 0;
}

/* "/proc/self/fd/N", "/proc/thread-self/fd/N", "/dev/fd/N": N, else -1. */
static int
fd_path(const char *path, size_t len, bool *thread)
{
	static const char *const pre[] = { "/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/" };
	long v = 0;

	for (size_t i = 0; i < 3; i++) {
		size_t pl = strlen(pre[i]);
		const char *p = path + pl;

		if (len <= pl || strncmp(path, pre[i], pl) != 0)
			continue;
		for (; p < path + len; p++) {
			if (*p < '0' || *p > '9' || v > 1000000)
				return -1;
			v = v * 10 + (*p - '0');
		}
		*thread = i == 1;
		return (int)v;
	}
	return -1;
}

/* Identity of what fd (an O_PATH fd) names, and whether it is a "#!" script. */
static void
claim_from_fd(int fd, struct exec_claim *c)
{
	struct stat st;
	char self[64], head[2];

	if (fstat(fd, &st) < 0) {
		c->err = errno;
		return;
	}
	c->known = true;
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	c->mode = st.st_mode;
	if (!S_ISREG(st.st_mode))
		return;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	{
		_cleanup_close_ int rfd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

		c->script =
		    rfd >= 0 && pread(rfd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!';
	}
}

/* What the call's path named at the call, looked up as the caller would. */
static void
read_claim(pid_t tid, pid_t tgid, const struct audit_exec_event *ev, struct exec_claim *c)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	_cleanup_close_ int base = -1, fd = -1;
	char proc[64];
	bool thread = false;
	int n;

	memset(c, 0, sizeof(*c));
	if (ev->path == NULL) {
		c->err = EFAULT;
		return;
	}
	if (strcmp(ev->syscall, "execveat") == 0 && (ev->flags & AT_EMPTY_PATH) &&
	    ev->path_len == 0) {
		c->fd_exec = true;
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", (int)tgid, ev->dirfd);
		fd = open(proc, O_PATH | O_CLOEXEC);
	} else if ((n = fd_path(ev->path, ev->path_len, &thread)) >= 0) {
		c->fd_exec = true;
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", (int)(thread ? tid : tgid), n);
		fd = open(proc, O_PATH | O_CLOEXEC);
	} else if (strlen(ev->path) != ev->path_len || ev->path_len == 0) {
		c->err = ENOENT; /* cut short, or empty without AT_EMPTY_PATH */
		return;
	} else {
		if (strncmp(ev->path, "/proc/", 6) == 0 && strstr(ev->path, "/fd/") != NULL)
			c->fd_exec = true; /* another process's fd: not looked up */
		if (ev->path[0] == '/') {
			base = proc_open(tgid, "root", O_PATH | O_DIRECTORY);
			how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		} else {
			if (strcmp(ev->syscall, "execveat") == 0 && ev->dirfd != AT_FDCWD) {
				snprintf(proc, sizeof(proc), "fd/%d", ev->dirfd);
				base = proc_open(tgid, proc, O_PATH | O_DIRECTORY);
			} else {
				base = proc_open(tgid, "cwd", O_PATH | O_DIRECTORY);
			}
			how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		}
		if (strcmp(ev->syscall, "execveat") == 0 && (ev->flags & AT_SYMLINK_NOFOLLOW))
			how.flags |= O_NOFOLLOW;
		if (base < 0) {
			c->err = errno;
			return;
		}
		fd = (int)syscall(SYS_openat2, base, ev->path, &how, sizeof(how));
		/* Left its directory: cordon cannot tell what the caller's walk finds. */
		if (fd < 0 && errno == EXDEV) {
			c->err = 0;
			return;
		}
	}
	if (fd < 0) {
		c->err = errno;
		return;
	}
	claim_from_fd(fd, c);
}

/* The errno a failed call most likely got, from cordon's lookup; 0 unknown. */
static int
failure_errno(const struct exec_claim *c)
{
	if (!c->known)
		return c->err;
	if (S_ISDIR(c->mode) || !S_ISREG(c->mode) || (c->mode & 0111) == 0)
		return EACCES;
	return 0;
}

/* SHA-256 of the file pid is executing, into out ("sha256:<hex>"); NULL or why not. */
static const char *
digest_exe(pid_t pid, char out[8 + AUDIT_HASH_HEX])
{
	_cleanup_close_ int fd = proc_open(pid, "exe", O_RDONLY);
	static unsigned char buf[65536];
	struct cordon_sha256 c;
	unsigned char md[32];
	struct stat st;
	off_t off = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return "unreadable";
	if ((uint64_t)st.st_size > SV_EXEC_MAX_DIGEST)
		return "too-large";
	cordon_sha256_init(&c);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return "unreadable";
		if (n == 0)
			break;
		cordon_sha256_update(&c, buf, (size_t)n);
		off += n;
		if ((uint64_t)off > SV_EXEC_MAX_DIGEST)
			return "too-large";
	}
	cordon_sha256_final(&c, md);
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return NULL;
}

void
sv_exectrack_write_failed(struct cordon_audit *audit, const struct cordon_err *err)
{
	if (!audit_fail_closed(audit) && audit_counters(audit)->write_errors == 1)
		log_warnx("%s (audit.failClosed is off: the session goes on)", err->msg);
}

enum settle {
	SETTLE_WAIT,  /* a timer's look: settle only a change */
	SETTLE_OVER,  /* the call is over (the caller's next call, exit_group) */
	SETTLE_AS_IS, /* no more looks: the end, or no room */
};

/* Settle p if it can be: write its record and return true; false: still pending. */
static bool
settle(struct sv_exectrack *t, struct pending *p, enum settle how)
{
	struct audit_exec_event ev = p->ev;
	struct exec_state post;
	struct cordon_err err = { 0 };
	char link[4096], digest[8 + AUDIT_HASH_HEX];
	struct stat st;
	bool live = alive(p->pidfd), changed = false;

	if (live) {
		read_state(p->tgid, &post);
		changed = state_changed(&p->pre, &post);
		live = alive(p->pidfd); /* what was read is this process's */
	}
	if (live && changed) {
		char exe[64];
		ssize_t n;

		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)p->tgid);
		n = readlink(exe, link, sizeof(link) - 1);
		ev.outcome = "ran";
		if (n >= 0 && stat(exe, &st) == 0 && alive(p->pidfd)) {
			link[n] = '\0';
			ev.file_path = link;
			ev.file_dev = (uint64_t)st.st_dev;
			ev.file_ino = (uint64_t)st.st_ino;
			ev.path_mismatch =
			    p->claim.known && !p->claim.script &&
			    (p->claim.dev != ev.file_dev || p->claim.ino != ev.file_ino);
			if (p->claim.fd_exec || st.st_nlink == 0 ||
			    strncmp(link, "/memfd:", 7) == 0 || ev.path_mismatch) {
				ev.digest_skipped = digest_exe(p->tgid, digest);
				if (ev.digest_skipped == NULL && alive(p->pidfd))
					ev.digest = digest;
				else if (ev.digest_skipped == NULL)
					ev.digest_skipped = "gone";
			}
		}
	} else if (live && how == SETTLE_OVER) {
		ev.outcome = "failed";
		ev.error = failure_errno(&p->claim);
	} else if (!live || how == SETTLE_AS_IS) {
		ev.outcome = "unknown";
	} else {
		return false;
	}
	ev.fd_exec = p->claim.fd_exec;
	ev.script = p->claim.script;
	ev.claimed_known = p->claim.known;
	ev.claimed_dev = p->claim.dev;
	ev.claimed_ino = p->claim.ino;
	if (audit_exec(t->audit, &ev, &err) < 0)
		sv_exectrack_write_failed(t->audit, &err);
	return true;
}

static void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->buf);
	free(p->argv);
	free(p->argv_len);
	free(p);
}

static void
drop(struct sv_exectrack *t, size_t i)
{
	pending_free(t->p[i]);
	memmove(&t->p[i], &t->p[i + 1], (t->n - i - 1) * sizeof(t->p[0]));
	t->n--;
}

static void
arm(struct sv_exectrack *t)
{
	uint64_t now = px_now_ms(), when = UINT64_MAX;

	for (size_t i = 0; i < t->n; i++)
		if (t->p[i]->next_ms < when)
			when = t->p[i]->next_ms;
	if (when == UINT64_MAX) {
		px_timer_disarm(t->loop, &t->timer);
		return;
	}
	if (px_timer_arm(t->loop, &t->timer, when > now ? when - now : 0) < 0)
		log_warn("exec audit timer");
}

static void
on_timer(struct px_loop *loop, struct px_timer *tm)
{
	struct sv_exectrack *t = px_container_of(tm, struct sv_exectrack, timer);
	uint64_t now = px_now_ms();

	(void)loop;
	for (size_t i = 0; i < t->n;) {
		struct pending *p = t->p[i];

		if (p->next_ms > now) {
			i++;
		} else if (settle(t, p, SETTLE_WAIT)) {
			drop(t, i);
		} else {
			if (p->interval_ms < LAST_CHECK_MS)
				p->interval_ms *= 2;
			p->next_ms = now + p->interval_ms;
			i++;
		}
	}
	arm(t);
}

struct sv_exectrack *
sv_exectrack_new(struct px_loop *loop, struct cordon_audit *audit)
{
	struct sv_exectrack *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->loop = loop;
	t->audit = audit;
	px_timer_init(&t->timer, on_timer);
	return t;
}

/* Thread-group id of tid, from /proc; tid itself if unknown. */
static pid_t
tgid_of(pid_t tid)
{
	_cleanup_close_ int fd = proc_open(tid, "status", O_RDONLY);
	char buf[512], *p;
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return tid;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	return p != NULL ? (pid_t)strtol(p + 6, NULL, 10) : tid;
}

/* A copy of ev's path and argv into p. */
static int
copy_event(struct pending *p, const struct audit_exec_event *ev)
{
	size_t total = ev->path_len + 1, off = 0;

	for (size_t i = 0; i < ev->argc; i++)
		total += ev->argv_len[i] + 1;
	p->buf = malloc(total);
	p->argv = calloc(ev->argc + 1, sizeof(*p->argv));
	p->argv_len = calloc(ev->argc + 1, sizeof(*p->argv_len));
	if (p->buf == NULL || p->argv == NULL || p->argv_len == NULL)
		return -1;
	p->ev = *ev;
	if (ev->path != NULL) {
		memcpy(p->buf, ev->path, ev->path_len);
		p->buf[ev->path_len] = '\0';
		p->ev.path = p->buf;
		off = ev->path_len + 1;
	}
	for (size_t i = 0; i < ev->argc; i++) {
		memcpy(p->buf + off, ev->argv[i], ev->argv_len[i]);
		p->buf[off + ev->argv_len[i]] = '\0';
		p->argv[i] = p->buf + off;
		p->argv_len[i] = ev->argv_len[i];
		off += ev->argv_len[i] + 1;
	}
	p->ev.argv = p->argv;
	p->ev.argv_len = p->argv_len;
	return 0;
}

int
sv_exectrack_begin(struct sv_exectrack *t, int notify_fd, const struct seccomp_notif *req,
		   const struct audit_exec_event *ev, uint64_t request_seq)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	p->pidfd = -1;
	p->tid = (pid_t)req->pid;
	p->tgid = p->tid;
	p->pidfd = (int)syscall(SYS_pidfd_open, p->tid, 0);
	if (p->pidfd < 0 && errno == EINVAL) {
		/* Not a thread-group leader: the process is its leader's. */
		p->tgid = tgid_of(p->tid);
		p->pidfd = (int)syscall(SYS_pidfd_open, p->tgid, 0);
	}
	if (p->pidfd < 0 || copy_event(p, ev) < 0) {
		int e = p->pidfd < 0 ? errno : ENOMEM;

		pending_free(p);
		errno = e;
		return -1;
	}
	p->ev.request_seq = request_seq;
	read_claim(p->tid, p->tgid, ev, &p->claim);
	read_state(p->tgid, &p->pre);
	if (!sv_notify_id_valid(notify_fd, req->id)) {
		/* The caller died: what was read may be another process's. */
		pending_free(p);
		errno = ESRCH;
		return -1;
	}
	if (t->n == SV_EXEC_MAX_PENDING) {
		settle(t, t->p[0], SETTLE_AS_IS);
		drop(t, 0);
	}
	p->interval_ms = FIRST_CHECK_MS;
	p->next_ms = px_now_ms() + FIRST_CHECK_MS;
	t->p[t->n++] = p;
	arm(t);
	return 0;
}

void
sv_exectrack_seen(struct sv_exectrack *t, pid_t tid, bool exiting)
{
	pid_t tgid = 0;
	bool any = false;

	if (t == NULL || t->n == 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		any |= t->p[i]->tid == tid || t->p[i]->tgid == tid;
	/* A thread that is not its process's leader: find the process. */
	if (!any && exiting)
		tgid = tgid_of(tid);
	for (size_t i = 0; i < t->n;) {
		struct pending *p = t->p[i];
		bool over = p->tid == tid || (exiting && (p->tgid == tid || p->tgid == tgid));

		/*
		 * Another thread of its process, or one of the oldest of the
		 * others: only a change settles it. Looking at the others too
		 * writes a process's exec record before the calls its children
		 * make after it, as a reader expects (bounded: this runs at
		 * every notified exec and exit).
		 */
		if ((over || p->tgid == tid || i < SWEEP) &&
		    settle(t, p, over ? SETTLE_OVER : SETTLE_WAIT))
			drop(t, i);
		else
			i++;
	}
	arm(t);
}

void
sv_exectrack_free(struct sv_exectrack *t)
{
	if (t == NULL)
		return;
	px_timer_disarm(t->loop, &t->timer);
	while (t->n > 0) {
		settle(t, t->p[0], SETTLE_AS_IS);
		drop(t, 0);
	}
	free(t);
}
