#!/usr/bin/env bash
# ARM proof (issue 14 item 3): cross-compile the C++ runtime for aarch64 and run its GoogleTest suite and the
# golden-set parity of a bundle under qemu-user. Nothing arm64 is installed system-wide:
#   1. sysroot: arm64 OpenCV / GoogleTest / nlohmann-json .debs and their dependency closure, fetched with a
#      PRIVATE apt configuration (own lists + cache, APT::Architecture=arm64) and unpacked with dpkg -x into
#      .deps/aarch64/sysroot (a multiarch install of libopencv-imgcodecs-dev:arm64 would remove amd64's);
#   2. ONNX Runtime for aarch64: the PyPI manylinux aarch64 wheel (pip download, the version of .venv's
#      onnxruntime) unpacked into .deps/aarch64/ort; headers: .deps/onnxruntime/include (same on every arch);
#   3. cross build (aarch64-linux-gnu-g++, crossbuild-essential-arm64) into cpp_runtime/build-aarch64;
#   4. run under qemu-aarch64-static -L <sysroot> inside `unshare -m` with an ARM /proc/cpuinfo bind-mounted
#      (ORT's CPU detection segfaults on x86's): ctest, then edgekit-infer on a bundle's golden set, compared
#      by `edgekit parity --runtime cpp` through EDGEKIT_INFER (a qemu wrapper script).
# Needs root (unshare/mount), crossbuild-essential-arm64 and qemu-user-static (tools/setup.sh APT list when
# EDGEKIT_AARCH64=1). Usage: bash tools/aarch64.sh [BUNDLE]   (default: builds a --fast digits bundle)
# Env: EDGEKIT_CPP_JOBS (default 2). Writes .deps/aarch64/result.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1m[aarch64]\033[0m %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }
JOBS="${EDGEKIT_CPP_JOBS:-2}"
A="$ROOT/.deps/aarch64"
SYSROOT="$A/sysroot"
command -v aarch64-linux-gnu-g++ >/dev/null || die "aarch64-linux-gnu-g++ not found — fix: apt-get install crossbuild-essential-arm64"
command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static not found — fix: apt-get install qemu-user-static"

