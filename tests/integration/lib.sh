# Bash TAP helpers for cordon's integration suites. Source it.
# The runner sets: CORDON (binary), CORDON_TEST_TMP (scratch dir this user
# owns; 0700 for root), CORDON_TEST_AS (root|user), CORDON_SRC.
set -u
: "${CORDON:?run through tests/run.sh}"
: "${CORDON_TEST_TMP:?run through tests/run.sh}"
T=$CORDON_TEST_TMP
PY=/usr/bin/python3
# $T is 0700 for root, as users' `mktemp -d` directories are: a root-invoked
# sandbox cannot see into it beyond its workspace. Host directories a test
# shows the sandbox outside its workspace (a planted socket, a directory
# that only the mount wall protects) go in SHOWN, which anyone may search.
# Removed at exit, after suite_cleanup.
SHOWN=$(mktemp -d /var/tmp/cordon-shown.XXXXXX) || exit 1
chmod 755 "$SHOWN"
_n=0
_failed=0
_pids=()
_netns=()

# Processes this suite started: ended by pid on exit, never by name.
track_pid() { _pids+=("$1"); }
_cleanup() {
	local p
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ "$(type -t suite_cleanup)" = function ] && suite_cleanup
	for p in "${_netns[@]}"; do
		ip netns del "$p" 2>/dev/null
		ip link del "vh${p: -8}" 2>/dev/null
	done
	rm -rf "$SHOWN"
	return 0
}
trap _cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }
diag() { echo "# $*"; }
done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }

# check DESC CMD...: pass when CMD succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run_capture CMD...: sets OUT (stdout+stderr) and RC.
run_capture() {
	OUT=$("$@" 2>&1)
	RC=$?
}

# expect_fail DESC REGEX CMD...: CMD must fail (non-zero) and its output
# must match REGEX (the reason, not just the status).
expect_fail() {
	local desc=$1 re=$2; shift 2
	run_capture "$@"
	if [ "$RC" -ne 0 ] && printf '%s' "$OUT" | grep -Eq -- "$re"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC, wanted failure matching /$re/; output:"
		printf '%s\n' "$OUT" | head -20 | sed 's/^/#   /'
	fi
}

# expect_status DESC STATUS CMD...
expect_status() {
	local desc=$1 want=$2; shift 2
	run_capture "$@"
	if [ "$RC" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC, wanted $want; output:"
		printf '%s\n' "$OUT" | head -20 | sed 's/^/#   /'
	fi
}

# expect_output DESC REGEX CMD...: CMD succeeds and output matches REGEX.
expect_output() {
	local desc=$1 re=$2; shift 2
	run_capture "$@"
	if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -Eq -- "$re"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC, wanted success matching /$re/; output:"
		printf '%s\n' "$OUT" | head -20 | sed 's/^/#   /'
	fi
}

# A fresh workspace directory owned by the invoking user.
new_ws() {
	local d
	d=$(mktemp -d "$T/ws.XXXXXX")
	chmod 755 "$d"
	echo "$d"
}

# root_identity DIR: the identity a root-invoked sandbox takes for a
# root-owned workspace in DIR: "idmap" where its file system can do
# idmapped mounts, "root-uid" on overlayfs, which cannot (the root of many
# containers). In root-uid mode root-only files in shown places read as
# empty files (masked) rather than failing with EACCES.
root_identity() {
	case $(stat -f -c %T "$1") in
	overlayfs) echo root-uid ;;
	*) echo idmap ;;
	esac
}

# sb WS CMD...: run CMD in a sandbox with workspace WS.
sb() {
	local ws=$1; shift
	(cd "$ws" && "$CORDON" run -- "$@")
}

# http_upstream [LOG]: an HTTP server on this host's loopback, on a port of
# its own, answering every GET with "upstream-reached" (and writing each
# path to LOG when given); killed by the trap. Sets port. The proxy refuses
# loopback destinations: CORDON_TEST_PROXY_LOOPBACK (test hooks only) lifts
# that, so the domain policy is the only thing deciding.
http_upstream() {
	local pf
	pf=$(mktemp "$T/upstream-port.XXXXXX")
	$PY -c '
import http.server, socketserver, sys
log = open(sys.argv[1], "a", buffering=1) if sys.argv[1] else None
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if log: log.write(self.path + "\n")
        b = b"upstream-reached\n"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, socketserver.TCPServer): daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "${1:-}" >"$pf" &
	track_pid $!
	wait_for test -s "$pf"
	port=$(head -1 "$pf")
}

