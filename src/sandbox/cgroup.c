/* SPDX-License-Identifier: MIT */
/*
 * Resource ceilings: memory, cpu, pids. Three mechanisms, best first:
 *
 *   cgroup v2   a delegated subtree we can write to (our own cgroup, with
 *               the controllers enabled in its cgroup.subtree_control or
 *               enableable by us): a child cgroup "cordon-<pid>" with
 *               memory.max (+ memory.swap.max 0), pids.max, cpu.max.
 *   cgroup v1   the controllers' own hierarchies (root on a hybrid or v1
 *               host): "cordon-<pid>" under our cgroup in memory, pids and
 *               cpu, with memory.limit_in_bytes (+ memsw), pids.max,
 *               cpu.cfs_quota_us.
 *   rlimits     when no cgroup is writable. RLIMIT_DATA for memory: counts
 *               private writable mappings per process, not the sandbox as a
 *               whole, and fails allocations (ENOMEM) instead of killing.
 *               RLIMIT_NPROC for pids: counted per (user namespace, uid)
 *               since Linux 5.14, so per sandbox here (own user namespace),
 *               but against threads too. There is no rlimit for a cpu
 *               share: --cpus without a cgroup is refused (best effort:
 *               ignored, and said so).
 *
 * Disk (--disk): RLIMIT_FSIZE in every mechanism, the one bound the kernel
 * gives an unprivileged process on what it writes through a host path. It
 * bounds each file, not their sum: a write past it fails with EFBIG after
 * SIGXFSZ, whose default action ends the writer (status 128+25, explained
 * at the end). The sandbox's own tmpfs mounts share one size= (mount.c).
 * A total for the workspace would need quotas (root, and a file system
 * set up for them): not done. Only --disk asked: no cgroup is made.
 *
 * The cgroup is created in the supervisor before clone and pid 1 is moved
 * into it before it is told to go on, so everything the command starts is
 * inside. The sandbox then gets its own cgroup namespace rooted there. The
 * cgroup is removed when the sandbox has ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "sandbox/steps.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#define CG_ROOT       "/sys/fs/cgroup"
#define CPU_PERIOD_US 100000u

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG__MAX };
static const char *const cg_names[CG__MAX] = { "memory", "pids", "cpu" };

struct sb_resources {
	enum sb_res_mech mech;
	uint64_t memory_max, disk_max;
	uint32_t cpu_millis, pids_max;
	char dirs[CG__MAX][PATH_MAX]; /* v1: one per controller; v2: dirs[0] only */
};

const char *
sb_res_mech_name(enum sb_res_mech mech)
{
	switch (mech) {
	case SB_RES_CGROUP2:
		return "cgroup v2";
	case SB_RES_CGROUP1:
		return "cgroup v1";
	case SB_RES_RLIMIT:
		return "rlimits";
	case SB_RES_NONE:
	default:
		return "none";
	}
}

