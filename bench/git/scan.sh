#!/bin/bash
# Start-up cost of finding every git directory of a workspace (not a test).
#
#   bench/git/scan.sh CORDON [BASELINE_CORDON] [FILES]
#
# Two workspaces: a repository with 20 submodules (one of them with a
# nested submodule) and 2 linked worktrees; and a large one, FILES (default
# 100000) files in 1000 directories with 10 nested clones among them, plus
# a node_modules tree of the same size that the walk does not enter. Times
# `cordon policy show --mounts` (load, git scan and plan; no sandbox) with
# hyperfine, against BASELINE_CORDON (a build without the git scan) when
# given: the difference is what the scan adds to every `cordon run`. The
# end of a session walks once more, at the same cost.
set -eu
cordon=$(realpath "${1:?usage: scan.sh CORDON [BASELINE_CORDON] [FILES]}")
base=${2:+$(realpath "$2")}
files=${3:-100000}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/cordon-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export HOME="$dir/home" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.test \
	GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.test
mkdir -p "$HOME"
mkrepo() { git init -q "$1" && (cd "$1" && echo x > x && git add x && git commit -qm i); }

sub=$dir/submodules
mkrepo "$dir/up"
mkrepo "$dir/up-nested"
(cd "$dir/up" && git -c protocol.file.allow=always submodule add -q "$dir/up-nested" n && git commit -qm n)
mkrepo "$sub"
for i in $(seq 1 20); do
	(cd "$sub" && git -c protocol.file.allow=always submodule add -q "$dir/up" "libs/m$i")
done
(cd "$sub" && git -c protocol.file.allow=always submodule update -q --init --recursive &&
	git commit -qm subs && git worktree add -q wt1 && git worktree add -q wt2)

big=$dir/big
python3 - "$big" "$files" <<'PY'
import os, sys
ws, n = sys.argv[1], int(sys.argv[2])
per = 100
for i in range(n // per):
    d = os.path.join(ws, "src", "m%03d" % (i // 100), "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    for j in range(per):
        open(os.path.join(d, "f%03d.c" % j), "w").close()
    nm = os.path.join(ws, "node_modules", "p%04d" % i)
    os.makedirs(nm, exist_ok=True)
    for j in range(per):
        open(os.path.join(nm, "x%03d.js" % j), "w").close()
PY
mkrepo "$big"
for i in $(seq 0 9); do mkrepo "$big/src/m00$i/clone"; done

for ws in "$sub" "$big"; do
	echo "== $ws"
	(cd "$ws" && "$cordon" policy show --mounts | grep -E '^(Mounts on|Git directories)')
	cmds=("$cordon policy show --mounts -w $ws")
	[ -n "$base" ] && cmds+=("$base policy show --mounts -w $ws")
	if command -v hyperfine >/dev/null; then
		hyperfine -N --warmup 3 --runs 20 "${cmds[@]}"
	else
		for c in "${cmds[@]}"; do /usr/bin/time -f "%e s  $c" $c >/dev/null; done
	fi
done
