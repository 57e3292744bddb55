#!/usr/bin/env bash
# Build the libFuzzer targets of cpp_runtime/fuzz/ with clang (ASan + UBSan, -fno-sanitize-recover) into
# cpp_runtime/build-fuzz/ and run each one, bounded, from seeds taken from the contract corpus.
#   bash tools/fuzz.sh                # 20 s per target (what tools/test.sh runs)
#   bash tools/fuzz.sh --time 60      # seconds per target
#   bash tools/fuzz.sh --runs 1000000 # a benchmark: at least this many executions per target (no time limit)
#   bash tools/fuzz.sh --only fuzz_npy --runs 1000000   # one target (results: fuzz_results.fuzz_npy.json);
#     EDGEKIT_FUZZ_NO_BUILD=1 skips the build (for targets run in parallel after one build)
# Prints a table and writes cpp_runtime/build-fuzz/fuzz_results.json; exit 1 on any finding (crash, leak,
# sanitizer report, timeout) or a target that did not run. Findings: cpp_runtime/build-fuzz/findings/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TIME=20
RUNS=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "usage: tools/fuzz.sh [--time SECONDS] [--runs N] [--only TARGET]" >&2; exit 2 ;;
  esac
done
CXX="${EDGEKIT_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
if [ -z "$CXX" ]; then
  echo "error: clang++ is not installed — fix: apt-get install clang (tools/setup.sh installs it)" >&2
  exit 1
fi
OUT="$ROOT/cpp_runtime/build-fuzz"  # absolute: fuzz_camera_uri runs in a temporary folder
mkdir -p "$OUT/obj" "$OUT/findings"
OCV_INC="$(pkg-config --cflags-only-I opencv4 2>/dev/null || echo -I/usr/include/opencv4)"
FLAGS=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -Icpp_runtime/include -Icpp_runtime/apps/camera $OCV_INC)
# shellcheck disable=SC2206
OCV_LIBS=(-lopencv_videoio -lopencv_imgcodecs -lopencv_imgproc -lopencv_core)

obj() {  # compile one source once (sanitizers on, fuzzer instrumentation on)
  local src="$1" o
  o="$OUT/obj/$(echo "$src" | tr '/' '_').o"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ cpp_runtime/include/edgekit/contract_generated.hpp -nt "$o" ]; then
    "$CXX" "${FLAGS[@]}" -c "$src" -o "$o" || return 1
  fi
  echo "$o"
}
build() {  # name, sources...
  local name="$1"; shift
  local objs=() o
  for s in "$@"; do o="$(obj "$s")" || return 1; objs+=("$o"); done
  "$CXX" "${FLAGS[@]}" "${objs[@]}" "${OCV_LIBS[@]}" -o "$OUT/$name" || return 1
}
t0=$(date +%s)
if [ "${EDGEKIT_FUZZ_NO_BUILD:-0}" != 1 ]; then  # set by parallel benchmark runs after one build
build fuzz_manifest cpp_runtime/fuzz/fuzz_manifest.cpp cpp_runtime/src/manifest.cpp cpp_runtime/src/contract.cpp || exit 1
build fuzz_npy cpp_runtime/fuzz/fuzz_npy.cpp cpp_runtime/src/npy.cpp cpp_runtime/src/fs_util.cpp || exit 1
build fuzz_camera_uri cpp_runtime/fuzz/fuzz_camera_uri.cpp cpp_runtime/apps/camera/camera_source.cpp || exit 1
echo "[fuzz] built in $(( $(date +%s) - t0 )) s"
fi

seed() {  # target, seed files...
  local d="$OUT/corpus/$1"; shift
  mkdir -p "$d"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$d/" 2>/dev/null; done
  echo "$d"
}
status=0
results="["
run() {  # target, corpus dir
  if [ -n "$ONLY" ] && [ "$ONLY" != "$1" ]; then return; fi
  local t="$1" d="$2" log="$OUT/$1.log" args=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192
    "-artifact_prefix=$OUT/findings/$1-")
  if [ "$RUNS" -gt 0 ]; then args+=("-runs=$RUNS"); else args+=("-max_total_time=$TIME"); fi
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice -n 5 "$OUT/$t" "${args[@]}" "$d" >"$log" 2>&1
  local rc=$?
  local n eps secs
  n="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)"
  local finding=false
  if [ "$rc" -ne 0 ] || [ -z "$n" ] || [ "${n:-0}" -eq 0 ]; then
    finding=true; status=1
    echo "[fuzz] $t: FINDING or failure (exit $rc) — see $log and $OUT/findings/"; tail -n 30 "$log"
  fi
  printf '[fuzz] %-16s %10s executions  %8s exec/s  %4s s  finding=%s\n' "$t" "${n:-0}" "${eps:-0}" "${secs:-?}" "$finding"
  [ "$results" != "[" ] && results+=","
  results+="{\"target\":\"$t\",\"executions\":${n:-0},\"exec_per_sec\":${eps:-0},\"seconds\":${secs:-0},\"finding\":$finding,\"exit\":$rc}"
}
run fuzz_manifest "$(seed fuzz_manifest tests/contract/corpus/manifest/* tests/contract/corpus/spec/* tests/contract/corpus/bundle/*/manifest.json)"
run fuzz_npy "$(seed fuzz_npy tests/contract/corpus/npy/*)"
run fuzz_camera_uri "$(seed fuzz_camera_uri cpp_runtime/fuzz/seeds/camera_uri/*)"
results+="]"
echo "{\"mode\":\"$([ "$RUNS" -gt 0 ] && echo "runs=$RUNS" || echo "time=${TIME}s")\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\",\"targets\":$results}" \
  >"$OUT/fuzz_results${ONLY:+.$ONLY}.json"
echo "[fuzz] results: $OUT/fuzz_results${ONLY:+.$ONLY}.json"
exit $status
