/* SPDX-License-Identifier: MIT */
/*
 * The sandbox pipeline: one ordered list of steps, run in the child (pid 1
 * of the new pid namespace) after clone. The order is security-relevant:
 *
 *   1. ids/userns    supervisor writes the id maps, child waits for them
 *   2. hostname      uts namespace
 *   3. mounts        private tree, read-only host, overlay (named
 *                    sandbox), proc, dev, skeletons
 *                    over closed directories, tmpfs, workspace, policy
 *                    and found mounts, passwd files, pivot_root
 *   4. network       loopback up in the empty network namespace
 *   5. cgroup        own cgroup namespace root (the supervisor moved pid 1
 *                    into the sandbox's cgroup before GO), or rlimits
 *   6. privileges    bounding set, id switch, capabilities, no_new_privs
 *   7. terminal      when cordon runs in a terminal: a pty from the
 *                    sandbox's own devpts, owned by the sandbox user (so
 *                    after the id switch), master to the supervisor (pty.c)
 *   8. Landlock      filesystem (and, when asked, TCP) rules; scoping
 *   9. seccomp       last wall before exec
 *  10. fds           everything but the control socket (and the pty) closed
 *  11. exec          fork the command, stay as init (child.c)
 *
 * Mounts need the capabilities the user namespace gives us, so they come
 * before dropping them; seccomp would refuse mount-family calls, so it comes
 * after. Landlock needs no_new_privs and must come after the last open of a
 * host path. Every function here but sb_spawn/sb_wait runs in the child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"
#include "sandbox/steps.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int
step_sync(struct sb_child_ctx *ctx)
{
	struct sb_msg msg;

	/*
	 * Die with the supervisor, even by SIGKILL. Armed before waiting, so a
	 * supervisor that died already shows as EOF here.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -1;
	if (fd_read_all(ctx->ctl_fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    msg.type != SB_MSG_GO) {
		errno = EPIPE;
		return -1;
	}
	return 0;
}

static int
step_hostname(struct sb_child_ctx *ctx)
{
	const char *name = ctx->spec->hostname ? ctx->spec->hostname : "cordon";

	if (ctx->spec->test_flags & SB_TEST_FAIL_HOSTNAME) {
		/* late: the supervisor has sent the filters; they stay unread */
		usleep(100 * 1000);
		errno = EPERM;
		return -1;
	}
	return sethostname(name, strlen(name));
}

static int
step_chdir(struct sb_child_ctx *ctx)
{
	return chdir(ctx->spec->workspace);
}

static int
step_close_fds(struct sb_child_ctx *ctx)
{
	return sb_close_fds(ctx->ctl_fd, ctx->tty_fd);
}

static const struct {
	enum sb_step step;
	int (*fn)(struct sb_child_ctx *ctx);
} pipeline[] = {
	{ SB_STEP_SYNC, step_sync },
	{ SB_STEP_HOSTNAME, step_hostname },
	{ SB_STEP_MOUNT_PRIVATE, sb_mount_make_private },
	{ SB_STEP_MOUNT_BASE, sb_mount_base },
	{ SB_STEP_MOUNT_ROOT, sb_mount_root },
	{ SB_STEP_MOUNT_OVERLAY, sb_mount_overlay },
	{ SB_STEP_MOUNT_PROC, sb_mount_proc },
	{ SB_STEP_MOUNT_DEV, sb_mount_dev },
	{ SB_STEP_MOUNT_SKELETON, sb_mount_skeleton },
	{ SB_STEP_MOUNT_TMPFS, sb_mount_tmpfs },
	{ SB_STEP_MOUNT_SEAL, sb_mount_seal },
	{ SB_STEP_MOUNT_WORKSPACE, sb_mount_workspace },
	{ SB_STEP_MOUNT_EXTRA, sb_mount_extra },
	{ SB_STEP_MOUNT_FINISH, sb_mount_finish },
	{ SB_STEP_PIVOT, sb_mount_pivot },
	{ SB_STEP_CHDIR, step_chdir },
	{ SB_STEP_NET_LO, sb_net_lo_up },
	{ SB_STEP_PROXY_LISTENER, sb_proxy_listener },
	{ SB_STEP_CAPTURE, sb_capture_setup },
	{ SB_STEP_CGROUP, sb_resources_enter },
	{ SB_STEP_CAPS_BOUND, sb_caps_bound },
	{ SB_STEP_IDS, sb_ids_switch },
	{ SB_STEP_CAPS, sb_caps_clear },
	{ SB_STEP_NO_NEW_PRIVS, sb_no_new_privs },
	{ SB_STEP_TERMINAL, sb_pty_open },
	{ SB_STEP_LANDLOCK, sb_landlock_apply },
	{ SB_STEP_SECCOMP, sb_seccomp_apply },
	{ SB_STEP_NOTIFY, sb_notify_apply },
	{ SB_STEP_CLOSE_FDS, step_close_fds },
};

