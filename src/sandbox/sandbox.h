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
	SB_MOUNT_RW,		/* bind host path read-write at the same path */
	SB_MOUNT_RO,		/* bind host path read-only at the same path */
	SB_MOUNT_MASK,		/* deny read: empty read-only file / empty tmpfs over it */
	SB_MOUNT_TMPFS,		/* private writable tmpfs */
};

struct sb_mount {
	enum sb_mount_kind kind;
	char *path;		/* absolute, canonical; same inside and outside */
	char *origin;		/* where the rule came from, for messages (may be NULL) */
};

/* Syscalls the supervisor is notified of (seccomp user notification). */
enum {
	SB_NOTIFY_EXEC = 1u << 0,	/* execve, execveat: exec audit */
	SB_NOTIFY_CONNECT = 1u << 1,	/* connect: unix-socket policy */
};

/* Test-only switches: turn one wall off to prove a test sees the wall. */
enum {
	SB_TEST_NO_RO_ROOT = 1u << 0,	/* host / stays writable where the kernel allows */
};

struct sb_spec {
	const char *workspace;		/* canonical, read-write, also the cwd */
	char *const *argv;		/* command, argv[0] looked up in PATH */
	char *const *envp;		/* environment for the command */
	struct sb_mount *mounts;	/* extra mounts, applied in path-depth order */
	size_t n_mounts;
	const char *hostname;		/* "cordon" */
	uint32_t test_flags;		/* SB_TEST_* (only honoured with CORDON_TEST_HOOKS=1) */
	uint32_t notify;		/* SB_NOTIFY_*: 0 = no user-notification filter */
};

/* fds the child hands to the supervisor before the command starts. */
enum sb_fd_kind {
	SB_FD_PROXY = 0,	/* listening socket inside the sandbox's network ns */
	SB_FD_PROXY2,		/* a second listener (e.g. SOCKS5 on its own port) */
	SB_FD_NOTIFY,		/* seccomp user-notification listener */
	SB_FD__MAX,
};

/* A running sandbox, as seen by the supervisor. */
struct sb_session {
	pid_t pid;		/* pid 1 of the sandbox, in the supervisor's pid ns */
	int pidfd;		/* pidfd of that process, CLOEXEC */
	int ctl_fd;		/* supervisor end of the control socket */
	uid_t inner_uid;	/* uid the command runs as inside */
	uid_t kernel_uid;	/* the kernel uid behind it (differs when invoked by root) */
	int fds[SB_FD__MAX];	/* received from the child, -1 when absent; caller owns */
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
 * sb_read_start(). On failure returns -1 with err set and the exit status
 * to use in *exit_status (125); nothing is left running. Not safe after
 * fork.
 */
int sb_spawn(const struct sb_spec *spec, struct sb_session *sess, int *exit_status,
	     struct cordon_err *err);

/*
 * Read pid 1's report on the command's start from sess->ctl_fd (readable).
 * Returns 1 when the command runs, 0 when it could not be executed (err set,
 * *exit_status 126 or 127), -1 on a protocol error (err set).
 */
int sb_read_start(struct sb_session *sess, int *exit_status, struct cordon_err *err);

/*
 * Diagnose why a user namespace cannot be created here. Fills err with the
 * cause and a hint. Always returns -1.
 */
int sb_userns_diagnose(int code, struct cordon_err *err);

#endif
