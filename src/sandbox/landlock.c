/* SPDX-License-Identifier: MIT */
/*
 * Landlock: the third wall. It mirrors the mount policy with the kernel's
 * own access control, so that a gap in the mount tree (a writable mount
 * the first wall missed, a root-owned file that passes owner checks) still
 * does not let the sandbox write outside the paths the policy allows.
 *
 *   /                 read, list, execute
 *   workspace, /tmp, /run, /dev/shm, policy read-write and tmpfs paths,
 *   a named sandbox's overlaid system directories (overlay.c)
 *                     read, execute, create, write, remove, rename, truncate
 *   /dev/null zero full random urandom tty, /dev/pts
 *                     read, write; ioctl on the terminals only (ABI 5)
 *   scoping (ABI 6)   no abstract unix socket or signal across the
 *                     sandbox's boundary
 *   TCP (ABI 4)       only when the policy asks: no listening socket when
 *                     local binding is off. Never by default: a dev server
 *                     or a test database inside must keep working.
 *
 * What the kernel supports is decided in the supervisor before clone (the
 * ABI ladder below, in the style of the kernel's sandboxer sample). A
 * missing part the policy needs refuses to start unless the policy allows
 * best effort; optional parts (truncate, ioctl, scoping) are taken when the
 * kernel has them and named by sb_landlock_describe() otherwise.
 *
 * The rules are added in the child after pivot_root, from path strings
 * prepared here, so they name the sandbox's own tree. Async-signal-safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "sandbox/steps.h"

/*
 * The kernel's uapi, spelled out: Debian 12's <linux/landlock.h> stops at
 * ABI 2. Values from include/uapi/linux/landlock.h (Linux 6.12+).
 */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule       445
#define __NR_landlock_restrict_self  446
#endif

struct sb_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};

struct sb_ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct sb_ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

#define SB_LL_CREATE_RULESET_VERSION (1U << 0)
#define SB_LL_RULE_PATH_BENEATH      1
#define SB_LL_RULE_NET_PORT          2

#define SB_LL_FS_EXECUTE     (1ULL << 0)
#define SB_LL_FS_WRITE_FILE  (1ULL << 1)
#define SB_LL_FS_READ_FILE   (1ULL << 2)
#define SB_LL_FS_READ_DIR    (1ULL << 3)
#define SB_LL_FS_REMOVE_DIR  (1ULL << 4)
#define SB_LL_FS_REMOVE_FILE (1ULL << 5)
#define SB_LL_FS_MAKE_CHAR   (1ULL << 6)
#define SB_LL_FS_MAKE_DIR    (1ULL << 7)
#define SB_LL_FS_MAKE_REG    (1ULL << 8)
#define SB_LL_FS_MAKE_SOCK   (1ULL << 9)
#define SB_LL_FS_MAKE_FIFO   (1ULL << 10)
#define SB_LL_FS_MAKE_BLOCK  (1ULL << 11)
#define SB_LL_FS_MAKE_SYM    (1ULL << 12)
#define SB_LL_FS_REFER       (1ULL << 13) /* ABI 2 */
#define SB_LL_FS_TRUNCATE    (1ULL << 14) /* ABI 3 */
#define SB_LL_FS_IOCTL_DEV   (1ULL << 15) /* ABI 5 */

#define SB_LL_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define SB_LL_NET_CONNECT_TCP (1ULL << 1)

#define SB_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SB_LL_SCOPE_SIGNAL               (1ULL << 1)

#define SB_LL_FS_ALL                                                                               \
	(SB_LL_FS_EXECUTE | SB_LL_FS_WRITE_FILE | SB_LL_FS_READ_FILE | SB_LL_FS_READ_DIR |         \
	 SB_LL_FS_REMOVE_DIR | SB_LL_FS_REMOVE_FILE | SB_LL_FS_MAKE_CHAR | SB_LL_FS_MAKE_DIR |     \
	 SB_LL_FS_MAKE_REG | SB_LL_FS_MAKE_SOCK | SB_LL_FS_MAKE_FIFO | SB_LL_FS_MAKE_BLOCK |       \
	 SB_LL_FS_MAKE_SYM | SB_LL_FS_REFER | SB_LL_FS_TRUNCATE | SB_LL_FS_IOCTL_DEV)
#define SB_LL_FS_READ (SB_LL_FS_EXECUTE | SB_LL_FS_READ_FILE | SB_LL_FS_READ_DIR)
/* Device nodes are never created, even where writes are allowed. */
#define SB_LL_FS_WRITE                                                                             \
	(SB_LL_FS_WRITE_FILE | SB_LL_FS_REMOVE_DIR | SB_LL_FS_REMOVE_FILE | SB_LL_FS_MAKE_DIR |    \
	 SB_LL_FS_MAKE_REG | SB_LL_FS_MAKE_SOCK | SB_LL_FS_MAKE_FIFO | SB_LL_FS_MAKE_SYM |         \
	 SB_LL_FS_REFER | SB_LL_FS_TRUNCATE)
