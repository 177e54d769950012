/* SPDX-License-Identifier: MIT */
/*
 * Named sandboxes: the host's system directories seen through overlayfs
 * (spec->overlay_state). Runs in the child as the step right after the
 * read-only root, so that everything mounted later (proc, dev, private
 * tmpfs, the host's own submounts bound back, masks) lands on top of it:
 * a mask hides the same path whether the file under it comes from the host
 * or from the upper layer. Async-signal-safe: no allocation, no stdio.
 *
 * For each directory D of spec->overlay_dirs:
 *   lower  /oldroot/D                      the host's D, as it is now
 *   upper  /oldroot/<state>/upper/D        the sandbox's own changes
 *   work   /oldroot/<state>/work/D         overlayfs's scratch
 * mounted nosuid,nodev with userxattr: in a user namespace overlayfs may
 * keep its metadata only in user.* xattrs (Linux >= 5.11), and nothing
 * trusted.* could be set anyway.
 *
 * A host mount below D (a tmpfs under /var/tmp, a container's root under
 * /var/lib) is copied into our mount namespace locked, and overlayfs
 * refuses a lower layer with a locked mount below it (EINVAL, "failed to
 * clone lowerpath": it would show what the mount hides). So D is overlaid
 * whole only when our own mount table (read here, after the pivot, so it
 * is exactly what this namespace holds) has no mount below it; otherwise
 * each subdirectory of D is overlaid the same way, down to the mounts,
 * which stay as the read-only root step copied them. D itself and each
 * directory on the way to a mount then stay the host's, read-only.
 *
 * The host's files keep their owners, so plain permissions still decide
 * inside: the command (no capabilities) cannot change a root-owned file.
 * The directories of spec->overlay_own (/usr/local, /opt and the like)
 * are made in the upper layer owned by the command's user first; a merged
 * directory takes its owner from the upper one, so the command can install
 * there, and what it installs persists in this sandbox's upper layer only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fd.h"
#include "sandbox/steps.h"

#define OVL_OLDROOT "/oldroot"
#define OVL_NEWROOT "/newroot"

/* Append s to buf (len bytes, NUL-terminated so far at *at). -1 ENAMETOOLONG. */
static int
cat(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + n + 1 > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf + *at, s, n + 1);
	*at += n;
	return 0;
}

/* buf = a b c (any may be ""). */
static int
cat3(char *buf, size_t len, const char *a, const char *b, const char *c)
{
	size_t at = 0;

	buf[0] = '\0';
	return cat(buf, len, &at, a) < 0 || cat(buf, len, &at, b) < 0 || cat(buf, len, &at, c) < 0
		   ? -1
		   : 0;
}

static void
detail(struct sb_child_ctx *ctx, const char *path)
{
	size_t n = strlen(path);

	if (ctx->detail == NULL || ctx->detail_len == 0)
		return;
	if (n >= ctx->detail_len)
		n = ctx->detail_len - 1;
	memcpy(ctx->detail, path, n);
	ctx->detail[n] = '\0';
}

/*
 * lchown, each id our user namespace does not map (EINVAL: a group of the
 * host's that shows as the overflow id inside) left as it was.
 */
