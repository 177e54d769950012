#!/bin/bash
# Without a terminal on both stdin and stdout, nothing changes: the command
# gets cordon's own fds, byte for byte, and no pseudo-terminal. In a
# terminal, a redirected stream stays what it was.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux.bash"

ws=$(new_ws)
head -c 1048576 /dev/urandom >"$ws/in.bin"
want=$(sha256sum <"$ws/in.bin" | cut -d' ' -f1)

# The suite runs with stdin /dev/null and stdout a pipe: no terminal at all.
got=$(head -c 1048576 "$ws/in.bin" | (cd "$ws" && "$CORDON" run -- cat) | sha256sum | cut -d' ' -f1)
if [ "$got" = "$want" ]; then
	ok "1 MiB of random bytes through cordon run -- cat, byte for byte"
else
	not_ok "1 MiB of random bytes through cordon run -- cat, byte for byte"
	diag "want $want, got $got"
fi
expect_output "no terminal: the command has none either (stdin, stdout are pipes)" \
	'^in=pipe out=pipe tty=none$' \
	sh -c "printf x | (cd '$ws' && '$CORDON' run -- sh -c '[ -p /dev/stdin ] && i=pipe; [ -p /dev/stdout ] && o=pipe; if tty -s; then t=yes; else t=none; fi; echo \"in=\$i out=\$o tty=\$t\"') | cat"

if ! have_tmux; then
	skip "redirections in a terminal" "tmux is not installed (make deps-test installs it)"
	done_testing
	exit
fi

# stdin a terminal, stdout a pipe: no pseudo-terminal, the bytes pass.
tm_start
type_line "cd '$ws' && $CORDON run -- cat in.bin | sha256sum > out.sum; echo \"done=\$?\""
if wait_screen '^done=0$' && [ "$(cut -d' ' -f1 "$ws/out.sum")" = "$want" ]; then
	ok "in a terminal, stdout a pipe: the bytes pass unchanged"
else
	not_ok "in a terminal, stdout a pipe: the bytes pass unchanged"
	show
fi
clear_screen
type_line "$CORDON run -- sh -c '[ -t 0 ] && echo in-tty; [ -p /dev/stdout ] && echo out-pipe' | cat"
if wait_screen '^in-tty$' && wait_screen '^out-pipe$'; then
	ok "in a terminal, stdout a pipe: stdout stays the pipe"
else
	not_ok "in a terminal, stdout a pipe: stdout stays the pipe"
	show
fi

# stdin and stdout the terminal, stderr a file: stderr stays the file.
clear_screen
type_line "$CORDON run -q -- sh -c 'echo to-stderr >&2; [ -t 2 ] || echo err-not-tty; [ -t 1 ] && echo out-tty' 2> err.txt"
if wait_screen '^err-not-tty$' && wait_screen '^out-tty$' && wait_prompt 'outer$ ' &&
	[ "$(cat "$ws/err.txt")" = "to-stderr" ]; then
	ok "in a terminal, stderr redirected: stderr stays the file"
else
	not_ok "in a terminal, stderr redirected: stderr stays the file"
	diag "err.txt: $(cat "$ws/err.txt" 2>&1)"
	show
fi

# In the background (`&`), the terminal is the user's shell's: cordon leaves
# it alone (no raw mode, no relay), and the command gets the plain fds and
# no terminal of its own: tpgid (field 8 of /proc/self/stat) is -1.
tm_start
type_line "cd '$ws' && { $CORDON run -- sh -c 'sleep 1; read -r l < /proc/self/stat; set -- \${l##*) }; echo \"bg-tpgid=\$6\"' & }"
if wait_screen 'bg-tpgid=-1$'; then
	ok "cordon in the background: no terminal of its own for the command"
else
	not_ok "cordon in the background: no terminal of its own for the command"
	show
fi
clear_screen
cooked_check
if wait_screen "$COOKED"; then
	ok "cordon in the background leaves the terminal cooked"
else
	not_ok "cordon in the background leaves the terminal cooked"
	show
fi
done_testing