static const char *const step_names[SB_STEP__MAX] = {
	[SB_STEP_NONE] = "start",
	[SB_STEP_SYNC] = "waiting for the id maps",
	[SB_STEP_HOSTNAME] = "setting the hostname",
	[SB_STEP_MOUNT_PRIVATE] = "making the mount tree private",
	[SB_STEP_MOUNT_BASE] = "mounting the sandbox base",
	[SB_STEP_MOUNT_ROOT] = "mounting the host root read-only",
	[SB_STEP_MOUNT_OVERLAY] = "mounting the named sandbox's overlay",
	[SB_STEP_MOUNT_PROC] = "mounting /proc",
	[SB_STEP_MOUNT_DEV] = "building /dev",
	[SB_STEP_MOUNT_SKELETON] = "covering a closed directory with a skeleton",
	[SB_STEP_MOUNT_TMPFS] = "mounting private /tmp and /run",
	[SB_STEP_MOUNT_SEAL] = "sealing the home's masked locations",
	[SB_STEP_MOUNT_FINISH] = "binding /etc/passwd and sealing skeletons",
	[SB_STEP_MOUNT_WORKSPACE] = "mounting the workspace",
	[SB_STEP_MOUNT_EXTRA] = "applying policy mounts",
	[SB_STEP_PIVOT] = "switching to the new root",
	[SB_STEP_NET_LO] = "bringing up loopback",
	[SB_STEP_PROXY_LISTENER] = "opening the proxy listener on 127.0.0.1",
	[SB_STEP_CAPTURE] = "setting up transparent capture",
	[SB_STEP_CAPS_BOUND] = "emptying the capability bounding set",
	[SB_STEP_IDS] = "switching to the sandbox user",
	[SB_STEP_CAPS] = "dropping capabilities",
	[SB_STEP_NO_NEW_PRIVS] = "setting no_new_privs",
	[SB_STEP_CGROUP] = "entering the sandbox's cgroup and limits",
	[SB_STEP_LANDLOCK] = "enforcing the Landlock ruleset",
	[SB_STEP_SECCOMP] = "loading the seccomp filter",
	[SB_STEP_NOTIFY] = "loading the seccomp notification filter",
	[SB_STEP_CLOSE_FDS] = "closing inherited file descriptors",
	[SB_STEP_FORK] = "starting the command",
	[SB_STEP_CHDIR] = "entering the workspace",
	[SB_STEP_TERMINAL] = "opening the sandbox's terminal",
};

const char *
sb_step_name(enum sb_step step)
{
	if ((int)step < 0 || step >= SB_STEP__MAX || step_names[step] == NULL)
		return "unknown step";
	return step_names[step];
}

__attribute__((noreturn)) void
sb_child_main(struct sb_child_ctx *ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(pipeline); i++) {
		if (ctx->detail != NULL)
			ctx->detail[0] = '\0';
		if (pipeline[i].fn(ctx) < 0)
			sb_child_fail(ctx, pipeline[i].step);
	}
	sb_child_init(ctx);
}

/* ---- supervisor side ---- */

int
sb_release(struct sb_session *sess, struct cordon_err *err)
{
	struct sb_msg go = { .type = SB_MSG_GO };

	if (fd_write_all(sess->ctl_fd, &go, sizeof(go)) < 0)
		return cordon_err_set(err, errno, "start the command");
	return 0;
}

