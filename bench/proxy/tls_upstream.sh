# Sourced by intercept.sh and transparent.sh: set BUILD, PORT and NAMES
# (the names the upstream's certificate holds, the first as its CN) first.
# Builds pxbench in a scratch dir W, makes a CA standing for the host's trust
# store (W/ca.pem) and a certificate for NAMES, starts an HTTPS upstream on
# 127.0.0.1:PORT and waits for it. Defines CORDON, RAW, ROUNDS, CONNS,
# BYTES, PX, PIDS (killed at exit, W removed) and median.
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORDON=$(cd "$ROOT" && realpath "$BUILD")/cordon
RAW=$HERE/raw
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_TLS_CONNS:-300}
BYTES=${BENCH_TLS_BYTES:-1000000000}
W=$(mktemp -d /var/tmp/cordon-bench-tls.XXXXXX)
chmod 755 "$W"
mkdir -p "$RAW"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
[ -x "$CORDON" ] || { echo "no cordon binary at $CORDON" >&2; exit 1; }
cc -O2 -DPXBENCH_TLS -o "$W/pxbench" "$HERE/pxbench.c" -lssl -lcrypto -lpthread || exit 1
PX=$W/pxbench

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-out "$W/ca.pem" -days 2 -subj "/CN=cordon bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/srv.key" \
	-out "$W/srv.csr" -subj "/CN=${NAMES%% *}" 2>/dev/null
printf 'subjectAltName=%s\n' "$(printf 'DNS:%s,' $NAMES | sed 's/,$//')" >"$W/ext.cnf"
openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
	-out "$W/srv.pem" -days 2 -extfile "$W/ext.cnf" 2>/dev/null
chmod 644 "$W"/*.pem "$W"/*.key
"$PX" serve-https "$PORT" "$W/srv.pem" "$W/srv.key" >/dev/null & PIDS+=($!)
mkdir -p "$W/ws"
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
