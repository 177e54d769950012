/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SANDBOX_SANDBOX_H
#define CORDON_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * The sandbox's input: what to mount where, what to run, which walls to
 * raise. Built by cli/ (and, later, by the policy layer); the sandbox knows
 * nothing of JSON. All paths are absolute and canonical (no symlinks, no
 * "..") by the time they reach here: cli/ resolves them with realpath.
 */
enum sb_mount_kind {
	SB_MOUNT_RW,    /* bind host path read-write at the same path */
	SB_MOUNT_RO,    /* bind host path read-only at the same path */
	SB_MOUNT_MASK,  /* deny read: empty read-only file / empty tmpfs over it */
	SB_MOUNT_TMPFS, /* private writable tmpfs */
};

struct sb_mount {
	enum sb_mount_kind kind;
	char *path;   /* absolute, canonical; same inside and outside */
	char *origin; /* where the rule came from, for messages (may be NULL) */
	char *target; /* SB_MOUNT_RO only: path inside when not `path` (NULL = same);
				   must lie in a sandbox-private tmpfs (/run, /tmp) */
};

/* Syscalls the supervisor is notified of (seccomp user notification). */
enum {
	SB_NOTIFY_EXEC = 1u << 0,    /* execve, execveat: exec audit */
	SB_NOTIFY_CONNECT = 1u << 1, /* connect, sendto/sendmsg/sendmmsg: unix-socket policy */
};

/* Test-only switches: turn one wall off to prove a test sees the wall. */
enum {
	SB_TEST_NO_RO_ROOT = 1u << 0,  /* host / stays writable where the kernel allows */
	SB_TEST_NO_SEAL = 1u << 1,     /* no sealed home: masks are binds on the live host tree */
	SB_TEST_NO_LANDLOCK = 1u << 8, /* no Landlock ruleset (walls tests, bench) */
	SB_TEST_NO_SECCOMP = 1u << 9,  /* no seccomp deny filter (walls tests, bench) */
	/*
	 * The hostname step fails with EPERM after 100 ms while the supervisor
	 * stays busy beside the build for 300 ms: a step that fails with its
	 * filters unread must still be reported as that step.
	 */
	SB_TEST_FAIL_HOSTNAME = 1u << 10,
	SB_TEST_NO_CAPTURE = 1u << 11, /* capture set up as without nf_tables NAT */
};

/* What sb_spawn raised, for the session's records (filled before the build). */
struct sb_report {
	bool filled;        /* false: setup failed before the walls were prepared */
	bool seccomp;       /* the seccomp filter is loaded before exec */
	int landlock_abi;   /* 0: no Landlock ruleset */
	const char *limits; /* "cgroup v2", "rlimits", "none" (static) */
	/* Ceilings in force (0: none): what the mechanism enforces, cpu dropped
	   under best effort when it cannot. */
	uint64_t memory_max, disk_max;
	uint32_t cpu_millis, pids_max;
	uid_t inner_uid;      /* what `id -u` shows inside */
	uid_t kernel_uid;     /* the kernel uid behind the command */
	const char *identity; /* "user", "idmap", "owner", "root-uid" (steps.h) */
	size_t skeletons;     /* closed host directories covered by a skeleton */
	size_t binds;         /* read-only binds added for toolchains and the command */
	size_t host_masks;    /* root-only host files and directories masked */
	size_t scanned;       /* directory entries the host scan read */
};

/*
 * Is this process inside a cordon sandbox? Decided by what a process
 * outside cannot set up by its environment: the marker file in the
 * sandbox's private /run (outside, /run belongs to root), and the seccomp
 * filter and no_new_privs every sandbox has. CORDON_SANDBOX=1 plays no
 * part: any environment can carry it. Safe after fork (no allocation).
 */
#define SB_INSIDE_MARKER "/run/cordon/inside"
bool sb_inside_cordon(void);

