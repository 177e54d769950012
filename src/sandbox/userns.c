/* SPDX-License-Identifier: MIT */
/*
 * User namespace: which ids the command runs as, the id maps, and (when
 * cordon is invoked by root) the read-write trees.
 *
 * Unprivileged invoker: inside uid = outside uid, one-line maps, setgroups
 * denied. That is all an unprivileged user can do, and it is enough: the
 * kernel uid behind the command is the user's own.
 *
 * Root invoker. Mapping inside 1000 -> outside 0 would leave kernel uid 0
 * behind the command, so root-owned 0600 files and /root would still pass
 * owner checks (a peer's known weakness). So sb_ids_settle picks, in this
 * order, the first identity that can write every read-write path:
 *
 *   idmap     an otherwise unused kernel uid (SB_SANDBOX_KUID), no
 *             supplementary groups. The read-write paths are mounted
 *             idmapped (Linux >= 5.12, mount_setattr MOUNT_ATTR_IDMAP):
 *             files owned by the path's owner appear owned by the sandbox
 *             uid, and new files land on disk owned by that owner. Root's
 *             files are closed to the command by plain DAC.
 *   owner     a file system without idmapped mounts (overlayfs, the root of
 *             most containers) and read-write paths with one non-root
 *             owner: the command runs as that owner's kernel uid.
 *   root-uid  no idmapped mounts and a root-owned workspace: nothing but
 *             kernel uid 0 can write it in place. The command runs as
 *             kernel uid 0 shown as 1000 inside, with an empty bounding
 *             set, locked securebits, no_new_privs and nosuid mounts, so it
 *             holds no capability; it still passes owner checks on root's
 *             files, so the supervisor masks the root-only files it finds
 *             in the usual places (hostscan.c, with its limits), and
 *             directories on the way to the bound paths get skeletons as
 *             for any root invoker (reach.c). Read-write paths of other
 *             owners are idmapped to uid 0 where their file system allows.
 *
 * The supervisor opens every read-write tree itself (open_tree) and the
 * child only moves it into place: the child, kernel uid 0 with capabilities
 * over its own namespace only, cannot search a directory such as a 0750
 * home of another user, which the supervisor (real root) can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/mountapi.h"
#include "sandbox/steps.h"

/* Kernel uid/gid the command runs as when cordon is invoked by root. */
#define SB_SANDBOX_KUID 2147418112u
/* What `id -u` shows inside in that case. */
#define SB_SANDBOX_INNER_UID 1000u

/*
 * Real root: euid 0 in the initial user namespace, whose uid_map is the
 * identity over the whole range. uid 0 of a nested user namespace cannot
 * map other ids and is treated as the ordinary user it is.
 */
