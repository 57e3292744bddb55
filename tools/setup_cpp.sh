#!/usr/bin/env bash
# Build the edgekit C++ runtime (cpp_runtime/) and fetch what it needs that Debian bookworm lacks.
#   1. ONNX Runtime C/C++ headers: Debian trixie's libonnxruntime-dev .deb, downloaded with a PRIVATE apt
#      configuration (own sources list, lists and cache under .deps/apt) and unpacked with dpkg -x into .deps/.
#      The system's apt state is never touched and no trixie package is installed.
#   2. ONNX Runtime library: the onnxruntime wheel's libonnxruntime.so.<ver> in .venv, linked into
#      .deps/onnxruntime/lib with a libonnxruntime.so.1 name (the runtime dlopen()s it; see ort_loader.cpp).
#   3. Release build in cpp_runtime/build and an ASan+UBSan build in cpp_runtime/build-asan (tests included).
# Idempotent and fast when everything is present. Env: EDGEKIT_CPP_JOBS (default 2), EDGEKIT_SKIP_ASAN=1,
# EDGEKIT_CMAKE_ARGS (extra CMake flags for a first configure, e.g. -DEDGEKIT_BUILD_TESTS=OFF).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1m[setup_cpp]\033[0m %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }
JOBS="${EDGEKIT_CPP_JOBS:-2}"
DEPS="$ROOT/.deps"
ORT="$DEPS/onnxruntime"

# -- 1. headers ------------------------------------------------------------------------------------
if [ ! -f "$ORT/include/onnxruntime_cxx_api.h" ]; then
  log "fetching ONNX Runtime headers (Debian trixie libonnxruntime-dev, private apt state)"
  APT="$DEPS/apt"
  rm -rf "$APT"; mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/preferences.d" "$APT/dl"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    > "$APT/etc/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$APT/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::PreferencesParts=$APT/etc/preferences.d" -o "Dir::State::Lists=$APT/lists"
    -o "Dir::Cache=$APT/cache" -o "Dir::State::status=/var/lib/dpkg/status" -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
  apt-get "${APT_OPTS[@]}" -qq update || die "apt-get update of the private trixie source failed — fix: check network access to deb.debian.org"
  (cd "$APT/dl" && apt-get "${APT_OPTS[@]}" -qq download libonnxruntime-dev) \
    || die "cannot download libonnxruntime-dev from trixie — fix: check network access to deb.debian.org"
  DEB="$(ls "$APT"/dl/libonnxruntime-dev_*.deb | head -n1)"
  rm -rf "$APT/x"; dpkg -x "$DEB" "$APT/x"
  HDR="$(dirname "$(find "$APT/x" -name onnxruntime_cxx_api.h | head -n1)")"
  [ -f "$HDR/onnxruntime_cxx_api.h" ] || die "libonnxruntime-dev has no onnxruntime_cxx_api.h — fix: report this"
  mkdir -p "$ORT/include.tmp"
  cp -a "$HDR"/. "$ORT/include.tmp/"
  rm -rf "$ORT/include"; mv "$ORT/include.tmp" "$ORT/include"
  basename "$DEB" > "$ORT/include/SOURCE_DEB"
  rm -rf "$APT/x" "$APT/cache" "$APT/lists"
fi

# -- 2. library ------------------------------------------------------------------------------------
VPY="$ROOT/.venv/bin/python"
[ -x "$VPY" ] || die ".venv is missing — fix: run tools/setup.sh (it creates .venv first)"
ORT_SO="$("$VPY" - <<'PY'
import glob, os, onnxruntime
d = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
c = sorted(p for p in glob.glob(os.path.join(d, "libonnxruntime.so.*")) if not p.endswith(".so"))
print(c[-1] if c else "")
PY
)" || die "onnxruntime is not importable in .venv — fix: run tools/setup.sh"
[ -n "$ORT_SO" ] || die "the onnxruntime wheel in .venv has no libonnxruntime.so.* — fix: pip install onnxruntime"
mkdir -p "$ORT/lib"
ln -sfn "$ORT_SO" "$ORT/lib/libonnxruntime.so.1"
ln -sfn "$ORT_SO" "$ORT/lib/libonnxruntime.so"

# -- 3. builds -------------------------------------------------------------------------------------
build() {  # dir, cmake args...
  local dir="$1"; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    # shellcheck disable=SC2086  # EDGEKIT_CMAKE_ARGS: extra -D flags, split on spaces (edgekit flash: no tests)
    cmake -S cpp_runtime -B "$dir" -DORT_ROOT="$ORT" -DEDGEKIT_ORT_LIBRARY="$ORT/lib/libonnxruntime.so.1" "$@" \
      ${EDGEKIT_CMAKE_ARGS:-} >/dev/null
  fi
  local rc=0
  cmake --build "$dir" -j "$JOBS" -- --no-print-directory >"$dir/build.log" 2>&1 || rc=$?
  grep -vE '^\[ *[0-9]+%\]|^(Consolidate|Scanning)' "$dir/build.log" || true
  [ "$rc" -eq 0 ] || die "the C++ build in $dir failed (cmake --build exit $rc) — fix: read the compiler output above"
  [ -x "$dir/bin/edgekit-infer" ] || die "the C++ build in $dir failed — fix: read the compiler output above"
}
log "building cpp_runtime/build (Release)"
build cpp_runtime/build -DCMAKE_BUILD_TYPE=Release
if [ "${EDGEKIT_SKIP_ASAN:-0}" != 1 ]; then
  log "building cpp_runtime/build-asan (ASan+UBSan)"
  build cpp_runtime/build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEKIT_SANITIZE=ON
fi
log "C++ runtime ready: cpp_runtime/build/bin/{edgekit-infer,edgekit-bench}"
