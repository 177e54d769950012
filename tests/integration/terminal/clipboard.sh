#!/bin/bash
# OSC 52 (clipboard) from inside the sandbox does not reach the user's
# terminal, unless the policy says terminal.allowClipboard. The "terminal"
# is tmux with set-clipboard on: an OSC 52 that reaches it becomes a tmux
# paste buffer, which `tmux list-buffers` shows.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tmux.bash"

if ! have_tmux; then
	skip "clipboard escapes" "tmux is not installed (make deps-test installs it)"
	done_testing
	exit
fi
ws=$(new_ws)
allow="$T/allow-clipboard.json"
printf '{"sandbox": {"terminal": {"allowClipboard": true}}}\n' >"$allow"
# A program that writes OSC 52 with TEXT, in two writes (split across reads).
cat >"$ws/osc52.sh" <<'SH'
b64=$(printf '%s' "$1" | base64)
printf '\033]5'
sleep 0.2
printf '2;c;%s\a' "$b64"
echo "osc52-written"
SH

buffers() { tm list-buffers -F '#{buffer_sample}' 2>/dev/null; }

clip_start() {
	tm_start || return 1
	tm set-option -g set-clipboard on >/dev/null
}

# Control: without cordon, the same program sets the clipboard.
clip_start
type_line "cd '$ws' && sh osc52.sh from-outside"
if wait_screen '^osc52-written$' && wait_for sh -c "tmux -S '$TM_SOCK' list-buffers -F '#{buffer_sample}' | grep -qx from-outside"; then
	ok "control: OSC 52 from a program outside cordon sets the terminal's clipboard"
else
	not_ok "control: OSC 52 from a program outside cordon sets the terminal's clipboard"
	diag "buffers: $(buffers | tr '\n' ' ')"
	show
fi

# Default: dropped.
clip_start
type_line "cd '$ws' && $CORDON run -- sh osc52.sh from-sandbox; echo \"status=\$?\""
if wait_screen '^status=0$' && wait_screen '^osc52-written$'; then
	if [ -z "$(buffers)" ]; then
		ok "OSC 52 from the sandbox is dropped (the terminal's clipboard is untouched)"
	else
		not_ok "OSC 52 from the sandbox is dropped (the terminal's clipboard is untouched)"
		diag "buffers: $(buffers | tr '\n' ' ')"
	fi
else
	not_ok "OSC 52 from the sandbox: the program ran"
	show
fi

# The query form: the terminal answers with the clipboard's content, typed
# into the program's input (shown here as the echo of that input). The
# secret's base64 on the screen means an answer came.
query="sh -c 'printf \"\\033]52;c;?\\a\"; sleep 0.5; echo query-sent'; echo \"status=\$?\""
secret_b64=aG9zdC1jbGlwYm9hcmQtc2VjcmV0
clip_start
tm set-buffer -b secret "host-clipboard-secret"
type_line "cd '$ws' && $query"
if wait_screen '^status=0$' && wait_screen "$secret_b64"; then
	ok "control: an OSC 52 query outside cordon is answered with the clipboard"
else
	not_ok "control: an OSC 52 query outside cordon is answered with the clipboard"
	show
fi
clip_start
tm set-buffer -b secret "host-clipboard-secret"
type_line "cd '$ws' && $CORDON run -- $query"
if wait_screen '^status=0$' && ! screen | grep -q "$secret_b64"; then
	ok "an OSC 52 query from the sandbox gets no answer"
else
	not_ok "an OSC 52 query from the sandbox gets no answer"
	show
fi

# terminal.allowClipboard: true lets it through.
clip_start
type_line "cd '$ws' && $CORDON run --policy '$allow' -- sh osc52.sh allowed-by-policy; echo \"status=\$?\""
if wait_screen '^status=0$' && wait_for sh -c "tmux -S '$TM_SOCK' list-buffers -F '#{buffer_sample}' | grep -qx allowed-by-policy"; then
	ok "with terminal.allowClipboard true, OSC 52 from the sandbox reaches the terminal"
else
	not_ok "with terminal.allowClipboard true, OSC 52 from the sandbox reaches the terminal"
	diag "buffers: $(buffers | tr '\n' ' ')"
	show
fi

# The rest of the output is untouched around a dropped sequence.
clip_start
type_line "cd '$ws' && $CORDON run -- printf 'before\\033]52;c;eA==\\aafter\\n'"
if wait_screen '^beforeafter$'; then
	ok "text around a dropped OSC 52 is shown as is"
else
	not_ok "text around a dropped OSC 52 is shown as is"
	show
fi
done_testing
