#!/usr/bin/env python3
"""edgekit doctor, device core: what this machine has for running edgekit, one row per piece, with the fix.

Standard library only, Python 3.6+ (JetPack 4.6 ships 3.6): it runs on a Jetson WITHOUT edgekit's Python
package. ``edgekit doctor`` (edgekit/commands/doctor.py) imports this file and adds the Python-package rows.

    python3 doctor.py [--json] [--kind host|jetson] [--expect-tensorrt 8.5] [--expect-jetpack 5.1]
                      [--runtime-bin DIR ...] [--root DIR] [--need-camera]

Rows: C++ build tools (cmake, c++), the C++ runtime (built, backends, ORT library), TensorRT (Python import,
trtexec, NvInfer.h version, libnvinfer), the JetPack release (/etc/nv_tegra_release, dpkg nvidia-jetpack), on a
Jetson the power mode (nvpmodel), jetson_clocks (CPU min == max frequency) and tegrastats, a camera
(/dev/video*, nvarguscamerasrc) and free disk. ``--root`` reads files below another root (tests use fake
roots); programs are looked up on PATH. Exit 0 when every row marked needed is present, else 1.
NOTE: the on-device build decision script (trt's, cpp_runtime/tools/) detects some of the same things;
the two should share detection code.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys

CMAKE_MIN = (3, 16)
DISK_MIN_GB = 2.0
# L4T release (from /etc/nv_tegra_release) -> JetPack release, NVIDIA's published pairs.
L4T_TO_JETPACK = {
    "32.6.1": "4.6", "32.7.1": "4.6.1", "32.7.2": "4.6.2", "32.7.3": "4.6.3", "32.7.4": "4.6.4",
    "32.7.5": "4.6.5", "35.1.0": "5.0.2", "35.2.1": "5.1", "35.3.1": "5.1.1", "35.4.1": "5.1.2",
    "35.5.0": "5.1.3", "35.6.0": "5.1.4", "35.6.1": "5.1.5", "36.2.0": "6.0 DP", "36.3.0": "6.0", "36.4.0": "6.1",
    "36.4.3": "6.2", "36.4.4": "6.2.1",
}
TRT_INCLUDE_DIRS = ("usr/include/aarch64-linux-gnu", "usr/include/x86_64-linux-gnu", "usr/include",
                    "usr/local/TensorRT/include", "usr/local/tensorrt/include")
TRT_LIB_GLOBS = ("usr/lib/aarch64-linux-gnu/libnvinfer.so*", "usr/lib/x86_64-linux-gnu/libnvinfer.so*",
                 "usr/local/TensorRT/lib/libnvinfer.so*", "usr/local/tensorrt/lib/libnvinfer.so*")


class Row(object):
    """One line of the table. status: ok | missing | warn | info."""

    def __init__(self, group, item, status, value, needed=False, fix=""):
        self.group, self.item, self.status, self.value, self.needed, self.fix = \
            group, item, status, value, needed, fix

    def failed(self):
        return self.needed and self.status == "missing"

    def as_dict(self):
        return {"group": self.group, "item": self.item, "status": self.status, "value": self.value,
                "needed": self.needed, "fix": self.fix}


def _p(root, rel):
    return os.path.join(root, rel.lstrip("/"))


def _read(root, rel):
    try:
        with open(_p(root, rel)) as f:
            return f.read()
    except (IOError, OSError):
        return None


def _run(argv, timeout=10):
    """(exit code, stdout+stderr) of a program; (None, why) when it cannot run."""
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=timeout)
        return r.returncode, r.stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)


def _first_line(argv, timeout=5):
    """The first output line of a program that may run forever (tegrastats)."""
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    except OSError as exc:
        return None, str(exc)
    try:
        import select
        ready, _, _ = select.select([p.stdout], [], [], timeout)
        line = p.stdout.readline().strip() if ready else ""
    finally:
        p.kill()
        p.wait()
    return (line or None), line


def _version(text):
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def _vs(v):
    return ".".join(str(x) for x in v) if v else "?"


# -- detection (each returns plain values: reusable by flash / the build decision) -------------------------
def l4t_release(root):
    """'35.3.1' from /etc/nv_tegra_release ('# R35 (release), REVISION: 3.1, ...'), or None."""
    text = _read(root, "/etc/nv_tegra_release")
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return "%s.%s.%s" % (m.group(1), m.group(2), m.group(3) or "0")


def dpkg_version(root, package):
    """The installed version of a Debian package, read from <root>/var/lib/dpkg/status."""
    text = _read(root, "/var/lib/dpkg/status") or ""
    for block in text.split("\n\n"):
        if re.search(r"^Package: %s$" % re.escape(package), block, re.M) and \
                re.search(r"^Status: .* installed$", block, re.M):
            m = re.search(r"^Version: (\S+)", block, re.M)
            if m:
                return m.group(1)
    return None


def is_jetson(root):
    return l4t_release(root) is not None or os.path.exists(_p(root, "/etc/nv_tegra_release"))


def nvinfer_header(root, extra_dirs=()):
    """(path of NvInferVersion.h, (major, minor, patch)) or (None, None)."""
    dirs = list(extra_dirs) + [_p(root, d) for d in TRT_INCLUDE_DIRS]
    if os.environ.get("TENSORRT_ROOT"):
        dirs.insert(0, os.path.join(os.environ["TENSORRT_ROOT"], "include"))
    for d in dirs:
        h = os.path.join(d, "NvInferVersion.h")
        if os.path.isfile(h):
            with open(h) as f:
                text = f.read()
            vals = {}
            for part in ("MAJOR", "MINOR", "PATCH"):
                m = re.search(r"#define\s+NV_TENSORRT_%s\s+(\w+)" % part, text)
                val = m.group(1) if m else None
                if val and not val.isdigit():  # TensorRT 10.x/11.x: NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE
                    m2 = re.search(r"#define\s+%s\s+(\d+)" % re.escape(val), text)
                    val = m2.group(1) if m2 else None
                vals[part] = int(val) if val else None
            if vals["MAJOR"] is not None:
                return h, tuple(v for v in (vals["MAJOR"], vals["MINOR"], vals["PATCH"]) if v is not None)
    return None, None


def nvinfer_library(root):
    for g in TRT_LIB_GLOBS:
        hits = sorted(glob.glob(_p(root, g)))
        if hits:
            return hits[-1]
    return None


def runtime_binary(dirs):
    for d in list(dirs) + os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "edgekit-infer")
        if d and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def runtime_details(binary):
    """Backends compiled in and the ORT library path recorded in the binary (strings in the executable)."""
    try:
        with open(binary, "rb") as f:
            data = f.read()
    except (IOError, OSError):
        return None, None
    if b"built without TensorRT" in data:
        backends = "ort"
    elif b"[TensorRT]" in data:
        backends = "ort, trt"
    else:
        backends = "ort (trt: unknown)"
    # the path recorded at build time (EDGEKIT_ORT_LIBRARY); "/../lib/..." is the loader's relative fallback
    libs = [m.group(0).decode() for m in re.finditer(rb"/[\x21-\x7e]*libonnxruntime\.so[.0-9]*", data)
            if not m.group(0).startswith(b"/..")]
    return backends, (libs[0] if libs else None)


def jetson_clocks_set(root):
    """True when every CPU's minimum frequency equals its maximum (what jetson_clocks does), None if unknown."""
    cpus = sorted(glob.glob(_p(root, "/sys/devices/system/cpu/cpu[0-9]*/cpufreq")))
    if not cpus:
        return None
    for c in cpus:
        lo, hi = _read(c, "scaling_min_freq"), _read(c, "cpuinfo_max_freq") or _read(c, "scaling_max_freq")
        if lo is None or hi is None:
            return None
        if lo.strip() != hi.strip():
            return False
    return True


