/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_UNIXSOCK_H
#define CORDON_SUPERVISOR_UNIXSOCK_H

#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "policy/plan.h"
#include "sandbox/sandbox.h"
#include "supervisor/supervisor.h"
#include "supervisor/unixsend.h"

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
 *   abstract unix address  connected as asked when the socket belongs to the
 *                          sandbox's own network namespace (abstract names
 *                          live in the socket's namespace); refused with
 *                          EACCES for a socket from another one (passed in
 *                          over an allowed socket): the supervisor's own
 *                          call is outside Landlock's abstract-socket scope
 *   pathname               resolved inside the sandbox's root (openat2
 *                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Allowed
 *                          when the socket file lies on one of the
 *                          sandbox's private mounts (/tmp, /run, /dev/shm,
 *                          the workspace, read-write and tmpfs policy paths)
 *                          and, on the workspace and read-write binds (host
 *                          directories), no socket of the host's network
 *                          namespace is bound to it (sock_diag: a host
 *                          program's socket there, `./.overmind.sock`, is a
 *                          host socket), or is an allowed socket (spec->unix_sockets:
 *                          exact paths by file identity, globs by name and
 *                          identity); refused with ECONNREFUSED otherwise.
 *
 * The peer of a connection made this way sees the supervisor's credentials
 * (SO_PEERCRED), not the sandboxed process's. A blocking connect() to a full
 * backlog blocks the supervisor until it is accepted.
 *
 * Datagrams reach a socket without connect(): the same rules hold for every
 * destination given to sendto(), sendmsg() and sendmmsg() (unixsend.h).
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
	bool private_shared[POLICY_MAX_RW_MOUNTS + 8]; /* a host directory (workspace, binds) */
	size_t n_private;
	struct {
		dev_t dev;
		ino_t ino;
	} exact[64]; /* allowed exact paths, by identity */
	size_t n_exact;
	dev_t netns_dev; /* the sandbox's network namespace */
	ino_t netns_ino;
	unsigned long allowed, refused;
	struct sv_unixsend send; /* sendto / sendmsg / sendmmsg */
};

/*
 * Register the connect and send handlers on sv->notify. u must outlive the
 * loop; spec too. Call after sv_attach, before sv_run (pid 1's /proc
 * entries must still be readable). 0 or -1 with err set.
 */
int sv_unixsock_register(struct sv_unixsock *u, struct sv_supervisor *sv,
			 const struct sb_spec *spec, struct cordon_err *err);

/*
 * Release what the handlers hold, after the loop is gone (sv_fini). Safe
 * on a zeroed u and twice.
 */
void sv_unixsock_fini(struct sv_unixsock *u);

/* Called with an address that names a checked socket file; 0 or -errno. */
typedef int (*sv_unixsock_fn)(void *arg, const struct sockaddr *sa, socklen_t len);

/*
 * The rules for a pathname unix address the caller of req gave (path: n
 * bytes of sun_path, NUL-terminated or not): resolved inside the caller's
 * root with the caller's file-system credentials, refused with EACCES and
 * an audit record unless allowed (verb, e.g. "send to", names the call in
 * the debug log). When allowed, calls fn(arg, sa, len), still with the
 * caller's credentials, where sa names the very file that was checked
 * ("/proc/self/fd/N" of an O_PATH fd), and returns fn's result; otherwise
 * -errno for the answer. Supervisor loop only.
 */
int sv_unixsock_via_path(struct sv_unixsock *u, int notify_fd, const struct seccomp_notif *req,
			 const char *path, size_t n, const char *verb, sv_unixsock_fn fn,
			 void *arg);

/*
 * May the caller of req use an abstract unix address on sock (our copy)?
 * 1 when sock belongs to the sandbox's network namespace; else 0 (another
 * namespace, or it cannot be told), after a refusal record.
 */
int sv_unixsock_abstract_ok(struct sv_unixsock *u, const struct seccomp_notif *req, int sock,
			    const char *verb);

/*
 * Pure: does the pathname socket path (absolute, inside view) match an
 * allowed entry by name? Exact entries compare equal, entries with glob
 * characters use fnmatch(FNM_PATHNAME). For unit tests and the handler.
 */
int sv_unixsock_name_allowed(char *const *allowed, size_t n, const char *path);

#endif
