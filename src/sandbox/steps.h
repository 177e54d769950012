/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SANDBOX_STEPS_H
#define CORDON_SANDBOX_STEPS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/*
 * Internal to sandbox/: the steps of the child pipeline, the control
 * protocol between child and supervisor, and the state the supervisor
 * prepares before clone. Everything called in the child is
 * async-signal-safe: no allocation, no stdio. A step returns 0 or -1 with
 * errno set; the pipeline reports {step, errno} and exits.
 */
enum sb_step {
	SB_STEP_NONE = 0,
	SB_STEP_SYNC, /* waiting for the supervisor to write the id maps */
	SB_STEP_HOSTNAME,
	SB_STEP_MOUNT_PRIVATE,
	SB_STEP_MOUNT_BASE,
	SB_STEP_MOUNT_ROOT,
	SB_STEP_MOUNT_PROC,
	SB_STEP_MOUNT_DEV,
	SB_STEP_MOUNT_SKELETON, /* tmpfs over closed directories (root invoker) */
	SB_STEP_MOUNT_TMPFS,
	SB_STEP_MOUNT_SEAL, /* the sealed home (seal.c) */
	SB_STEP_MOUNT_WORKSPACE,
	SB_STEP_MOUNT_EXTRA,
	SB_STEP_MOUNT_FINISH, /* /etc/passwd, /etc/group; skeletons read-only */
	SB_STEP_PIVOT,
	SB_STEP_NET_LO,
	SB_STEP_PROXY_LISTENER,
	SB_STEP_CAPTURE, /* every destination local, TCP redirected (capture.c) */
	SB_STEP_CAPS_BOUND,
	SB_STEP_IDS,
	SB_STEP_CAPS,
	SB_STEP_NO_NEW_PRIVS,
	SB_STEP_CGROUP, /* own cgroup namespace root, or rlimits */
	SB_STEP_LANDLOCK,
	SB_STEP_SECCOMP,
	SB_STEP_NOTIFY,
	SB_STEP_CLOSE_FDS,
	SB_STEP_FORK,
	SB_STEP_CHDIR,
	SB_STEP_TERMINAL,
	SB_STEP_MOUNT_OVERLAY, /* named sandbox: system directories through overlayfs */
	SB_STEP__MAX,
};

/* Human name of a step, for messages. */
const char *sb_step_name(enum sb_step step);

enum sb_msg_type {
	SB_MSG_GO = 1,    /* supervisor -> child: maps are written, go on */
	SB_MSG_FAIL,      /* child -> supervisor: step failed with err */
	SB_MSG_EXEC_FAIL, /* child -> supervisor: execve failed with err */
	SB_MSG_STARTED,   /* child -> supervisor: command exec'd, pid inside */
	SB_MSG_FD,        /* child -> supervisor: an fd (SCM_RIGHTS); step = enum sb_fd_kind */
	SB_MSG_READY,     /* child -> supervisor: walls are up, command about to fork */
	SB_MSG_FILTER,    /* supervisor -> child: a BPF program follows the header;
			     step 0 the deny filter, 1 the notify filter; err = length */
	SB_MSG_FD_OFFER,  /* child -> supervisor: take fd number err (pidfd_getfd);
			     step = enum sb_fd_kind; the child waits for FD_TAKEN */
	SB_MSG_FD_TAKEN,  /* supervisor -> child: the offered fd is taken */
	/*
	 * `cordon exec` (supervisor/join.c), once the command runs; pid is
	 * the join's id in each of them.
	 */
	SB_MSG_JOIN,         /* supervisor -> pid 1: fork and exec; 3 fds (SCM_RIGHTS) for
				0, 1, 2; step = the tty mask (which of them are the
				terminal); err = payload length, which follows */
	SB_MSG_JOIN_SIGNAL,  /* supervisor -> pid 1: err = the signal for the join */
	SB_MSG_JOIN_STARTED, /* pid 1 -> supervisor: exec'd, step = its pid inside */
	SB_MSG_JOIN_FAIL,    /* pid 1 -> supervisor: as SB_MSG_EXEC_FAIL, err = errno,
				step = SB_EXEC_NO_INTERPRETER or 0 */
	SB_MSG_JOIN_EXIT,    /* pid 1 -> supervisor: ended, err = status as the shell says */
};