/* An exec failure report into err and the status the shell would give. */
static void
exec_fail_describe(struct sb_msg *msg, int *exit_status, struct cordon_err *err)
{
	const char *interp;

	msg->detail[sizeof(msg->detail) - 1] = '\0';
	interp = msg->detail + strlen(msg->detail);
	if (interp < msg->detail + sizeof(msg->detail) - 1)
		interp++;
	/* The file is there; bash says "bad interpreter" and 126 too. */
	if (msg->step == SB_EXEC_NO_INTERPRETER && interp[0] != '\0') {
		cordon_err_set(err, 0, "cannot run %s: its interpreter %s is missing", msg->detail,
			       interp);
		cordon_err_hint(err,
				"the script's first line (#!%s) names a program the "
				"sandbox does not have; install it or fix that line",
				interp);
	} else if (msg->step == SB_EXEC_NO_INTERPRETER) {
		cordon_err_set(err, 0, "cannot run %s: the program loader it names is missing",
			       msg->detail);
		cordon_err_hint(err, "it was built for another system (a different "
				     "libc or architecture); rebuild it for this one");
	} else if (msg->err == ENOENT) {
		cordon_err_set(err, msg->err, "cannot run %s", msg->detail);
		cordon_err_hint(err, "no such command in the sandbox's PATH; the "
				     "sandbox sees the host's programs read-only");
	} else if (msg->detail[0] == '\0') {
		cordon_err_set(err, msg->err, "cannot start the command");
	} else {
		cordon_err_set(err, msg->err, "cannot run %s", msg->detail);
		cordon_err_hint(err,
				"check that %s is an executable the sandbox user "
				"may run",
				msg->detail);
	}
	*exit_status = msg->err == ENOENT && msg->step != SB_EXEC_NO_INTERPRETER
			   ? SB_EXIT_NOT_FOUND
			   : SB_EXIT_CANNOT_EXEC;
}

int
sb_read_start(struct sb_session *sess, int *exit_status, struct cordon_err *err)
{
	struct sb_msg msg;
	ssize_t n = RETRY_EINTR(read(sess->ctl_fd, &msg, sizeof(msg)));

	if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_STARTED)
		return 1;
	if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_EXEC_FAIL) {
		exec_fail_describe(&msg, exit_status, err);
		return 0;
	}
	return cordon_err_set(err, n < 0 ? errno : EPIPE,
			      "sandbox init ended before starting the command");
}

int
sb_join_send(struct sb_session *sess, int32_t id, unsigned tty_fds, const char *payload, size_t len,
	     const int fds[3])
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct sb_msg hdr = {
		.type = SB_MSG_JOIN, .pid = id, .step = (int32_t)(tty_fds & 7u), .err = (int32_t)len
	};
	struct iovec iov[2] = { { .iov_base = &hdr, .iov_len = sizeof(hdr) },
				{ .iov_base = (void *)(uintptr_t)payload, .iov_len = len } };
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)
	};
	struct cmsghdr *c;

	if (len > SB_JOIN_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
	if (RETRY_EINTR(sendmsg(sess->ctl_fd, &mh, MSG_NOSIGNAL)) != (ssize_t)(sizeof(hdr) + len))
		return -1;
	return 0;
}

int
sb_join_signal(struct sb_session *sess, int32_t id, int sig)
{
	struct sb_msg m = { .type = SB_MSG_JOIN_SIGNAL, .pid = id, .err = sig };

	return fd_write_all(sess->ctl_fd, &m, sizeof(m));
}

int
sb_read_join(struct sb_session *sess, struct sb_join_event *ev, struct cordon_err *err)
{
	struct sb_msg msg;
	ssize_t n = RETRY_EINTR(read(sess->ctl_fd, &msg, sizeof(msg)));

	memset(ev, 0, sizeof(*ev));
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(msg))
		return cordon_err_set(err, n < 0 ? errno : EPROTO, "read from sandbox init");
	ev->id = msg.pid;
	switch (msg.type) {
	case SB_MSG_JOIN_STARTED:
		ev->kind = SB_JOIN_STARTED;
		ev->pid = msg.step;
		return 1;
	case SB_MSG_JOIN_FAIL:
		ev->kind = SB_JOIN_FAILED;
		exec_fail_describe(&msg, &ev->status, err);
		return 1;
	case SB_MSG_JOIN_EXIT:
		ev->kind = SB_JOIN_EXITED;
		ev->status = msg.err;
		return 1;
	default:
		return cordon_err_set(err, EPROTO, "unexpected message %u from sandbox init",
				      msg.type);
	}
}

