#!/bin/sh
# Run one libFuzzer target for a fixed time and report it as one TAP check.
#   run-fuzz.sh TARGET SECONDS CORPUS_DIR   (LBX_FUZZ_SECONDS overrides SECONDS)
set -u
target=$1 seconds=${LBX_FUZZ_SECONDS:-$2} corpus=$3
name=$(basename "$target")
mkdir -p "$corpus"
log=$(mktemp)
"$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$corpus/../$name-" "$corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
if [ "$rc" -eq 0 ]; then
	echo "ok 1 - $name: ${runs:-?} inputs in ${seconds}s, no crash, no invariant broken"
else
	echo "not ok 1 - $name crashed or broke an invariant (exit $rc)"
	tail -n 40 "$log" | sed 's/^/# /'
fi
rm -f "$log"
echo "1..1"
