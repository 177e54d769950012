#!/bin/bash
# `cordon exec NAME -- CMD` joins the running session of a named sandbox:
# same pid namespace and /tmp, what the run installed, the same walls (a
# masked file stays masked, a read-only host path stays read-only, the
# network policy holds), the same audit session (join and join_end around
# the joined command's own exec records). Exit statuses as `run` gives
# them; refusals with their reason and 125; a terminal of the sandbox's
# own when the client is on one; the joined command ends with the run.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../terminal/tmux.bash"
# tmux.bash's servers, by their sockets (its suite_cleanup is replaced below).
tmux_cleanup() {
	local p
	for p in "${TM_SOCKS[@]}"; do
		tmux -S "$p" kill-server 2>/dev/null
	done
	return 0
}

. "$(dirname "$0")/state.bash"
if ! base=$(state_base cordon-exec); then
	skip "cordon exec" "no directory off overlayfs for the state (tried /tmp, /dev/shm)"
	done_testing
	exit
fi
suite_cleanup() {
	tmux_cleanup
	[ -n "${base:-}" ] && rm -rf "$base"
	return 0
}
chmod 755 "$base"
export XDG_DATA_HOME="$base/data"
export CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1
ws=$(new_ws)
alog="$base/audit.jsonl"
tag="x$$$RANDOM"
http_upstream "$base/upstream.log"

running() { "$CORDON" ls | grep -q "^$1  *running"; }
ex() { (cd "$ws" && timeout 60 "$CORDON" exec "$@" </dev/null); }

# --- a running sandbox: it installs a tool, leaves a mark in its /tmp, sleeps ---
secret="$ws/secret-$tag.txt"
echo "the-secret-$tag" >"$secret"
echo "API_TOKEN=the-token-$tag" >"$ws/.env"
chmod 644 "$secret" "$ws/.env"
install="printf '#!/bin/sh\necho tool-$tag\n' >/usr/local/bin/$tag && chmod 755 /usr/local/bin/$tag && echo run-mark-$tag >/tmp/mark && exec sleep 3$$"
(cd "$ws" && exec "$CORDON" run -q --name alpha --audit-log "$alog" --mask "$secret" --stop-timeout 3 \
	--resolve target.test:127.0.0.1 --resolve other.test:127.0.0.1 \
	--allow-domain "target.test:*" -- sh -c "$install") >"$base/run.out" 2>&1 &
runpid=$!
track_pid $runpid
if ! wait_long running alpha || ! wait_long test -e "$XDG_DATA_HOME/cordon/sandboxes/alpha/upper/usr/local/bin/$tag"; then
	not_ok "the named run started"
	diag "$(cat "$base/run.out")"
	done_testing
	exit
fi
sid=$(sed -n 's/^session=//p' "$XDG_DATA_HOME/cordon/sandboxes/alpha/sandbox.meta")
ok "the named run started (session $sid)"

# --- one sandbox ---
expect_output "exec sees the run's /tmp" "^run-mark-$tag\$" ex alpha -- cat /tmp/mark
check "control: the host's /tmp has no such mark" sh -c '! grep -qs "run-mark-$1" /tmp/mark' _ "$tag"
expect_output "exec sees the run's process: same pid namespace" "^sleep 3$$ *\$" \
	ex alpha -- sh -c 'for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline 2>/dev/null; echo; done'
run_capture ex alpha -- sh -c 'readlink /proc/self/ns/pid'
inner_ns=$OUT
check "... which is not the host's" test -n "$inner_ns" -a "$inner_ns" != "$(readlink /proc/self/ns/pid)"
expect_output "exec runs the tool the run installed in /usr/local" "^tool-$tag\$" ex alpha -- "$tag"
check "control: the host has no such tool" test ! -e "/usr/local/bin/$tag"
expect_output "exec starts in the workspace" "^$ws\$" ex alpha -- pwd

# --- the walls ---
run_capture ex alpha -- cat "$secret"
if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT" | grep -q "the-secret-$tag"; then
	ok "a file masked for the run is masked for exec too (read empty)"
else
	not_ok "a file masked for the run is masked for exec too (read empty)"
	diag "exit $RC: $OUT"
fi
expect_output "control: a sandbox without the mask reads it" "the-secret-$tag" \
	sh -c 'cd "$1" && exec "$2" run -q -- cat "$3" </dev/null' _ "$ws" "$CORDON" "$secret"
run_capture ex alpha -- cat .env
if ! printf '%s' "$OUT" | grep -q "the-token-$tag"; then
	ok "the workspace's .env (a credential file the policy masks) is masked for exec too"
else
	not_ok "the workspace's .env (a credential file the policy masks) is masked for exec too"
	diag "exit $RC: $OUT"
fi
check "control: the host reads it" grep -q "the-token-$tag" "$ws/.env"
expect_fail "a write to the read-only root is refused for exec" "Read-only file system|Permission denied" \
	ex alpha -- sh -c "echo x >'/planted-$tag'"