static pid_t
clone_sandbox(int *pidfd)
{
	const uint64_t flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
			       CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD;
	struct clone_args args;
	long pid;

	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && errno == ENOSYS) {
		/*
		 * Container seccomp profiles often answer ENOSYS to clone3 so
		 * that the C library falls back to clone; so do we.
		 */
		pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, pidfd, NULL, 0);
	}
	return (pid_t)pid;
}

static void
describe_failure(const struct sb_msg *msg, const struct sb_spec *spec, struct cordon_err *err)
{
	const char *detail = msg->detail[0] ? msg->detail : NULL;

	cordon_err_set(err, msg->err, "sandbox setup failed while %s%s%s",
		       sb_step_name((enum sb_step)msg->step), detail ? " at " : "",
		       detail ? detail : "");
	switch (msg->step) {
	case SB_STEP_MOUNT_PROC:
		cordon_err_hint(err, "a fresh /proc can be mounted only where the host /proc "
				     "is fully visible; inside a container whose /proc is partly "
				     "covered, run the container with an unmasked /proc");
		break;
	case SB_STEP_MOUNT_WORKSPACE:
		if (spec->review_state != NULL && msg->err == EINVAL) {
			cordon_err_hint(
			    err,
			    "review mode sees the workspace through overlayfs, which "
			    "refuses one with a mount inside it that the sandbox's user "
			    "namespace may not look under (`findmnt -R %s` lists them); "
			    "unmount it, or run without --review",
			    spec->workspace);
			break;
		}
		/* fall through */
	case SB_STEP_MOUNT_EXTRA:
	case SB_STEP_MOUNT_SKELETON:
		cordon_err_hint(err,
				"check that the path exists and is a directory or file "
				"you can read (workspace: %s)",
				spec->workspace);
		break;
	case SB_STEP_MOUNT_OVERLAY:
		cordon_err_hint(err,
				"overlayfs refused the sandbox's state directory %s: its file "
				"system must hold user.* xattrs and not be overlayfs itself; "
				"set XDG_DATA_HOME to a directory on a disk or a tmpfs "
				"(`findmnt -T DIR` names its file system)",
				spec->overlay_state);
		break;
	case SB_STEP_SECCOMP:
		cordon_err_hint(err, "this kernel refused the seccomp filter; cordon needs "
				     "CONFIG_SECCOMP_FILTER");
		break;
	case SB_STEP_LANDLOCK:
		cordon_err_hint(err, "this kernel refused the Landlock ruleset; `cordon check` "
				     "shows the Landlock ABI here");
		break;
	case SB_STEP_TERMINAL:
		cordon_err_hint(err, "the sandbox could not open a pseudo-terminal in its own "
				     "devpts; run with stdin not a terminal (< /dev/null) to do "
				     "without one");
		break;
	case SB_STEP_CGROUP:
		cordon_err_hint(err,
				"the cgroup namespace or resource limits could not be set "
				"up; run without --memory/--cpus/--pids to see if they cause it");
		break;
	default:
		cordon_err_hint(err, "run with --verbose for details; `cordon check` tests "
				     "what this machine supports");
		break;
	}
}

/*
 * The child mounts for a few milliseconds after GO: compile its seccomp
 * filters meanwhile and send them (it receives them just before loading
 * them), then do the caller's own preparation. 0 or -1 with err.
 */