static int
read_small(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = fd_read_all(fd, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int
write_str(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return fd_write_file(path, val, strlen(val));
}

static int
is_fs(const char *path, long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (long)sfs.f_type == magic;
}

/* Our cgroup path in the v1 hierarchy of ctrl ("0::" for v2 when ctrl is ""). */
static int
own_cgroup(const char *ctrl, char *out, size_t len)
{
	char buf[4096], *line, *save = NULL;

	if (read_small("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (c2 == NULL)
			continue;
		*c2 = '\0';
		/* v2 line: "0::/path" (line is "0:" here, the list empty) */
		if (ctrl[0] == '\0' && strcmp(line, "0:") == 0 && c1[1] == '\0')
			goto found;
		if (ctrl[0] != '\0') {
			char *tok, *s2 = NULL;

			for (tok = strtok_r(c1 + 1, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2))
				if (strcmp(tok, ctrl) == 0)
					goto found;
		}
		continue;
	found:
		if ((size_t)snprintf(out, len, "%s", c2 + 1) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	errno = ENOENT;
	return -1;
}

/* Where the unified hierarchy is mounted, or NULL. */
static const char *
v2_mount(void)
{
	if (is_fs(CG_ROOT, CGROUP2_SUPER_MAGIC))
		return CG_ROOT;
	if (is_fs(CG_ROOT "/unified", CGROUP2_SUPER_MAGIC))
		return CG_ROOT "/unified";
	return NULL;
}

static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return 1;
	return 0;
}

static void
wanted(const struct sb_resources *r, int want[CG__MAX])
{
	want[CG_MEMORY] = r->memory_max != 0;
	want[CG_PIDS] = r->pids_max != 0;
	want[CG_CPU] = r->cpu_millis != 0;
}

/*
 * Remove cgroups left by a cordon that was killed before it could clean up
 * ("cordon-<pid>" whose pid is gone). Best effort: a busy or foreign
 * directory stays.
 */
static void
remove_stale(const char *base)
{
	_cleanup_closedir_ DIR *d = opendir(base);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(e->d_name, "cordon-", 7) != 0)
			continue;
		pid = strtol(e->d_name + 7, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, e->d_name) < sizeof(path) &&
		    rmdir(path) == 0)
			log_debug("removed stale cgroup %s", path);
	}
}

/*
 * v2: base directory whose subtree has every wanted controller, or -1.
 * With create, enable missing controllers and make the child cgroup.
 */
static int
v2_setup(struct sb_resources *r, int create)
{
	const char *mnt = v2_mount();
	char own[PATH_MAX], base[PATH_MAX], ctl[512];
	int want[CG__MAX];

	if (mnt == NULL || own_cgroup("", own, sizeof(own)) < 0)
		return -1;
	if ((size_t)snprintf(base, sizeof(base), "%s%s", mnt, strcmp(own, "/") ? own : "") >=
	    sizeof(base))
		return -1;
	if (access(base, W_OK) < 0)
		return -1;
	{
		char path[PATH_MAX + 32], avail[512], sub[512];

		snprintf(path, sizeof(path), "%s/cgroup.controllers", base);
		if (read_small(path, avail, sizeof(avail)) < 0)
			return -1;
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
		if (read_small(path, sub, sizeof(sub)) < 0)
			return -1;
		wanted(r, want);
		for (int c = 0; c < CG__MAX; c++) {
			if (!want[c] || has_word(sub, cg_names[c]))
				continue;
			if (!has_word(avail, cg_names[c]))
				return -1;
			if (!create)
				continue;
			/*
			 * Fails with EBUSY when our cgroup holds processes (the
			 * "no internal processes" rule): then we cannot use v2.
			 */
			snprintf(ctl, sizeof(ctl), "+%s", cg_names[c]);
			if (write_str(base, "cgroup.subtree_control", ctl) < 0)
				return -1;
		}
	}
	if (!create)
		return 0;
	remove_stale(base);
	if ((size_t)snprintf(r->dirs[0], sizeof(r->dirs[0]), "%s/cordon-%d", base, (int)getpid()) >=
	    sizeof(r->dirs[0]))
		return -1;
	if (mkdir(r->dirs[0], 0755) < 0) {
		r->dirs[0][0] = '\0';
		return -1;
	}
	if (want[CG_MEMORY]) {
		char v[32];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->memory_max);
		if (write_str(r->dirs[0], "memory.max", v) < 0)
			return -1;
		/* Without swap in the limit, a hog swaps instead of being stopped. */
		if (write_str(r->dirs[0], "memory.swap.max", "0") < 0 && errno != ENOENT)
			return -1;
	}
	if (want[CG_PIDS]) {
		char v[32];

		snprintf(v, sizeof(v), "%u", r->pids_max);
		if (write_str(r->dirs[0], "pids.max", v) < 0)
			return -1;
	}
	if (want[CG_CPU]) {
		char v[48];

		snprintf(v, sizeof(v), "%llu %u",
			 (unsigned long long)r->cpu_millis * CPU_PERIOD_US / 1000, CPU_PERIOD_US);
		if (write_str(r->dirs[0], "cpu.max", v) < 0)
			return -1;
	}
	return 0;
}

/* v1: one child cgroup per wanted controller. */
static int
v1_setup(struct sb_resources *r, int create)
{
	int want[CG__MAX];

	wanted(r, want);
	for (int c = 0; c < CG__MAX; c++) {
		char mnt[64], own[PATH_MAX], base[PATH_MAX];

		if (!want[c])
			continue;
		snprintf(mnt, sizeof(mnt), CG_ROOT "/%s", cg_names[c]);
		if (!is_fs(mnt, CGROUP_SUPER_MAGIC) ||
		    own_cgroup(cg_names[c], own, sizeof(own)) < 0)
			return -1;
		if ((size_t)snprintf(base, sizeof(base), "%s%s", mnt,
				     strcmp(own, "/") ? own : "") >= sizeof(base))
			return -1;
		if (access(base, W_OK) < 0)
			return -1;
		if (!create)
			continue;
		remove_stale(base);
		if ((size_t)snprintf(r->dirs[c], sizeof(r->dirs[c]), "%s/cordon-%d", base,
				     (int)getpid()) >= sizeof(r->dirs[c]))
			return -1;
		if (mkdir(r->dirs[c], 0755) < 0) {
			r->dirs[c][0] = '\0';
			return -1;
		}
	}
	if (!create)
		return 0;
	if (want[CG_MEMORY]) {
		char v[32];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->memory_max);
		if (write_str(r->dirs[CG_MEMORY], "memory.limit_in_bytes", v) < 0)
			return -1;
		/* memory + swap: the same ceiling, so nothing escapes to swap. */
		if (write_str(r->dirs[CG_MEMORY], "memory.memsw.limit_in_bytes", v) < 0 &&
		    errno != ENOENT)
			return -1;
	}
	if (want[CG_PIDS]) {
		char v[32];

		snprintf(v, sizeof(v), "%u", r->pids_max);
		if (write_str(r->dirs[CG_PIDS], "pids.max", v) < 0)
			return -1;
	}
	if (want[CG_CPU]) {
		char v[32];

		snprintf(v, sizeof(v), "%u", CPU_PERIOD_US);
		if (write_str(r->dirs[CG_CPU], "cpu.cfs_period_us", v) < 0)
			return -1;
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)r->cpu_millis * CPU_PERIOD_US / 1000);
		if (write_str(r->dirs[CG_CPU], "cpu.cfs_quota_us", v) < 0)
			return -1;
	}
	return 0;
}

