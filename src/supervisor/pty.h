/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_PTY_H
#define CORDON_SUPERVISOR_PTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proxy/loop.h"
#include "supervisor/osc_filter.h"

/*
 * The relay between the user's terminal and the sandbox's pseudo-terminal
 * (sandbox/pty.c), on the supervisor's loop.
 *
 * The user's terminal goes to raw mode for the session: every key,
 * ^C ^Z ^\ ^D included, is a byte for the sandbox's terminal, whose line
 * discipline turns it into a signal for the foreground job inside, the
 * way ssh and `docker run -t` do. cordon itself ignores SIGTSTP, SIGTTIN
 * and SIGTTOU meanwhile: it is never stopped by the terminal. The window
 * size follows the user's terminal (SIGWINCH). Output to the user's
 * terminal goes through the clipboard filter (osc_filter.h) unless the
 * policy allows the clipboard. The user's terminal settings come back at
 * the end of the session, on every exit path: sv_pty_finish, and an
 * atexit handler for exit() elsewhere (a SIGKILL of cordon cannot).
 *
 * End of input (the user's terminal hung up) just stops the input side,
 * as docker's and ssh's relays do; ^D is a byte like any other, and the
 * sandbox's line discipline makes it EOF for a reader in canonical mode.
 */
#define SV_PTY_BUF 16384

struct sv_pty {
	int master;        /* pty master (from the sandbox), -1 when no terminal */
	int in_fd, out_fd; /* the user's terminal: 0 and 1 */
	bool allow_clipboard;
	bool in_done, out_done, master_done;
	struct px_loop *loop;
	struct px_watch w_master, w_in, w_out;
	struct sv_osc_filter filter;
	/* user -> sandbox */
	uint8_t to_master[SV_PTY_BUF];
	size_t tm_off, tm_len;
	/* sandbox -> user, after the filter */
	uint8_t to_user[SV_PTY_BUF + SV_OSC_HOLD_MAX];
	size_t tu_off, tu_len;
};

/*
 * Which of fds 0, 1, 2 the sandbox's terminal should stand for (the
 * sb_spec tty_fds mask): 0 unless fds 0 and 1 are the same terminal and
 * cordon is in its foreground process group; then 0 and 1, and 2 too if
 * it is that terminal. A pipe on stdout (`cordon run -- git log | less`)
 * keeps today's plain fds: the reader of the pipe may use the terminal
 * itself. Only fstat and ioctls: safe anywhere.
 */
uint8_t sv_pty_wanted(void);

/* Initialise p with no terminal (sv_pty_finish is then a no-op). */
void sv_pty_init(struct sv_pty *p);

/*
 * Take master (ownership passes to p) and start relaying on loop: copy
 * the user's terminal settings and window size to the sandbox's terminal,
 * put the user's terminal in raw mode, ignore the job-control signals.
 * Call after the sandbox is cloned (its processes must not inherit the
 * ignored signals) and before the command starts. 0, or -1 with err set
 * (master closed, the user's terminal untouched).
 */
int sv_pty_start(struct sv_pty *p, struct px_loop *loop, int master, bool allow_clipboard,
		 struct cordon_err *err);

/* True while p relays a terminal. */
bool sv_pty_active(const struct sv_pty *p);

/* The user's terminal changed size (SIGWINCH): pass it on. */
void sv_pty_winch(struct sv_pty *p);

/*
 * The sandbox ended (or setup failed): write what the sandbox's terminal
 * still holds to the user's terminal (bounded wait), close it, and give
 * the user's terminal back its settings and flags. Idempotent.
 */
void sv_pty_finish(struct sv_pty *p);

#endif