def nvpmodel_mode():
    if shutil.which("nvpmodel") is None:
        return None
    code, out = _run(["nvpmodel", "-q"])
    if code != 0:
        return None
    m = re.search(r"NV Power Mode:\s*(\S+)", out)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    mode_id = lines[-1] if lines and lines[-1].isdigit() else "?"
    return "%s (id %s)" % (m.group(1) if m else "?", mode_id)


def power_state(root="/"):
    """What bench records beside its figures on a Jetson: nvpmodel mode, jetson_clocks, a tegrastats line."""
    if not is_jetson(root):
        return {"jetson": False}
    line = _first_line(["tegrastats", "--interval", "200"])[0] if shutil.which("tegrastats") else None
    return {"jetson": True, "nvpmodel": nvpmodel_mode(), "jetson_clocks": jetson_clocks_set(root),
            "tegrastats": line}


# -- the table ------------------------------------------------------------------------------------------------
def check(root="/", kind=None, expect_tensorrt=None, expect_jetpack=None, runtime_bins=(), need_camera=False,
          trt_include_dirs=()):
    """All rows. kind: 'jetson' or 'host' (None: detected from /etc/nv_tegra_release)."""
    jetson_here = is_jetson(root)
    kind = kind or ("jetson" if jetson_here else "host")
    on_jetson = kind == "jetson"
    rows = []
    rows.append(Row("system", "python (device scripts)", "ok", "%s (%s)" % (platform.python_version(),
                    sys.executable), False, ""))
    rows.append(Row("system", "machine", "info", "%s %s" % (platform.system(), platform.machine())))

    # C++ runtime and the tools to build it
    binary = runtime_binary(runtime_bins)
    backends, ort_lib = runtime_details(binary) if binary else (None, None)
    if binary:
        rows.append(Row("c++ runtime", "edgekit-infer", "ok", binary, True))
        rows.append(Row("c++ runtime", "backends", "ok" if not on_jetson or "trt" in backends.split(", ")
                        else "warn", backends, False,
                        "" if not on_jetson or "trt" in backends else
                        "rebuild on the Jetson with TensorRT installed (cmake -DEDGEKIT_WITH_TENSORRT=ON)"))
        env_lib = os.environ.get("EDGEKIT_ORT_LIB")
        lib = env_lib or ort_lib
        lib_next = os.path.join(os.path.dirname(os.path.dirname(binary)), "lib", "libonnxruntime.so.1")
        if lib and os.path.exists(lib):
            rows.append(Row("c++ runtime", "ORT library", "ok", lib + (" ($EDGEKIT_ORT_LIB)" if env_lib else ""),
                            True))
        elif os.path.exists(lib_next):
            rows.append(Row("c++ runtime", "ORT library", "ok", lib_next, True))
        else:
            rows.append(Row("c++ runtime", "ORT library", "missing", lib or "none recorded", True,
                            "rebuild the runtime (`edgekit runtime build`), or set EDGEKIT_ORT_LIB to a "
                            "libonnxruntime.so"))
    else:
        rows.append(Row("c++ runtime", "edgekit-infer", "missing", "not built", True,
                        "run `edgekit runtime build` (or tools/setup_cpp.sh on the device)"))
    cmake = shutil.which("cmake")
    cver = _version(_run([cmake, "--version"])[1]) if cmake else None
    build_needed = on_jetson or binary is None
    if cmake is None:
        rows.append(Row("c++ runtime", "cmake", "missing", "not on PATH", build_needed,
                        "apt-get install cmake (or pip install cmake)"))
    elif cver is not None and cver < CMAKE_MIN:
        rows.append(Row("c++ runtime", "cmake", "missing", "%s (< %s)" % (_vs(cver), _vs(CMAKE_MIN)), build_needed,
                        "pip install cmake (a newer CMake)"))
    else:
        rows.append(Row("c++ runtime", "cmake", "ok", "%s (%s)" % (_vs(cver), cmake), build_needed))
    cxx = os.environ.get("CXX") or next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
    if cxx and shutil.which(cxx):
        rows.append(Row("c++ runtime", "c++ compiler", "ok", "%s %s" % (cxx, _vs(_version(_run([cxx, "--version"])[1]))),
                        build_needed))
    else:
        rows.append(Row("c++ runtime", "c++ compiler", "missing", "not on PATH", build_needed,
                        "apt-get install build-essential"))

    # TensorRT
    hdr, tver = nvinfer_header(root, trt_include_dirs)
    lib = nvinfer_library(root)
    trt_needed = on_jetson
    if hdr:
        ok = expect_tensorrt is None or _vs(tver).startswith(".".join(str(expect_tensorrt).split(".")[:2]))
        rows.append(Row("tensorrt", "NvInfer.h", "ok" if ok else "missing", "%s (%s)" % (_vs(tver), hdr), trt_needed,
                        "" if ok else "the profile needs TensorRT %s: flash the JetPack release it names"
                        % expect_tensorrt))
    else:
        rows.append(Row("tensorrt", "NvInfer.h", "missing" if trt_needed else "info", "not found", trt_needed,
                        "apt-get install nvidia-tensorrt-dev (part of JetPack)" if trt_needed else
                        "only needed on a Jetson (engines are built on the device)"))
    if lib:
        rows.append(Row("tensorrt", "libnvinfer", "ok", lib, trt_needed))
    else:
        fix = "headers without a library: apt-get install libnvinfer8 (or libnvinfer10; part of JetPack)" \
            if hdr else ("apt-get install nvidia-tensorrt (part of JetPack)" if trt_needed else "")
        rows.append(Row("tensorrt", "libnvinfer", "missing" if (trt_needed or hdr) else "info", "not found",
                        trt_needed or bool(hdr), fix))
    trtexec = shutil.which("trtexec") or next((p for p in (_p(root, "/usr/src/tensorrt/bin/trtexec"),)
                                               if os.access(p, os.X_OK)), None)
    rows.append(Row("tensorrt", "trtexec", "ok" if trtexec else ("warn" if on_jetson else "info"),
                    trtexec or "not found", False,
                    "" if trtexec or not on_jetson else "apt-get install tensorrt (samples: /usr/src/tensorrt/bin)"))
    try:
        import tensorrt  # noqa: F401  (the device's own Python TensorRT, when installed)
        ver = getattr(tensorrt, "__version__", None)
        if ver is None or not hasattr(tensorrt, "Builder"):  # tensorrt-stubs (type hints only) import too
            raise ImportError("type stubs only")
        rows.append(Row("tensorrt", "python import", "ok", ver))
    except Exception:  # noqa: BLE001 - absent, stubs or broken: reported, not fatal
        rows.append(Row("tensorrt", "python import", "info", "not importable", False,
                        "apt-get install python3-libnvinfer (optional)" if on_jetson else ""))

    # JetPack
    l4t = l4t_release(root)
    jp_pkg = dpkg_version(root, "nvidia-jetpack")
    if l4t or jp_pkg:
        jp = L4T_TO_JETPACK.get(l4t or "") or (jp_pkg.split("+")[0].split("-")[0] if jp_pkg else None)
        val = "JetPack %s (L4T %s%s)" % (jp or "?", l4t or "?", ", dpkg nvidia-jetpack %s" % jp_pkg if jp_pkg else "")
        ok = jp is not None and (expect_jetpack is None or jp.startswith(str(expect_jetpack).split(".")[0]))
        rows.append(Row("jetson", "JetPack", "ok" if ok else "missing", val, on_jetson,
                        "" if ok else ("this L4T release is outside the support matrix (README): flash a listed "
                                       "JetPack" if jp is None else "the profile is for JetPack %s: flash it"
                                       % expect_jetpack)))
    else:
        rows.append(Row("jetson", "JetPack", "missing" if on_jetson else "info", "not a Jetson (no /etc/nv_tegra_release)",
                        on_jetson, "flash JetPack with NVIDIA SDK Manager" if on_jetson else ""))
    if on_jetson:
        mode = nvpmodel_mode()
        rows.append(Row("jetson", "power mode (nvpmodel)", "ok" if mode else "warn", mode or "nvpmodel not found", False,
                        "" if mode else "apt-get install nvidia-l4t-tools"))
        clk = jetson_clocks_set(root)
        rows.append(Row("jetson", "jetson_clocks", "ok" if clk else "warn",
                        {True: "set (CPU min = max frequency)", False: "not set", None: "unknown"}[clk], False,
                        "" if clk else "sudo jetson_clocks (before benchmarking)"))
        line = _first_line(["tegrastats", "--interval", "200"])[0] if shutil.which("tegrastats") else None
        rows.append(Row("jetson", "tegrastats", "ok" if line else "warn", line or "not found", False,
                        "" if line else "apt-get install nvidia-l4t-tools"))

    # camera
    vids = sorted(glob.glob(_p(root, "/dev/video*")))
    rows.append(Row("camera", "/dev/video*", "ok" if vids else ("missing" if need_camera else "info"),
                    ", ".join("/dev/" + os.path.basename(v) for v in vids) or "none", need_camera,
                    "" if vids else "plug in a USB/CSI camera (or use a video file as the demo source)"))
    if on_jetson:
        gst = shutil.which("gst-inspect-1.0")
        code = _run([gst, "nvarguscamerasrc"])[0] if gst else None
        rows.append(Row("camera", "nvarguscamerasrc", "ok" if code == 0 else "warn",
                        "available" if code == 0 else "not available", False,
                        "" if code == 0 else "apt-get install nvidia-l4t-gstreamer (CSI cameras)"))

    # disk
    try:
        du = shutil.disk_usage(root if os.path.isdir(root) else "/")
        free = du.free / 1e9
        rows.append(Row("system", "free disk", "ok" if free >= DISK_MIN_GB else "missing", "%.1f GB free at %s"
                        % (free, root), True, "" if free >= DISK_MIN_GB else "free at least %.0f GB" % DISK_MIN_GB))
    except OSError as exc:
        rows.append(Row("system", "free disk", "warn", str(exc)))
    return rows


