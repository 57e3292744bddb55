#!/usr/bin/env bash
# Run the whole test suite: lint, type-check, the C++ GoogleTest suites (Release and ASan/UBSan builds), then pytest.
# Expects tools/setup.sh to have run (the README's test command runs both).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source .venv/bin/activate
export OMP_WAIT_POLICY=PASSIVE PYTHONDONTWRITEBYTECODE=1
status=0
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ruff"
ruff check edgekit tests tools || status=1

step "mypy"
mypy edgekit || status=1

for b in cpp_runtime/build cpp_runtime/build-asan; do
  step "ctest ($b)"
  if [ -f "$b/CTestTestfile.cmake" ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
      ctest --test-dir "$b" --output-on-failure -j2 || status=1
  else
    echo "missing $b: run tools/setup.sh (it builds the C++ runtime)"; status=1
  fi
done

step "TensorRT header compile checks (compiled, never run)"
bash tools/check_trt_headers.sh || status=1

step "contract: generated files are current"
python -m edgekit.contract.generate --check || status=1

step "fuzz (bounded: ${EDGEKIT_FUZZ_SECONDS:-20} s per target)"
bash tools/fuzz.sh --time "${EDGEKIT_FUZZ_SECONDS:-20}" || status=1

step "pytest"
python -m pytest -q -p no:cacheprovider tests "$@" || status=1
exit $status