check "... and nothing landed on the host" test ! -e "/planted-$tag"
fetch() { ex alpha -- $PY -c "import urllib.request,sys
try: print(urllib.request.urlopen('http://$1:$port/$2', timeout=10).read().decode().strip())
except Exception as e: print('refused', e); sys.exit(3)"; }
expect_output "an allowed host is reached from exec" "^upstream-reached\$" fetch target.test "allowed-$tag"
expect_status "a host the run's policy does not allow is refused from exec" 3 fetch other.test "denied-$tag"
check "... it never reached the upstream" sh -c '! grep -q "denied-$1" "$2" && grep -q "allowed-$1" "$2"' _ "$tag" "$base/upstream.log"
run_capture ex alpha -- sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " "'
check "exec runs without capabilities, no_new_privs, seccomp filtering" \
	sh -c 'printf "%s" "$1" | grep -q "^CapEff: 0000000000000000" && printf "%s" "$1" | grep -q "^NoNewPrivs: 1" && printf "%s" "$1" | grep -q "^Seccomp: 2"' _ "$OUT"

# --- statuses ---
expect_status "exit 0 is passed on" 0 ex alpha -- true
expect_status "exit 3 is passed on" 3 ex alpha -- sh -c 'exit 3'
expect_status "a command not found: 127" 127 ex alpha -- "no-such-command-$tag"
check "... saying so" sh -c 'printf "%s" "$1" | grep -q "cannot run no-such-command"' _ "$OUT"
printf 'echo hi\n' >"$ws/notexec.sh"
chmod 644 "$ws/notexec.sh"
expect_status "a file that cannot be executed: 126" 126 ex alpha -- ./notexec.sh
expect_status "death by a signal: 128+N" 137 ex alpha -- sh -c 'kill -KILL $$'

# --- SIGINT to the client reaches the command (no terminal) ---
(cd "$ws" && exec "$CORDON" exec alpha -- sleep 300 </dev/null >"$base/int.out" 2>&1) &
cl=$!
track_pid $cl
sleep 1.5
kill -INT $cl
if wait_long sh -c '! kill -0 $1 2>/dev/null' _ $cl; then
	wait $cl
	st=$?
	if [ $st -eq 130 ]; then ok "SIGINT to cordon exec ends the joined command: 130"; else not_ok "SIGINT to cordon exec ends the joined command: 130 (got $st)"; fi
else
	not_ok "SIGINT to cordon exec ends the joined command: 130 (still running)"
fi

# --- refusals ---
expect_status "no such sandbox: 125" 125 ex nope-$tag -- true
check "... with the hint" sh -c 'printf "%s" "$1" | grep -q "no sandbox named" && printf "%s" "$1" | grep -q "cordon ls"' _ "$OUT"
expect_status "no -- before the command: 125" 125 ex alpha true
check "... saying so" sh -c 'printf "%s" "$1" | grep -q "missing --"' _ "$OUT"
expect_status "an empty command: 125" 125 ex alpha --
check "... saying so" sh -c 'printf "%s" "$1" | grep -q "no command given"' _ "$OUT"
expect_status "no name at all: 125" 125 ex
expect_output "cordon exec --help" "Usage: cordon exec" "$CORDON" exec --help
expect_output "cordon help lists exec" "exec  *run a command in a running named sandbox" "$CORDON" help
expect_status "from inside a sandbox: 125" 125 sh -c 'cd "$1" && exec "$2" run -q -- "$2" exec alpha -- true </dev/null' _ "$ws" "$CORDON"
check "... saying so" sh -c 'printf "%s" "$1" | grep -q "already inside a cordon sandbox"' _ "$OUT"
# Another user's state directory: one chowned away (root), or a name that
# leads to a directory root owns (the test user).
other="$base/other"
mkdir -p "$other/cordon/sandboxes"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$other/cordon/sandboxes/theirs"
	chown nobody "$other/cordon/sandboxes/theirs"
else
	ln -s / "$other/cordon/sandboxes/theirs"
fi
expect_status "another user's sandbox: 125" 125 env XDG_DATA_HOME="$other" "$CORDON" exec theirs -- true
check "... saying whose" sh -c 'printf "%s" "$1" | grep -q "belongs to another user"' _ "$OUT"

# --- a terminal ---
if have_tmux; then
	tm_start
	type_line "cd '$ws' && $CORDON exec alpha -- env PS1='inner\$ ' bash --norc --noprofile -i"
	if wait_prompt 'inner$ '; then
		ok "exec on a terminal: an interactive bash inside"
		type_line 'tty; echo "typed-$((6 * 7))"'
		if wait_screen '^/dev/pts/[0-9]+$'; then ok "... tty names a pty"; else not_ok "... tty names a pty"; show; fi
		if wait_screen '^typed-42$'; then ok "... a typed command runs"; else not_ok "... a typed command runs"; show; fi
		type_line 'cat /tmp/mark'
		if wait_screen "^run-mark-$tag\$"; then ok "... in the run's sandbox"; else not_ok "... in the run's sandbox"; show; fi
		type_line 'sleep 300'
		sleep 1
		keys C-c
		if wait_prompt 'inner$ '; then ok "... ^C interrupts the command inside"; else not_ok "... ^C interrupts the command inside"; show; fi
		type_line 'exit 5'
		if wait_prompt 'outer$ '; then
			clear_screen
			cooked_check
			if wait_screen '^status=5$' && wait_screen "$COOKED"; then
				ok "... exit 5 is cordon exec's status, the terminal restored"
			else
				not_ok "... exit 5 is cordon exec's status, the terminal restored"
				show
			fi
		else
			not_ok "... exit 5 is cordon exec's status, the terminal restored"
			show
		fi
	else
		not_ok "exec on a terminal: an interactive bash inside"
		show
	fi
	tmux_cleanup
else
	skip "exec on a terminal" "tmux is not installed (make deps-test installs it)"
fi

# --- the audit session ---
"$CORDON" log -f "$alog" --session "$sid" >"$base/log.txt" 2>&1
check "cordon log shows a join of session $sid" grep -q "join  #[0-9]* session $sid by uid $(id -u): cat /tmp/mark" "$base/log.txt"
check "... and its join_end with the status" grep -q "join_end #[0-9]* status 3 (exit)" "$base/log.txt"
check "... and the joined command's own programs (exec audit)" grep -q "exec  pid [0-9]* *tool-\?$tag\|exec  pid [0-9]* *$tag" "$base/log.txt"
check "the join records carry the run's session id" \
	$PY -c 'import json,sys
recs=[json.loads(l) for l in open(sys.argv[1])]
j=[r for r in recs if r["type"] in ("join","join_end")]
starts=[r for r in recs if r["type"]=="session_start" and r["session"]==sys.argv[2]]
sys.exit(not (j and starts and all(r["session"]==sys.argv[2] for r in j)))' "$alog" "$sid"

# --- the run ends: attached execs get its SIGTERM, and end with it at the latest ---
(cd "$ws" && exec "$CORDON" exec alpha -- sleep 300 </dev/null >"$base/graceful.out" 2>&1) &
grace=$!
track_pid $grace
(cd "$ws" && exec "$CORDON" exec alpha -- sh -c 'trap "" TERM HUP; sleep 300' </dev/null >"$base/attached.out" 2>&1) &
att=$!
track_pid $att
sleep 1.5
"$CORDON" stop alpha >/dev/null 2>&1
for p in $grace $att; do
	wait_long sh -c '! kill -0 $1 2>/dev/null' _ $p
done
if ! kill -0 $grace 2>/dev/null; then
	wait $grace
	st=$?
	if [ $st -eq 143 ]; then ok "cordon stop: an attached exec gets SIGTERM too (143)"; else not_ok "cordon stop: an attached exec gets SIGTERM too (got $st)"; diag "$(cat "$base/graceful.out")"; fi
else
	not_ok "cordon stop: an attached exec gets SIGTERM too (still running)"
fi
if ! kill -0 $att 2>/dev/null; then
	wait $att
	st=$?
	if [ $st -eq 137 ] && grep -q "ended while the command ran" "$base/attached.out"; then
		ok "the run ended: an exec that ignored SIGTERM ends with it (137), saying why"
	else
		not_ok "the run ended: an exec that ignored SIGTERM ends with it (137), saying why (got $st)"
		diag "$(cat "$base/attached.out")"
	fi
else
	not_ok "the run ended: an exec that ignored SIGTERM ends with it (still running)"
fi
wait_long sh -c '! "$1" ls | grep -q "^alpha  *running"' _ "$CORDON"

# A run whose command ends by itself ends an attached exec at once.
(cd "$ws" && exec "$CORDON" run -q --name beta --audit-log "$alog" -- sh -c 'touch /tmp/up; sleep 4') >"$base/beta.out" 2>&1 &
track_pid $!
if wait_long running beta && wait_long sh -c 'cd "$1" && "$2" exec beta -- test -e /tmp/up </dev/null 2>/dev/null' _ "$ws" "$CORDON"; then
	run_capture ex beta -- sleep 300
	if [ "$RC" -eq 137 ] && printf '%s' "$OUT" | grep -q "ended while the command ran"; then
		ok "a run that ends by itself ends its attached exec (137), saying why"
	else
		not_ok "a run that ends by itself ends its attached exec (137), saying why"
		diag "exit $RC: $OUT"
	fi
else
	not_ok "a run that ends by itself ends its attached exec (137), saying why"
	diag "beta never ran: $(cat "$base/beta.out")"
fi
wait_long sh -c '! "$1" ls | grep -q "^beta  *running"' _ "$CORDON"
expect_status "exec after the run ended: 125" 125 ex alpha -- true
check "... with the hint to start it" sh -c 'printf "%s" "$1" | grep -q "not running" && printf "%s" "$1" | grep -q "cordon run --name alpha"' _ "$OUT"
check "the join_end of the attached exec says the sandbox ended" grep -q '"type":"join_end".*"reason":"sandbox-ended"' "$alog"
check "the audit log's hash chain holds, the session closed" "$CORDON" log verify --file "$alog"

done_testing