static int
is_real_root(void)
{
	char buf[128] = { 0 };
	unsigned a, b, c;
	_cleanup_close_ int fd = -1;

	if (geteuid() != 0)
		return 0;
	fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return 0;
	return sscanf(buf, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u;
}

int
sb_invoker_is_root(void)
{
	return is_real_root();
}

int
sb_ids_choose(struct sb_ids *ids, const char *workspace)
{
	struct stat st;

	memset(ids, 0, sizeof(*ids));
	if (!is_real_root()) {
		/*
		 * Root of a nested user namespace (say `unshare -Ur cordon`)
		 * shows as 1000 inside: never uid 0 in the sandbox.
		 */
		ids->outer_uid = geteuid();
		ids->outer_gid = getegid();
		ids->inner_uid = ids->outer_uid ? ids->outer_uid : SB_SANDBOX_INNER_UID;
		ids->inner_gid = ids->outer_gid ? ids->outer_gid : SB_SANDBOX_INNER_UID;
		ids->mode = SB_ID_USER;
		return 0;
	}
	ids->privileged = 1;
	ids->mode = SB_ID_IDMAP;
	ids->outer_uid = SB_SANDBOX_KUID;
	ids->outer_gid = SB_SANDBOX_KUID;
	ids->inner_uid = SB_SANDBOX_INNER_UID;
	ids->inner_gid = SB_SANDBOX_INNER_UID;
	/* Show the workspace owner's uid inside when it is not root. */
	if (stat(workspace, &st) == 0) {
		if (st.st_uid != 0)
			ids->inner_uid = st.st_uid;
		if (st.st_gid != 0)
			ids->inner_gid = st.st_gid;
	}
	return 0;
}

/* Write a one- or two-line id map (second line when setup_root). */
const char *
sb_identity_name(enum sb_identity id)
{
	switch (id) {
	case SB_ID_USER:
		return "user";
	case SB_ID_IDMAP:
		return "idmap";
	case SB_ID_OWNER:
		return "owner";
	case SB_ID_ROOT_UID:
		return "root-uid";
	default:
		return "unknown";
	}
}

static int
write_map2(pid_t pid, const char *file, unsigned inner, unsigned outer, int setup_root)
{
	char path[64], line[96];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (setup_root)
		n = snprintf(line, sizeof(line), "0 0 1\n%u %u 1\n", inner, outer);
	else
		n = snprintf(line, sizeof(line), "%u %u 1\n", inner, outer);
	return fd_write_file(path, line, (size_t)n);
}

static int
write_map(pid_t pid, const char *file, unsigned inner, unsigned outer)
{
	return write_map2(pid, file, inner, outer, 0);
}

int
sb_ids_write_maps(pid_t pid, const struct sb_ids *ids, struct cordon_err *err)
{
	char path[64];

	/*
	 * Unprivileged writers must deny setgroups before writing gid_map
	 * (Linux >= 3.19). Root keeps it so the child can drop root's
	 * supplementary groups with setgroups(0, NULL).
	 */
	if (!ids->privileged) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if (fd_write_file(path, "deny", 4) < 0 && errno != ENOENT)
			return cordon_err_set(err, errno, "write %s", path);
	}
	/*
	 * Root invoker: the child does its mount work as kernel uid 0 (it must
	 * create inodes in its own tmpfs, which needs a mapped fsuid, and look
	 * up root-only host paths), then switches to inner_uid = the
	 * unprivileged kernel uid before anything else runs. Nothing inside can
	 * get back to uid 0: empty bounding set, no_new_privs, nosuid mounts.
	 * root-uid: kernel uid 0 is the command's own (inner 1000), so it is
	 * the only line; the child does its mount work as inner 1000 with the
	 * capabilities of its new namespace.
	 */
	int two = ids->privileged && ids->mode != SB_ID_ROOT_UID;

	if (write_map2(pid, "uid_map", ids->inner_uid, ids->outer_uid, two) < 0)
		return cordon_err_set(err, errno, "write /proc/%d/uid_map", (int)pid);
	if (write_map2(pid, "gid_map", ids->inner_gid, ids->outer_gid, two) < 0)
		return cordon_err_set(err, errno, "write /proc/%d/gid_map", (int)pid);
	return 0;
}

/*
 * A user namespace fd whose map is "owner -> sandbox uid", for idmapped
 * mounts. The namespace is held by a short-lived child that we kill once
 * its ns file is open.
 */
static int
idmap_userns(uid_t owner_uid, gid_t owner_gid, uid_t to_uid, gid_t to_gid, struct cordon_err *err)
{
	_cleanup_kill_pid_ pid_t pid = -1;
	_cleanup_close_ int fd = -1;
	int pipefd[2];
	char path[64], c = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cordon_err_set(err, errno, "pipe");
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0) {
		int e = errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return sb_userns_diagnose(e, err);
	}
	if (pid == 0) {
		close(pipefd[1]);
		/* Wait until the parent has what it needs, then go. */
		(void)!read(pipefd[0], &c, 1);
		_exit(0);
	}
	close(pipefd[0]);
	if (write_map(pid, "uid_map", owner_uid, to_uid) < 0 ||
	    write_map(pid, "gid_map", owner_gid, to_gid) < 0) {
		close(pipefd[1]);
		return cordon_err_set(err, errno, "write id map for an idmapped mount");
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	close(pipefd[1]);
	if (fd < 0)
		return cordon_err_set(err, errno, "open %s", path);
	return steal_fd(fd);
}

/*
 * Clone the tree at path (recursive) with attributes set, idmapped by
 * userns when userns >= 0. Returns the detached tree's fd or -1 (errno).
 */
static int
clone_tree(const char *path, int userns)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				   .attr_clr = MOUNT_ATTR_RDONLY };
	_cleanup_close_ int tree = -1;

	tree =
	    (int)sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return -1;
	if (userns >= 0) {
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = (uint64_t)userns;
	}
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return -1;
	return steal_fd(tree);
}

int
sb_idmap_ro_tree(const char *path)
{
	struct cordon_err e = { 0 };
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
					       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	_cleanup_close_ int userns = -1, tree = -1;

	userns = idmap_userns(0, 0, SB_SANDBOX_KUID, SB_SANDBOX_KUID, &e);
	if (userns < 0) {
		errno = e.code ? e.code : EINVAL;
		return -1;
	}
	tree =
	    (int)sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return -1;
	attr.userns_fd = (uint64_t)userns;
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return -1;
	return steal_fd(tree);
}