/*
 * After an SB_MSG_JOIN header, in the same packet: NUL-terminated strings,
 * each led by its kind: 'a' an argument (in order), 'e' NAME=VALUE for the
 * environment (replacing the session's NAME), 'c' the working directory.
 */
#define SB_JOIN_PAYLOAD_MAX 32768
#define SB_JOIN_MAX_ARGS    1024
#define SB_JOIN_MAX_ENV     16
#define SB_JOIN_MAX_ACTIVE  64

/*
 * The command's failed execve, from the forked command to pid 1: errno,
 * and when the file exists but ENOENT came back, missing = 1 and the "#!"
 * interpreter it names ("" for an ELF file's loader).
 */
struct sb_exec_fail {
	int32_t err;
	int32_t missing;
	char interp[96];
};

/* SB_MSG_EXEC_FAIL's step: the file is there, its interpreter is not. */
#define SB_EXEC_NO_INTERPRETER 1

struct sb_msg {
	uint32_t type;
	int32_t step;
	int32_t err;
	int32_t pid;
	char detail[200]; /* the path a failing step was working on */
};

/*
 * Who the command is, decided by the supervisor before clone (userns.c).
 * The names are what the audit's session start records (layers.identity).
 */
enum sb_identity {
	SB_ID_USER = 0, /* unprivileged invoker: its own uid */
	SB_ID_IDMAP,    /* root: an unused kernel uid; read-write paths idmapped */
	SB_ID_OWNER,    /* root, no idmapped mounts: the read-write paths' one owner */
	SB_ID_ROOT_UID, /* root, no idmapped mounts, root's workspace: kernel uid 0
			   without capabilities, root-only host files masked */
};

/* "user", "idmap", "owner", "root-uid". */
const char *sb_identity_name(enum sb_identity id);

struct sb_ids {
	uid_t inner_uid, outer_uid; /* outer = kernel uid behind inner */
	gid_t inner_gid, outer_gid;
	int privileged; /* invoked by root */
	enum sb_identity mode;
};

/*
 * One bind whose source tree the supervisor opens before clone
 * (open_tree OPEN_TREE_CLONE): read-write paths of a root invoker (idmapped
 * or plain), and read-only binds whose host path lies below a directory
 * the sandbox could not search. The child only moves it into place.
 */
struct sb_prepared {
	const char *path;        /* host path */
	enum sb_mount_kind kind; /* SB_MOUNT_RW or SB_MOUNT_RO */
	bool is_dir;
	bool idmapped;
	int tree_fd; /* -1: plain bind from the host path in the child */
	/*
	 * Where the child attached the tree ("" before): a second mount of the
	 * same host path (one file bound at two places) binds from there, since
	 * moving the tree again would take it away from the first place.
	 */
	char attached[PATH_MAX];
};

/*
 * What the supervisor prepared for the child's mount tree beyond the spec
 * (reach.c, hostscan.c, passwd.c). Owned by sb_spawn; sb_reach_free.
 */
struct sb_reach {
	struct sb_prepared *prepared; /* workspace first, then RW spec mounts, then RO */
	size_t n_prepared;
	char **skeletons; /* directories covered with a read-only tmpfs skeleton */
	size_t n_skeletons;
	struct sb_mount *mounts; /* read-only binds (toolchains, the command) and masks */
	size_t n_mounts;
	size_t n_masks; /* of which host masks (hostscan.c) */
	size_t scanned; /* directory entries the host scan read */
	/*
	 * The sealed home (seal.c): directories turned into a tmpfs of
	 * re-bound entries, the root first, parents before children; the
	 * names kept out of them; the tmpfs options (size, nr_inodes).
	 */
	char **sealed;
	size_t n_sealed;
	char **kept_out;
	size_t n_kept_out;
	char seal_opts[64];
	char *passwd; /* generated /etc/passwd, /etc/group (root invoker) or NULL */
	size_t passwd_len;
	char *group;
	size_t group_len;
};

