#!/bin/bash
# `make fuzz`: build every target with clang, libFuzzer, ASan and UBSan, and
# run each for FUZZ_SECONDS (default 60) on its corpus. New inputs that
# libFuzzer finds go to fuzz/corpus/<name>/ (commit the interesting ones);
# a crash leaves crash-* files and fails the run.
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized
fi
ninja -C build-fuzz
status=0
for bin in build-fuzz/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	mkdir -p "fuzz/corpus/$name"
	dict=()
	[ -f "fuzz/dict/$name.dict" ] && dict=(-dict="fuzz/dict/$name.dict")
	echo "== fuzz_$name for ${secs}s"
	"$bin" -max_total_time="$secs" -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="build-fuzz/crash-$name-" "fuzz/corpus/$name" || status=1
done
exit $status
