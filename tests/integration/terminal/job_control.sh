#!/bin/bash
# `cordon run -- bash` in a real terminal (tmux): the sandbox has a terminal
# of its own, so bash has job control, ^C and ^Z act on the job inside,
# cordon itself is never stopped, the window size follows the user's
# terminal, full-screen programs work, and the user's terminal is as it
# was afterwards. Each case starts a fresh window and sandbox.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux.bash"

if ! have_tmux; then
	skip "terminal job control" "tmux is not installed (make deps-test installs it)"
	done_testing
	exit
fi
ws=$(new_ws)

# A window whose outer shell runs `cordon run -- bash` (prompt "inner$ ").
start_inner() {
	tm_start || return 1
	type_line "cd '$ws' && $CORDON run -- env PS1='inner\$ ' bash --norc --noprofile"
	wait_prompt 'inner$ '
}

# 1. Job control: no warning.
if start_inner && ! screen | grep -q 'no job control'; then
	ok "bash in the sandbox starts with job control (no warning)"
else
	not_ok "bash in the sandbox starts with job control (no warning)"
	show
fi

# 2. ^C: SIGINT for the foreground job inside, not for cordon.
start_inner
type_line "sleep 30"
if ! wait_proc sleep S fg; then
	not_ok "^C stops sleep inside: sleep never ran in the terminal's foreground"
	show
else
	keys C-c
	if wait_gone sleep && wait_prompt 'inner$ ' && type_line 'echo "still-$((6 * 7))"' &&
		wait_screen '^still-42$' && wait_prompt 'inner$ '; then
		ok "^C stops sleep inside; the sandbox's shell goes on"
	else
		not_ok "^C stops sleep inside; the sandbox's shell goes on"
		show
	fi
fi

# 3. ^Z: the job stops inside, cordon does not; jobs, fg and ^C work.
start_inner
type_line "sleep 30"
if ! wait_proc sleep S fg; then
	not_ok "^Z stops the job inside: sleep never ran in the terminal's foreground"
	show
	skip "fg brings the job back; ^C ends it" "no job"
else
	keys C-z
	if wait_proc sleep T && wait_prompt 'inner$ '; then
		stopped=$(procs_named cordon | awk '$2 == "T"')
		type_line "jobs"
		if [ -z "$stopped" ] && wait_screen '^\[1\]\+ +Stopped +sleep 30$' &&
			! screen | sed 1d | grep -q '^outer\$'; then
			ok "^Z stops the job inside, not cordon (the outer shell stays away)"
		else
			not_ok "^Z stops the job inside, not cordon (the outer shell stays away)"
			diag "stopped cordon processes: ${stopped:-none}"
			show
		fi
		clear_screen
		type_line "fg"
		if wait_proc sleep S fg && keys C-c && wait_gone sleep && wait_prompt 'inner$ '; then
			ok "fg brings the job back; ^C ends it"
		else
			not_ok "fg brings the job back; ^C ends it"
			show
		fi
	else
		not_ok "^Z stops the job inside, not cordon"
		diag "cordon processes: $(procs_named cordon | tr '\n' ';')"
		show
		skip "fg brings the job back; ^C ends it" "no stopped job"
	fi
fi

# 4. The window size at start, and a resize reaching a job inside (not only
# the shell cordon started).
start_inner
type_line "stty size"
if wait_screen '^30 100$'; then
	ok "the sandbox's terminal has the window's size (30x100)"
else
	not_ok "the sandbox's terminal has the window's size (30x100)"
	show
fi
clear_screen
type_line "sh -c 'trap \"stty size; exit 0\" WINCH; echo waiting-for-winch; while :; do sleep 1; done'"
if wait_screen '^waiting-for-winch$' && wait_proc sleep S fg; then
	tm resize-window -t t -x 80 -y 20
	if wait_screen '^20 80$' && wait_prompt 'inner$ '; then
		ok "a resize reaches a job inside (SIGWINCH, stty size 20x80)"
	else
		not_ok "a resize reaches a job inside (SIGWINCH, stty size 20x80)"
		show
	fi
else
	not_ok "a resize reaches a job inside: the job did not start"
	show
fi

# 5. vim: full screen, follows a resize, quits.
start_inner
type_line "vim -u NONE -i NONE -N"
if wait_proc vim S fg && wait_screen '^~'; then
	ok "vim opens full screen in the sandbox's terminal"
	tm resize-window -t t -x 60 -y 15
	# Asked again until vim has handled SIGWINCH (at most 5 s).
	for i in $(seq 1 25); do
		type_line ':echo "size=" . &lines . "x" . &columns'
		screen | grep -q 'size=15x60' && break
		sleep 0.2
	done
	if wait_screen 'size=15x60'; then
		ok "vim redraws at the new size after a resize"
	else
		not_ok "vim redraws at the new size after a resize"
		show
	fi
	type_line ":q"
	if wait_gone vim && wait_prompt 'inner$ '; then
		ok "vim quits with :q, back at the sandbox's shell"
	else
		not_ok "vim quits with :q, back at the sandbox's shell"
		show
	fi
else
	not_ok "vim opens full screen in the sandbox's terminal"
	show
	skip "vim redraws at the new size after a resize" "vim did not open"
	skip "vim quits with :q" "vim did not open"
fi

# 6. Leaving: the command's status, and the user's terminal as it was.
start_inner
type_line "exit 7"
if wait_prompt 'outer$ '; then
	clear_screen
	cooked_check
	if wait_screen '^status=7$' && wait_screen "$COOKED"; then
		ok "after exit: cordon's status is the command's, the terminal is cooked again"
	else
		not_ok "after exit: cordon's status is the command's, the terminal is cooked again"
		show
	fi
else
	not_ok "exit leaves the sandbox"
	show
fi
done_testing
