#!/bin/bash
# Egress proxy benchmarks: cordon proxy vs squid vs tinyproxy, all on
# loopback. Run as root from the checkout:  bench/proxy/run.sh BUILD_DIR
#
#   1. CONNECT tunnel throughput vs direct (pxbench blast server)
#   2. plain-HTTP requests/s, p50/p99 with wrk at 1/16/256 connections
#      (absolute-form requests through each proxy to a 64-byte keep-alive
#      upstream)
#   3. RSS with 1000 idle CONNECT tunnels
#   4. 10000 concurrent tunnels, fds before/after (cordon only)
#
# Installs squid, tinyproxy and wrk with apt-get when missing. Every server
# is started and stopped by pid. Results: bench/proxy/RESULTS.md (+ raw/).
set -u
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORDON=$(cd "$ROOT" && realpath "$BUILD")/cordon
OUT=$HERE/RESULTS.md
RAW=$HERE/raw
DUR=${BENCH_DURATION:-10}
TPUT_BYTES=${BENCH_TPUT_BYTES:-2000000000}
W=$(mktemp -d /var/tmp/cordon-bench.XXXXXX)
chmod 777 "$W"
mkdir -p "$RAW"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

need=()
command -v squid >/dev/null || [ -x /usr/sbin/squid ] || need+=(squid)
command -v tinyproxy >/dev/null || need+=(tinyproxy)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null || exit 1
fi
SQUID=$(command -v squid || echo /usr/sbin/squid)
[ -x "$CORDON" ] || { echo "no cordon binary at $CORDON" >&2; exit 1; }
cc -O2 -o "$W/pxbench" "$HERE/pxbench.c" || exit 1
PX=$W/pxbench

wait_port() { # PORT
	local i
	for i in $(seq 1 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

UP_HTTP=19101 UP_BLAST=19102 UP_IDLE=19103
P_CORDON=19111 P_SQUID=19112 P_TINY=19113
"$PX" serve-http $UP_HTTP >/dev/null & PIDS+=($!)
"$PX" serve-blast $UP_BLAST >/dev/null & PIDS+=($!)
"$PX" serve-idle $UP_IDLE >/dev/null & PIDS+=($!)

# the upstreams are on ports 19101-19103: ":*" (a rule without a port opens 80
# and 443 only); 10000 tunnels need more than the per-session default of 1024
CORDON_TEST_HOOKS=1 CORDON_TEST_PROXY_LOOPBACK=1 "$CORDON" proxy \
	--listen 127.0.0.1:$P_CORDON --allow-domain '127.0.0.1:*' --max-connections 16384 \
	>/dev/null 2>"$W/cordon.err" &
PIDS+=($!) CORDON_PID=$!

cat >"$W/squid.conf" <<EOF
http_port 127.0.0.1:$P_SQUID
acl all src all
acl CONNECT method CONNECT
http_access allow all
cache deny all
access_log none
cache_log $W/squid-cache.log
pid_filename $W/squid.pid
coredump_dir $W
max_filedescriptors 65536
shutdown_lifetime 1 seconds
EOF
"$SQUID" -N -f "$W/squid.conf" >/dev/null 2>&1 & PIDS+=($!) SQUID_PID=$!

cat >"$W/tinyproxy.conf" <<EOF
Port $P_TINY
Listen 127.0.0.1
Timeout 600
MaxClients 2000
Allow 127.0.0.1
LogLevel Critical
EOF
tinyproxy -d -c "$W/tinyproxy.conf" >/dev/null 2>&1 & PIDS+=($!) TINY_PID=$!

for p in $UP_HTTP $UP_BLAST $UP_IDLE $P_CORDON $P_SQUID $P_TINY; do
	wait_port $p || { echo "port $p did not come up" >&2; exit 1; }
done

rss_kb() { # PID...: sum of VmRSS over the process and its children
	local total=0 p kids
	for p in "$@"; do
		kids=$(pgrep -P "$p" 2>/dev/null)
		for q in $p $kids; do
			total=$((total + $(awk '/^VmRSS/ {print $2}' /proc/$q/status 2>/dev/null || echo 0)))
		done
	done
	echo $total
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== throughput" >&2
tput() { # [PROXYPORT]
	local i
	for i in 1 2 3; do
		"$PX" tput 127.0.0.1:$UP_BLAST "$TPUT_BYTES" "$@" | awk '{print $1}'
	done | median
}
HZ=$(getconf CLK_TCK)
cpu_ticks() { # PID...: utime+stime over the processes and their children
	local p
	for p in "$@"; do
		for q in $p $(pgrep -P "$p" 2>/dev/null); do
			awk '{print $14 + $15}' /proc/$q/stat 2>/dev/null
		done
	done | awk '{s += $1} END {print s + 0}'
}
stat_busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; } # busy idle
# tput_cpu NAME [PROXYPID PROXYPORT]: sets T_NAME, CPU_NAME (proxy CPU s per
# GB relayed) and BUSY_NAME (the whole machine's busy share during the runs)
tput_cpu() {
	local name=$1 pid=${2:-} c0=0 c1=0 s0 s1 t
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	s0=$(stat_busy)
	if [ -n "$pid" ]; then t=$(tput "$3"); else t=$(tput); fi
	s1=$(stat_busy)
	[ -n "$pid" ] && c1=$(cpu_ticks "$pid")
	printf -v "T_$name" '%s' "$t"
	printf -v "CPU_$name" '%s' "$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v b="$TPUT_BYTES" \
		'BEGIN { printf "%.2f", d / hz / (3 * b / 1e9) }')"
	printf -v "BUSY_$name" '%s' "$(echo "$s0 $s1" | awk '{b = $3 - $1; i = $4 - $2; printf "%.0f%%", 100 * b / (b + i)}')"
}
tput_cpu DIRECT
tput_cpu CORDON "$CORDON_PID" $P_CORDON
tput_cpu SQUID "$SQUID_PID" $P_SQUID
tput_cpu TINY "$TINY_PID" $P_TINY

echo "== wrk" >&2
cat >"$W/abs.lua" <<EOF
request = function()
  return wrk.format("GET", "http://127.0.0.1:$UP_HTTP/", { ["Host"] = "127.0.0.1:$UP_HTTP" })
end
EOF
declare -A RPS P50 P99
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
for name in direct cordon squid tinyproxy; do
	case $name in
	direct) port=$UP_HTTP; script=() ;;
	cordon) port=$P_CORDON; script=(-s "$W/abs.lua") ;;
	squid) port=$P_SQUID; script=(-s "$W/abs.lua") ;;
	tinyproxy) port=$P_TINY; script=(-s "$W/abs.lua") ;;
	esac
	for c in 1 16 256; do
		t=$((c < 2 ? 1 : 2))
		wrk -t$t -c$c -d${DUR}s --latency "${script[@]}" http://127.0.0.1:$port/ \
			>"$RAW/wrk-$name-$c.txt" 2>&1
		RPS[$name,$c]=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$RAW/wrk-$name-$c.txt")
		P50[$name,$c]=$(awk '$1=="50%" {print $2}' "$RAW/wrk-$name-$c.txt" | to_ms)
		P99[$name,$c]=$(awk '$1=="99%" {print $2}' "$RAW/wrk-$name-$c.txt" | to_ms)
		errs=$(grep -E "Non-2xx|Socket errors" "$RAW/wrk-$name-$c.txt" | tr '\n' ' ')
		[ -n "$errs" ] && echo "   $name c=$c: $errs" >&2
	done
