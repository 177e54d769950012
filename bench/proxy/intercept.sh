#!/bin/bash
# TLS interception against a plain (spliced) tunnel, through `cordon run`'s
# proxy, in the same run: one HTTPS upstream on loopback holds a certificate
# for two names; the policy's network.rules name intercept.test (any method,
# any path), so its tunnels are intercepted, and opaque.test stays a spliced
# tunnel. The clients run inside the sandbox:
#
#   1. connection cost: CONNECT + TLS handshake + GET of 64 bytes + close,
#      one after the other (median and p90 of each connection)
#   2. one download stream of BENCH_TLS_BYTES (default 1 GB): MB/s, and the
#      CPU the whole `cordon run` took beyond the client's own (the proxy,
#      plus a sandbox start of about 10 ms)
#
# Rounds alternate opaque / intercepted so that the machine's drift reaches
# both. Run as root from the checkout: bench/proxy/intercept.sh BUILD_DIR
# Results: bench/proxy/RESULTS-intercept.md (raw lines in raw/intercept-*).
set -u
BUILD=${1:-build}
PORT=19121
NAMES="opaque.test intercept.test"
. "$(dirname "$0")/tls_upstream.sh"
OUT=$HERE/RESULTS-intercept.md
cat >"$W/policy.json" <<EOF
{"sandbox": {"network": {"allowedDomains": ["opaque.test", "intercept.test"],
  "rules": [{"host": "intercept.test"}]}}}
EOF

crun() { # cordon run ... -- ARGS, in the bench's workspace
	(cd "$W/ws" && env CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1 \
		CORDON_TEST_CONFIG_DIR="$W/config" XDG_STATE_HOME="$W/state" SSL_CERT_FILE="$W/ca.pem" \
		"$CORDON" run -q --audit-log "$W/audit.jsonl" --no-exec-audit \
		--resolve opaque.test:127.0.0.1 --resolve intercept.test:127.0.0.1 \
		--policy "$W/policy.json" -- "$@")
}

: >"$RAW/intercept-conn.txt"
: >"$RAW/intercept-tput.txt"
echo "== connections" >&2
SSL_CERT_FILE="$W/ca.pem" "$PX" https-conn "$CONNS" opaque.test:$PORT 0 |
	sed 's/^/direct /' >>"$RAW/intercept-conn.txt"
for r in $(seq 1 "$ROUNDS"); do
	for name in opaque intercept; do
		crun "$PX" https-conn "$CONNS" $name.test:$PORT 3128 | sed "s/^/$name /" \
			>>"$RAW/intercept-conn.txt"
	done
done
echo "== throughput" >&2
SSL_CERT_FILE="$W/ca.pem" "$PX" https-tput opaque.test:$PORT "$BYTES" 0 |
	sed 's/^/direct /' >>"$RAW/intercept-tput.txt"
for r in $(seq 1 "$ROUNDS"); do
	for name in opaque intercept; do
		/usr/bin/time -f "total-cpu %U %S" -o "$W/time" \
			bash -c "$(declare -f crun); W='$W' CORDON='$CORDON' PORT=$PORT; crun '$PX' https-tput $name.test:$PORT $BYTES 3128" \
			>"$W/out"
		echo "$name $(cat "$W/out") $(cat "$W/time")" >>"$RAW/intercept-tput.txt"
	done
done

col() { # NAME FIELD-AFTER: median of the number following FIELD-AFTER on NAME's lines
	grep "^$1 " "$2" | awk -v k="$3" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' | median
}
cpu_per_gb() { # NAME: (total cpu - client cpu) per GB, median over rounds
	grep "^$1 " "$RAW/intercept-tput.txt" |
		awk -v b="$BYTES" '{for (i = 1; i < NF; i++) { if ($i == "client-cpu") c = $(i + 1); if ($i == "total-cpu") t = $(i + 1) + $(i + 2) }
			printf "%.2f\n", (t - c) / (b / 1e9)}' | median
}
C_D=$(col direct "$RAW/intercept-conn.txt" p50)
C_O=$(col opaque "$RAW/intercept-conn.txt" p50)
C_I=$(col intercept "$RAW/intercept-conn.txt" p50)
P_O=$(col opaque "$RAW/intercept-conn.txt" p90)
P_I=$(col intercept "$RAW/intercept-conn.txt" p90)
T_D=$(awk '{print $2}' <(grep "^direct " "$RAW/intercept-tput.txt"))
T_O=$(grep "^opaque " "$RAW/intercept-tput.txt" | awk '{print $2}' | median)
T_I=$(grep "^intercept " "$RAW/intercept-tput.txt" | awk '{print $2}' | median)
{
	echo "# TLS interception against a spliced tunnel"
	echo
	echo "Machine: $(nproc) CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r)."
	echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Command: \`bench/proxy/intercept.sh $BUILD\`; $ROUNDS alternating rounds,"
	echo "$CONNS connections per round, downloads of $BYTES bytes. Clients inside \`cordon run\`,"
	echo "upstream on loopback (EC P-256 certificates, TLS 1.3, OpenSSL $(openssl version | awk '{print $2}'))."
	echo
	echo "| path | connection p50 | p90 | download MB/s | cordon CPU per GB beyond the client |"
	echo "|---|---:|---:|---:|---:|"
	echo "| direct (no proxy, no sandbox) | $C_D ms | – | $T_D | – |"
	echo "| cordon, spliced tunnel | $C_O ms | $P_O ms | $T_O | $(cpu_per_gb opaque) s |"
	echo "| cordon, intercepted | $C_I ms | $P_I ms | $T_I | $(cpu_per_gb intercept) s |"
	echo
	echo "A connection: TCP to the proxy, CONNECT, the TLS handshake, GET /64, close."
	echo "Intercepted, the proxy makes two handshakes (one with the client, with a leaf"
	echo "certificate minted once per host and cached, one with the upstream, verified)"
	echo "and relays through user space; spliced, the bytes never leave the kernel."
} >"$OUT"
cat "$OUT"