struct sb_spec {
	const char *workspace;   /* canonical, read-write, also the cwd */
	char *const *argv;       /* command, argv[0] looked up in PATH */
	char *const *envp;       /* environment for the command */
	struct sb_mount *mounts; /* extra mounts, applied in path-depth order */
	size_t n_mounts;
	const char *hostname;     /* "cordon" */
	uint32_t test_flags;      /* SB_TEST_* (only honoured with CORDON_TEST_HOOKS=1) */
	uint16_t proxy_port;      /* egress proxy listener on 127.0.0.1 inside; 0 = none */
	uint16_t capture_port;    /* transparent capture listener (capture.c); 0 = none */
	uint32_t notify;          /* SB_NOTIFY_*: 0 = no user-notification filter */
	const char *private_home; /* NULL, or a home to replace with an empty private
					   tmpfs (root invoker: root's home is closed to the
					   sandbox uid); binds under it still appear */
	/*
	 * Sealed home (seal.c): a host directory shown read-only, the home,
	 * whose masked locations stay masked for the whole session. The
	 * directories from it down to each mask's parent are replaced by a
	 * small read-only tmpfs into which their entries are bound again, all
	 * but the masked names: a credential file the host creates later has
	 * no place inside, and a host rename over a masked file drops one
	 * bind, leaving an empty stub. NULL: masks are plain binds.
	 */
	const char *seal_root;
	char *const *seal_absent; /* masked paths absent at start (kept out, not stubbed) */
	size_t n_seal_absent;
	/* Kernel walls (seccomp.c, landlock.c, cgroup.c; supervisor/unixsock.c). */
	bool allow_ptrace;         /* seccomp: let debuggers ptrace inside */
	bool no_tcp_bind;          /* Landlock: no TCP listening (allowLocalBinding false) */
	bool best_effort;          /* a missing kernel feature weakens, not refuses */
	uint64_t memory_max;       /* bytes; 0 = no limit */
	uint32_t cpu_millis;       /* 1000 = one CPU; 0 = no limit */
	uint32_t pids_max;         /* 0 = no limit */
	uint64_t disk_max;         /* bytes: the sandbox's tmpfs mounts together, and
				      RLIMIT_FSIZE (any one file written); 0 = no limit */
	char *const *unix_sockets; /* host unix sockets allowed (paths or globs) */
	size_t n_unix_sockets;
	/*
	 * Terminal: bit k set makes the command's fd k (0, 1, 2) the slave of
	 * the sandbox's own pseudo-terminal, which is then its controlling
	 * terminal; the master comes to the supervisor (SB_FD_PTY), which
	 * relays it to the user's terminal. 0: no terminal; the command
	 * inherits cordon's fds 0, 1, 2 as they are.
	 */
	uint8_t tty_fds;
	/*
	 * Called by sb_spawn in the supervisor once the sandbox is cloned and
	 * building itself, before waiting for it: work that needs nothing
	 * from the sandbox (the audit record, the proxy) runs beside its
	 * mounts instead of before or after them. NULL for none. Returning
	 * -1 (err set) kills the sandbox and fails sb_spawn.
	 */
	int (*while_building)(void *arg, struct cordon_err *err);
	void *while_building_arg;
	struct sb_report *report; /* NULL, or filled by sb_spawn before while_building */
	/*
	 * Named sandbox (overlay.c): NULL, or a canonical host directory with
	 * upper/ and work/ below it. Each of overlay_dirs (canonical host
	 * directories, "/usr") is then seen through overlayfs with the host's
	 * directory as lower layer and <state>/upper<dir> as upper (with a
	 * host mount below it: each subdirectory on its own, around the
	 * mount; the child makes their layer directories), writable
	 * inside (Landlock) where the host's owners allow; the directories of
	 * overlay_own (below overlay_dirs, parents first) are made in the
	 * upper layer owned by the command's user. The caller creates
	 * <state>/upper<dir> and <state>/work<dir> for each dir.
	 */
	const char *overlay_state;
	const char *const *overlay_dirs;
	size_t n_overlay_dirs;
	const char *const *overlay_own;
	size_t n_overlay_own;
	/*
	 * Review mode (overlay.c): NULL, or a canonical host directory with
	 * ws-upper/ and ws-work/ below it (made by the caller). The workspace
	 * is then seen through overlayfs, the host's workspace as lower layer:
	 * what the command writes there lands in ws-upper only.
	 */
	const char *review_state;
};

/* fds the child hands to the supervisor before the command starts. */
enum sb_fd_kind {
	SB_FD_PROXY = 0, /* listening socket inside the sandbox's network ns */
	SB_FD_PROXY2,    /* a second listener (e.g. SOCKS5 on its own port) */
	SB_FD_NOTIFY,    /* seccomp user-notification listener */
	SB_FD_PTY,       /* master of the sandbox's pseudo-terminal (spec->tty_fds) */
	SB_FD_CAPTURE,   /* transparent capture listener, 127.0.0.1 (capture.c) */
	SB_FD_CAPTURE6,  /* the same on [::1], when the namespace has IPv6 */
	SB_FD_DNS,       /* the DNS stub's UDP socket, 127.0.0.1:53 */
	SB_FD_DNS_TCP,   /* the DNS stub's TCP listener, 127.0.0.1:53 */
	SB_FD__MAX,
};

/* A running sandbox, as seen by the supervisor. */
struct sb_session {
	pid_t pid;                /* pid 1 of the sandbox, in the supervisor's pid ns */
	int pidfd;                /* pidfd of that process, CLOEXEC */
	int ctl_fd;               /* supervisor end of the control socket */
	uid_t inner_uid;          /* uid the command runs as inside */
	uid_t kernel_uid;         /* the kernel uid behind it (differs when invoked by root) */
	int fds[SB_FD__MAX];      /* received from the child, -1 when absent; caller owns */
	struct sb_resources *res; /* resource limits or NULL; release with sb_resources_release */
	char walls[160];          /* "seccomp; Landlock ABI 7 ...; limits: cgroup v1" for logs */
};

/* Exit statuses (DESIGN.md §2). */
enum {
	SB_EXIT_SETUP = 125,
	SB_EXIT_CANNOT_EXEC = 126,
	SB_EXIT_NOT_FOUND = 127,
};