/* Rights that make sense on a file (the kernel refuses the others there). */
#define SB_LL_FS_FILE                                                                              \
	(SB_LL_FS_EXECUTE | SB_LL_FS_WRITE_FILE | SB_LL_FS_READ_FILE | SB_LL_FS_TRUNCATE |         \
	 SB_LL_FS_IOCTL_DEV)

/* Newest ABI this code knows; a newer kernel is used at this level. */
#define SB_LL_ABI_KNOWN 7

static const char *const dev_files[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};
static const char *const tty_paths[] = { "/dev/tty", "/dev/pts" };
static const char *const private_dirs[] = { "/tmp", "/run", "/dev/shm" };

int
sb_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, SB_LL_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

static int
add_path(struct sb_landlock *ll, const char *path, uint64_t access, struct cordon_err *err)
{
	if (ll->n_paths == SB_LL_MAX_PATHS)
		return cordon_err_set(err, E2BIG, "Landlock: more than %d path rules",
				      SB_LL_MAX_PATHS);
	ll->paths[ll->n_paths].path = path;
	ll->paths[ll->n_paths].access = access;
	ll->n_paths++;
	return 0;
}

int
sb_landlock_prepare(const struct sb_spec *spec, struct sb_landlock *ll, struct cordon_err *err)
{
	uint64_t fs = SB_LL_FS_ALL, net = 0, scoped = 0;
	int abi;

	memset(ll, 0, sizeof(*ll));
	if (spec->test_flags & SB_TEST_NO_LANDLOCK)
		return 0;
	abi = sb_landlock_abi();
	if (abi < 1) {
		if (spec->best_effort) {
			snprintf(ll->missing, sizeof(ll->missing), "Landlock (the whole wall)");
			log_warnx("best effort: no Landlock on this kernel, the third wall is off");
			return 0;
		}
		cordon_err_set(err, errno == ENOSYS || errno == EOPNOTSUPP ? errno : 0,
			       "this kernel has no usable Landlock, cordon's third wall");
		return cordon_err_hint(err,
				       "boot a kernel with CONFIG_SECURITY_LANDLOCK=y and "
				       "\"landlock\" in the lsm= list (Linux >= 5.13), or "
				       "accept a weaker boundary with best effort in the policy");
	}
	if (spec->no_tcp_bind)
		net = SB_LL_NET_BIND_TCP;
	scoped = SB_LL_SCOPE_ABSTRACT_UNIX_SOCKET | SB_LL_SCOPE_SIGNAL;

	/* What this kernel lacks, newest first (kernel sandboxer.c style). */
	switch (abi) {
	case 1:
		fs &= ~SB_LL_FS_REFER;
		/* fall through */
	case 2:
		fs &= ~SB_LL_FS_TRUNCATE;
		/* fall through */
	case 3:
		if (net != 0 && !spec->best_effort) {
			cordon_err_set(err, 0,
				       "the policy turns local binding off, but this "
				       "kernel's Landlock (ABI %d) cannot restrict TCP",
				       abi);
			return cordon_err_hint(err, "Linux >= 6.7 has Landlock TCP rules; or allow "
						    "local binding, or run without that wall: "
						    "--allow-degraded");
		}
		net = 0;
		/* fall through */
	case 4:
		fs &= ~SB_LL_FS_IOCTL_DEV;
		/* fall through */
	case 5:
		scoped = 0;
		/* fall through */
	case 6:
	case SB_LL_ABI_KNOWN:
	default:
		break;
	}
	ll->abi = abi > SB_LL_ABI_KNOWN ? SB_LL_ABI_KNOWN : abi;
	ll->handled_fs = fs;
	ll->handled_net = net;
	ll->scoped = scoped;
	snprintf(ll->missing, sizeof(ll->missing), "%s%s%s%s", abi < 3 ? "truncate " : "",
		 abi < 5 ? "device-ioctl " : "", abi < 6 ? "scoping " : "",
		 abi < 4 && spec->no_tcp_bind ? "tcp-bind " : "");
	/*
	 * Fail closed (DESIGN.md §1): a part of the wall this kernel lacks is
	 * a weaker boundary, accepted only with best effort.
	 */
	if (ll->missing[0] != '\0' && !spec->best_effort) {
		cordon_err_set(err, 0,
			       "this kernel's Landlock (ABI %d) lacks part of cordon's "
			       "third wall: %s",
			       abi, ll->missing);
		return cordon_err_hint(err,
				       "Linux >= 6.12 has all of it (ABI 6); `cordon check` "
				       "lists what is missing; or accept a weaker boundary with "
				       "best effort (failIfUnavailable: false)");
	}
	if (ll->missing[0] != '\0')
		log_warnx("best effort: Landlock ABI %d lacks %s", abi, ll->missing);

	if (add_path(ll, "/", SB_LL_FS_READ, err) < 0)
		return -1;
	if (add_path(ll, spec->workspace, SB_LL_FS_READ | SB_LL_FS_WRITE, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(private_dirs); i++)
		if (add_path(ll, private_dirs[i], SB_LL_FS_READ | SB_LL_FS_WRITE, err) < 0)
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dev_files); i++)
		if (add_path(ll, dev_files[i],
			     SB_LL_FS_READ_FILE | SB_LL_FS_WRITE_FILE | SB_LL_FS_TRUNCATE, err) < 0)
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(tty_paths); i++)
		if (add_path(ll, tty_paths[i],
			     SB_LL_FS_READ | SB_LL_FS_WRITE_FILE | SB_LL_FS_TRUNCATE |
				 SB_LL_FS_IOCTL_DEV,
			     err) < 0)
			return -1;
	if (spec->private_home != NULL &&
	    add_path(ll, spec->private_home, SB_LL_FS_READ | SB_LL_FS_WRITE, err) < 0)
		return -1;
	/* A named sandbox's overlay: its writes land in its upper layer. */
	for (size_t i = 0; i < spec->n_overlay_dirs; i++)
		if (add_path(ll, spec->overlay_dirs[i], SB_LL_FS_READ | SB_LL_FS_WRITE, err) < 0)
			return -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct sb_mount *m = &spec->mounts[i];

		if (m->kind != SB_MOUNT_RW && m->kind != SB_MOUNT_TMPFS)
			continue;
		if (add_path(ll, m->path, SB_LL_FS_READ | SB_LL_FS_WRITE, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ll->n_paths; i++)
		ll->paths[i].access &= fs;
	return 0;
}