# -- 1. sysroot ------------------------------------------------------------------------------------
if [ ! -f "$SYSROOT/.complete" ]; then
  log "fetching arm64 .debs (private apt state, arm64) and unpacking them into $SYSROOT"
  APT="$A/apt"
  rm -rf "$APT"; mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/preferences.d" "$APT/dl"
  echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
    > "$APT/etc/sources.list"
  : > "$APT/status"
  APT_OPTS=(-o "Dir::Etc::SourceList=$APT/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::PreferencesParts=$APT/etc/preferences.d" -o "Dir::State::Lists=$APT/lists"
    -o "Dir::Cache=$APT/cache" -o "Dir::State::status=$APT/status" -o "APT::Architecture=arm64"
    -o "APT::Architectures::=arm64" -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=$(id -un)")
  apt-get "${APT_OPTS[@]}" -qq update || die "apt-get update (arm64, private) failed — fix: check access to deb.debian.org"
  WANT=(libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-videoio-dev
        libgtest-dev nlohmann-json3-dev libc6-dev libstdc++-12-dev)
  # the dependency closure (Depends + PreDepends only), as package names without :arm64
  mapfile -t PKGS < <(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances "${WANT[@]}" | grep -v '^ ' | grep -v '^<' | sed 's/:arm64$//' | sort -u)
  log "${#PKGS[@]} packages"
  (cd "$APT/dl" && apt-get "${APT_OPTS[@]}" -qq download "${PKGS[@]}") || die "apt-get download failed — fix: check access to deb.debian.org"
  rm -rf "$SYSROOT.tmp"; mkdir -p "$SYSROOT.tmp"
  for d in "$APT"/dl/*.deb; do dpkg -x "$d" "$SYSROOT.tmp"; done
  # absolute symlinks inside the sysroot (e.g. lib*.so -> /lib/...) must point into it
  find "$SYSROOT.tmp" -type l -lname '/*' | while read -r l; do
    t="$(readlink "$l")"; ln -sfn "$SYSROOT$t" "$l"; done
  du -sh "$APT/dl" | awk '{print "debs: " $1}'
  rm -rf "$SYSROOT"; mv "$SYSROOT.tmp" "$SYSROOT"
  # the symlinks were made for the final name
  touch "$SYSROOT/.complete"
  rm -rf "$APT/cache" "$APT/lists"
fi
# alternatives-managed libraries (dpkg -x runs no maintainer scripts): BLAS/LAPACK under their sonames
for l in blas/libblas.so.3 lapack/liblapack.so.3; do
  [ -e "$SYSROOT/usr/lib/aarch64-linux-gnu/$(basename "$l")" ] || ln -s "$l" "$SYSROOT/usr/lib/aarch64-linux-gnu/$(basename "$l")"
done

# -- 2. ONNX Runtime for aarch64 -------------------------------------------------------------------
VPY="$ROOT/.venv/bin/python"
ORT_VER="$("$VPY" -c 'import onnxruntime; print(onnxruntime.__version__)')"
ORT_A="$A/ort-$ORT_VER"
if [ ! -f "$ORT_A/lib/libonnxruntime.so.1" ]; then
  log "fetching the onnxruntime $ORT_VER manylinux aarch64 wheel (PyPI)"
  rm -rf "$A/whl"; mkdir -p "$A/whl" "$ORT_A/lib"
  "$VPY" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_aarch64 \
    --python-version 3.11 -d "$A/whl" "onnxruntime==$ORT_VER" || die "pip download of the aarch64 onnxruntime wheel failed"
  WHL="$(ls "$A"/whl/onnxruntime-*.whl | head -n1)"
  SO="$(unzip -Z1 "$WHL" | grep -E 'capi/libonnxruntime\.so\.[0-9.]+$' | head -n1)"
  unzip -q -o -j "$WHL" "$SO" -d "$ORT_A/lib.tmp"
  mv "$ORT_A/lib.tmp/$(basename "$SO")" "$ORT_A/lib/libonnxruntime.so.1"; rm -rf "$ORT_A/lib.tmp"
fi
ORT_INC="$ROOT/.deps/onnxruntime/include"
[ -f "$ORT_INC/onnxruntime_cxx_api.h" ] || die "ONNX Runtime headers missing — fix: run tools/setup_cpp.sh first"

# an ARM /proc/cpuinfo (Cortex-A57, as on a Nano/TX2): ORT's CPU detection segfaults on x86's under qemu
CPUINFO="$A/arm-cpuinfo.txt"
if [ ! -f "$CPUINFO" ]; then
  for i in 0 1 2 3; do printf 'processor\t: %d\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd07\nCPU revision\t: 1\n\n' "$i"; done > "$CPUINFO"
fi
# arm64 libraries live in the multiarch folders and (some, e.g. libarmadillo, libogdi) in plain /usr/lib
LIBDIRS="/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu/blas:/usr/lib/aarch64-linux-gnu/lapack:/lib:/usr/lib"
# the emulator: every aarch64 program (tests, edgekit-infer) runs through it, in its own mount namespace
EMU="$A/qemu-run"
cat > "$EMU" <<EOS
#!/bin/sh
# run an aarch64 program under qemu-user with the arm64 sysroot and an ARM /proc/cpuinfo (tools/aarch64.sh)
exec unshare -m sh -c 'c="\$0"; s="\$1"; shift; mount --bind "\$c" /proc/cpuinfo && exec qemu-aarch64-static -L "\$s" -E LD_LIBRARY_PATH=$LIBDIRS "\$@"' "$CPUINFO" "$SYSROOT" "\$@"
EOS
chmod +x "$EMU"

# -- 3. cross build --------------------------------------------------------------------------------
BUILD="$ROOT/cpp_runtime/build-aarch64"
TC="$A/toolchain.cmake"
cat > "$TC" <<EOS
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH "$SYSROOT" /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR "$EMU")
EOS
log "cross-compiling cpp_runtime for aarch64 into $BUILD (-j$JOBS)"
T0=$(date +%s)
RPATH_LINK="$(echo "$LIBDIRS" | tr ':' '\n' | sed "s|^|$SYSROOT|" | paste -sd:)"
if true; then
  cmake -S cpp_runtime -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$RPATH_LINK" \
    -DORT_ROOT="$ROOT/.deps/onnxruntime" -DORT_INCLUDE_DIR="$ORT_INC" -DEDGEKIT_ORT_LIBRARY="$ORT_A/lib/libonnxruntime.so.1" \
    -DEDGEKIT_PYTHON="$VPY" -DEDGEKIT_WITH_TENSORRT=OFF >/dev/null || die "CMake configure for aarch64 failed"
fi
cmake --build "$BUILD" -j "$JOBS" -- --no-print-directory | grep -vE '^\[ *[0-9]+%\]|^(Consolidate|Scanning)' || true
[ -x "$BUILD/bin/edgekit-infer" ] || die "the aarch64 build failed — fix: read the compiler output above"
file "$BUILD/bin/edgekit-infer" | grep -q "ARM aarch64" || die "$BUILD/bin/edgekit-infer is not an aarch64 binary"
BUILD_S=$(( $(date +%s) - T0 ))

# -- 4. tests and parity under qemu ----------------------------------------------------------------
T0=$(date +%s)
if [ "${EDGEKIT_AARCH64_SKIP_CTEST:-0}" = 1 ] && [ -f "$A/ctest.log" ]; then
  log "GoogleTest suites: skipped (EDGEKIT_AARCH64_SKIP_CTEST=1), last result kept"; CTEST_RC=0
  grep -qE '100% tests passed' "$A/ctest.log" || CTEST_RC=1
else
  log "GoogleTest suites under qemu (ctest)"
  set +e
  ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" > "$A/ctest.log" 2>&1
  CTEST_RC=$?
  set -e
fi
tail -n 4 "$A/ctest.log"
CTEST_LINE="$(grep -E 'tests passed|tests failed' "$A/ctest.log" | tail -n1)"
CTEST_S=$(( $(date +%s) - T0 ))

BUNDLE="${1:-}"
if [ -z "$BUNDLE" ]; then
  BUNDLE="$A/bundle-digits-cpu"
  if [ ! -f "$BUNDLE/manifest.json" ]; then
    log "building a --fast digits bundle for the parity run"
    EDGEKIT_CPP_BIN_DIR="$BUILD/no-host-runtime" "$VPY" -m edgekit.cli build --device cpu --example digits --fast \
      --no-parity --out "$BUNDLE" >/dev/null
  fi
fi
INFER="$A/edgekit-infer-aarch64"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$EMU" "$BUILD/bin/edgekit-infer" > "$INFER"
chmod +x "$INFER"
MODELS="$("$VPY" -c 'import json,sys; print(" ".join(m["id"] for m in json.load(open(sys.argv[1]))["models"]))' "$BUNDLE/manifest.json")"
T0=$(date +%s)
PARITY_RC=0
for M in $MODELS; do
  log "golden-set parity of $M ($BUNDLE): aarch64 edgekit-infer under qemu vs the Python reference"
  set +e
  "$VPY" -m edgekit.cli parity "$BUNDLE" --runtime cpp --binary "$INFER" --model "$M" --json "$A/parity-$M.json" \
    > "$A/parity-$M.txt" 2>&1
  rc=$?
  set -e
  tail -n 3 "$A/parity-$M.txt"
  [ "$rc" = 0 ] || PARITY_RC=$rc
done
PARITY_S=$(( $(date +%s) - T0 ))
"$VPY" - "$A" "$CTEST_RC" "$CTEST_LINE" "$PARITY_RC" "$BUILD_S" "$CTEST_S" "$PARITY_S" "$BUNDLE" $MODELS <<'PY'
import json, sys, pathlib
a, ctest_rc, ctest_line, parity_rc, bs, cs, ps, bundle, *models = sys.argv[1:]
per = {}
for m in models:
    p = pathlib.Path(a) / f"parity-{m}.json"
    rep = json.loads(p.read_text()) if p.is_file() else {}
    per[m] = {"verdict": rep.get("verdict", "no report"),
              "stages_max_abs": {s["got_stage"]: s["max_abs"] for s in rep.get("stages", [])},
              "outputs": [{k: o[k] for k in ("output", "precision", "max_abs", "max_abs_limit", "min_cosine", "top1",
                                              "status")} for o in rep.get("outputs", [])]}
res = {"ctest_exit": int(ctest_rc), "ctest": ctest_line, "parity_exit": int(parity_rc), "bundle": bundle,
       "parity": per, "build_s": int(bs), "ctest_s": int(cs), "parity_s": int(ps)}
(pathlib.Path(a) / "result.json").write_text(json.dumps(res, indent=2) + "\n")
print(json.dumps({"ctest": ctest_line, **{m: v["verdict"] for m, v in per.items()}}, indent=2))
PY
[ "$CTEST_RC" = 0 ] && [ "$PARITY_RC" = 0 ]