done

echo "== idle tunnels RSS" >&2
declare -A RSS0 RSS1
for name in cordon squid tinyproxy; do
	case $name in
	cordon) port=$P_CORDON pid=$CORDON_PID ;;
	squid) port=$P_SQUID pid=$SQUID_PID ;;
	tinyproxy) port=$P_TINY pid=$TINY_PID ;;
	esac
	RSS0[$name]=$(rss_kb $pid)
	"$PX" tunnels 1000 $UP_IDLE $port 6 >"$RAW/idle-$name.txt" &
	tp=$!
	sleep 4
	RSS1[$name]=$(rss_kb $pid)
	wait $tp
	sleep 1
done

echo "== 10k tunnels" >&2
# a tunnel holds two fds in the proxy (client, upstream; pipes only while
# data flows): 10000 tunnels need RLIMIT_NOFILE above 20000
N10K=10000
LIM=$(ulimit -Hn)
[ "$LIM" != unlimited ] && [ "$LIM" -lt $((2 * N10K + 200)) ] && N10K=$(((LIM - 200) / 2))
FD0=$(ls /proc/$CORDON_PID/fd | wc -l)
"$PX" tunnels $N10K $UP_IDLE $P_CORDON 5 >"$RAW/10k-cordon.txt" &
tp=$!
sleep 4
FD_MID=$(ls /proc/$CORDON_PID/fd | wc -l)
RSS_10K=$(rss_kb $CORDON_PID)
wait $tp
for i in $(seq 1 50); do
	FD1=$(ls /proc/$CORDON_PID/fd | wc -l)
	[ "$FD1" -le "$FD0" ] && break
	sleep 0.1