int
sb_landlock_describe(const struct sb_landlock *ll, char *buf, size_t len)
{
	if (ll->abi == 0)
		return snprintf(buf, len, "Landlock off%s%s", ll->missing[0] ? ", missing: " : "",
				ll->missing);
	return snprintf(buf, len, "Landlock ABI %d: fs%s%s%s%s", ll->abi,
			ll->scoped ? ", scoped (abstract unix, signals)" : "",
			ll->handled_net ? ", no TCP bind" : "", ll->missing[0] ? "; missing: " : "",
			ll->missing);
}

int
sb_landlock_apply(struct sb_child_ctx *ctx)
{
	const struct sb_landlock *ll = ctx->landlock;
	struct sb_ll_ruleset_attr attr;
	size_t attr_size;
	int rfd;

	if (ll == NULL || ll->abi == 0)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll->handled_fs;
	attr.handled_access_net = ll->handled_net;
	attr.scoped = ll->scoped;
	/* Older kernels refuse a struct with fields they do not know (E2BIG). */
	attr_size = ll->abi >= 6   ? sizeof(attr)
		    : ll->abi >= 4 ? offsetof(struct sb_ll_ruleset_attr, scoped)
				   : offsetof(struct sb_ll_ruleset_attr, handled_access_net);
	rfd = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
	if (rfd < 0)
		return -1;
	for (size_t i = 0; i < ll->n_paths; i++) {
		struct sb_ll_path_beneath_attr pb;
		struct stat st;
		int fd;

		fd = open(ll->paths[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			/* Not in this sandbox's tree (no /dev/shm): nothing to allow. */
			if (errno == ENOENT)
				continue;
			goto fail_path;
		}
		if (fstat(fd, &st) < 0) {
			close(fd);
			goto fail_path;
		}
		pb.allowed_access = ll->paths[i].access;
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= SB_LL_FS_FILE;
		pb.parent_fd = fd;
		if (syscall(__NR_landlock_add_rule, rfd, SB_LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			close(fd);
			goto fail_path;
		}
		close(fd);
		continue;
	fail_path:
		if (ctx->detail != NULL && ctx->detail_len > 0) {
			size_t n = strlen(ll->paths[i].path);
			int e = errno;

			if (n >= ctx->detail_len)
				n = ctx->detail_len - 1;
			memcpy(ctx->detail, ll->paths[i].path, n);
			ctx->detail[n] = '\0';
			errno = e;
		}
		{
			int e = errno;

			close(rfd);
			errno = e;
		}
		return -1;
	}
	if (syscall(__NR_landlock_restrict_self, rfd, 0) < 0) {
		int e = errno;

		close(rfd);
		errno = e;
		return -1;
	}
	close(rfd);
	return 0;
}