/* errno values by which a file system says it has no idmapped mounts. */
static bool
idmap_unsupported(int e)
{
	return e == EINVAL || e == EOPNOTSUPP || e == ENOSYS;
}

static void
close_trees(struct sb_prepared *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i].tree_fd >= 0)
			close(p[i].tree_fd);
		p[i].tree_fd = -1;
		p[i].idmapped = false;
	}
}

/* Try idmapped trees (owner -> to) for p[0..n); unsupported[i] marks refusals. */
static int
idmap_all(struct sb_prepared *p, size_t n, uid_t to_uid, gid_t to_gid, bool *unsupported,
	  bool skip_root, struct cordon_err *err)
{
	/*
	 * One user namespace per owner, shared by that owner's paths: making
	 * one costs a clone and two map writes (about 0.5 ms), and a profile's
	 * caches in one home all have the same owner.
	 */
	struct {
		uid_t uid;
		gid_t gid;
		int fd;
	} ns[8];
	size_t n_ns = 0;
	int r = -1;

	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int own = -1;
		struct stat st;
		int tree, userns = -1;

		if (stat(p[i].path, &st) < 0) {
			cordon_err_set(err, errno, "stat %s", p[i].path);
			goto out;
		}
		p[i].is_dir = S_ISDIR(st.st_mode);
		if (skip_root && st.st_uid == 0)
			continue;
		for (size_t k = 0; k < n_ns && userns < 0; k++)
			if (ns[k].uid == st.st_uid && ns[k].gid == st.st_gid)
				userns = ns[k].fd;
		if (userns < 0) {
			userns = idmap_userns(st.st_uid, st.st_gid, to_uid, to_gid, err);
			if (userns < 0)
				goto out;
			if (n_ns < ARRAY_SIZE(ns))
				ns[n_ns++] = (typeof(ns[0])){ st.st_uid, st.st_gid, userns };
			else
				own = userns; /* closed after this path */
		}
		tree = clone_tree(p[i].path, userns);
		if (tree < 0) {
			if (!idmap_unsupported(errno)) {
				cordon_err_set(err, errno, "idmapped mount of %s", p[i].path);
				goto out;
			}
			unsupported[i] = true;
			continue;
		}
		p[i].tree_fd = tree;
		p[i].idmapped = true;
	}
	r = 0;
out:
	for (size_t k = 0; k < n_ns; k++)
		close(ns[k].fd);
	return r;
}

/* Plain (not idmapped) trees for the entries that have none yet. */
static int
plain_all(struct sb_prepared *p, size_t n, struct cordon_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i].tree_fd >= 0)
			continue;
		p[i].tree_fd = clone_tree(p[i].path, -1);
		if (p[i].tree_fd < 0)
			return cordon_err_set(err, errno, "open_tree %s", p[i].path);
	}
	return 0;
}

