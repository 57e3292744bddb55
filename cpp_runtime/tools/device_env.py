#!/usr/bin/env python3
"""What a device (a Jetson, or any Linux box) has for building and running the edgekit C++ runtime, and
what the build will do there. Standard library only, Python 3.6+ (JetPack 4.6's python3): it runs on the
device without edgekit's Python package. ``edgekit flash`` runs it before building the runtime; ``edgekit
doctor`` may run it too (``--json``).

    python3 device_env.py [--json] [--check] [--cmake-args] [--root DIR] [--python-version X.Y]
                          [--ort-headers DIR] [--require-tensorrt]

--root and --python-version describe another file system / interpreter (fake device roots in tests, a
mounted SD card image); by default it looks at this machine. --check exits non-zero with one line
``error: <what> — fix: <how>`` when the build cannot work here; --cmake-args prints the CMake -D flags
the build uses (ONNX Runtime and TensorRT choices). Nothing is installed or changed.

Decisions:
- TensorRT: the native backend is built where NvInfer.h, libnvinfer and CUDA are all found (a Jetson). The
  headers without the library is an error that names the missing package.
- ONNX Runtime is optional where TensorRT is found, required elsewhere. In order: an installed build (its
  own headers beside it: NVIDIA's Jetson builds with CUDA/TensorRT providers, or a source install); an
  installed library (a wheel in dist-packages) used with edgekit's headers; a PyPI wheel that exists for
  this Python on aarch64 (WHEELS); else none, and the build goes on without it and says so. A library is
  usable only if its C API version is at least the one of the headers the runtime is compiled with
  (ORT_API_VERSION); otherwise the message names both versions.
- The support matrix (MATRIX) is checked against the JetPack release read from /etc/nv_tegra_release.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ORT_HEADERS = os.path.normpath(os.path.join(HERE, "..", "..", ".deps", "onnxruntime", "include"))

# Per JetPack release: the stock Ubuntu's toolchain (verified against Ubuntu's package versions), and
# whether the runtime builds with it. The build needs C++17 with <filesystem> in libstdc++ (GCC >= 9.1; GCC 8
# keeps it in a separate libstdc++fs, GCC 7 has only <experimental/filesystem>), CMake >= 3.16 (FindCUDAToolkit
# is replaced by hand below 3.17) and nlohmann-json >= 3.2 with its CMake config package.
MATRIX = {
    "4.6": {"l4t": "R32.6/R32.7", "ubuntu": "18.04", "cmake": "3.10.2", "gcc": "7.5.0", "python": "3.6.9",
            "nlohmann_json": "2.1.1", "tensorrt": "8.2.1", "onnxruntime_wheel": "1.10.0 (cp36; C API 10)",
            "supported": False,
            "reason": "JetPack 4.6 (Ubuntu 18.04) is outside the support matrix: GCC 7.5 has no <filesystem> "
                      "(only <experimental/filesystem>), CMake 3.10.2 < 3.16, nlohmann-json 2.1.1 < 3.2",
            "fix": "use JetPack 5 or 6 (Nano/TX2 stop at JetPack 4.6: run the Python ONNX Runtime path, or "
                   "build the runtime with g++-8, CMake >= 3.16 from pip and nlohmann-json 3 by hand)"},
    "5": {"l4t": "R35", "ubuntu": "20.04", "cmake": "3.16.3", "gcc": "9.4.0", "python": "3.8.10",
          "nlohmann_json": "3.7.3", "tensorrt": "8.5.2", "onnxruntime_wheel": "1.19.2 (cp38; C API 19)",
          "supported": True, "reason": "", "fix": ""},
    "6": {"l4t": "R36", "ubuntu": "22.04", "cmake": "3.22.1", "gcc": "11.4.0", "python": "3.10.12",
          "nlohmann_json": "3.10.5", "tensorrt": "8.6.2 (6.0) / 10.3.0 (6.1, 6.2)",
          "onnxruntime_wheel": "1.23.2 (cp310; C API 23)", "supported": True, "reason": "", "fix": ""},
}
# Newest PyPI onnxruntime with a manylinux aarch64 wheel per Python (pip download --platform
# manylinux2014_aarch64 --python-version X; 1.20+ has no cp38, 1.24 no cp310, 1.11+ no cp36). CPU only.
WHEELS = {"3.6": "1.10.0", "3.8": "1.19.2", "3.10": "1.23.2", "3.11": "1.23.2", "3.12": "1.23.2"}
MIN = {"gcc": (9, 1), "cmake": (3, 16), "nlohmann_json": (3, 2)}


class Fail(Exception):
    def __init__(self, message, fix, code=3):
        Exception.__init__(self, message)
        self.message, self.fix, self.code = message, fix, code


def vtuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text or "")[:3])


def under(root, path):
    return os.path.join(root, path.lstrip("/"))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def tool_version(name, args, pattern):
    exe = shutil.which(name)
    if exe is None:
        return None, None
    try:
        out = subprocess.check_output([exe] + args, stderr=subprocess.STDOUT, universal_newlines=True, timeout=20)
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired):
        return exe, None
    m = re.search(pattern, out)
    return exe, m.group(1) if m else None


def jetpack(root):
    """(L4T release text, JetPack major key of MATRIX or None, raw line)."""
    line = read(under(root, "/etc/nv_tegra_release")).splitlines()
    line = line[0] if line else ""
    m = re.search(r"R(\d+) \(release\), REVISION: ([\d.]+)", line)
    if not m:
        return None, None, line
    major, rev = int(m.group(1)), m.group(2)
    l4t = f"{major}.{rev}"
    if major == 32:
        key = "4.6" if vtuple(rev) >= (6,) else None  # R32.6/32.7 = JetPack 4.6.x; older 4.x is not listed
    elif major in (34, 35):
        key = "5"
    elif major == 36:
        key = "6"
    else:
        key = None
    return l4t, key, line


def os_release(root):
    text = read(under(root, "/etc/os-release"))
    m = re.search(r'^VERSION_ID="?([^"\n]+)"?', text, re.M)
    return m.group(1) if m else None


def tensorrt(root):
    inc_dirs = ["/usr/include/aarch64-linux-gnu", "/usr/include/x86_64-linux-gnu", "/usr/local/TensorRT/include",
                "/usr/include"]
    lib_globs = ["/usr/lib/aarch64-linux-gnu/libnvinfer.so*", "/usr/lib/x86_64-linux-gnu/libnvinfer.so*",
                 "/usr/local/TensorRT/lib/libnvinfer.so*"]
    hdr = next((d for d in inc_dirs if os.path.isfile(under(root, d + "/NvInfer.h"))), None)
    version = None
    if hdr:
        text = read(under(root, hdr + "/NvInferVersion.h"))
        parts = []
        for k in ("MAJOR", "MINOR", "PATCH"):
            m = re.search(r"#define (?:NV_TENSORRT_|TRT_)%s(?:_ENTERPRISE)? (\d+)" % k, text)
            parts.append(m.group(1) if m else "?")
        version = ".".join(parts)
    libs = sorted(p for g in lib_globs for p in glob.glob(under(root, g)))
    trtexec = under(root, "/usr/src/tensorrt/bin/trtexec")
    cuda_h = under(root, "/usr/local/cuda/include/cuda_runtime_api.h")
    cudart = glob.glob(under(root, "/usr/local/cuda/lib64/libcudart.so*"))
    return {"headers": hdr, "version": version, "library": libs[0] if libs else None,
            "trtexec": trtexec if os.path.isfile(trtexec) else shutil.which("trtexec"),
            "cuda": bool(os.path.isfile(cuda_h) and cudart)}


def ort_api_of_headers(inc):
    m = re.search(r"#define ORT_API_VERSION (\d+)", read(os.path.join(inc, "onnxruntime_c_api.h"))) if inc else None
    return int(m.group(1)) if m else None


def ort_candidates(root):
    """Installed ONNX Runtime libraries: (kind, library, headers or None, version, providers)."""
    found = []
    prefixes = ["/usr/local", "/usr", "/opt/onnxruntime"] + [p[len(root.rstrip("/")):] if root != "/" else p
                                                             for p in glob.glob(under(root, "/opt/onnxruntime*"))]
    seen = set()
    for pre in prefixes:
        for libdir in ("lib", "lib/aarch64-linux-gnu", "lib64"):
            for lib in sorted(glob.glob(under(root, pre + "/" + libdir + "/libonnxruntime.so.*"))):
                real = os.path.realpath(lib)
                if real in seen:
                    continue
                seen.add(real)
                inc = next((d for d in (under(root, pre + "/include/onnxruntime"), under(root, pre + "/include"))
                            if os.path.isfile(os.path.join(d, "onnxruntime_c_api.h"))), None)
                found.append(("installed", lib, inc, _lib_version(lib, inc), _providers(lib)))
    pkgs = ["/usr/lib/python3/dist-packages", "/usr/local/lib/python3*/dist-packages",
            "/usr/lib/python3*/site-packages", "/home/*/.local/lib/python3*/site-packages",
            "/root/.local/lib/python3*/site-packages"]
    for g in pkgs:
        for lib in sorted(glob.glob(under(root, g + "/onnxruntime/capi/libonnxruntime.so.*"))):
            if os.path.realpath(lib) not in seen:
                seen.add(os.path.realpath(lib))
                found.append(("python-package", lib, None, _lib_version(lib, None), _providers(lib)))
    return found


def _lib_version(lib, inc):
    m = re.search(r"libonnxruntime\.so\.(\d+\.\d+\.\d+)", os.path.basename(os.path.realpath(lib)))
    if not m:
        m = re.search(r"libonnxruntime\.so\.(\d+\.\d+\.\d+)", os.path.basename(lib))
    if m:
        return m.group(1)
    api = ort_api_of_headers(inc)
    return f"1.{api}.?" if api else None


def _providers(lib):
    d = os.path.dirname(lib)
    return sorted(n for n, f in (("TensorRT", "libonnxruntime_providers_tensorrt.so"),
                                 ("CUDA", "libonnxruntime_providers_cuda.so")) if os.path.isfile(os.path.join(d, f)))


def api_of_version(version):
    v = vtuple(version)
    return v[1] if len(v) >= 2 and v[0] == 1 else None


def choose_ort(root, py, headers_api, need_ort):
    """The ONNX Runtime decision: dict(choice, library, headers, version, api, needed_api, reason)."""
    rejected = []
    for kind, lib, inc, version, providers in ort_candidates(root):
        api = ort_api_of_headers(inc) if inc else api_of_version(version)
        need = api if inc else headers_api  # own headers: the runtime is compiled against them
        if api is not None and need is not None and api >= need:
            return {"choice": kind, "library": lib, "headers": inc or DEFAULT_ORT_HEADERS, "version": version,
                    "api": api, "needed_api": need, "providers": providers,
                    "reason": "ONNX Runtime {} (C API {}) at {}{}".format(
                        version, api, lib, " with " + "/".join(providers) + " providers" if providers else "")}
        rejected.append(f"ONNX Runtime {version} at {lib} has C API {api}, older than the C API {need} the runtime is compiled "
                        "against")
    wheel = WHEELS.get(py)
    wheel_api = api_of_version(wheel) if wheel else None
    if wheel and headers_api is not None and wheel_api >= headers_api:
        return {"choice": "wheel", "library": None, "headers": DEFAULT_ORT_HEADERS, "version": wheel,
                "api": wheel_api, "needed_api": headers_api, "providers": [],
                "reason": f"PyPI onnxruntime=={wheel} for Python {py} (aarch64, CPU only; C API {wheel_api})"}
    why = "; ".join(rejected) or "no ONNX Runtime is installed"
    if wheel:
        why += f"; the newest PyPI wheel for Python {py} is onnxruntime {wheel} (C API {wheel_api}), older than the C API {headers_api} " \
               "needed"
    else:
        why += f"; PyPI has no aarch64 onnxruntime wheel for Python {py}"
    fix = f"install ONNX Runtime >= 1.{headers_api} with its headers (e.g. NVIDIA's Jetson build under /usr/local)"
    if need_ort:
        raise Fail("no usable ONNX Runtime and no TensorRT: " + why, fix)
    return {"choice": "none", "library": None, "headers": DEFAULT_ORT_HEADERS, "version": None, "api": None,
            "needed_api": headers_api, "providers": [],
            "reason": "building WITHOUT ONNX Runtime (TensorRT backend only; --backend ort will say so): " + why,
            "fix": fix}


def detect(root="/", py=None, ort_headers=DEFAULT_ORT_HEADERS, require_tensorrt=False):
    """Everything in one dict; raises Fail for what stops the build (one line + fix)."""
    py = py or "{}.{}".format(*sys.version_info[:2])
    l4t, jp, tegra_line = jetpack(root)
    env = {"root": root, "python": py, "l4t": l4t, "jetpack": jp, "ubuntu": os_release(root),
           "matrix": MATRIX.get(jp) if jp else None}
    if tegra_line and jp is None:
        raise Fail("this Jetson runs L4T {} ({}), a release outside the support matrix (JetPack {})".format(
            l4t or "?", tegra_line.strip()[:60], ", ".join(sorted(MATRIX))),
            "flash JetPack 5 or 6 (see the support matrix in cpp_runtime/tools/device_env.py)")
    if jp and not MATRIX[jp]["supported"]:
        raise Fail(MATRIX[jp]["reason"], MATRIX[jp]["fix"])
    gxx, gver = tool_version("g++", ["-dumpfullversion", "-dumpversion"], r"(\d+(?:\.\d+)*)")
    cmake, cver = tool_version("cmake", ["--version"], r"cmake version (\d+\.\d+(?:\.\d+)?)")
    env.update(gxx=gxx, gcc_version=gver, cmake=cmake, cmake_version=cver)
    if gxx is None:
        raise Fail("no C++ compiler (g++) on this device", "sudo apt-get install build-essential")
    if gver and vtuple(gver) < MIN["gcc"]:
        raise Fail(f"g++ {gver} is too old: the runtime needs C++17 <filesystem> in libstdc++ itself (GCC >= 9.1; "
                   "GCC 8 keeps it in libstdc++fs, GCC 7 only has <experimental/filesystem>)",
                   "sudo apt-get install g++-9 and set CXX=g++-9")
    if cmake is None:
        raise Fail("CMake is missing on this device", "sudo apt-get install cmake (or pip3 install cmake)")
    if cver and vtuple(cver) < MIN["cmake"]:
        raise Fail(f"CMake {cver} is too old (3.16 or newer is needed)", "pip3 install --user cmake")
    nj = read(under(root, "/usr/include/nlohmann/json.hpp"))
    nj += read(under(root, "/usr/include/nlohmann/detail/abi_macros.hpp"))  # where 3.11+ defines the version
    m = [re.search(r"#define NLOHMANN_JSON_VERSION_%s (\d+)" % k, nj) for k in ("MAJOR", "MINOR")]
    njv = f"{m[0].group(1)}.{m[1].group(1)}" if all(m) else ("2.x" if nj else None)
    env["nlohmann_json"] = njv
    if njv is None or vtuple(njv) < MIN["nlohmann_json"]:
        raise Fail("nlohmann-json {} (3.2 or newer is needed)".format(njv or "is missing"),
                   "sudo apt-get install nlohmann-json3-dev")
    trt = tensorrt(root)
    env["tensorrt"] = trt
    if trt["headers"] and not trt["library"]:
        raise Fail("TensorRT headers (NvInfer.h {} in {}) but no libnvinfer library".format(
            trt["version"], trt["headers"]), "sudo apt-get install libnvinfer-dev (JetPack: nvidia-jetpack)")
    if trt["headers"] and not trt["cuda"]:
        raise Fail("TensorRT {} but no CUDA runtime (/usr/local/cuda: cuda_runtime_api.h, libcudart)".format(
            trt["version"]), "sudo apt-get install cuda-toolkit (JetPack: nvidia-jetpack)")
    have_trt = bool(trt["headers"] and trt["library"] and trt["cuda"])
    if require_tensorrt and not have_trt:
        raise Fail("TensorRT is not installed (no NvInfer.h)", "sudo apt-get install nvidia-jetpack")
    env["native_tensorrt"] = have_trt
    if ort_headers is None:  # a preflight before the runtime sources (and their ORT headers) are there
        env["onnxruntime"] = None
        return env
    headers_api = ort_api_of_headers(ort_headers)
    if headers_api is None:
        raise Fail(f"no onnxruntime_c_api.h in {ort_headers}",
                   "re-run the flash (it copies the ONNX Runtime headers with the runtime sources)", 2)
    env["onnxruntime"] = choose_ort(root, py, headers_api, need_ort=not have_trt)
    return env


def ort_root(headers):
    """The ORT_ROOT prefix CMake wants for a headers folder: <p>/include or <p>/include/onnxruntime."""
    h = headers.rstrip("/")
    return os.path.dirname(os.path.dirname(h)) if os.path.basename(h) == "onnxruntime" else os.path.dirname(h)


def cmake_args(env):
    ort = env["onnxruntime"]
    args = ["-DEDGEKIT_WITH_TENSORRT=" + ("ON" if env["native_tensorrt"] else "OFF"),
            "-DORT_ROOT=" + ort_root(ort["headers"])]
    if ort["library"]:
        args.append("-DEDGEKIT_ORT_LIBRARY=" + ort["library"])
    if ort["choice"] == "none":
        args += ["-DEDGEKIT_ORT_LIBRARY=", "-DEDGEKIT_INSTALL_ORT_LIBRARY=OFF"]
    return args


def main(argv=None):
    ap = argparse.ArgumentParser(description="edgekit device environment (stdlib, Python 3.6+)")
    ap.add_argument("--root", default=os.environ.get("EDGEKIT_DEVICE_ROOT", "/"),
                    help="the device's file system (default $EDGEKIT_DEVICE_ROOT or /)")
    ap.add_argument("--python-version")
    ap.add_argument("--ort-headers", default=DEFAULT_ORT_HEADERS)
    ap.add_argument("--require-tensorrt", action="store_true")
    ap.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime decision (a preflight)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--cmake-args", action="store_true")
    ap.add_argument("--matrix", action="store_true", help="print the support matrix (JSON) and exit")
    a = ap.parse_args(argv)
    if a.matrix:
        print(json.dumps(MATRIX, indent=2))
        return 0
    try:
        env = detect(a.root, a.python_version, None if a.no_ort else a.ort_headers, a.require_tensorrt)
    except Fail as exc:
        sys.stderr.write(f"error: {exc.message} — fix: {exc.fix}\n")
        if a.json:
            print(json.dumps({"ok": False, "error": exc.message, "fix": exc.fix}))
        return exc.code
    env["ok"] = True
    if a.cmake_args:
        print(" ".join(cmake_args(env)))
    elif a.json:
        print(json.dumps(env, indent=2))
    else:
        ort = env["onnxruntime"] or {"reason": "not checked (--no-ort)"}
        print("JetPack {} (L4T {}), Ubuntu {}, Python {}, g++ {}, CMake {}, nlohmann-json {}".format(
            env["jetpack"] or "-", env["l4t"] or "-", env["ubuntu"], env["python"], env["gcc_version"],
            env["cmake_version"], env["nlohmann_json"]))
        print("TensorRT: " + ("native backend ({})".format(env["tensorrt"]["version"]) if env["native_tensorrt"]
                              else "absent"))
        print("ONNX Runtime: " + ort["reason"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