static int
while_child_builds(const struct sb_spec *spec, int ctl, struct sock_fprog *prog,
		   struct sock_fprog *nprog, struct cordon_err *err)
{
	if (sb_seccomp_compile(spec, prog, err) < 0 || sb_notify_compile(spec, nprog, err) < 0)
		return -1;
	/*
	 * EPIPE: the child has already failed a step and gone; its own report,
	 * read next, says why, better than this would.
	 */
	if ((sb_seccomp_send(ctl, 0, prog) < 0 || sb_seccomp_send(ctl, 1, nprog) < 0) &&
	    errno != EPIPE && errno != ECONNRESET)
		return cordon_err_set(err, errno, "send the seccomp filters to the sandbox");
	if (spec->test_flags & SB_TEST_FAIL_HOSTNAME)
		usleep(300 * 1000);
	if (spec->while_building != NULL)
		return spec->while_building(spec->while_building_arg, err);
	return 0;
}

/* nr_inodes of the shared scratch tmpfs under a disk ceiling of bytes. */
static uint64_t
disk_inodes(uint64_t bytes)
{
	return bytes / 4096 > 1024 ? bytes / 4096 : 1024;
}

int
sb_spawn(const struct sb_spec *spec, struct sb_session *sess, int *exit_status,
	 struct cordon_err *err)
{
	struct sb_reach reach;
	struct sb_child_ctx ctx;
	struct sock_fprog prog, nprog;
	struct sb_landlock ll;
	struct sb_resources *res = NULL;
	struct sb_ids ids;
	char detail[200], run_opts[64], scratch_opts[96];
	_cleanup_close_ int pidfd = -1, ctl = -1;
	int sp[2], r = -1, resets = 0;
	pid_t pid;

	*exit_status = SB_EXIT_SETUP;
	memset(sess, 0, sizeof(*sess));
	memset(&reach, 0, sizeof(reach));
	memset(&prog, 0, sizeof(prog));
	memset(&nprog, 0, sizeof(nprog));
	sess->pidfd = sess->ctl_fd = -1;
	for (int k = 0; k < SB_FD__MAX; k++)
		sess->fds[k] = -1;
	if (sb_ids_choose(&ids, spec->workspace) < 0)
		return cordon_err_set(err, errno, "choose sandbox ids");
	/* Who runs, and every path the sandbox must reach (reach.c). */
	if (sb_reach_build(spec, &ids, &reach, err) < 0 ||
	    sb_seal_build(spec, &ids, &reach, err) < 0)
		goto out_prepared;
	if (spec->report != NULL) {
		spec->report->identity = sb_identity_name(ids.mode);
		spec->report->host_masks = reach.n_masks;
		spec->report->binds = reach.n_mounts - reach.n_masks;
		spec->report->scanned = reach.scanned;
		spec->report->skeletons = 0;
		for (size_t i = 0; i < reach.n_skeletons; i++)
			spec->report->skeletons += reach.skeletons[i][0] != '\0';
	}
	log_debug("sandbox identity %s: kernel uid %u shown as %u", sb_identity_name(ids.mode),
		  (unsigned)ids.outer_uid, (unsigned)ids.inner_uid);
	if (sb_landlock_prepare(spec, &ll, err) < 0 || sb_resources_prepare(spec, &res, err) < 0)
		goto out_prog;
	if (spec->report != NULL) {
		spec->report->filled = true;
		spec->report->seccomp = !(spec->test_flags & SB_TEST_NO_SECCOMP);
		spec->report->landlock_abi = ll.abi;
		spec->report->limits = sb_res_mech_name(sb_resources_mech_of(res));
		sb_resources_in_force(res, spec->report);
		spec->report->inner_uid = ids.inner_uid;
		spec->report->kernel_uid = ids.outer_uid;
	}
	snprintf(run_opts, sizeof(run_opts), "mode=0755,uid=%u,gid=%u", (unsigned)ids.inner_uid,
		 (unsigned)ids.inner_gid);
	/*
	 * Inodes bounded too (files take kernel memory the size does not
	 * count): one per 4 KiB of the ceiling, the ratio of the kernel's own
	 * tmpfs default (half the RAM's pages for half the RAM), at least 1024.
	 */
	snprintf(scratch_opts, sizeof(scratch_opts), "mode=0700,size=%llu,nr_inodes=%llu",
		 (unsigned long long)spec->disk_max,
		 (unsigned long long)disk_inodes(spec->disk_max));

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		cordon_err_set(err, errno, "socketpair");
		goto out_prog;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.spec = spec;
	ctx.ids = &ids;
	ctx.reach = &reach;
	ctx.ctl_fd = sp[1];
	ctx.run_opts = run_opts;
	ctx.scratch_opts = scratch_opts;
	ctx.landlock = &ll;
	ctx.res = res;
	ctx.detail = detail;
	ctx.detail_len = sizeof(detail);
	ctx.tty_fd = -1;
	fflush(NULL);