# poll N COND_CMD...: run COND_CMD every 0.1 s until it succeeds, N times at most.
poll() {
	local i n=$1
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for COND_CMD...: poll up to ~5 s.
wait_for() { poll 50 "$@"; }

# wait_long COND_CMD...: poll up to ~60 s (a sandbox starting on a busy machine).
wait_long() { poll 600 "$@"; }

# claude_cli: the real Claude Code CLI (npm @anthropic-ai/claude-code),
# installed once per run in CORDON_TEST_SHARED (tests/run.py) and reused by
# every suite that calls this; where that is not writable (the test user's
# pass run on its own) in SHOWN, for this suite. On success sets CLAUDE (the
# program, which anyone may run, inside a sandbox too) and returns 0. When
# npm is missing, the registry does not answer or the install fails, sets
# CLAUDE_SKIP to the reason and returns 1: the caller skips, for a lack of
# network never fails a suite. The outcome is kept for the run's next
# suites. The registry comes from npm's own configuration, never from here.
claude_cli() {
	local dir="" reg why
	CLAUDE= CLAUDE_SKIP=
	if [ -n "${CORDON_TEST_SHARED:-}" ]; then
		dir="$CORDON_TEST_SHARED/claude-cli"
		mkdir -p -m 755 "$dir" 2>/dev/null
		[ -e "$dir/ok" ] || [ -e "$dir/failed" ] || [ -w "$dir" ] || dir=""
	fi
	[ -n "$dir" ] || { dir="$SHOWN/claude-cli" && mkdir -p -m 755 "$dir"; }
	# One install per run, whichever suite comes first.
	[ -e "$dir/ok" ] || [ -e "$dir/failed" ] || (
		flock 9
		[ -e "$dir/ok" ] || [ -e "$dir/failed" ] && exit 0
		export npm_config_cache="$dir/npm-cache" npm_config_update_notifier=false
		reg=$(npm config get registry 2>/dev/null)
		if ! command -v npm >/dev/null || [ -z "$reg" ]; then
			why="npm is not installed"
		elif ! timeout 15 $PY -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$reg" 2>/dev/null; then
			why="the npm registry ($reg) does not answer"
		elif ! timeout 300 npm install --prefix "$dir/pkg" --no-audit --no-fund --loglevel=error \
			@anthropic-ai/claude-code >"$dir/install.log" 2>&1; then
			why="npm install @anthropic-ai/claude-code failed: $(tail -3 "$dir/install.log" | tr '\n' ' ')"
		elif ! "$dir/pkg/node_modules/.bin/claude" --version 2>&1 | grep -q '(Claude Code)'; then
			why="the installed claude does not run: $("$dir/pkg/node_modules/.bin/claude" --version 2>&1 | head -2 | tr '\n' ' ')"
		fi
		if [ -n "${why:-}" ]; then
			printf '%s\n' "$why" >"$dir/failed"
		else
			chmod -R a+rX "$dir/pkg" && touch "$dir/ok"
		fi
	) 9>>"$dir/lock"
	if [ -e "$dir/ok" ]; then
		CLAUDE="$dir/pkg/node_modules/.bin/claude"
		return 0
	fi
	CLAUDE_SKIP=$(cat "$dir/failed" 2>/dev/null || echo "the Claude Code CLI install did not finish")
	return 1
}

# test_netns: (root) the test's own "internet", as pxlib.NetNS makes it: a
# network namespace joined to this host by a veth pair, on a /30 of
# 198.18.0.0/15 of its own (by pid: other suites' namespaces may exist at
# the same time): NS_IP inside, NS_HOST_IP here. Sets NETNS (its name, for
# `ip netns exec`); removed by name at exit. Returns 1 when it cannot be made.
test_netns() {
	local tag net="198.18.$((1 + $$ % 250))"
	NETNS="cordon-t$$"
	NS_IP=$net.2 NS_HOST_IP=$net.1
	tag=${NETNS: -8}
	_netns+=("$NETNS")
	ip netns add "$NETNS" &&
		ip link add "vh$tag" type veth peer name "vn$tag" &&
		ip link set "vn$tag" netns "$NETNS" &&
		ip addr add "$NS_HOST_IP/30" dev "vh$tag" &&
		ip link set "vh$tag" up &&
		ip netns exec "$NETNS" ip addr add "$NS_IP/30" dev "vn$tag" &&
		ip netns exec "$NETNS" ip link set "vn$tag" up &&
		ip netns exec "$NETNS" ip link set lo up &&
		ip netns exec "$NETNS" ip route add default via "$NS_HOST_IP"
}
