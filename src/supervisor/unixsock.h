/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_UNIXSOCK_H
#define CORDON_SUPERVISOR_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "policy/plan.h"
#include "sandbox/sandbox.h"
#include "supervisor/supervisor.h"

/*
 * Unix-socket connect policy (DESIGN.md §4): a read-only mount does not stop
 * connect() on a socket file, so every connect() inside reaches the
 * supervisor through the seccomp user notification (spec.notify must
 * include SB_NOTIFY_CONNECT), and the supervisor makes the call itself on a
 * copy of the socket (pidfd_getfd) with its own copy of the address. The
 * sandbox's call is answered with the result; it is never "continued", so
 * no thread inside can swap the address or the fd after the check.
 *
 *   not a unix socket      connected as asked (the network namespace and the
 *                          proxy govern IP)
 *   abstract unix address  connected as asked: the abstract namespace is the
 *                          sandbox's own network namespace's
 *   pathname               resolved inside the sandbox's root (openat2
 *                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Allowed
 *                          when the socket file lies on one of the
 *                          sandbox's private mounts (/tmp, /run, /dev/shm,
 *                          the workspace, read-write and tmpfs policy paths)
 *                          or is an allowed socket (spec->unix_sockets:
 *                          exact paths by file identity, globs by name and
 *                          identity); refused with ECONNREFUSED otherwise.
 *
 * The peer of a connection made this way sees the supervisor's credentials
 * (SO_PEERCRED), not the sandboxed process's. A blocking connect() to a full
 * backlog blocks the supervisor until it is accepted.
 */
struct sv_unixsock {
	struct sv_supervisor *sv;
	const struct sb_spec *spec;
	/*
	 * Mount ids of the sandbox's own mounts: /tmp, /run, /dev/shm, the
	 * workspace, every read-write bind the policy plans (at most
	 * POLICY_MAX_RW_MOUNTS) and the private-home tmpfs.
	 */
	unsigned long long private_mnt[POLICY_MAX_RW_MOUNTS + 8];
	size_t n_private;
	struct {
		dev_t dev;
		ino_t ino;
	} exact[64]; /* allowed exact paths, by identity */
	size_t n_exact;
	unsigned long allowed, refused;
};

/*
 * Register the connect handler on sv->notify. u must outlive the loop;
 * spec too. Call after sv_attach, before sv_run. 0 or -1 with err set.
 */
int sv_unixsock_register(struct sv_unixsock *u, struct sv_supervisor *sv,
			 const struct sb_spec *spec, struct cordon_err *err);

/*
 * Pure: does the pathname socket path (absolute, inside view) match an
 * allowed entry by name? Exact entries compare equal, entries with glob
 * characters use fnmatch(FNM_PATHNAME). For unit tests and the handler.
 */
int sv_unixsock_name_allowed(char *const *allowed, size_t n, const char *path);

#endif
