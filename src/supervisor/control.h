/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_CONTROL_H
#define CORDON_SUPERVISOR_CONTROL_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/err.h"
#include "proxy/loop.h"

/*
 * The control socket of a running `cordon run`: `cordon allow DOMAIN` sends
 * "allow DOMAIN\n" and reads "ok ...\n" or "error ...\n". The socket lives
 * outside the sandbox's view, in $XDG_RUNTIME_DIR/cordon/, /run/cordon/
 * (root) or /tmp/cordon-UID/ (the sandbox has its own /run and /tmp), a
 * 0700 directory we own; the socket is 0600. Peers must have our uid and
 * our network namespace (so a sandboxed process that reaches the socket
 * file anyway is refused).
 */
typedef int (*sv_allow_fn)(void *arg, const char *pattern, struct cordon_err *err);

/*
 * `cordon exec` (join.h): "exec LEN TTY\n", LEN bytes of payload and the
 * client's fds 0, 1, 2. The handler takes conn and fds over.
 */
typedef void (*sv_exec_fn)(void *arg, int conn, const struct ucred *peer, unsigned tty,
			   const char *payload, size_t len, int fds[3]);

/* Longest id: a session id (AUDIT_SESSION_ID_LEN). */
#define SV_CONTROL_ID_MAX 32

struct sv_control {
	struct px_loop *loop;
	struct px_watch w;
	char path[256]; /* <dir>/<id>.sock; may be longer than sun_path */
	sv_allow_fn on_allow;
	sv_exec_fn on_exec; /* NULL: "exec" is an unknown request */
	void *arg;
};

/*
 * The directory of control sockets, created (0700) when create is set.
 * Refuses a directory not owned by us or open to others. 0 or -1 with err.
 */
int sv_control_dir(char *out, size_t len, int create, struct cordon_err *err);

/*
 * Make path a directory (0700) owned by us, or check that it is one: one
 * owned by someone else, or open to others, is refused. 0 or -1 with err.
 */
int sv_private_dir(const char *path, struct cordon_err *err);

/*
 * Listen on <dir>/<id>.sock and serve it on loop. id: [A-Za-z0-9._-]+,
 * SV_CONTROL_ID_MAX at most; a path longer than sun_path is bound through
 * /proc/self/fd.
 * 0 or -1 with err; on failure ctl needs no sv_control_close.
 */
int sv_control_open(struct sv_control *ctl, struct px_loop *loop, const char *id,
		    sv_allow_fn on_allow, void *arg, struct cordon_err *err);

/* Stop serving and remove the socket file. Safe on a zeroed ctl. */
void sv_control_close(struct sv_control *ctl);

/*
 * Remove control sockets nobody listens on any more (their cordon was
 * killed): the one of session only_id, or with NULL every such socket
 * older than a minute. Best effort, no error. Not for use after fork.
 */
void sv_control_sweep(const char *only_id);

/*
 * Client side: a connection to the control socket of session id (CLOEXEC,
 * blocking), or -1 with err (no such session).
 */
int sv_control_connect(const char *id, struct cordon_err *err);

/*
 * Answer a control client: the formatted text and a newline, at most 800
 * bytes, never blocking (a client that does not read loses it). fd < 0:
 * nothing.
 */
void sv_control_say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Client side: send "allow PATTERN" to the session id (the caller chose
 * it: cli/sessions.c) and copy the answer line to reply. 0 when the
 * supervisor said ok, -1 with err otherwise.
 */
int sv_control_allow(const char *id, const char *pattern, char *reply, size_t replylen,
		     struct cordon_err *err);

struct sv_supervisor;
struct px_config;

/*
 * Start the egress proxy of a session on sv->loop (resolver, local
 * addresses) and serve `cordon allow` on the control socket named id (NULL:
 * sv->id, the session id, or when unset the supervisor's pid). Needs no sandbox yet: it runs while the sandbox
 * builds itself. Rules are then added with px_proxy_add_rule(sv->proxy,
 * ...). sv_fini releases both. 0 or -1 with err.
 */
int sv_proxy_start(struct sv_supervisor *sv, const struct px_config *cfg, const char *id,
		   struct cordon_err *err);

/*
 * Accept on the listener(s) the sandbox handed over (sv->sess.fds[SB_FD_PROXY]
 * and SB_FD_PROXY2, taken over). After sv_attach. 0 or -1 with err.
 */
int sv_proxy_listen(struct sv_supervisor *sv, struct cordon_err *err);

#endif