struct sb_child_ctx {
	const struct sb_spec *spec;
	const struct sb_ids *ids;
	struct sb_reach *reach; /* prepared trees, skeletons, extra mounts */
	int ctl_fd;
	const char *run_opts;     /* tmpfs options for /run, made before clone */
	const char *scratch_opts; /* the shared tmpfs under spec->disk_max (mount.c) */
	const void *seccomp_prog; /* struct sock_fprog, received (SB_MSG_FILTER) */
	const void *notify_prog;  /* struct sock_fprog or NULL: user-notification filter */
	const struct sb_landlock *landlock; /* rules prepared before clone (landlock.c) */
	const struct sb_resources *res;     /* limits prepared before clone (cgroup.c) or NULL */
	char *detail;                       /* where a step writes the path it failed on */
	size_t detail_len;
	int tty_fd; /* slave of the sandbox's pseudo-terminal (pty.c), or -1 */
};

/* userns.c (supervisor side) */
int sb_ids_choose(struct sb_ids *ids, const char *workspace);
int sb_ids_write_maps(pid_t pid, const struct sb_ids *ids, struct cordon_err *err);
/*
 * Root invoker: open the read-write trees in r->prepared (the first
 * n_rw entries) and settle ids->mode: idmapped for the unused kernel uid
 * when every tree's file system allows it; else the paths' one non-root
 * owner; else kernel uid 0 without capabilities (root-only host files are
 * then masked, hostscan.c). 0, or -1 with err when no identity can make
 * every read-write path writable. No-op for an unprivileged invoker.
 */
int sb_ids_settle(struct sb_ids *ids, struct sb_reach *r, size_t n_rw, struct cordon_err *err);
/*
 * root-uid identity: a read-only, nosuid, nodev tree of path in which
 * root's files appear owned by the unused sandbox uid, so that kernel uid 0
 * meets them as "other" and no scan is needed below it. The tree's fd, or
 * -1 with errno (EINVAL where the file system has no idmapped mounts).
 */
int sb_idmap_ro_tree(const char *path);

/*
 * reach.c (supervisor side): everything the sandbox must reach. Fills r
 * from the spec for ids (prepared trees, skeletons over directories the
 * sandbox uid cannot search, read-only binds of toolchains and of the
 * command; host masks and the passwd files for a root invoker). 0, or -1
 * with err (a path that cannot be shown, a limit) before anything runs.
 */
int sb_reach_build(const struct sb_spec *spec, struct sb_ids *ids, struct sb_reach *r,
		   struct cordon_err *err);
void sb_reach_free(struct sb_reach *r);
/* True when path equals dir or lies below it (both canonical). Pure. */
bool sb_path_within(const char *path, const char *dir);
/* Number of '/' in path: its depth. Pure; safe after fork. */
int sb_path_depth(const char *path);
/* True for paths in the sandbox's own /tmp, /run, /dev, /proc, /sys. Pure. */
bool sb_in_private_root(const char *path);
/* Add one extra mount to r (path malloc'd by the caller, owned by r). 0 or -1. */
int sb_reach_add_mount(struct sb_reach *r, enum sb_mount_kind kind, char *path, char *origin,
		       struct cordon_err *err);

/*
 * seal.c (supervisor side, after sb_reach_build): plan the sealed home
 * for spec->seal_root into r->sealed, r->kept_out, r->seal_opts. Leaves
 * them empty (plain masks, as before) when there is nothing to seal, the
 * root is not shown read-only from the host (inside the workspace, a
 * read-write, read-only or tmpfs path, the private home, a skeleton) or,
 * for a root invoker, not open to others. 0, or -1 with err when a
 * directory to seal cannot be read or holds more entries than the limit.
 */
