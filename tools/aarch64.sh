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
