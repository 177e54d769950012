/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_SUPERVISOR_H
#define CORDON_SUPERVISOR_SUPERVISOR_H

#include "audit/audit.h"
#include "common/err.h"
#include "proxy/loop.h"
#include "sandbox/sandbox.h"
#include "supervisor/control.h"
#include "supervisor/notify.h"
#include "supervisor/pty.h"

struct sv_reg;

/* Default grace period between SIGTERM/SIGHUP and SIGKILL of the sandbox. */
#define SV_STOP_TIMEOUT_MS 10000u

/*
 * The supervisor: one process outside the sandbox, one event loop. It
 * relays signals to the sandbox and learns of its end through the pidfd;
 * the proxy, seccomp notifications and the control socket join the same
 * loop.
 */
struct sv_supervisor {
	struct px_loop *loop;
	struct sb_session sess;
	struct px_watch w_signal, w_pidfd, w_ctl;
	struct sv_notify notify; /* seccomp user notifications (exec audit, sockets) */
	int sigfd;
	int exit_status; /* the command's, as the shell reports it */
	int done;
	int start_state;                   /* 0 unknown, 1 command running, -1 it never ran */
	struct cordon_err start_err;       /* why it never ran (start_state -1) */
	struct cordon_audit *audit;        /* audit log or NULL; not owned (cli/run.c) */
	struct px_proxy *proxy;            /* egress proxy or NULL (sv_proxy_start) */
	struct sv_control control;         /* `cordon allow` socket (sv_proxy_start) */
	struct px_capture *capture;        /* transparent capture or NULL (sv_proxy_listen) */
	char id[AUDIT_SESSION_ID_LEN + 1]; /* the session id, or "" (control socket name) */
	struct sv_reg *reg;                /* session record or NULL; not owned */
	/*
	 * SIGTERM and SIGHUP are relayed, then after stop_timeout_ms the whole
	 * sandbox is killed (a command may ignore them; cordon must still end
	 * and clean up). SIGINT is only relayed: an interactive shell inside
	 * ignores it by design.
	 */
	unsigned stop_timeout_ms;
	struct px_timer stop_timer;
	int stop_signal;   /* the signal that started the grace period, 0 none */
	bool stop_killed;  /* the grace period ran out: the sandbox was killed */
	struct sv_pty pty; /* the terminal relay (sv_terminal_start) or inactive */
	/* `cordon exec` (join.h): pid 1's root, opened while it was dumpable, or -1 */
	int rootfd;
	struct sv_join *joins; /* attached commands */
	int32_t join_seq;      /* the last join's number */
};

/*
 * Prepare a supervisor with no session yet: its event loop, nothing else.
 * Safe before the sandbox is cloned, so that the proxy can be built while
 * the sandbox builds itself; sv_fini is safe from here on. 0 or -1 with err.
 */
int sv_init(struct sv_supervisor *sv, struct cordon_err *err);

/*
 * Block the signals the supervisor forwards to the sandbox and read them
 * from its loop instead (relayed once sv_attach has a session). Call after
 * the sandbox is cloned (its pid 1 must not inherit the mask), before
 * anything that should not be left behind by a ^C: the control socket.
 * sv_attach calls it if nobody did. 0 or -1 with err.
 */
int sv_block_signals(struct sv_supervisor *sv, struct cordon_err *err);

/*
 * Take over a session from sb_spawn: block and relay the forwarded signals,
 * serve seccomp notifications, learn whether the command started, note the
 * sandbox's pid 1 in the session record (sv->reg). Handlers
 * for notifications are registered on sv->notify before sv_run. Returns 0
 * or -1 with err set. The supervisor owns sess's fds afterwards.
 */
int sv_attach(struct sv_supervisor *sv, const struct sb_session *sess, struct cordon_err *err);

/*
 * When the sandbox has a terminal of its own (sess.fds[SB_FD_PTY], asked
 * for with sb_spec.tty_fds = sv_pty_wanted()), relay it to the user's
 * terminal (supervisor/pty.h); clipboard escape sequences pass only with
 * allow_clipboard. After sv_attach, before the command starts; nothing
 * to do without a terminal. 0 or -1 with err.
 */
int sv_terminal_start(struct sv_supervisor *sv, bool allow_clipboard, struct cordon_err *err);

/*
 * Run the loop until the sandbox ends; returns the command's exit status.
 * The terminal relay ends with it: the user's terminal has its settings
 * back when sv_run returns.
 * When the command could not be executed, sv->start_state is -1 and
 * sv->start_err says why (the caller prints it).
 */
int sv_run(struct sv_supervisor *sv);

/*
 * The session end record's reason after sv_run: "exit", "not-started", or
 * "stop-timeout" (killed when the grace period after SIGTERM/SIGHUP ran
 * out). A static string.
 */
const char *sv_end_reason(const struct sv_supervisor *sv);

/* Release everything sv_init, sv_attach and sv_proxy_* acquired. */
void sv_fini(struct sv_supervisor *sv);

#endif