int sb_seal_build(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
		  struct cordon_err *err);

/*
 * hostscan.c: masks over host files that the command's identity could
 * read only as their owner or group (kernel uid 0 or the owner's uid),
 * found by a bounded walk of the usual places. Appends SB_MOUNT_MASK
 * entries to r. 0, or -1 with err when the walk hit its bounds (unless
 * spec->best_effort).
 */
int sb_hostscan(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
		struct cordon_err *err);

/*
 * passwd.c: /etc/passwd and /etc/group for a root invoker's sandbox: the
 * host's system accounts plus the inner uid under a sensible name and the
 * home used inside. Fills r->passwd, r->group. 0 or -1 with err.
 */
int sb_passwd_build(const struct sb_spec *spec, const struct sb_ids *ids, struct sb_reach *r,
		    struct cordon_err *err);

/* mount.c (child) */
int sb_mount_make_private(struct sb_child_ctx *ctx);
int sb_mount_base(struct sb_child_ctx *ctx);
int sb_mount_root(struct sb_child_ctx *ctx);
int sb_mount_proc(struct sb_child_ctx *ctx);
int sb_mount_dev(struct sb_child_ctx *ctx);
int sb_mount_skeleton(struct sb_child_ctx *ctx);
int sb_mount_tmpfs(struct sb_child_ctx *ctx);
int sb_mount_seal(struct sb_child_ctx *ctx);
int sb_mount_workspace(struct sb_child_ctx *ctx);
int sb_mount_extra(struct sb_child_ctx *ctx);
int sb_mount_finish(struct sb_child_ctx *ctx);
int sb_mount_pivot(struct sb_child_ctx *ctx);

/* overlay.c (child): spec->overlay_dirs through overlayfs, after the read-only root. */
int sb_mount_overlay(struct sb_child_ctx *ctx);
/* overlay.c (child): review mode, the workspace (just bound) through overlayfs on top. */
int sb_mount_review(struct sb_child_ctx *ctx);

/* net_lo.c (child) */
int sb_net_lo_up(struct sb_child_ctx *ctx);
/* Listen on 127.0.0.1:spec->proxy_port and hand the socket to the supervisor. */
int sb_proxy_listener(struct sb_child_ctx *ctx);

/*
 * capture.c (child, with CAP_NET_ADMIN in the sandbox's namespaces): when
 * spec->capture_port is set, route every destination to loopback, redirect
 * TCP to a capture listener and open the DNS stub's sockets; their fds go
 * to the supervisor (SB_FD_CAPTURE, SB_FD_CAPTURE6, SB_FD_DNS,
 * SB_FD_DNS_TCP). A kernel without nf_tables NAT (or SB_TEST_NO_CAPTURE)
 * leaves capture off (no fd sent) and returns 0.
 * -1 with errno when sending an fd fails.
 */
int sb_capture_setup(struct sb_child_ctx *ctx);

/* caps.c (child) */
int sb_ids_switch(struct sb_child_ctx *ctx);
int sb_caps_bound(struct sb_child_ctx *ctx);
int sb_caps_clear(struct sb_child_ctx *ctx);
int sb_no_new_privs(struct sb_child_ctx *ctx);

/*
 * seccomp.c: compile in the supervisor (allocates) while the child mounts,
 * send the deny and the notify program (sb_seccomp_send, a zero-length one
 * for "none"); the child receives both before loading either.
 */
struct sock_fprog;
int sb_seccomp_compile(const struct sb_spec *spec, struct sock_fprog *prog, struct cordon_err *err);
void sb_seccomp_free(struct sock_fprog *prog);
int sb_seccomp_send(int ctl_fd, int which, const struct sock_fprog *prog);
int sb_seccomp_apply(struct sb_child_ctx *ctx);

