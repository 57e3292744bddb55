#!/usr/bin/env python3
"""Build the edgekit C++ runtime ON THE DEVICE (run from the folder holding cpp_runtime/, e.g. the
``runtime/src`` that ``edgekit flash`` fills). Standard library only, Python 3.6+: no edgekit Python there.

    python3 cpp_runtime/tools/device_build.py [--jobs N] [--build-dir cpp_runtime/build] [--print]

1. device_env.py decides (support matrix, compiler, CMake, nlohmann-json, TensorRT, ONNX Runtime) and
   stops with one line ``error: ... — fix: ...`` where the build cannot work.
2. ONNX Runtime "wheel": ``pip install --no-deps --target .deps/ort-wheel onnxruntime==<the wheel that
   exists for this Python>``; if pip cannot, the build goes on WITHOUT ONNX Runtime and says so.
3. CMake configure (Release, no tests) with device_env's flags, then build.
The last stdout line is one JSON object (what was decided and built).
"""
import argparse
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import device_env  # noqa: E402  (beside this file; stdlib only)


def log(msg):
    sys.stderr.write("[device_build] " + msg + "\n")
    sys.stderr.flush()


def install_wheel(version, dest):
    """libonnxruntime from the PyPI wheel, installed into ``dest``; None when pip cannot."""
    if not glob.glob(os.path.join(dest, "onnxruntime", "capi", "libonnxruntime.so.*")):
        log(f"pip install --no-deps --target {dest} onnxruntime=={version}")
        rc = subprocess.call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", dest,
                              "onnxruntime==" + version])
        if rc != 0:
            return None
    libs = sorted(p for p in glob.glob(os.path.join(dest, "onnxruntime", "capi", "libonnxruntime.so.*"))
                  if not p.endswith(".so"))
    return libs[-1] if libs else None


def main(argv=None):
    ap = argparse.ArgumentParser(description="build the edgekit runtime on this device")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--build-dir", default="cpp_runtime/build")
    ap.add_argument("--print", dest="print_only", action="store_true", help="decide, print, build nothing")
    a = ap.parse_args(argv)
    try:
        env = device_env.detect()
    except device_env.Fail as exc:
        sys.stderr.write(f"error: {exc.message} — fix: {exc.fix}\n")
        print(json.dumps({"ok": False, "error": exc.message, "fix": exc.fix}))
        return exc.code
    ort = env["onnxruntime"]
    if ort["choice"] == "wheel" and not a.print_only:
        lib = install_wheel(ort["version"], os.path.abspath(os.path.join(".deps", "ort-wheel")))
        if lib:
            ort.update(library=lib, reason=ort["reason"] + ", installed at " + lib)
        elif env["native_tensorrt"]:
            ort.update(choice="none", library=None,
                       reason="building WITHOUT ONNX Runtime: pip could not install onnxruntime=={} (TensorRT "
                              "backend only; --backend ort will say so)".format(ort["version"]))
        else:
            sys.stderr.write("error: pip could not install onnxruntime=={} and there is no TensorRT — fix: give "
                             "the device PyPI access, or install ONNX Runtime by hand\n".format(ort["version"]))
            return 3
    log("ONNX Runtime: " + ort["reason"])
    log("TensorRT: " + ("native backend, TensorRT {}".format(env["tensorrt"]["version"]) if env["native_tensorrt"]
                        else "absent (no native TensorRT backend)"))
    args = device_env.cmake_args(env)
    configure = ["cmake", "-S", "cpp_runtime", "-B", a.build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DEDGEKIT_BUILD_TESTS=OFF"] + args
    build = ["cmake", "--build", a.build_dir, "-j", str(a.jobs)]
    result = {"ok": True, "configure": configure, "build": build, "onnxruntime": ort,
              "native_tensorrt": env["native_tensorrt"], "jetpack": env["jetpack"]}
    if a.print_only:
        print(json.dumps(result))
        return 0
    for argv_ in (configure, build):
        rc = subprocess.call(argv_, stdout=sys.stderr)
        if rc != 0:
            sys.stderr.write("error: `{}` exit {} — fix: read the compiler/CMake output above\n".format(
                " ".join(argv_[:2]), rc))
            print(json.dumps({"ok": False, "error": f"{argv_[1]} exit {rc}"}))
            return 4
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
