#!/usr/bin/env bash
# Compile the REAL TensorRT code of the C++ runtime (not the stub built when TensorRT is absent) against
# NVIDIA's public headers of every TensorRT a Jetson profile names: 8.2 (JetPack 4.6), 8.5.2 (JetPack 5),
# 8.6 (JetPack 6.0), 10.3 (JetPack 6.1/6.2) and 11.1. Compile-only: there is no libnvinfer and no GPU here,
# so what passes is "compiled, never run".
#
# Each source is compiled to an object file with the warning flags of the CMake build plus -Werror, with
# EDGEKIT_HAVE_TENSORRT=1, and the object must reference TensorRT's entry point (createInferRuntime_INTERNAL),
# which proves the real backend was compiled. Then the control: a copy of trt_backend.cpp with one TensorRT
# call misspelt (made on the fly) must FAIL the same compile for every header set, naming the misspelt call.
#
# Env: EDGEKIT_TRT_HEADERS (default: $ROOT/../shared/third_party/tensorrt), EDGEKIT_CUDA_INCLUDE (folders
# with cuda_runtime_api.h and crt/host_defines.h, ':'-separated; default: the nvidia-cuda-runtime-cu12 and
# nvidia-cuda-nvcc-cu12 wheels in .venv), EDGEKIT_TRT_VERSIONS (default: all five), CXX (default g++).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
die() { printf 'error: %s\n' "$*" >&2; exit 2; }
TRT="${EDGEKIT_TRT_HEADERS:-$ROOT/../shared/third_party/tensorrt}"
if [ -z "${EDGEKIT_TRT_HEADERS:-}" ] && [ ! -d "$TRT" ]; then
  # a git worktree: shared/ sits beside the main checkout, not beside the worktree
  common="$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
  [ -n "$common" ] && [ -d "$(dirname "$common")/../shared/third_party/tensorrt" ] \
    && TRT="$(cd "$(dirname "$common")/../shared/third_party/tensorrt" && pwd)"
fi
VERSIONS="${EDGEKIT_TRT_VERSIONS:-8.2 8.5.2 8.6 10.3.0 11.1}"
CXX="${CXX:-g++}"
command -v "$CXX" >/dev/null || die "no C++ compiler '$CXX' — fix: apt-get install build-essential"
[ -d "$TRT" ] || die "TensorRT headers not found at $TRT — fix: put NVIDIA's headers there (shared/third_party/tensorrt) or set EDGEKIT_TRT_HEADERS"

if [ -n "${EDGEKIT_CUDA_INCLUDE:-}" ]; then
  IFS=: read -r -a CUDA_INC <<< "$EDGEKIT_CUDA_INCLUDE"
else
  SP="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)" \
    || die ".venv is missing — fix: run tools/setup.sh"
  CUDA_INC=("$SP/nvidia/cuda_runtime/include" "$SP/nvidia/cuda_nvcc/include")
fi
found_rt=0; found_crt=0
for d in "${CUDA_INC[@]}"; do
  [ -f "$d/cuda_runtime_api.h" ] && found_rt=1
  [ -f "$d/crt/host_defines.h" ] && found_crt=1
done
[ "$found_rt" = 1 ] || die "cuda_runtime_api.h not found in ${CUDA_INC[*]} — fix: pip install nvidia-cuda-runtime-cu12 into .venv (tools/setup.sh) or set EDGEKIT_CUDA_INCLUDE"
[ "$found_crt" = 1 ] || die "crt/host_defines.h not found in ${CUDA_INC[*]} — fix: pip install nvidia-cuda-nvcc-cu12 into .venv (tools/setup.sh) or set EDGEKIT_CUDA_INCLUDE"

# The flags of cpp_runtime/CMakeLists.txt (EDGEKIT_WARNINGS, EDGEKIT_FP_FLAGS), C++17, plus -Werror.
FLAGS=(-std=c++17 -O0 -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -ffp-contract=off -fno-fast-math
  -Werror -DEDGEKIT_HAVE_TENSORRT=1 -Icpp_runtime/include -Icpp_runtime/apps/common)
for d in "${CUDA_INC[@]}"; do FLAGS+=(-isystem "$d"); done
# Every translation unit that includes NvInfer.h.
SOURCES=(cpp_runtime/src/trt_backend.cpp cpp_runtime/apps/trt_meta/main.cpp)

TMP="$(mktemp -d "${TMPDIR:-/tmp}/edgekit-trt-check.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# The control: one TensorRT call misspelt. It must exist in the source, or the control proves nothing.
grep -q 'createInferRuntime(' cpp_runtime/src/trt_backend.cpp \
  || die "trt_backend.cpp no longer calls createInferRuntime — fix: update the broken-copy control in $0"
sed 's/createInferRuntime(/createInferRuntme(/' cpp_runtime/src/trt_backend.cpp > "$TMP/trt_backend_broken.cpp"

status=0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { local d=$(( $(now_ms) - $1 )); printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100)); }
t_all=$(now_ms)
printf '%-8s %-34s %-6s %s\n' "TRT" "source" "result" "seconds"
for v in $VERSIONS; do
  inc="$TRT/$v/include"
  if [ ! -f "$inc/NvInfer.h" ]; then
    echo "FAIL: $inc/NvInfer.h is missing — fix: restore the TensorRT $v headers under $TRT"; status=1; continue
  fi
  for src in "${SOURCES[@]}"; do
    obj="$TMP/$(basename "$(dirname "$src")")_$(basename "$src" .cpp)_$v.o"
    t0=$(now_ms)
    if "$CXX" "${FLAGS[@]}" -isystem "$inc" -c "$src" -o "$obj" 2> "$TMP/err.txt"; then
      # nm's whole output first: `nm | grep -q` under pipefail fails at random once grep exits early (SIGPIPE)
      if nm -C "$obj" > "$TMP/nm.txt" && grep -q 'createInferRuntime_INTERNAL' "$TMP/nm.txt"; then
        res=ok
      else
        res="FAIL (no TensorRT symbol: the stub was compiled, not the backend)"; status=1
      fi
    else
      res=FAIL; status=1
      sed -n 1,20p "$TMP/err.txt"
    fi
    printf '%-8s %-34s %-6s %s\n' "$v" "$src" "$res" "$(secs "$t0")"
  done
  # control: the misspelt copy must fail, and fail because of the misspelling
  t0=$(now_ms)
  if "$CXX" "${FLAGS[@]}" -isystem "$inc" -fsyntax-only "$TMP/trt_backend_broken.cpp" 2> "$TMP/err.txt"; then
    res="FAIL (the broken copy compiled: this check cannot fail)"; status=1
  elif grep -q 'createInferRuntme' "$TMP/err.txt"; then
    res="ok (failed as it must)"
  else
    res="FAIL (the broken copy failed for another reason)"; status=1
    sed -n 1,10p "$TMP/err.txt"
  fi
  printf '%-8s %-34s %-6s %s\n' "$v" "broken copy (createInferRuntme)" "$res" "$(secs "$t0")"
done
printf 'TensorRT header checks: %s s, %s\n' "$(secs "$t_all")" \
  "$([ $status = 0 ] && echo "all passed (compiled, never run)" || echo FAILED)"
exit $status