static void
remove_dirs(struct sb_resources *r)
{
	for (int c = 0; c < CG__MAX; c++) {
		if (r->dirs[c][0] == '\0')
			continue;
		/*
		 * The last processes of the pid namespace may still be on their
		 * way out when pid 1 has been reaped: retry for up to 2 s.
		 */
		for (int i = 0; i < 200; i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			if (rmdir(r->dirs[c]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY) {
				log_warn("remove cgroup %s", r->dirs[c]);
				break;
			}
			nanosleep(&ts, NULL);
		}
		r->dirs[c][0] = '\0';
	}
}

void
sb_resources_free(struct sb_resources *res)
{
	if (res == NULL)
		return;
	remove_dirs(res);
	free(res);
}

enum sb_res_mech
sb_resources_probe(int want_cpu)
{
	struct sb_resources r;

	memset(&r, 0, sizeof(r));
	r.memory_max = 1;
	r.pids_max = 1;
	r.cpu_millis = want_cpu ? 1 : 0;
	if (v2_setup(&r, 0) == 0)
		return SB_RES_CGROUP2;
	if (v1_setup(&r, 0) == 0)
		return SB_RES_CGROUP1;
	return SB_RES_RLIMIT;
}

static void
fmt_size(char *buf, size_t len, uint64_t v)
{
	if (v % (1ULL << 30) == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(v >> 30));
	else if (v % (1ULL << 20) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v % (1ULL << 10) == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)v);
}

int
sb_resources_prepare(const struct sb_spec *spec, struct sb_resources **res, struct cordon_err *err)
{
	struct sb_resources *r;

	*res = NULL;
	if (spec->memory_max == 0 && spec->pids_max == 0 && spec->cpu_millis == 0 &&
	    spec->disk_max == 0)
		return 0;
	r = xcalloc(1, sizeof(*r));
	r->memory_max = spec->memory_max;
	r->pids_max = spec->pids_max;
	r->cpu_millis = spec->cpu_millis;
	r->disk_max = spec->disk_max;
	if (r->memory_max == 0 && r->pids_max == 0 && r->cpu_millis == 0) {
		r->mech = SB_RES_RLIMIT;
	} else if (v2_setup(r, 1) == 0) {
		r->mech = SB_RES_CGROUP2;
	} else {
		remove_dirs(r);
		if (v1_setup(r, 1) == 0) {
			r->mech = SB_RES_CGROUP1;
		} else {
			remove_dirs(r);
			r->mech = SB_RES_RLIMIT;
		}
	}
	if (r->mech == SB_RES_RLIMIT && r->cpu_millis != 0) {
		if (!spec->best_effort) {
			cordon_err_set(err, 0,
				       "cannot limit the sandbox to %u.%02u CPUs: no "
				       "writable cgroup here, and no rlimit does that",
				       r->cpu_millis / 1000, r->cpu_millis % 1000 / 10);
			free(r);
			return cordon_err_hint(
			    err, "run cordon in a delegated cgroup v2 subtree (systemd-run --user "
				 "--scope -p Delegate=yes cordon ...), or drop --cpus, or run "
				 "without the CPU ceiling: --allow-degraded");
		}
		log_warnx("cpu limit not enforced: no writable cgroup (best effort)");
		r->cpu_millis = 0;
	}
	log_debug("resource limits by %s: memory %llu, cpus %u.%03u, pids %u, disk %llu",
		  sb_res_mech_name(r->mech), (unsigned long long)r->memory_max,
		  r->cpu_millis / 1000, r->cpu_millis % 1000, r->pids_max,
		  (unsigned long long)r->disk_max);
	*res = r;
	return 0;
}