int
sb_ids_settle(struct sb_ids *ids, struct sb_reach *r, size_t n_rw, struct cordon_err *err)
{
	struct sb_prepared *p = r->prepared;
	_cleanup_free_ bool *unsupported = NULL;
	bool any = false;
	uid_t owner = 0;
	struct stat st;

	if (!ids->privileged) {
		for (size_t i = 0; i < n_rw; i++)
			p[i].tree_fd = -1;
		return 0;
	}
	unsupported = xcalloc(n_rw ? n_rw : 1, sizeof(*unsupported));
	if (idmap_all(p, n_rw, ids->outer_uid, ids->outer_gid, unsupported, false, err) < 0)
		return -1;
	for (size_t i = 0; i < n_rw; i++)
		any |= unsupported[i];
	if (!any) {
		ids->mode = SB_ID_IDMAP;
		return 0;
	}
	close_trees(p, n_rw);

	/* owner: every read-write path has the same non-root owner. */
	for (size_t i = 0; i < n_rw; i++) {
		if (stat(p[i].path, &st) < 0)
			return cordon_err_set(err, errno, "stat %s", p[i].path);
		if (st.st_uid == 0 || (i > 0 && st.st_uid != owner)) {
			owner = 0;
			break;
		}
		owner = st.st_uid;
	}
	if (owner != 0) {
		struct passwd *pw = getpwuid(owner);

		ids->mode = SB_ID_OWNER;
		ids->outer_uid = ids->inner_uid = owner;
		ids->outer_gid = ids->inner_gid =
		    pw != NULL && pw->pw_gid != 0 ? pw->pw_gid : (gid_t)owner;
		return plain_all(p, n_rw, err);
	}

	/* root-uid: kernel uid 0, shown as 1000; the workspace's group. */
	if (stat(p[0].path, &st) < 0)
		return cordon_err_set(err, errno, "stat %s", p[0].path);
	ids->mode = SB_ID_ROOT_UID;
	ids->outer_uid = 0;
	ids->outer_gid = st.st_gid;
	ids->inner_uid = SB_SANDBOX_INNER_UID;
	ids->inner_gid = SB_SANDBOX_INNER_UID;
	memset(unsupported, 0, n_rw * sizeof(*unsupported));
	if (idmap_all(p, n_rw, 0, st.st_gid, unsupported, true, err) < 0)
		return -1;
	for (size_t i = 0; i < n_rw; i++) {
		struct stat o;

		if (!unsupported[i])
			continue;
		if (stat(p[i].path, &o) < 0)
			return cordon_err_set(err, errno, "stat %s", p[i].path);
		cordon_err_set(err, 0,
			       "cannot make %s writable: it belongs to uid %u on a file system "
			       "without idmapped mounts, and %s belongs to root",
			       p[i].path, (unsigned)o.st_uid, p[0].path);
		return cordon_err_hint(err, "cordon, run by root, can write paths of one owner "
					    "only on such a file system (overlayfs): give them one "
					    "owner, or run cordon as that user");
	}
	return plain_all(p, n_rw, err);
}

static int
read_int_file(const char *path, long *v)
{
	char buf[32] = { 0 };
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return -1;
	return sscanf(buf, "%ld", v) == 1 ? 0 : -1;
}

/*
 * Inside a cordon sandbox: the marker variable, and the seccomp filter and
 * no_new_privs that every sandbox has. Only for a hint: a process outside
 * can fake the variable but not a filter it does not have.
 */
bool
sb_inside_cordon(void)
{
	char buf[4096] = { 0 };
	const char *v = getenv("CORDON_SANDBOX");
	_cleanup_close_ int fd = -1;

	if (v == NULL || strcmp(v, "1") != 0)
		return false;
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return false;
	return strstr(buf, "\nNoNewPrivs:\t1") != NULL && strstr(buf, "\nSeccomp:\t2") != NULL;
}

int
sb_userns_diagnose(int code, struct cordon_err *err)
{
	long v;

	cordon_err_set(err, code, "cannot create the sandbox's user namespace");
	if (code == EPERM && sb_inside_cordon())
		return cordon_err_hint(err,
				       "this is already inside a cordon sandbox, which refuses "
				       "new namespaces: the command already runs sandboxed. Run "
				       "it directly, or start cordon outside");
	if (read_int_file("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0 &&
	    geteuid() != 0)
		return cordon_err_hint(err, "unprivileged user namespaces are disabled "
					    "(kernel.unprivileged_userns_clone = 0). Enable them: "
					    "sudo sysctl -w kernel.unprivileged_userns_clone=1");
	if (read_int_file("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
		return cordon_err_hint(err, "user namespaces are disabled here "
					    "(user.max_user_namespaces = 0). Enable them: "
					    "sudo sysctl -w user.max_user_namespaces=15000");
	if (read_int_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 &&
	    v == 1 && geteuid() != 0)
		return cordon_err_hint(
		    err, "AppArmor restricts unprivileged user namespaces "
			 "(kernel.apparmor_restrict_unprivileged_userns = 1). Install "
			 "an AppArmor profile that allows userns for cordon, or: sudo "
			 "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
	if (code == ENOSPC || code == EUSERS)
		return cordon_err_hint(err,
				       "the limit on user namespaces is reached "
				       "(user.max_user_namespaces, or nesting deeper than 32). "
				       "Raise it: sudo sysctl -w user.max_user_namespaces=15000");
	if (code == EPERM || code == ENOSYS)
		return cordon_err_hint(
		    err, "creating namespaces is refused, most likely by the seccomp "
			 "profile of an enclosing container (Docker's default profile "
			 "blocks it). Run the container with a profile that allows "
			 "clone/unshare of namespaces, or use `cordon proxy` alone.");
	return cordon_err_hint(err, "check that this kernel has user namespaces "
				    "(CONFIG_USER_NS) and that no security module refuses them");
}