def exit_code(rows):
    return 1 if any(r.failed() for r in rows) else 0


def render(rows, out=sys.stdout):
    widths = [max(len(str(getattr(r, a))) for r in rows + [Row("group", "item", "status", "value")])
              for a in ("group", "item", "status")]
    for r in rows:
        mark = {"ok": "ok", "missing": "MISSING" if r.needed else "missing", "warn": "warn", "info": "-"}[r.status]
        out.write("%-*s  %-*s  %-*s  %s%s\n" % (widths[0], r.group, widths[1], r.item, max(widths[2], 7), mark,
                                               r.value, ("  — fix: " + r.fix) if r.fix and r.status != "ok" else ""))


def main(argv=None):
    ap = argparse.ArgumentParser(description="edgekit doctor (device core, stdlib only)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--kind", choices=("host", "jetson"))
    ap.add_argument("--expect-tensorrt")
    ap.add_argument("--expect-jetpack")
    ap.add_argument("--runtime-bin", action="append", default=[])
    ap.add_argument("--trt-include", action="append", default=[])
    ap.add_argument("--need-camera", action="store_true")
    ap.add_argument("--root", default="/")
    a = ap.parse_args(argv)
    rows = check(a.root, a.kind, a.expect_tensorrt, a.expect_jetpack, a.runtime_bin, a.need_camera, a.trt_include)
    code = exit_code(rows)
    if a.json:
        print(json.dumps({"ok": code == 0, "rows": [r.as_dict() for r in rows]}, indent=2))
    else:
        render(rows)
    return code


if __name__ == "__main__":
    sys.exit(main())
