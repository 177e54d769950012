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
 * The host's files keep their owners, so plain permissions still decide
 * inside: the command (no capabilities) cannot change a root-owned file.
 * The directories of spec->overlay_own (/usr/local, /opt and the like)
 * are made in the upper layer owned by the command's user first; a merged
 * directory takes its owner from the upper one, so the command can install
 * there, and what it installs persists in this sandbox's upper layer only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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
	for (size_t i = 0; i < spec->n_overlay_dirs; i++) {
		const char *d = spec->overlay_dirs[i];
		char opts[3 * PATH_MAX + 64], dst[PATH_MAX];
		size_t at = 0;

		detail(ctx, d);
		opts[0] = '\0';
		if (cat(opts, sizeof(opts), &at, "lowerdir=" OVL_OLDROOT) < 0 ||
		    cat(opts, sizeof(opts), &at, d) < 0 ||
		    cat(opts, sizeof(opts), &at, ",upperdir=" OVL_OLDROOT) < 0 ||
		    cat(opts, sizeof(opts), &at, state) < 0 ||
		    cat(opts, sizeof(opts), &at, "/upper") < 0 ||
		    cat(opts, sizeof(opts), &at, d) < 0 ||
		    cat(opts, sizeof(opts), &at, ",workdir=" OVL_OLDROOT) < 0 ||
		    cat(opts, sizeof(opts), &at, state) < 0 ||
		    cat(opts, sizeof(opts), &at, "/work") < 0 ||
		    cat(opts, sizeof(opts), &at, d) < 0 ||
		    cat(opts, sizeof(opts), &at, ",userxattr") < 0)
			return -1;
		if (cat3(dst, sizeof(dst), OVL_NEWROOT, d, "") < 0)
			return -1;
		if (mount("overlay", dst, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
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
	if (lchown(up, st.st_uid, st.st_gid) < 0 || chmod(up, st.st_mode & 07777) < 0)
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