done
EST_10K=$(awk '{print $2}' "$RAW/10k-cordon.txt")
kill -0 $SQUID_PID 2>/dev/null || echo "squid died" >&2
ALIVE=$(kill -0 $CORDON_PID 2>/dev/null && echo yes || echo NO)

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
{
	echo "# Egress proxy benchmarks"
	echo
	echo "Machine: $(nproc) CPU ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), Linux $(uname -r)."
	echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Peers: $("$SQUID" -v | head -1), tinyproxy $(tinyproxy -v 2>&1 | awk '{print $2}')."
	echo "Everything on loopback, all processes on the same $(nproc) CPUs. Command: \`bench/proxy/run.sh $BUILD\`"
	echo "(BENCH_DURATION=${DUR}s per wrk run, throughput median of 3 reads of $TPUT_BYTES bytes)."
	echo
	echo "## CONNECT tunnel throughput (one stream, download)"
	echo
	echo "| path | MB/s | vs direct | proxy CPU s per GB | machine busy |"
	echo "|---|---:|---:|---:|---:|"
	echo "| direct | $T_DIRECT | 100% | - | $BUSY_DIRECT |"
	echo "| cordon proxy (splice) | $T_CORDON | $(pct "$T_CORDON" "$T_DIRECT") | $CPU_CORDON | $BUSY_CORDON |"
	echo "| squid | $T_SQUID | $(pct "$T_SQUID" "$T_DIRECT") | $CPU_SQUID | $BUSY_SQUID |"
	echo "| tinyproxy | $T_TINY | $(pct "$T_TINY" "$T_DIRECT") | $CPU_TINY | $BUSY_TINY |"
	echo
	echo "proxy CPU: user+system time of the proxy's processes (threads included) during"
	echo "the three reads, per GB relayed. machine busy: the share of all $(nproc) CPUs not idle"
	echo "(from /proc/stat) while the reads ran, softirq and steal included."
	echo
	echo "## Plain HTTP through the proxy (wrk, 64-byte keep-alive upstream)"
	echo
	echo "| conns | direct req/s | cordon req/s | squid req/s | tinyproxy req/s | cordon/squid | p50 ms cordon / squid / tiny | p99 ms cordon / squid / tiny |"
	echo "|---:|---:|---:|---:|---:|---:|---|---|"
	for c in 1 16 256; do
		echo "| $c | ${RPS[direct,$c]} | ${RPS[cordon,$c]} | ${RPS[squid,$c]} | ${RPS[tinyproxy,$c]} | $(ratio "${RPS[cordon,$c]}" "${RPS[squid,$c]}") | ${P50[cordon,$c]} / ${P50[squid,$c]} / ${P50[tinyproxy,$c]} | ${P99[cordon,$c]} / ${P99[squid,$c]} / ${P99[tinyproxy,$c]} |"
	done
	echo
	echo "wrk: \`wrk -t2 -cN -d${DUR}s --latency -s abs.lua http://127.0.0.1:PROXYPORT/\` (abs.lua sends absolute-form GETs; -t1 for 1 connection)."
	echo "tinyproxy closes the client connection after every response (wrk reports read errors and"
	echo "reconnects), so its figures measure that, not keep-alive forwarding."
	echo
	echo "A proxied stream is three processes (sender, proxy, receiver) and two TCP"
	echo "connections where direct is two processes and one: on $(nproc) CPUs they take turns,"
	echo "so the tunnel's share of direct says as much about the CPU count as about the"
	echo "proxy. The proxy's CPU per GB is the proxy's own cost; cordon's is almost all kernel"
	echo "TCP work for its two hops (splice keeps the bytes out of user space)."
	echo
	echo "## Memory with 1000 idle CONNECT tunnels (RSS, all processes of the proxy)"
	echo
	echo "| proxy | RSS before | RSS with 1000 tunnels | established |"
	echo "|---|---:|---:|---|"
	for name in cordon squid tinyproxy; do
		echo "| $name | $((RSS0[$name] / 1024)) MB | $((RSS1[$name] / 1024)) MB ($(awk -v k="${RSS1[$name]}" 'BEGIN{printf "%.1f", k/1024}')) | $(cat "$RAW/idle-$name.txt") |"
	done
	echo
	echo "## $N10K concurrent tunnels (cordon)"
	echo
	[ "$N10K" -lt 10000 ] && echo "(the hard RLIMIT_NOFILE here is $LIM and cannot be raised: $N10K tunnels, two fds each, is the most that fits)" && echo
	echo "- established: $EST_10K of $N10K; proxy fds: $FD0 before, $FD_MID during, $FD1 after; RSS during: $((RSS_10K / 1024)) MB; proxy alive after: $ALIVE"
} >"$OUT"
cat "$OUT"
