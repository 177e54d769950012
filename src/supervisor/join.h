/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_JOIN_H
#define CORDON_SUPERVISOR_JOIN_H

/*
 * `cordon exec NAME -- CMD`, the running session's side.
 *
 * The request comes in on the control socket (control.c: peers of our uid
 * and our network namespace only) as the line "exec LEN TTY\n", LEN bytes
 * of payload (sandbox.h, sb_join_send) and the client's fds 0, 1, 2
 * (SCM_RIGHTS). The sandbox's pid 1 forks the command (sandbox/child.c),
 * so it is behind every wall of the session: namespaces, seccomp,
 * Landlock, no capabilities, cgroup, the scrubbed environment. TTY is the
 * mask of the client's fds that are its terminal: those get a terminal of
 * the sandbox's own devpts instead, whose master goes back to the client,
 * which relays it (as `run` does, supervisor/pty.h).
 *
 * Lines to the client: "started PID" (with the terminal's master when one
 * was asked for), then "exit STATUS"; or "fail STATUS\tMESSAGE\tHINT"
 * when it could not be executed; "error MESSAGE" (and "Hint: ..." on the
 * next line) when refused; "ended" when the session ended first. From the
 * client: "signal N" (SIGINT, SIGTERM, SIGHUP, SIGQUIT), relayed; end of
 * file before the command ended sends it SIGHUP. Each join writes a `join`
 * and a `join_end` record to the session's audit log.
 */

#include <stddef.h>
#include <sys/socket.h>

/* The variables a joining client may set inside: its terminal's, nothing that changes programs. */
#define SV_JOIN_CLIENT_ENV 4
extern const char *const sv_join_client_env[SV_JOIN_CLIENT_ENV];

struct sv_supervisor;
struct sv_join;

/*
 * A request read by the control socket (arg: the supervisor). Takes conn
 * and the three fds over, whatever the outcome. Not safe after fork.
 */
void sv_join_request(void *arg, int conn, const struct ucred *peer, unsigned tty,
		     const char *payload, size_t len, int fds[3]);

/* pid 1's control socket is readable after the start: one report. 0, or -1 at its end. */
int sv_join_on_ctl(struct sv_supervisor *sv);

/* The session is over: tell every client still attached ("ended"), write their join_end. */
void sv_join_fini(struct sv_supervisor *sv);

#endif