	pid = clone_sandbox(&pidfd);
	if (pid < 0) {
		int e = errno;

		close(sp[0]);
		close(sp[1]);
		sb_userns_diagnose(e, err);
		goto out_prog;
	}
	if (pid == 0) {
		close(sp[0]);
		sb_child_main(&ctx);
	}
	close(sp[1]);
	ctl = sp[0];

	if (sb_ids_write_maps(pid, &ids, err) < 0 || sb_resources_attach(res, pid, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out_prog;
	}
	{
		struct sb_msg go = { .type = SB_MSG_GO };

		if (fd_write_all(ctl, &go, sizeof(go)) < 0) {
			cordon_err_set(err, errno, "start the sandbox");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out_prog;
		}
	}
	if (while_child_builds(spec, ctl, &prog, &nprog, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out_prog;
	}
	for (;;) {
		struct sb_msg msg;
		ssize_t n = (ssize_t)sizeof(msg);
		int fd = -1;

		if (fd_recv(ctl, &fd, &msg, sizeof(msg)) < 0) {
			/*
			 * A child that failed before reading its filters leaves
			 * them unread: the kernel then reports ECONNRESET once,
			 * ahead of the FAIL message still queued. Read on.
			 */
			if (errno == ECONNRESET && resets++ < 2)
				continue;
			n = errno == EPIPE ? 0 : -1;
		}
		if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_FD) {
			if (msg.step < 0 || msg.step >= SB_FD__MAX || fd < 0 ||
			    sess->fds[msg.step] >= 0) {
				if (fd >= 0)
					close(fd);
				cordon_err_set(err, EPROTO, "sandbox sent an unexpected fd");
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				break;
			}
			sess->fds[msg.step] = fd;
			continue;
		}
		if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_FD_OFFER && fd < 0) {
			struct sb_msg taken = { .type = SB_MSG_FD_TAKEN };

			/* pid 1 is dumpable until GO: ours to copy (Linux >= 5.6). */
			errno = EPROTO;
			if (msg.step >= 0 && msg.step < SB_FD__MAX && sess->fds[msg.step] < 0)
				fd = (int)syscall(SYS_pidfd_getfd, pidfd, msg.err, 0);
			if (fd < 0 || fd_write_all(ctl, &taken, sizeof(taken)) < 0) {
				if (fd >= 0)
					close(fd);
				cordon_err_set(err, fd < 0 ? errno : EPROTO,
					       "take the sandbox's notification listener");
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				break;
			}
			sess->fds[msg.step] = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_READY) {
			sess->pid = pid;
			sess->pidfd = steal_fd(pidfd);
			sess->ctl_fd = steal_fd(ctl);
			sess->inner_uid = ids.inner_uid;
			sess->kernel_uid = ids.outer_uid;
			sb_walls_describe(spec, &ll, res, sess->walls, sizeof(sess->walls));
			sess->res = steal_ptr(res);
			r = 0;
			break;
		}
		if (n == (ssize_t)sizeof(msg) && msg.type == SB_MSG_FAIL) {
			describe_failure(&msg, spec, err);
		} else {
			cordon_err_set(err, n < 0 ? errno : EPIPE,
				       "sandbox init ended before starting the command");
		}
		waitpid(pid, NULL, 0);
		break;
	}
	if (r < 0)
		for (int k = 0; k < SB_FD__MAX; k++)
			if (sess->fds[k] >= 0) {
				close(sess->fds[k]);
				sess->fds[k] = -1;
			}
out_prog:
	sb_resources_free(res);
	sb_seccomp_free(&prog);
	sb_seccomp_free(&nprog);
out_prepared:
	sb_reach_free(&reach);
	return r;
}
