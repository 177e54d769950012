/* SPDX-License-Identifier: MIT */
/*
 * The mount tree of the sandbox, built in the child after the id maps are
 * written. Async-signal-safe: no allocation, no stdio.
 *
 * Order (each a step of the pipeline):
 *   private    make every mount private, so nothing propagates either way
 *              (not slave: a host mount appearing later would be writable)
 *   base       tmpfs at /tmp, pivot into it; host root now at /oldroot
 *   root       /oldroot bound recursively at /newroot, then read-only,
 *              nosuid, nodev with one recursive mount_setattr (submounts too)
 *   proc       fresh proc for the new pid ns; dangerous entries masked
 *   dev        tmpfs with null zero full random urandom tty, own devpts
 *   skeleton   (root invoker) an empty tmpfs over each host directory the
 *              sandbox uid cannot search that lies above a bound path
 *              (reach.c); the chains down to the binds are made in it
 *   tmpfs      private /tmp, /run, /dev/shm, the private home
 *   seal       the sealed home (seal.c): the directories above its masks a
 *              tmpfs of re-bound entries, masked names left out
 *   workspace  read-write bind (a tree the supervisor opened when invoked
 *              by root: idmapped, or plain)
 *   extra      spec mounts and the supervisor's (toolchains, the command,
 *              host masks) in path-depth order: rw, ro, masks
 *   finish     (root invoker) generated /etc/passwd and /etc/group bound
 *              read-only; skeletons and the sealed home made read-only
 *   pivot      pivot_root into /newroot, detach the old tree
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/cleanup.h"
#include "sandbox/mountapi.h"
#include "sandbox/steps.h"

#define NEWROOT     "/newroot"
#define OLDROOT     "/oldroot"
#define EMPTY_FILE  "/.empty"
#define PASSWD_FILE "/.passwd"
#define RESOLV_FILE "/.resolv.conf"
#define GROUP_FILE  "/.group"

/* Build "<prefix><path>" into buf (PATH_MAX). -1 ENAMETOOLONG. */
static int
join(char *buf, const char *prefix, const char *path)
{
	size_t a = strlen(prefix), b = strlen(path);

	if (a + b + 1 > PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, prefix, a);
	memcpy(buf + a, path, b + 1);
	return 0;
}

static void
set_detail(struct sb_child_ctx *ctx, const char *path)
{
	size_t n = strlen(path);

	if (ctx->detail == NULL || ctx->detail_len == 0)
		return;
	if (n >= ctx->detail_len)
		n = ctx->detail_len - 1;
	memcpy(ctx->detail, path, n);
	ctx->detail[n] = '\0';
}

static int
setattr_path(const char *path, uint64_t set, uint64_t clr, int recursive)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };

	return (int)sys_mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr,
				      sizeof(attr));
}

/*
 * mkdir -p for a mount point under NEWROOT, only where the parent is
 * writable to us (our own tmpfs mounts). Existing entries are fine.
 */
