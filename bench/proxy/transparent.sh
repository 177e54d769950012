#!/bin/bash
# Transparent capture against the explicit proxy, through `cordon run`, in
# the same run: one HTTPS upstream on loopback (opaque.test, a spliced
# tunnel either way). The clients run inside the sandbox:
#
#   explicit     CONNECT opaque.test:PORT to the proxy on 127.0.0.1:3128
#   transparent  resolve opaque.test (the sandbox's DNS stub answers a
#                synthetic address) and connect to it; the connection is
#                captured and handed to the proxy as a CONNECT
#
#   1. connection cost: (lookup +) TCP + TLS handshake + GET of 64 bytes +
#      close, one after the other (median and p90 of each connection)
#   2. one download stream of BENCH_TLS_BYTES (default 1 GB): MB/s
#
# Rounds alternate explicit / transparent. Run as root from the checkout:
# bench/proxy/transparent.sh BUILD_DIR. Results:
# bench/proxy/RESULTS-transparent.md (raw lines in raw/transparent-*).
set -u
BUILD=${1:-build}
PORT=19122
NAMES="opaque.test"
. "$(dirname "$0")/tls_upstream.sh"
OUT=$HERE/RESULTS-transparent.md

crun() { # cordon run ... -- ARGS, in the bench's workspace
	(cd "$W/ws" && env CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1 \
		XDG_STATE_HOME="$W/state" SSL_CERT_FILE="$W/ca.pem" \
		"$CORDON" run -q --audit-log "$W/audit.jsonl" --no-exec-audit \
		--resolve opaque.test:127.0.0.1 --allow-domain "opaque.test:$PORT" -- "$@")
}
mode_port() { [ "$1" = explicit ] && echo 3128 || echo 0; }

: >"$RAW/transparent-conn.txt"
: >"$RAW/transparent-tput.txt"
echo "== connections" >&2
for r in $(seq 1 "$ROUNDS"); do
	for m in explicit transparent; do
		crun "$PX" https-conn "$CONNS" opaque.test:$PORT "$(mode_port $m)" | sed "s/^/$m /" \
			>>"$RAW/transparent-conn.txt"
	done
done
echo "== throughput" >&2
for r in $(seq 1 "$ROUNDS"); do
	for m in explicit transparent; do
		echo "$m $(crun "$PX" https-tput opaque.test:$PORT "$BYTES" "$(mode_port $m)")" \
			>>"$RAW/transparent-tput.txt"
	done
done

col() { # NAME FILE FIELD: median of the number following FIELD on NAME's lines
	grep "^$1 " "$2" | awk -v k="$3" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' | median
}
C_E=$(col explicit "$RAW/transparent-conn.txt" p50)
C_T=$(col transparent "$RAW/transparent-conn.txt" p50)
P_E=$(col explicit "$RAW/transparent-conn.txt" p90)
P_T=$(col transparent "$RAW/transparent-conn.txt" p90)
T_E=$(grep "^explicit " "$RAW/transparent-tput.txt" | awk '{print $2}' | median)
T_T=$(grep "^transparent " "$RAW/transparent-tput.txt" | awk '{print $2}' | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
{
	echo "# Transparent capture against the explicit proxy"
	echo
	echo "Machine: $(nproc) CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r)."
	echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Command: \`bench/proxy/transparent.sh $BUILD\`; $ROUNDS alternating rounds,"
	echo "$CONNS connections per round, downloads of $BYTES bytes. Clients inside \`cordon run\`,"
	echo "upstream on loopback (HTTPS, a spliced tunnel in both modes)."
	echo
	echo "| path | connection p50 | p90 | download MB/s |"
	echo "|---|---:|---:|---:|"
	echo "| explicit proxy (CONNECT to 127.0.0.1:3128) | $C_E ms | $P_E ms | $T_E |"
	echo "| transparent (stub lookup, captured connect) | $C_T ms | $P_T ms | $T_T |"
	echo "| ratio transparent / explicit | $(ratio "$C_T" "$C_E") | $(ratio "$P_T" "$P_E") | $(ratio "$T_T" "$T_E") |"
	echo
	echo "A transparent connection costs a DNS query to the stub (the explicit client"
	echo "resolves nothing), the NAT redirect and SO_ORIGINAL_DST; it saves the CONNECT"
	echo "request and its answer."
} >"$OUT"
cat "$OUT"
