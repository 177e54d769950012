#!/bin/bash
# `cordon shim install|uninstall AGENT`: a wrapper earlier in PATH, and the
# .sandbox-required marker that forbids running the agent unsandboxed.
. "$(dirname "$0")/../lib.sh"

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
real=$(mktemp -d "$T/real.XXXXXX")
shims=$(mktemp -d "$T/shims.XXXXXX")
chmod 755 "$real" "$shims"
# A stand-in for the real agent: says where it runs.
cat > "$real/claude" <<'SH'
#!/bin/sh
echo "REAL-CLAUDE sandbox=${CORDON_SANDBOX:-no} is_sandbox=${IS_SANDBOX:-no} profile=${CORDON_PROFILE:-none} args=$*"
SH
chmod 755 "$real/claude"
export HOME=$h
P="$shims:$real:/usr/local/bin:/usr/bin:/bin"

expect_output "shim install writes the wrapper" "installed $shims/claude" \
	"$CORDON" shim install claude --dir "$shims"
check "the wrapper is executable and marked" sh -c "test -x '$shims/claude' && grep -q cordon-shim '$shims/claude'"
run_capture env PATH="$P" "$CORDON" shim install claude --dir "$shims"
check "installing again replaces the wrapper (exit 0)" [ "$RC" -eq 0 ]

ws=$(new_ws)
# Control: the real agent alone runs unsandboxed.
expect_output "control: the real agent alone runs without a sandbox" "REAL-CLAUDE sandbox=no" \
	env PATH="$real:/usr/bin:/bin" sh -c "cd '$ws' && claude hello"
expect_output "through the shim the agent runs inside cordon with its preset" \
	"REAL-CLAUDE sandbox=1 is_sandbox=1 profile=claude args=--settings .*hello world" \
	env PATH="$P" sh -c "cd '$ws' && claude hello world"
expect_output "the preset adds cordon's hook on the agent's command line" '"command":"[^"]*cordon hook claude"' \
	env PATH="$P" sh -c "cd '$ws' && claude x"

# Bypass without a marker: runs unsandboxed (the user asked).
expect_output "CORDON_SHIM_BYPASS=1 outside a marked repository runs the agent directly" \
	"REAL-CLAUDE sandbox=no" env PATH="$P" CORDON_SHIM_BYPASS=1 sh -c "cd '$ws' && claude x"

# A repository that requires a sandbox.
repo=$(new_ws)
mkdir -p "$repo/.git" "$repo/src/deep"
touch "$repo/.sandbox-required"
expect_fail "in a marked repository, CORDON_SHIM_BYPASS=1 is refused (exit 125)" \
	"refusing to run claude without a sandbox: CORDON_SHIM_BYPASS=1 is set" \
	env PATH="$P" CORDON_SHIM_BYPASS=1 sh -c "cd '$repo/src/deep' && claude x"
run_capture env PATH="$P" CORDON_SHIM_BYPASS=1 sh -c "cd '$repo/src/deep' && claude x"
if [ "$RC" -eq 125 ] && ! printf '%s' "$OUT" | grep -q REAL-CLAUDE; then
	ok "... with exit status 125 and the agent not run"
else
	not_ok "... with exit status 125 and the agent not run"; diag "exit $RC: $OUT"
fi
expect_output "in a marked repository the shim runs the agent sandboxed" "REAL-CLAUDE sandbox=1" \
	env PATH="$P" sh -c "cd '$repo/src/deep' && claude x"
# CORDON_SANDBOX=1 can be set in any environment: it must not switch the
# wrapper off. The agent still runs through cordon, with its preset.
expect_output "in a marked repository a forged CORDON_SANDBOX=1 still runs the agent sandboxed" \
	"REAL-CLAUDE sandbox=1 is_sandbox=1 profile=claude" \
	env PATH="$P" CORDON_SANDBOX=1 sh -c "cd '$repo/src/deep' && claude x"
expect_output "elsewhere too a forged CORDON_SANDBOX=1 runs the agent sandboxed" \
	"REAL-CLAUDE sandbox=1 is_sandbox=1 profile=claude" \
	env PATH="$P" CORDON_SANDBOX=1 sh -c "cd '$ws' && claude x"