static int
ensure_file(const char *path)
{
	int fd;
	char buf[PATH_MAX];
	char *slash;

	if (access(path, F_OK) == 0)
		return 0;
	if (join(buf, "", path) < 0)
		return -1;
	slash = strrchr(buf, '/');
	if (slash != NULL && slash != buf) {
		*slash = '\0';
		if (fd_mkdir_p(buf, 0755) < 0)
			return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int
sb_mount_make_private(struct sb_child_ctx *ctx)
{
	set_detail(ctx, "/");
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

int
sb_mount_base(struct sb_child_ctx *ctx)
{
	int fd;

	/* The base is a tmpfs at /tmp of our private tree (bubblewrap's trick). */
	set_detail(ctx, "/tmp");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return -1;
	if (mkdir("/tmp" NEWROOT, 0755) < 0 || mkdir("/tmp" OLDROOT, 0755) < 0)
		return -1;
	fd = open("/tmp" EMPTY_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	close(fd);
	if (syscall(SYS_pivot_root, "/tmp", "/tmp" OLDROOT) < 0)
		return -1;
	return chdir("/");
}

int
sb_mount_root(struct sb_child_ctx *ctx)
{
	uint64_t set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

	set_detail(ctx, "/");
	if (mount(OLDROOT, NEWROOT, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	if (ctx->spec->test_flags & SB_TEST_NO_RO_ROOT)
		set &= ~(uint64_t)MOUNT_ATTR_RDONLY;
	/* One call covers every submount: no window, no missed mount. */
	return setattr_path(NEWROOT, set, 0, 1);
}

/* Entries of a fresh /proc that leak host state or allow host writes. */
static const char *const proc_ro[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
};
static const char *const proc_mask_files[] = {
	"/proc/kcore",       "/proc/keys",          "/proc/key-users",   "/proc/timer_list",
	"/proc/sched_debug", "/proc/latency_stats", "/proc/timer_stats", "/proc/kallsyms",
	"/proc/kmsg",        "/proc/config.gz",
};
static const char *const proc_mask_dirs[] = {
	"/proc/acpi",          "/proc/scsi",           "/proc/asound",
	"/proc/driver",        "/sys/firmware",        "/sys/kernel/debug",
	"/sys/kernel/tracing", "/sys/kernel/security", "/sys/fs/bpf",
};

/*
 * Open path without following any symlink (openat2 RESOLVE_NO_SYMLINKS,
 * Linux >= 5.6). The paths in the spec were canonical when the supervisor
 * resolved them, so a symlink now means a component was swapped since (by
 * another process sharing the workspace): refuse rather than follow it.
 * Returns an O_PATH fd or -1 (ELOOP on a symlink).
 */
static int
open_nofollow(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

/*
 * Bind what src_fd refers to onto what dst_fd refers to, entirely by fd:
 * clone the tree (open_tree), set its attributes while it is detached, then
 * attach it (move_mount). No path is looked up twice, so nothing can be
 * swapped in between.
 */
static int
bind_fd(int src_fd, int dst_fd, uint64_t set, uint64_t clr, int recursive)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	int tree, r;

	tree = (int)sys_open_tree(src_fd, "",
				  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
				      (recursive ? AT_RECURSIVE : 0));
	if (tree < 0)
		return -1;
	r = (int)sys_mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
				   sizeof(attr));
	if (r == 0)
		r = (int)sys_move_mount(tree, "", dst_fd, "",
					MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	close(tree);
	return r;
}

/* Bind src onto dst (both paths resolved without symlinks). */
static int
bind_path(const char *src, const char *dst, uint64_t set, uint64_t clr, int recursive)
{
	int s = open_nofollow(src), d = s < 0 ? -1 : open_nofollow(dst), r = -1;

	if (s >= 0 && d >= 0)
		r = bind_fd(s, d, set, clr, recursive);
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return r;
}

static int
mask_file(const char *target)
{
	return bind_path(
	    EMPTY_FILE, target,
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0);
}

/* "<prefix>N" into buf, without stdio (the child). Empty when it does not fit. */
static void
path_num(char *buf, size_t len, const char *prefix, unsigned n)
{
	size_t p = strlen(prefix);
	char digits[16];
	int k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0 && k < (int)sizeof(digits));
	if (p + (size_t)k + 1 > len) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, prefix, p);
	for (int i = 0; i < k; i++)
		buf[p + (size_t)i] = digits[k - 1 - i];
	buf[p + (size_t)k] = '\0';
}

/* "/oldroot/proc/self/fd/N": the host proc, where our own fds are listed. */
static void
fd_magic_path(char *buf, size_t len, int fd)
{
	path_num(buf, len, OLDROOT "/proc/self/fd/", (unsigned)fd);
}

static int
mask_dir(const char *target)
{
	char magic[64];
	int fd = open_nofollow(target), r;

	if (fd < 0)
		return -1;
	/* mount(2) onto the fd's magic link: the directory we opened, no other. */
	fd_magic_path(magic, sizeof(magic), fd);
	r = mount("tmpfs", magic, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=0,mode=0555");
	close(fd);
	return r;
}

static int
ro_bind_self(const char *target)
{
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return setattr_path(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 1);
}

int
sb_mount_proc(struct sb_child_ctx *ctx)
{
	char buf[PATH_MAX];
	struct stat st;

	/*
	 * The kernel allows this mount in a user namespace only while a fully
	 * visible proc exists in this mount namespace (/oldroot/proc, untouched
	 * so far), and only with nosuid,nodev,noexec like the host's.
	 */
	set_detail(ctx, "/proc");
	if (mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(proc_ro); i++) {
		if (join(buf, NEWROOT, proc_ro[i]) < 0)
			return -1;
		set_detail(ctx, proc_ro[i]);
		if (lstat(buf, &st) < 0)
			continue;
		if (ro_bind_self(buf) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_mask_files); i++) {
		if (join(buf, NEWROOT, proc_mask_files[i]) < 0)
			return -1;
		set_detail(ctx, proc_mask_files[i]);
		if (lstat(buf, &st) < 0)
			continue;
		if (mask_file(buf) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_mask_dirs); i++) {
		if (join(buf, NEWROOT, proc_mask_dirs[i]) < 0)
			return -1;
		set_detail(ctx, proc_mask_dirs[i]);
		if (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mask_dir(buf) < 0)
			return -1;
	}
	return 0;
}

/*
 * The sandbox's own writable file systems (/tmp, /run, /dev/shm, a private
 * home, policy tmpfs mounts). Without a disk ceiling each is a tmpfs of its
 * own, as large as tmpfs allows by default (half the RAM). Under
 * spec->disk_max they are directories of one scratch tmpfs of that size in
 * the base (ctx->scratch_opts), each bound at its place with its own flags:
 * one ceiling for them all, not one per mount (df inside shows the shared
 * size). The root directory is 1777 (OWN_FS_STICKY) or 0755 owned by the
 * sandbox user (OWN_FS_USER, ctx->run_opts).
 */
#define SCRATCH "/.scratch"
enum { OWN_FS_STICKY, OWN_FS_USER };

static int
own_fs(struct sb_child_ctx *ctx, const char *dst, unsigned long flags, int owner)
{
	static unsigned made; /* the child's own copy: scratch directories so far */
	uint64_t set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	char src[32];

	if (ctx->spec->disk_max == 0)
		return mount("tmpfs", dst, "tmpfs", flags,
			     owner == OWN_FS_USER ? ctx->run_opts : "mode=1777");
	if (made == 0 &&
	    (mkdir(SCRATCH, 0700) < 0 ||
	     mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, ctx->scratch_opts) < 0))
		return -1;
	path_num(src, sizeof(src), SCRATCH "/", made++);
	if (mkdir(src, 0700) < 0)
		return -1;
	if (owner == OWN_FS_USER) {
		if (chown(src, ctx->ids->inner_uid, ctx->ids->inner_gid) < 0 ||
		    chmod(src, 0755) < 0)
			return -1;
	} else if (chmod(src, 01777) < 0) {
		return -1;
	}
	if (flags & MS_NOEXEC)
		set |= MOUNT_ATTR_NOEXEC;
	return bind_path(src, dst, set, 0, 0);
}

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

int
sb_mount_dev(struct sb_child_ctx *ctx)
{
	static const struct {
		const char *target, *link;
	} links[] = {
		{ NEWROOT "/dev/ptmx", "pts/ptmx" },
		{ NEWROOT "/dev/fd", "/proc/self/fd" },
		{ NEWROOT "/dev/stdin", "/proc/self/fd/0" },
		{ NEWROOT "/dev/stdout", "/proc/self/fd/1" },
		{ NEWROOT "/dev/stderr", "/proc/self/fd/2" },
		{ NEWROOT "/dev/core", "/proc/kcore" },
	};
	char src[PATH_MAX], dst[PATH_MAX];

	set_detail(ctx, "/dev");
	if (mount("tmpfs", NEWROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		if (join(src, OLDROOT "/dev/", dev_nodes[i]) < 0 ||
		    join(dst, NEWROOT "/dev/", dev_nodes[i]) < 0)
			return -1;
		set_detail(ctx, src + strlen(OLDROOT));
		if (ensure_file(dst) < 0)
			return -1;
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return -1;
		if (setattr_path(dst, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0, 0) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlink(links[i].link, links[i].target) < 0)
			return -1;
	set_detail(ctx, "/dev/pts");
	if (mkdir(NEWROOT "/dev/pts", 0755) < 0 || mkdir(NEWROOT "/dev/shm", 01777) < 0)
		return -1;
	if (mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620") < 0)
		return -1;
	set_detail(ctx, "/dev/shm");
	if (own_fs(ctx, NEWROOT "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, OWN_FS_STICKY) < 0)
		return -1;
	/* Nothing may add device nodes or files to /dev itself. */
	set_detail(ctx, "/dev");
	return setattr_path(NEWROOT "/dev", MOUNT_ATTR_RDONLY, 0, 0);
}

/* mount(2) of a fresh tmpfs onto the directory at path, opened without symlinks. */
static int
tmpfs_at(const char *path, unsigned long flags, const char *opts)
{
	char magic[64];
	int fd = open_nofollow(path), r;

	if (fd < 0)
		return -1;
	fd_magic_path(magic, sizeof(magic), fd);
	r = mount("tmpfs", magic, "tmpfs", flags, opts);
	close(fd);
	return r;
}

int
sb_mount_skeleton(struct sb_child_ctx *ctx)
{
	const struct sb_reach *r = ctx->reach;
	char dst[PATH_MAX];

	/*
	 * Shallow first is not needed: no skeleton lies inside another
	 * (reach.c keeps the outermost). Writable until sb_mount_finish, so
	 * that the mount points of the binds can be made in it.
	 */
	for (size_t i = 0; r != NULL && i < r->n_skeletons; i++) {
		if (r->skeletons[i][0] == '\0')
			continue;
		set_detail(ctx, r->skeletons[i]);
		if (join(dst, NEWROOT, r->skeletons[i]) < 0)
			return -1;
		if (tmpfs_at(dst, MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
			return -1;
	}
	return 0;
}

int
sb_mount_tmpfs(struct sb_child_ctx *ctx)
{
	set_detail(ctx, "/tmp");
	if (own_fs(ctx, NEWROOT "/tmp", MS_NOSUID | MS_NODEV, OWN_FS_STICKY) < 0)
		return -1;
	set_detail(ctx, "/run");
	if (own_fs(ctx, NEWROOT "/run", MS_NOSUID | MS_NODEV, OWN_FS_USER) < 0)
		return -1;
	/*
	 * The marker of sb_inside_cordon: in the sandbox's own /run, which no
	 * process outside sees, in a directory of the namespace's root that
	 * the command's uid cannot change.
	 */
	set_detail(ctx, SB_INSIDE_MARKER);
	if (ensure_file(NEWROOT SB_INSIDE_MARKER) < 0 || chmod(NEWROOT SB_INSIDE_MARKER, 0444) < 0)
		return -1;
	if (ctx->spec->private_home != NULL) {
		char dst[PATH_MAX];

		/* Before the workspace, which may lie inside it. */
		set_detail(ctx, ctx->spec->private_home);
		if (join(dst, NEWROOT, ctx->spec->private_home) < 0)
			return -1;
		/* Inside a skeleton, the mount point is to be made. */
		if (fd_mkdir_p(dst, 0755) < 0)
			return -1;
		if (own_fs(ctx, dst, MS_NOSUID | MS_NODEV, OWN_FS_USER) < 0)
			return -1;
	}
	return 0;
}

enum seal_kind { SEAL_BIND, SEAL_KEEP_OUT, SEAL_DIR, SEAL_MASKED };

/* What becomes of the entry full of a sealed directory. */
static enum seal_kind
seal_kind_of(const struct sb_child_ctx *ctx, const char *full)
{
	const struct sb_reach *r = ctx->reach;
	const struct sb_spec *spec = ctx->spec;

	for (size_t i = 0; i < r->n_kept_out; i++)
		if (strcmp(r->kept_out[i], full) == 0)
			return SEAL_KEEP_OUT;
	for (size_t i = 0; i < r->n_sealed; i++)
		if (strcmp(r->sealed[i], full) == 0)
			return SEAL_DIR;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].kind == SB_MOUNT_MASK &&
		    strcmp(spec->mounts[i].path, full) == 0)
			return SEAL_MASKED;
	return SEAL_BIND;
}

/*
 * A sealed directory or the tmpfs root gets the host directory's owner and
 * mode; where that owner is not mapped here, "other"'s bits for everyone,
 * so that the command learns no more than a stranger would.
 */
static int
copy_owner(int dirfd, const char *name, const struct stat *st)
{
	mode_t m = st->st_mode & 07777, o = m & 07;

	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		m = (m & S_ISVTX) | o | o << 3 | o << 6;
	return fchmodat(dirfd, name, m & 07777, 0);
}

/*
 * One entry of a sealed directory (type from getdents, DT_UNKNOWN asks
 * fstatat): a stub of its type in inner, and the host entry bound onto it
 * with the flags it had (read-only from the root step; a skeleton or the
 * private home below stays as it is until the finish step). A symbolic
 * link is copied. Gone since the listing: skipped. Both names are single
 * components under held directory fds, neither followed.
 */
static int
seal_entry(struct sb_child_ctx *ctx, int host, int inner, const struct dirent64 *e,
	   const char *full)
{
	enum seal_kind kind = seal_kind_of(ctx, full);
	const char *name = e->d_name;
	unsigned char type = e->d_type;
	char link[PATH_MAX];
	struct stat st;
	ssize_t n;
	int tree, ret;

	if (kind == SEAL_KEEP_OUT)
		return 0;
	if (kind == SEAL_DIR || type == DT_UNKNOWN) {
		if (fstatat(host, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -1;
		type = (unsigned char)IFTODT(st.st_mode);
	}
	if (kind == SEAL_DIR)
		return mkdirat(inner, name, 0700) < 0 ? -1 : copy_owner(inner, name, &st);
	if (type == DT_LNK) {
		n = readlinkat(host, name, link, sizeof(link) - 1);
		if (n < 0)
			return errno == ENOENT ? 0 : -1;
		link[n] = '\0';
		return symlinkat(link, inner, name);
	}
	/* A regular file as the stub of any other type: one syscall, no fd. */
	if (type == DT_DIR ? mkdirat(inner, name, 0555) < 0
			   : mknodat(inner, name, S_IFREG | 0444, 0) < 0)
		return -1;
	/* Masked: the bare stub; its mask lands on it in the extra step. */
	if (kind == SEAL_MASKED)
		return 0;
	tree = (int)sys_open_tree(
	    host, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
	if (tree < 0)
		return errno == ENOENT ? 0 : -1;
	ret = (int)sys_move_mount(tree, "", inner, name, MOVE_MOUNT_F_EMPTY_PATH);
	close(tree);
	return ret;
}

/* Fill the sealed directory inner from the host directory host. */
static int
seal_dir(struct sb_child_ctx *ctx, int host, int inner, const char *dir)
{
	char buf[4096] __attribute__((aligned(8))), full[PATH_MAX];
	size_t dl = strlen(dir);
	long n;

	if (dl + 2 >= sizeof(full))
		return errno = ENAMETOOLONG, -1;
	memcpy(full, dir, dl);
	full[dl] = '/';
	while ((n = syscall(SYS_getdents64, host, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			size_t nl = strlen(e->d_name);

			off += e->d_reclen;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (dl + 1 + nl + 1 > sizeof(full))
				return errno = ENAMETOOLONG, -1;
			memcpy(full + dl + 1, e->d_name, nl + 1);
			set_detail(ctx, full);
			if (seal_entry(ctx, host, inner, e, full) < 0)
				return -1;
		}
	}
	return n < 0 ? -1 : 0;
}

int
sb_mount_seal(struct sb_child_ctx *ctx)
{
	const struct sb_reach *r = ctx->reach;
	const char *root;
	char dst[PATH_MAX];
	struct stat st;
	size_t rl;
	int root_fd, ret = -1;

	if (r == NULL || r->n_sealed == 0)
		return 0;
	root = r->sealed[0];
	rl = strlen(root);
	set_detail(ctx, root);
	if (join(dst, NEWROOT, root) < 0)
		return -1;
	/* The host directory, held before the tmpfs covers it. */
	root_fd = open_nofollow(dst);
	if (root_fd < 0)
		return -1;
	if (fstat(root_fd, &st) < 0 ||
	    tmpfs_at(dst, MS_NOSUID | MS_NODEV | MS_NOEXEC, r->seal_opts) < 0 ||
	    copy_owner(AT_FDCWD, dst, &st) < 0)
		goto out;
	for (size_t i = 0; i < r->n_sealed; i++) {
		struct open_how how = {
			.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		const char *rel = r->sealed[i] + rl;
		int host, inner, k;

		set_detail(ctx, r->sealed[i]);
		if (join(dst, NEWROOT, r->sealed[i]) < 0)
			goto out;
		host = (int)syscall(SYS_openat2, root_fd, rel[0] == '/' ? rel + 1 : ".", &how,
				    sizeof(how));
		/* Inside the tmpfs: made while its parent was filled. */
		inner = host < 0 ? -1 : open_nofollow(dst);
		k = inner < 0 ? -1 : seal_dir(ctx, host, inner, r->sealed[i]);
		if (host >= 0)
			close(host);
		if (inner >= 0)
			close(inner);
		if (k < 0)
			goto out;
	}
	ret = 0;
out:
	close(root_fd);
	return ret;
}

static struct sb_prepared *
prepared_for(struct sb_child_ctx *ctx, enum sb_mount_kind kind, const char *path)
{
	const struct sb_reach *r = ctx->reach;

	for (size_t i = 0; r != NULL && i < r->n_prepared; i++)
		if (r->prepared[i].kind == kind && r->prepared[i].tree_fd >= 0 &&
		    strcmp(r->prepared[i].path, path) == 0)
			return &r->prepared[i];
	return NULL;
}

/*
 * Whether path lies in (or is) a read-write tree the supervisor idmapped
 * (root's workspace): a read-only bind there is taken from the tree as
 * mounted inside, so it keeps the idmap. From the host path it would show
 * root's own modes to the sandbox's uid, and a 0700 workspace given
 * read-only (`-w DIR:ro`) could not be entered.
 */
static bool
in_idmapped_rw(const struct sb_child_ctx *ctx, const char *path)
{
	const struct sb_reach *r = ctx->reach;

	for (size_t i = 0; r != NULL && i < r->n_prepared; i++) {
		const struct sb_prepared *p = &r->prepared[i];
		size_t n = strlen(p->path);

		if (p->kind == SB_MOUNT_RW && p->idmapped && strncmp(p->path, path, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || strcmp(p->path, "/") == 0))
			return true;
	}
	return false;
}

/* Move a tree the supervisor opened onto dst, making the mount point first. */
static int
attach_prepared(struct sb_prepared *p, const char *dst)
{
	int d, r;

	if (p->is_dir ? fd_mkdir_p(dst, 0755) < 0 : ensure_file(dst) < 0)
		return -1;
	d = open_nofollow(dst);
	if (d < 0)
		return -1;
	r = (int)sys_move_mount(p->tree_fd, "", d, "",
				MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	close(d);
	return r;
}

/*
 * Bind the host path read-write (or mount the tree the supervisor
 * prepared) at the same path under NEWROOT. The mount point may have to be
 * created inside one of our tmpfs mounts (a workspace under /tmp, in a
 * skeleton).
 */
static int
bind_rw(struct sb_child_ctx *ctx, const char *path)
{
	struct sb_prepared *p = prepared_for(ctx, SB_MOUNT_RW, path);
	char src[PATH_MAX], dst[PATH_MAX];
	struct stat st;

	set_detail(ctx, path);
	if (join(src, OLDROOT, path) < 0 || join(dst, NEWROOT, path) < 0)
		return -1;
	if (p != NULL)
		return attach_prepared(p, dst);
	if (stat(src, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode) ? fd_mkdir_p(dst, 0755) < 0 : ensure_file(dst) < 0)
		return -1;
	return bind_path(src, dst, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY, 1);
}

int
sb_mount_workspace(struct sb_child_ctx *ctx)
{
	if (bind_rw(ctx, ctx->spec->workspace) < 0)
		return -1;
	return sb_mount_review(ctx);
}

static int
apply_mount(struct sb_child_ctx *ctx, const struct sb_mount *m)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct sb_prepared *p;
	struct stat st;

	set_detail(ctx, m->path);
	if (join(src, OLDROOT, m->path) < 0 ||
	    join(dst, NEWROOT, m->kind == SB_MOUNT_RO && m->target ? m->target : m->path) < 0)
		return -1;
	switch (m->kind) {
	case SB_MOUNT_RW:
		return bind_rw(ctx, m->path);
	case SB_MOUNT_RO:
		/* Inside root's idmapped workspace: from the tree as mounted there. */
		if (m->target == NULL && in_idmapped_rw(ctx, m->path) && lstat(dst, &st) == 0)
			return bind_path(dst, dst,
					 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
					 0, 1);
		p = prepared_for(ctx, SB_MOUNT_RO, m->path);
		if (p != NULL && p->attached[0] != '\0') {
			if (p->is_dir ? fd_mkdir_p(dst, 0755) < 0 : ensure_file(dst) < 0)
				return -1;
			return bind_path(p->attached, dst,
					 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
					 0, 1);
		}
		if (p != NULL) {
			if (attach_prepared(p, dst) < 0)
				return -1;
			if (strlen(dst) < sizeof(p->attached))
				memcpy(p->attached, dst, strlen(dst) + 1);
			return 0;
		}
		if (stat(src, &st) < 0)
			return -1;
		if (S_ISDIR(st.st_mode) ? fd_mkdir_p(dst, 0755) < 0 : ensure_file(dst) < 0)
			return -1;
		return bind_path(src, dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				 0, 1);
	case SB_MOUNT_MASK:
		/* Mask what is visible inside: stat through the new tree. */
		if (lstat(dst, &st) < 0)
			return errno == ENOENT ? 0 : -1;
		return S_ISDIR(st.st_mode) ? mask_dir(dst) : mask_file(dst);
	case SB_MOUNT_TMPFS:
		/* Owned by the sandbox user, like /run: a private home, a cache. */
		if (fd_mkdir_p(dst, 0755) < 0)
			return -1;
		return own_fs(ctx, dst, MS_NOSUID | MS_NODEV, OWN_FS_USER);
	default:
		errno = EINVAL;
		return -1;
	}
}

/* Where a mount lands inside. */
static const char *
mount_where(const struct sb_mount *m)
{
	return m->kind == SB_MOUNT_RO && m->target ? m->target : m->path;
}

int
sb_mount_extra(struct sb_child_ctx *ctx)
{
	const struct sb_spec *spec = ctx->spec;
	const struct sb_reach *r = ctx->reach;
	const struct sb_mount *lists[2] = { spec->mounts, r ? r->mounts : NULL };
	size_t counts[2] = { spec->n_mounts, r ? r->n_mounts : 0 };
	int maxd = 0;

	/*
	 * Shallow paths first, so a rule on a path inside another rule's path
	 * lands on top of it; at equal depth, binds before masks. No sorting
	 * (no allocation): one pass per depth and kind.
	 */
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < counts[l]; i++)
			if (sb_path_depth(mount_where(&lists[l][i])) > maxd)
				maxd = sb_path_depth(mount_where(&lists[l][i]));
	for (int d = 0; d <= maxd; d++)
		for (int pass = 0; pass < 2; pass++)
			for (int l = 0; l < 2; l++)
				for (size_t i = 0; i < counts[l]; i++) {
					const struct sb_mount *m = &lists[l][i];
					int is_mask = m->kind == SB_MOUNT_MASK;

					if (sb_path_depth(mount_where(m)) != d || is_mask != pass)
						continue;
					if (apply_mount(ctx, m) < 0)
						return -1;
				}
	return 0;
}

/* Write data to a new read-only file at path in the base tmpfs, bind it over target. */
static int
bind_text(const char *path, const char *data, size_t len, const char *target)
{
	struct stat st;
	int fd;

	/* Only over a regular file: nothing is created in the host tree. */
	if (lstat(target, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, data, len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return bind_path(
	    path, target,
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0);
}

int
sb_mount_finish(struct sb_child_ctx *ctx)
{
	static const char resolv[] = "# cordon: the sandbox's DNS stub (transparent capture)\n"
				     "nameserver 127.0.0.1\n";
	const struct sb_reach *r = ctx->reach;
	char dst[PATH_MAX];

	/* A symlinked or missing file leads into the private /run: glibc, Go
	 * and c-ares then ask 127.0.0.1 by default. */
	if (ctx->spec->capture_port != 0) {
		set_detail(ctx, "/etc/resolv.conf");
		if (bind_text(RESOLV_FILE, resolv, sizeof(resolv) - 1, NEWROOT "/etc/resolv.conf") <
		    0)
			return -1;
	}
	if (r == NULL)
		return 0;
	if (r->passwd != NULL) {
		set_detail(ctx, "/etc/passwd");
		if (bind_text(PASSWD_FILE, r->passwd, r->passwd_len, NEWROOT "/etc/passwd") < 0)
			return -1;
	}
	if (r->group != NULL) {
		set_detail(ctx, "/etc/group");
		if (bind_text(GROUP_FILE, r->group, r->group_len, NEWROOT "/etc/group") < 0)
			return -1;
	}
	/* The sealed home's tmpfs itself only, as the skeletons below. */
	if (r->n_sealed > 0) {
		set_detail(ctx, r->sealed[0]);
		if (join(dst, NEWROOT, r->sealed[0]) < 0 ||
		    setattr_path(dst, MOUNT_ATTR_RDONLY, 0, 0) < 0)
			return -1;
	}
	/* The skeleton itself only: the binds on it keep their own flags. */
	for (size_t i = 0; i < r->n_skeletons; i++) {
		if (r->skeletons[i][0] == '\0')
			continue;
		set_detail(ctx, r->skeletons[i]);
		if (join(dst, NEWROOT, r->skeletons[i]) < 0 ||
		    setattr_path(dst, MOUNT_ATTR_RDONLY, 0, 0) < 0)
			return -1;
	}
	return 0;
}

int
sb_mount_pivot(struct sb_child_ctx *ctx)
{
	set_detail(ctx, "/");
	if (chdir(NEWROOT) < 0)
		return -1;
	/* pivot_root(".", ".") stacks the old root on top; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -1;
	if (umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}
