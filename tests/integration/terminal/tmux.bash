# Helpers for the terminal suite: a private tmux server (its own socket in
# the scratch directory, no configuration) whose one window runs an outer
# bash, as a user's terminal would. Source after lib.sh. Each window gets a
# server of its own (a new socket: a server still exiting never answers for
# the next one); every server is killed by its socket, and its pid, when
# the suite ends or the next window starts.
TM_N=0
TM_SOCK="$T/tmux.0.sock"
TM_SOCKS=()
TM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

have_tmux() { command -v tmux >/dev/null 2>&1; }

tm() { timeout 10 tmux -S "$TM_SOCK" "$@"; }

suite_cleanup() {
	local p
	for p in $(procs_named cordon 2>/dev/null | awk '{print $1}'); do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${TM_SOCKS[@]}"; do
		tmux -S "$p" kill-server 2>/dev/null
	done
	return 0
}

# tm_start: a fresh window, 100x30, running bash with the prompt "outer$ ".
TM_PANE_PID=
tm_start() {
	local p
	for p in $(procs_named cordon 2>/dev/null | awk '{print $1}'); do
		kill -9 "$p" 2>/dev/null
	done
	[ "$TM_N" -gt 0 ] && tmux -S "$TM_SOCK" kill-server 2>/dev/null
	TM_N=$((TM_N + 1))
	TM_SOCK="$T/tmux.$TM_N.sock"
	TM_SOCKS+=("$TM_SOCK")
	# The window's shell ends by itself after 5 minutes, and the server with
	# it, should this suite be killed before its trap runs. tmux starts the
	# command through $SHELL, or the user's login shell when SHELL is unset
	# (dash for a system user, which does not exec a lone command): "exec"
	# makes timeout the session leader, or it would put itself in a
	# background group and bash would stop at its first read (SIGTTIN).
	timeout 10 tmux -S "$TM_SOCK" -f /dev/null new-session -d -s t -x 100 -y 30 \
		"exec env PS1='outer\$ ' TERM=screen timeout -s KILL 300 bash --norc --noprofile" || return 1
	track_pid "$(tm display-message -p -t t '#{pid}')"
	TM_PANE_PID=$(tm display-message -p -t t '#{pane_pid}')
	tm set-option -g history-limit 5000 >/dev/null
	wait_prompt 'outer$ ' || { echo "# the window's shell never showed its prompt:"; show; return 1; }
}

# screen: what the window shows now (and its history).
screen() { tm capture-pane -p -J -S - -t t; }

# wait_screen REGEX: until the window shows a line matching REGEX (10 s);
# trailing blanks are not part of a line.
wait_screen() {
	local i
	for i in $(seq 1 100); do
		screen | sed 's/ *$//' | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# last_line: the last non-empty line on the screen.
last_line() { screen | sed 's/ *$//' | grep -v '^$' | tail -n 1; }

# wait_prompt P: until the last line is exactly the prompt P ("inner$ ").
wait_prompt() {
	local i
	for i in $(seq 1 100); do
		[ "$(last_line)" = "${1% }" ] && return 0
		sleep 0.1
	done
	return 1
}

keys() { tm send-keys -t t "$@"; }
# type_line TEXT: type TEXT literally, then Enter.
type_line() { tm send-keys -t t -l "$1" && tm send-keys -t t Enter; }
clear_screen() { tm send-keys -t t C-l; tm clear-history -t t; }

# procs_named NAME: "pid state pgrp tpgid ppid" of the window's processes called NAME.
procs_named() { "$PY" "$TM_DIR/procs.py" "$TM_PANE_PID" "$1"; }

# wait_proc NAME STATE [fg]: until a process NAME of the window is in STATE
# (S sleeping, T stopped), and with fg, in the foreground of its terminal.
wait_proc() {
	local name=$1 want=$2 fg=${3:-} i pid st pgrp tpgid
	for i in $(seq 1 100); do
		while read -r pid st pgrp tpgid _; do
			[ "$st" = "$want" ] || continue
			[ -z "$fg" ] || [ "$pgrp" = "$tpgid" ] || continue
			return 0
		done < <(procs_named "$name")
		sleep 0.1
	done
	return 1
}

# wait_gone NAME: until no process NAME runs in the window.
wait_gone() {
	local i
	for i in $(seq 1 100); do
		[ -z "$(procs_named "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

# show: the screen, as TAP comments (after a failure).
show() { screen | grep -v '^$' | tail -n 25 | sed 's/^/#   | /'; }

# supervisor_pid: the cordon process the window's shell started (the one
# whose parent is not cordon, pid 1 of the sandbox being its child).
supervisor_pid() {
	procs_named cordon | awk '{ pid[NR] = $1; ppid[NR] = $5; is[$1] = 1 }
		END { for (i = 1; i <= NR; i++) if (!is[ppid[i]]) print pid[i] }'
}

# cooked_check: type, at the outer prompt, a line printing the last status
# and the terminal's main line-discipline flags ("-icanon" when raw).
cooked_check() {
	type_line 'echo "status=$?"; echo "flags=$(stty -a | tr " ;" "\n\n" | grep -Ex -- "-?(icanon|echo|isig|opost|icrnl)" | tr "\n" " ")"'
}
COOKED='flags=icrnl opost isig icanon echo$'
