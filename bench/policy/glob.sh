#!/bin/bash
# Start-up cost of policy globs on a big workspace (not a test).
#
#   bench/policy/glob.sh CORDON [FILES]
#
# Builds a workspace of FILES (default 100000) files in nested directories,
# plus a node_modules tree of the same size that `**` does not enter, then
# times `cordon policy show --mounts` (load + plan, no sandbox) with the
# built-in policy and with "**/*.pem" and ".env*" added. The difference is
# what the glob walk adds to every `cordon run`.
set -eu
cordon=$(realpath "${1:?usage: glob.sh CORDON [FILES]}")
files=${2:-100000}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/cordon-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
ws=$dir/ws
mkdir -p "$ws" "$dir/home"
python3 - "$ws" "$files" <<'PY'
import os, sys
ws, n = sys.argv[1], int(sys.argv[2])
per = 100
for i in range(n // per):
    d = os.path.join(ws, "src", "m%03d" % (i // 100), "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    for j in range(per):
        name = "f%03d.%s" % (j, "pem" if (i * per + j) % 5000 == 0 else "c")
        open(os.path.join(d, name), "w").close()
    nm = os.path.join(ws, "node_modules", "p%04d" % i)
    os.makedirs(nm, exist_ok=True)
    for j in range(per):
        open(os.path.join(nm, "x%03d.js" % j), "w").close()
PY
mkdir -p "$dir/home/.config/cordon"
glob_settings='{"sandbox": {"filesystem": {"denyRead": ["**/*.pem", ".env*"]}}}'
echo "workspace: $files files in $(find "$ws/src" -type d | wc -l) directories, plus $files under node_modules"
cd "$ws"
export HOME="$dir/home"
"$cordon" policy show --mounts >/dev/null
echo '{}' > "$HOME/.config/cordon/settings.json"
base="$cordon policy show --mounts"
echo "$glob_settings" > "$dir/glob.json"
globbed="$cordon policy show --mounts --policy $dir/glob.json"
$globbed | grep -E '^Mounts on this machine'
if command -v hyperfine >/dev/null; then
	# Reference: the same search with find(1), as tools that scan per command do.
	hyperfine -N --warmup 3 --runs 20 "$base" "$globbed" \
		"find $ws -name node_modules -prune -o -name *.pem -print"
else
	for c in "$base" "$globbed"; do
		/usr/bin/time -f "%e s  $c" $c >/dev/null
	done
fi
