#!/bin/bash
# However a session with a terminal ends, the user's terminal gets its
# settings back and cordon's status is the command's: a normal exit, cordon
# receiving SIGTERM, SIGHUP or SIGINT, the command killed by a signal, the
# command not found (cordon's message then starts at the left margin). The
# sandbox cannot change the user's terminal settings at all.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux.bash"

if ! have_tmux; then
	skip "terminal exit paths" "tmux is not installed (make deps-test installs it)"
	done_testing
	exit
fi
ws=$(new_ws)

# ends_cooked DESC STATUS: at the outer prompt, $? is STATUS and the
# terminal is cooked.
ends_cooked() {
	if wait_prompt 'outer$ '; then
		clear_screen
		cooked_check
		if wait_screen "^status=$2\$" && wait_screen "$COOKED"; then
			ok "$1: status $2, terminal restored"
			return 0
		fi
	fi
	not_ok "$1: status $2, terminal restored"
	show
	return 1
}

# Signals to cordon itself (relayed to the command, which dies of them).
for sig in TERM HUP INT; do
	tm_start
	type_line "cd '$ws' && $CORDON run -- sleep 30"
	if ! wait_proc sleep S fg; then
		not_ok "SIG$sig to cordon: sleep did not start in the sandbox's terminal"
		show
		continue
	fi
	pid=$(supervisor_pid)
	kill -s "$sig" "$pid"
	case $sig in
	TERM) st=143 ;;
	HUP) st=129 ;;
	INT) st=130 ;;
	esac
	ends_cooked "SIG$sig to cordon" "$st"
done

tm_start
type_line "cd '$ws' && $CORDON run -- sh -c 'kill -KILL \$\$'"
ends_cooked "command killed by SIGKILL" 137

tm_start
type_line "cd '$ws' && $CORDON run -- no-such-command-cordon-test"
# The message printed after the session: at the left margin, not shifted
# by a terminal still in raw mode.
if wait_prompt 'outer$ ' && screen | grep -q '^cordon: cannot run no-such-command-cordon-test' &&
	screen | grep -q '^Hint: '; then
	ok "command not found: cordon's message starts at the left margin"
else
	not_ok "command not found: cordon's message starts at the left margin"
	show
fi
ends_cooked "command not found" 127

# The sandbox's own terminal takes the sandbox's settings; the user's
# terminal does not change under it.
tm_start
type_line "cd '$ws' && $CORDON run -- sh -c 'stty raw -echo -isig; printf \"changed\\r\\n\"'"
ends_cooked "stty raw inside the sandbox" 0

# The user's terminal is blocking again (the relay made fds 0 and 1
# non-blocking; they share their open file description with the shell).
# Checked by the next command on the same line, before the shell's own
# line editor could repair it.
tm_start
type_line "cd '$ws' && $CORDON run -- true; $PY -c 'import fcntl, os; print(\"nonblock=%d,%d\" % tuple(bool(fcntl.fcntl(f, fcntl.F_GETFL) & os.O_NONBLOCK) for f in (0, 1)))'"
if wait_screen '^nonblock=0,0$'; then
	ok "after the session, stdin and stdout are blocking again"
else
	not_ok "after the session, stdin and stdout are blocking again"
	show
fi
done_testing