static int
chown_mapped(const char *path, uid_t uid, gid_t gid)
{
	if (lchown(path, uid, gid) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if (lchown(path, uid, (gid_t)-1) < 0 && errno != EINVAL)
		return -1;
	if (lchown(path, (uid_t)-1, gid) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

/* /oldroot/<state>/upper/<path>, owned by the command's user. */
static int
make_own(struct sb_child_ctx *ctx, const char *state, const char *path)
{
	char up[PATH_MAX], mid[PATH_MAX];
	struct stat st;

	if (cat3(mid, sizeof(mid), state, "/upper", path) < 0 ||
	    cat3(up, sizeof(up), OVL_OLDROOT, mid, "") < 0)
		return -1;
	if (mkdir(up, 0755) < 0 && errno != EEXIST)
		return -1;
	/* The command removed it in an earlier run (a whiteout): leave it so. */
	if (lstat(up, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (lchown(up, ctx->ids->inner_uid, ctx->ids->inner_gid) < 0)
		return -1;
	return chmod(up, 0755);
}

/*
 * Host paths of the mount points strictly below one of the overlaid
 * directories, NUL-separated. Static: the child may not allocate, and a
 * host running containers has many.
 */
static char subs[256 * 1024];
static size_t subs_len;

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = '\0';
}

/* One mountinfo line: keep its mount point if it lies below an overlaid directory. */
static int
keep_sub(const struct sb_spec *spec, char *line)
{
	char *mp = line, *end;
	size_t ol = strlen(OVL_OLDROOT), n;

	for (int i = 0; i < 4 && mp != NULL; i++) {
		mp = strchr(mp, ' ');
		mp = mp != NULL ? mp + 1 : NULL;
	}
	if (mp == NULL || strncmp(mp, OVL_OLDROOT "/", ol + 1) != 0)
		return 0;
	end = strchr(mp, ' ');
	if (end != NULL)
		*end = '\0';
	unescape(mp);
	mp += ol;
	for (size_t i = 0; i < spec->n_overlay_dirs; i++) {
		n = strlen(spec->overlay_dirs[i]);
		if (strncmp(mp, spec->overlay_dirs[i], n) != 0 || mp[n] != '/')
			continue;
		n = strlen(mp) + 1;
		if (subs_len + n > sizeof(subs))
			return errno = E2BIG, -1;
		memcpy(subs + subs_len, mp, n);
		subs_len += n;
		return 0;
	}
	return 0;
}

/* Fill subs from our own mount table (the host's /proc, under /oldroot). */
static int
read_subs(const struct sb_spec *spec)
{
	char buf[64 * 1024];
	size_t have = 0;
	ssize_t n;
	int fd = open(OVL_OLDROOT "/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), r = 0;

	subs_len = 0;
	if (fd < 0) /* no /proc: each directory whole, as if nothing were mounted below */
		return 0;
	while (r == 0 && (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)n;
		buf[have] = '\0';
		while (r == 0 && (nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			r = keep_sub(spec, line);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			r = (errno = E2BIG, -1);
	}
	if (n < 0)
		r = -1;
	close(fd);
	return r;
}

/* 2: a mount point at path; 1: one strictly below it; 0: neither. */
static int
subs_at(const char *path)
{
	size_t n = strlen(path);
	int r = 0;

	for (const char *m = subs; m < subs + subs_len; m += strlen(m) + 1)
		if (strncmp(m, path, n) == 0 && m[n] == '\0')
			return 2;
		else if (strncmp(m, path, n) == 0 && m[n] == '/')
			r = 1;
	return r;
}

/*
 * <state>/<layer><path> for a directory overlaid on its own: made with the
 * host directory's mode and, where our user namespace maps it, owner (the
 * merged directory shows the upper one's). 1: not a directory (the command
 * removed the host's in an earlier run): leave the host's as it is.
 */
static int
layer_dir(const char *state, const char *layer, const char *path, const struct stat *lower)
{
	char dir[PATH_MAX];
	struct stat st;
	size_t at = 0;

	dir[0] = '\0';
	if (cat(dir, sizeof(dir), &at, OVL_OLDROOT) < 0 || cat(dir, sizeof(dir), &at, state) < 0 ||
	    cat(dir, sizeof(dir), &at, layer) < 0 || cat(dir, sizeof(dir), &at, path) < 0)
		return -1;
	if (lstat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : 1;
	if (errno != ENOENT || fd_mkdir_p(dir, 0755) < 0)
		return -1;
	if (chown_mapped(dir, lower->st_uid, lower->st_gid) < 0)
		return -1;
	return chmod(dir, lower->st_mode & 07777);
}

/* /newroot<path> = overlayfs of /oldroot<path> and <state>/upper<path>. */
static int
overlay_one(struct sb_child_ctx *ctx, const char *state, const char *path)
{
	char opts[3 * PATH_MAX + 64], src[PATH_MAX], dst[PATH_MAX];
	struct stat st;
	size_t at = 0;
	int r;

	detail(ctx, path);
	if (cat3(src, sizeof(src), OVL_OLDROOT, path, "") < 0 || stat(src, &st) < 0)
		return -1;
	r = layer_dir(state, "/upper", path, &st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (layer_dir(state, "/work", path, &st) < 0)
		return -1;
	opts[0] = '\0';
	if (cat(opts, sizeof(opts), &at, "lowerdir=") < 0 ||
	    cat(opts, sizeof(opts), &at, src) < 0 ||
	    cat(opts, sizeof(opts), &at, ",upperdir=" OVL_OLDROOT) < 0 ||
	    cat(opts, sizeof(opts), &at, state) < 0 || cat(opts, sizeof(opts), &at, "/upper") < 0 ||
	    cat(opts, sizeof(opts), &at, path) < 0 ||
	    cat(opts, sizeof(opts), &at, ",workdir=" OVL_OLDROOT) < 0 ||
	    cat(opts, sizeof(opts), &at, state) < 0 || cat(opts, sizeof(opts), &at, "/work") < 0 ||
	    cat(opts, sizeof(opts), &at, path) < 0 ||
	    cat(opts, sizeof(opts), &at, ",userxattr") < 0)
		return -1;
	if (cat3(dst, sizeof(dst), OVL_NEWROOT, path, "") < 0)
		return -1;
	return mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts);
}

/*
 * Overlay path (len bytes of the PATH_MAX buffer) whole, or, with a mount
 * below it, each of its subdirectories; a mount point itself is left alone.
 */
static int
overlay_tree(struct sb_child_ctx *ctx, const char *state, char *path, size_t len)
{
	char buf[4096] __attribute__((aligned(8))), src[PATH_MAX];
	int where = subs_at(path), fd, r = 0;
	long n;

	if (where != 1)
		return where == 2 ? 0 : overlay_one(ctx, state, path);
	detail(ctx, path);
	if (cat3(src, sizeof(src), OVL_OLDROOT, path, "") < 0)
		return -1;
	fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (r == 0 && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; r == 0 && off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			size_t nl = strlen(e->d_name);
			unsigned char type = e->d_type;
			struct stat st;

			off += e->d_reclen;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (type == DT_UNKNOWN)
				type = fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
					   ? (unsigned char)IFTODT(st.st_mode)
					   : DT_UNKNOWN;
			if (type != DT_DIR)
				continue;
			if (len + 1 + nl + 1 > PATH_MAX) {
				r = (errno = ENAMETOOLONG, -1);
				break;
			}
			path[len] = '/';
			memcpy(path + len + 1, e->d_name, nl + 1);
			r = overlay_tree(ctx, state, path, len + 1 + nl);
			path[len] = '\0';
		}
	if (r == 0 && n < 0)
		r = -1;
	close(fd);
	return r;
}

int
sb_mount_overlay(struct sb_child_ctx *ctx)
{
	const struct sb_spec *spec = ctx->spec;
	const char *state = spec->overlay_state;

	if (state == NULL)
		return 0;
	for (size_t i = 0; i < spec->n_overlay_own; i++) {
		detail(ctx, spec->overlay_own[i]);
		if (make_own(ctx, state, spec->overlay_own[i]) < 0)
			return -1;
	}
	detail(ctx, "/proc/self/mountinfo");
	if (read_subs(spec) < 0)
		return -1;
	for (size_t i = 0; i < spec->n_overlay_dirs; i++) {
		char path[PATH_MAX];
		size_t n = strlen(spec->overlay_dirs[i]);

		if (n >= sizeof(path))
			return errno = ENAMETOOLONG, -1;
		memcpy(path, spec->overlay_dirs[i], n + 1);
		if (overlay_tree(ctx, state, path, n) < 0)
			return -1;
	}
	return 0;
}

/*
 * Review mode: overlayfs over the workspace just bound at /newroot<ws>
 * (idmapped when the supervisor prepared it), which is its lower layer;
 * upper and work in <review_state>/ws-upper and ws-work. The upper layer's
 * root gives the merged root its owner and mode: the workspace's, as the
 * command sees it.
 */
int
sb_mount_review(struct sb_child_ctx *ctx)
{
	const struct sb_spec *spec = ctx->spec;
	const char *state = spec->review_state;
	char opts[3 * PATH_MAX + 64], dst[PATH_MAX], up[PATH_MAX];
	struct stat st;
	size_t at = 0;

	if (state == NULL)
		return 0;
	detail(ctx, spec->workspace);
	if (cat3(dst, sizeof(dst), OVL_NEWROOT, spec->workspace, "") < 0 ||
	    cat3(up, sizeof(up), OVL_OLDROOT, state, "/ws-upper") < 0 || stat(dst, &st) < 0)
		return -1;
	if (chown_mapped(up, st.st_uid, st.st_gid) < 0 || chmod(up, st.st_mode & 07777) < 0)
		return -1;
	opts[0] = '\0';
	if (cat(opts, sizeof(opts), &at, "lowerdir=") < 0 ||
	    cat(opts, sizeof(opts), &at, dst) < 0 ||
	    cat(opts, sizeof(opts), &at, ",upperdir=") < 0 ||
	    cat(opts, sizeof(opts), &at, up) < 0 ||
	    cat(opts, sizeof(opts), &at, ",workdir=" OVL_OLDROOT) < 0 ||
	    cat(opts, sizeof(opts), &at, state) < 0 ||
	    cat(opts, sizeof(opts), &at, "/ws-work,userxattr") < 0)
		return -1;
	return mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts);
}