/*
 * landlock.c: sb_landlock_prepare runs in the supervisor before clone
 * (decides what the kernel's ABI allows, fails closed with err), fills ll
 * with path strings that stay valid while spec lives; sb_landlock_apply
 * runs in the child after pivot_root and no_new_privs (async-signal-safe).
 */
#define SB_LL_MAX_PATHS 80
struct sb_landlock {
	int abi; /* 0: no ruleset (test switch or best effort) */
	uint64_t handled_fs, handled_net, scoped;
	struct {
		const char *path;
		uint64_t access;
	} paths[SB_LL_MAX_PATHS];
	size_t n_paths;
	char missing[96]; /* parts this kernel lacks, for messages */
};
int sb_landlock_prepare(const struct sb_spec *spec, struct sb_landlock *ll, struct cordon_err *err);
int sb_landlock_describe(const struct sb_landlock *ll, char *buf, size_t len);
int sb_landlock_apply(struct sb_child_ctx *ctx);

/*
 * cgroup.c: resource limits. prepare (supervisor, before clone) picks the
 * mechanism and creates the cgroup, NULL *res when no limit is asked for;
 * attach (supervisor, after clone, before GO) moves pid 1 into it; enter
 * (child step) gives the sandbox its own cgroup namespace root or sets the
 * rlimits; free undoes prepare on a failed spawn.
 */
int sb_resources_prepare(const struct sb_spec *spec, struct sb_resources **res,
			 struct cordon_err *err);
int sb_resources_attach(struct sb_resources *res, pid_t pid, struct cordon_err *err);
int sb_resources_enter(struct sb_child_ctx *ctx);
void sb_resources_free(struct sb_resources *res);
/* One line naming the walls in force ("seccomp, Landlock ABI 7 ..."); logged with -v. */
/* The mechanism of prepared limits (SB_RES_NONE for NULL). */
enum sb_res_mech sb_resources_mech_of(const struct sb_resources *res);
/* The ceilings res enforces into rep's memory_max, disk_max, cpu_millis, pids_max. */
void sb_resources_in_force(const struct sb_resources *res, struct sb_report *rep);

void sb_walls_describe(const struct sb_spec *spec, const struct sb_landlock *ll,
		       const struct sb_resources *res, char *buf, size_t len);

/* notify.c: the one user-notification filter (see spec->notify) */
int sb_bpf_export(void *scmp_ctx, struct sock_fprog *prog, struct cordon_err *err);
int sb_notify_compile(const struct sb_spec *spec, struct sock_fprog *prog, struct cordon_err *err);
int sb_notify_apply(struct sb_child_ctx *ctx);

/*
 * Send an fd of the given kind to the supervisor (SB_MSG_FD). Child side;
 * async-signal-safe. The supervisor stores it in sess->fds[kind].
 */
int sb_child_send_fd(struct sb_child_ctx *ctx, enum sb_fd_kind kind, int fd);

/*
 * pty.c (child): when spec->tty_fds asks for a terminal, open a pseudo-
 * terminal in the sandbox's own devpts, send its master to the supervisor
 * (SB_FD_PTY) and keep the slave in ctx->tty_fd for the command.
 */
int sb_pty_open(struct sb_child_ctx *ctx);

/*
 * Hand fd to the supervisor without sendmsg (which the notify filter
 * traps, and nobody serves the listener before it has arrived): write its
 * number (SB_MSG_FD_OFFER), wait until the supervisor took its own copy
 * with pidfd_getfd (SB_MSG_FD_TAKEN). The caller closes fd afterwards.
 * Child side; async-signal-safe. 0 or -1 with errno.
 */
int sb_child_offer_fd(struct sb_child_ctx *ctx, enum sb_fd_kind kind, int fd);

/* child.c (child) */
__attribute__((noreturn)) void sb_child_main(struct sb_child_ctx *ctx);
/* Close every fd above 2 but keep and keep2 (either may be -1). 0 or -1. */
int sb_close_fds(int keep, int keep2);

#endif