/*
 * Build the sandbox described by spec. On success fills sess (the caller
 * owns sess->pidfd, sess->ctl_fd and sess->fds[]) and returns 0 once every
 * wall is up and pid 1 is about to fork the command: the supervisor must
 * then serve sess->fds[SB_FD_NOTIFY] (the command's own execve may wait on
 * it) and read the command's start or exec failure from sess->ctl_fd with
 * sb_read_start(). While the child mounts, sb_spawn compiles and sends its
 * seccomp filters, then calls spec->while_building. On failure returns -1
 * with err set and the exit status to use in *exit_status (125); nothing is
 * left running. Not safe after fork.
 */
int sb_spawn(const struct sb_spec *spec, struct sb_session *sess, int *exit_status,
	     struct cordon_err *err);

/*
 * Let pid 1 fork the command, once the supervisor has attached everything
 * that needs pid 1's /proc entries (after that pid 1 is not dumpable).
 * 0 or -1 with err set.
 */
int sb_release(struct sb_session *sess, struct cordon_err *err);

/*
 * Read pid 1's report on the command's start from sess->ctl_fd (readable).
 * Returns 1 when the command runs, 0 when it could not be executed (err set,
 * *exit_status 126 or 127), -1 on a protocol error (err set).
 */
int sb_read_start(struct sb_session *sess, int *exit_status, struct cordon_err *err);

/*
 * `cordon exec`, once the command runs: ask pid 1 to fork and exec a
 * joined command (supervisor/join.c). payload: NUL-terminated strings led
 * by 'a' (an argument), 'e' (NAME=VALUE over the session's environment),
 * 'c' (working directory), SB_JOIN_PAYLOAD_MAX (sandbox/steps.h) bytes at most; fds: its
 * 0, 1, 2 (not taken over: the caller closes them); tty_fds: which of
 * them are a terminal of the sandbox's to lead. 0 or -1 with errno.
 */
int sb_join_send(struct sb_session *sess, int32_t id, unsigned tty_fds, const char *payload,
		 size_t len, const int fds[3]);

/* Send signal sig to the joined command id. 0 or -1 with errno. */
int sb_join_signal(struct sb_session *sess, int32_t id, int sig);

/* What pid 1 said of a joined command. */
struct sb_join_event {
	enum { SB_JOIN_STARTED = 1, SB_JOIN_FAILED, SB_JOIN_EXITED } kind;
	int32_t id;
	pid_t pid;  /* STARTED: its pid inside */
	int status; /* FAILED: 126 or 127 (err says why); EXITED: as the shell reports it */
};

/*
 * Read one report on a joined command from sess->ctl_fd (readable, after
 * sb_read_start). 1 with ev filled (a FAILED one with err set), 0 at end
 * of file (pid 1 is gone), -1 with err on a protocol error.
 */
int sb_read_join(struct sb_session *sess, struct sb_join_event *ev, struct cordon_err *err);

/*
 * 1 when cordon runs as real root (euid 0 in the initial user namespace):
 * the command then runs as an unprivileged kernel uid, to which root's own
 * files (its home among them) are closed.
 */
int sb_invoker_is_root(void);

/*
 * Diagnose why a user namespace cannot be created here. Fills err with the
 * cause and a hint. Always returns -1.
 */
int sb_userns_diagnose(int code, struct cordon_err *err);

/*
 * Landlock ABI version of the running kernel, 0 when Landlock is missing or
 * disabled. A syscall, no allocation; for `cordon check` and the audit.
 */
int sb_landlock_abi(void);

/* How resource limits are enforced (cgroup.c). */
enum sb_res_mech {
	SB_RES_NONE = 0, /* no limit asked for */
	SB_RES_CGROUP2,  /* a delegated cgroup v2 subtree */
	SB_RES_CGROUP1,  /* cgroup v1 controllers (root on a hybrid host) */
	SB_RES_RLIMIT,   /* setrlimit: RLIMIT_DATA, RLIMIT_NPROC; no cpu */
};

/* "cgroup v2", "cgroup v1", "rlimits", "none". */
const char *sb_res_mech_name(enum sb_res_mech mech);

/*
 * The mechanism sb_spawn would use here for memory/pids (and cpu when
 * want_cpu), without creating anything. For `cordon check` and the audit.
 */
enum sb_res_mech sb_resources_probe(int want_cpu);

/* Mechanism in force for a running or ended session. */
enum sb_res_mech sb_resources_mech(const struct sb_session *sess);

/*
 * After the sandbox ended with exit_status: when a limit killed it (the
 * memory limit's OOM kill), fill err ("killed: memory limit 128M reached")
 * and return -1; else 0. Reads the cgroup's counters; call before release.
 */
int sb_resources_report(const struct sb_session *sess, int exit_status, struct cordon_err *err);

/* Remove the session's cgroup (after the sandbox ended) and free. NULL-safe. */
void sb_resources_release(struct sb_session *sess);

#endif