check "cordon __inside says outside, whatever CORDON_SANDBOX says" \
	sh -c "! env CORDON_SANDBOX=1 '$CORDON' __inside"
# Control: inside a real sandbox the wrapper knows it, and runs the agent
# directly instead of a sandbox in the sandbox (a copy the sandbox can see).
sd="$SHOWN/shimctl"
mkdir -p "$sd/bin" "$sd/shims" "$sd/real"
chmod 755 "$sd" "$sd/bin" "$sd/shims" "$sd/real"
cp "$CORDON" "$sd/bin/cordon"
cp "$real/claude" "$sd/real/claude"
"$sd/bin/cordon" shim install claude --dir "$sd/shims" >/dev/null
expect_output "control: inside a real sandbox the wrapper runs the agent directly" \
	"REAL-CLAUDE sandbox=1 is_sandbox=[a-z]+ profile=none args=x" \
	sb "$repo" env PATH="$sd/shims:$sd/real:/usr/bin:/bin" sh -c "cd src/deep && claude x"
check "control: cordon __inside says inside in a sandbox" sb "$repo" "$sd/bin/cordon" __inside

# The marker is looked for only up to the git root.
outer=$(new_ws)
touch "$outer/.sandbox-required"
mkdir -p "$outer/inner/.git"
expect_output "a marker above the git root does not count" "REAL-CLAUDE sandbox=no" \
	env PATH="$P" CORDON_SHIM_BYPASS=1 sh -c "cd '$outer/inner' && claude x"

# cordon missing or failing its preflight, from a shim bound to a copy.
c2=$(mktemp -d "$T/cordon2.XXXXXX")
chmod 755 "$c2"
cp "$CORDON" "$c2/cordon"
s2=$(mktemp -d "$T/shims2.XXXXXX")
"$c2/cordon" shim install claude --dir "$s2" >/dev/null
cat > "$c2/cordon" <<'SH'
#!/bin/sh
echo "cordon: simulated setup failure" >&2
exit 125
SH
chmod 755 "$c2/cordon"
P2="$s2:$real:/usr/bin:/bin"
expect_fail "in a marked repository a sandbox that fails preflight is refused" \
	"refusing to run claude without a sandbox: the sandbox cannot be built here" \
	env PATH="$P2" sh -c "cd '$repo' && claude x"
rm -f "$c2/cordon"
expect_fail "in a marked repository a missing cordon is refused" \
	"refusing to run claude without a sandbox: cordon is not installed" \
	env PATH="$P2" sh -c "cd '$repo' && claude x"
expect_output "elsewhere a missing cordon warns and runs unsandboxed" \
	"warning: cordon not found; running claude WITHOUT a sandbox" \
	env PATH="$P2" sh -c "cd '$ws' && claude x 2>&1"

# Never overwrite or remove something that is not a cordon wrapper.
expect_fail "install refuses to overwrite the real agent" "exists and is not a cordon wrapper" \
	"$CORDON" shim install claude --dir "$real"
check "the real agent is intact" grep -q REAL-CLAUDE "$real/claude"
expect_fail "uninstall refuses to remove the real agent" "is not a cordon wrapper; left alone" \
	"$CORDON" shim uninstall claude --dir "$real"
expect_fail "unknown agents are refused" "no agent called 'vim'" "$CORDON" shim install vim --dir "$shims"
expect_output "uninstall removes the wrapper" "removed $shims/claude" \
	"$CORDON" shim uninstall claude --dir "$shims"
check "the wrapper is gone" test ! -e "$shims/claude"

# The wrapper names cordon as the user called it: a link in PATH stays the link.
lnk=$(mktemp -d "$T/lnk.XXXXXX")
mkdir -p "$lnk/bin" "$lnk/shims"
ln -s "$CORDON" "$lnk/bin/cordon"
env PATH="$lnk/bin:$PATH" cordon shim install claude --dir "$lnk/shims" >/dev/null 2>&1
expect_output "a wrapper installed by a cordon found in PATH names that path" \
	"^cordon='$lnk/bin/cordon'\$" cat "$lnk/shims/claude"

done_testing