int
sb_resources_attach(struct sb_resources *res, pid_t pid, struct cordon_err *err)
{
	char v[32];

	if (res == NULL || (res->mech != SB_RES_CGROUP1 && res->mech != SB_RES_CGROUP2))
		return 0;
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int c = 0; c < CG__MAX; c++) {
		if (res->dirs[c][0] == '\0')
			continue;
		if (write_str(res->dirs[c], "cgroup.procs", v) < 0)
			return cordon_err_set(err, errno, "move the sandbox into cgroup %s",
					      res->dirs[c]);
	}
	return 0;
}

int
sb_resources_enter(struct sb_child_ctx *ctx)
{
	const struct sb_resources *r = ctx->res;

	if (r == NULL)
		return 0;
	if (r->disk_max != 0) {
		/* Hard too: raising it needs CAP_SYS_RESOURCE in the initial namespace. */
		struct rlimit rl = { r->disk_max, r->disk_max };

		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			return -1;
	}
	switch (r->mech) {
	case SB_RES_CGROUP1:
	case SB_RES_CGROUP2:
		/*
		 * The cgroup namespace from clone is rooted where the
		 * supervisor was; root it at the sandbox's own cgroup now that
		 * pid 1 is in it (needs CAP_SYS_ADMIN in our user namespace).
		 */
		return unshare(CLONE_NEWCGROUP);
	case SB_RES_RLIMIT:
		if (r->memory_max != 0) {
			struct rlimit rl = { r->memory_max, r->memory_max };

			if (setrlimit(RLIMIT_DATA, &rl) < 0)
				return -1;
		}
		if (r->pids_max != 0) {
			struct rlimit rl = { r->pids_max, r->pids_max };

			if (setrlimit(RLIMIT_NPROC, &rl) < 0)
				return -1;
		}
		return 0;
	case SB_RES_NONE:
	default:
		return 0;
	}
}

enum sb_res_mech
sb_resources_mech(const struct sb_session *sess)
{
	return sb_resources_mech_of(sess->res);
}

enum sb_res_mech
sb_resources_mech_of(const struct sb_resources *res)
{
	return res ? res->mech : SB_RES_NONE;
}

void
sb_resources_in_force(const struct sb_resources *res, struct sb_report *rep)
{
	rep->memory_max = res ? res->memory_max : 0;
	rep->disk_max = res ? res->disk_max : 0;
	rep->cpu_millis = res ? res->cpu_millis : 0;
	rep->pids_max = res ? res->pids_max : 0;
}

/* "oom_kill N" in a flat keyed file (memory.events, memory.oom_control). */
static unsigned long
oom_kills(const char *dir, const char *file)
{
	char path[PATH_MAX + 32], buf[1024];
	const char *p;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; (p = strstr(p, "oom_kill ")) != NULL; p++)
		if (p == buf || p[-1] == '\n')
			return strtoul(p + 9, NULL, 10);
	return 0;
}

int
sb_resources_report(const struct sb_session *sess, int exit_status, struct cordon_err *err)
{
	const struct sb_resources *r = sess->res;
	unsigned long kills = 0;
	char size[32];

	if (r != NULL && r->disk_max != 0 && exit_status == 128 + SIGXFSZ) {
		fmt_size(size, sizeof(size), r->disk_max);
		cordon_err_set(err, 0,
			       "killed: file size limit %s reached (SIGXFSZ: a file written "
			       "would have grown past --disk)",
			       size);
		return cordon_err_hint(err, "raise the limit with --disk or resources.disk in the "
					    "policy");
	}
	if (r == NULL || r->memory_max == 0)
		return 0;
	if (r->mech == SB_RES_CGROUP2)
		kills = oom_kills(r->dirs[0], "memory.events");
	else if (r->mech == SB_RES_CGROUP1)
		kills = oom_kills(r->dirs[CG_MEMORY], "memory.oom_control");
	if (kills == 0)
		return 0;
	fmt_size(size, sizeof(size), r->memory_max);
	cordon_err_set(err, 0, "%s: memory limit %s reached",
		       exit_status == 128 + 9 ? "killed" : "a process was killed", size);
	return cordon_err_hint(err, "raise the limit with --memory or resources.memory in the "
				    "policy");
}

void
sb_resources_release(struct sb_session *sess)
{
	sb_resources_free(sess->res);
	sess->res = NULL;
}

void
sb_walls_describe(const struct sb_spec *spec, const struct sb_landlock *ll,
		  const struct sb_resources *res, char *buf, size_t len)
{
	char lls[160];

	sb_landlock_describe(ll, lls, sizeof(lls));
	snprintf(buf, len, "walls: seccomp %s; %s; limits: %s",
		 spec->test_flags & SB_TEST_NO_SECCOMP ? "off (test switch)" : "on", lls,
		 sb_res_mech_name(res ? res->mech : SB_RES_NONE));
	log_debug("%s", buf);
}
