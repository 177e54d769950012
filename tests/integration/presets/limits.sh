#!/bin/bash
# The agent presets' default ceilings: with `cordon claude` and no flag, a
# fork bomb meets the pids ceiling and a hog the memory ceiling while the
# agent goes on; the record says what is in force; flags override them.
# Bounded: at most 1100 sleeping children for 3 s, a 512 MiB hog.
. "$(dirname "$0")/../lib.sh"

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset XDG_STATE_HOME ANTHROPIC_BASE_URL ANTHROPIC_API_KEY
ws=$(new_ws)
bin="$T/bin"
mkdir -p "$bin"
# A stand-in for Claude Code: runs the command after --task as its child,
# then says that it is still there.
cat > "$bin/claude" <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in --task) shift; break ;; esac
	shift
done
sh -c "$1"
echo "agent goes on: child exit $?"
SH
chmod 755 "$bin/claude"
export PATH="$bin:$PATH"
LOG=$h/.local/state/cordon/audit/audit.jsonl
agent() { (cd "$ws" && "$CORDON" claude "$@" </dev/null); }
# res KEY: layers.<KEY> (limits, or resources.KEY) of the last session_start, as JSON.
res() {
	$PY -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x["type"] == "session_start"][-1]["layers"]
print(json.dumps(r["limits"] if sys.argv[2] == "limits" else r["resources"][sys.argv[2]]))' "$LOG" "$1"
}

# The defaults: pids 1024, memory min(8 GiB, half the RAM), disk min(8 GiB,
# a quarter of the RAM), in whole MiB.
ram=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo) * 1024))
mib=$((1 << 20))
want_mem=$((ram / 100 * 50)); [ $want_mem -gt $((8 << 30)) ] && want_mem=$((8 << 30))
want_disk=$((ram / 100 * 25)); [ $want_disk -gt $((8 << 30)) ] && want_disk=$((8 << 30))
want_mem=$((want_mem / mib * mib))
want_disk=$((want_disk / mib * mib))

expect_output "cordon claude with no flag runs (root and plain user alike)" "^agent goes on: child exit 0$" \
	agent --task true
expect_output "the record: pids 1024 by default" "^1024$" res pids
expect_output "the record: memory min(8 GiB, half the RAM) = $want_mem" "^$want_mem$" res memory
expect_output "the record: disk min(8 GiB, a quarter of the RAM) = $want_disk" "^$want_disk$" res disk
run_capture res limits
mech=$(printf '%s' "$OUT" | tr -d '"')
case $mech in
"cgroup v2" | "cgroup v1" | rlimits) ok "the record names the mechanism: $mech" ;;
*) not_ok "the record names the mechanism"; diag "limits: $OUT" ;;
esac
expect_output "the disk default is in force inside (ulimit -f in 512-byte blocks)" \
	"^$((want_disk / 512))$" agent --task 'ulimit -f'
expect_output "policy show names the defaults and their origin" \
	"resources.pids +1024 +\(profile claude\)" sh -c "cd '$ws' && '$CORDON' policy show --profile claude"

# A fork bomb, bounded: up to 1100 children that sleep 3 s.
cat > "$ws/forker.py" <<'PYEOF'
import os, sys, time
n = 0
try:
    for i in range(1100):
        pid = os.fork()
        if pid == 0:
            time.sleep(3); os._exit(0)
        n += 1
except OSError as e:
    print("stopped after", n, "forks:", e.strerror)
    sys.exit(0)
print("forked", n)
PYEOF
run_capture timeout -s KILL 120 sh -c "cd '$ws' && exec '$CORDON' claude --pids 1200 --task '$PY forker.py' </dev/null"
if [ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -qx 'forked 1100'; then
	ok "control: with --pids 1200 the 1100 forks succeed (the flag overrides the default)"
else
	not_ok "control: with --pids 1200 the 1100 forks succeed (the flag overrides the default)"
	diag "exit $RC: $(printf '%s' "$OUT" | tail -3)"
fi
run_capture timeout -s KILL 120 sh -c "cd '$ws' && exec '$CORDON' claude --task '$PY forker.py' </dev/null"
if [ "$RC" -eq 0 ] &&
	printf '%s' "$OUT" | grep -Eq '^stopped after ([0-9]{1,3}|10[01][0-9]|102[0-3]) forks: Resource temporarily unavailable$'; then
	ok "no flag: the fork bomb stops below 1024 with EAGAIN"
else
	not_ok "no flag: the fork bomb stops below 1024 with EAGAIN"
	diag "exit $RC: $(printf '%s' "$OUT" | tail -3)"
fi
diag "$(printf '%s' "$OUT" | grep '^stopped after')"
check "... and the agent goes on" sh -c "printf '%s' \"\$0\" | grep -qx 'agent goes on: child exit 0'" "$OUT"

# A memory hog: 512 MiB in 16 MiB steps. The default (GiBs) is not
# allocated here: the record shows it above; the kill is shown under a
# small explicit ceiling, the control under a large one.
hog='b = []
for i in range(32):
    b.append(bytearray(16 << 20))
print("done", len(b) * 16, "MiB")'
expect_output "control: with --memory 2g the hog completes" "^done 512 MiB$" \
	agent --memory 2g --task "$PY -c '$hog'"
case $mech in
cgroup*)
	expect_output "--memory 128m: the hog is killed (137) and the agent goes on" \
		"^agent goes on: child exit 137$" agent --memory 128m --task "$PY -c '$hog'"
	;;
*)
	expect_output "--memory 128m (rlimits): the hog's allocation fails and the agent goes on" \
		"^agent goes on: child exit 1$" agent --memory 128m --task "$PY -c '$hog'"
	;;
esac
check "... the hog did not complete" sh -c "! printf '%s' \"\$0\" | grep -q '^done'" "$OUT"
expect_output "the record: the flag's 128 MiB is in force" "^134217728$" res memory
expect_output "... and the other defaults stay" "^1024$" res pids

# An untrusted workspace may lower the defaults, not raise them.
mkdir -p "$ws/.cordon"
printf '{"sandbox": {"resources": {"pids": 4096}}}\n' > "$ws/.cordon/settings.json"
expect_status "a workspace's settings cannot raise the default pids (125)" 125 agent --task true
check "... saying why, with a hint" sh -c "printf '%s' \"\$0\" | grep -q 'widens the policy' && printf '%s' \"\$0\" | grep -q '^Hint:'" "$OUT"
printf '{"sandbox": {"resources": {"pids": 512}}}\n' > "$ws/.cordon/settings.json"
expect_output "a workspace's settings may lower it" "^agent goes on: child exit 0$" agent --task true
expect_output "... the record says 512" "^512$" res pids
rm -rf "$ws/.cordon"

done_testing
