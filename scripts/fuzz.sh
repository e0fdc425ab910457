#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (the fuzz preset: clang 14, ASan + UBSan) and runs
# each for a fixed time from its committed corpus (tests/fuzz/README.md). Fails when any finds a
# crash, a broken contract, a leak, a timeout or an out-of-memory: the input is left in
# build/fuzz/findings/<name>/, to be fixed and then kept in tests/fuzz/corpus/<name>/crashes/.
#   PVMKIT_FUZZ_SECONDS  seconds per fuzzer (default 20)
#   PVMKIT_FUZZ_JOBS     fuzzers run at once (default 2: 12 fuzzers take 2 minutes on 2 cores)
#   PVMKIT_FUZZ_ONLY     the harnesses to run, e.g. "json trace" (default: every one built)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

seconds="${PVMKIT_FUZZ_SECONDS:-20}"
jobs="${PVMKIT_FUZZ_JOBS:-2}"
start=$(date +%s)

echo "=== fuzz: configure and build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" --target pvmkit_fuzzers

# The longest input each fuzzer makes: a little above its largest seed (the XML one forks per input).
max_len() {
  case "$1" in
    id_list | policy_spec) echo 256 ;;
    proc_names | distance_matrix) echo 1024 ;;
    topology_xml) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

bin=build/fuzz/tests/fuzz
names="${PVMKIT_FUZZ_ONLY:-$(cd "$bin" && ls fuzz_* | grep -v '^fuzz_replay_' | sed 's/^fuzz_//')}"
rm -rf build/fuzz/work build/fuzz/findings build/fuzz/logs
mkdir -p build/fuzz/logs

run_one() {
  local name="$1" work="build/fuzz/work/$1" findings="build/fuzz/findings/$1/"
  mkdir -p "$work" "$findings"
  # New inputs go to the first folder (scratch); the committed corpus, crashes/ included, is read only.
  "$bin/fuzz_$name" -max_total_time="$seconds" -max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$findings" -print_final_stats=1 "$work" "tests/fuzz/corpus/$name" >"build/fuzz/logs/$name.log" 2>&1
}

echo "=== fuzz: $(echo $names | wc -w) fuzzers, ${seconds} s each, $jobs at a time"
failed=()
declare -A pid_of
for name in $names; do
  [ -x "$bin/fuzz_$name" ] || { echo "no fuzzer fuzz_$name" >&2; exit 2; }
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_one "$name" &
  pid_of[$name]=$!
done
for name in $names; do
  if wait "${pid_of[$name]}"; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build/fuzz/logs/$name.log" | grep -o '[0-9]*$' || echo '?')
    echo "  $name: ok, $runs inputs"
  else
    failed+=("$name")
    echo "  $name: FAILED (build/fuzz/logs/$name.log; input in build/fuzz/findings/$name/)"
    grep -E 'ERROR|contract broken|SUMMARY|runtime error|Test unit written' "build/fuzz/logs/$name.log" | head -20 | sed 's/^/    /'
  fi
done
echo "=== fuzz: done in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed; reproduce with $bin/fuzz_<name> <input>" >&2
  exit 1
fi
