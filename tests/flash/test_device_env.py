"""cpp_runtime/tools/device_env.py and device_build.py against fake device environments: file system roots
in temporary folders (L4T release, Ubuntu, NvInfer.h/libnvinfer/CUDA, ONNX Runtime builds, wheels) and a
PATH of stand-in g++/cmake that print a version. The real scripts run (python3 here stands in for the
device's; --python-version names the device's 3.6/3.8/3.10). Then a flash whose device (the real sshd,
SetEnv EDGEKIT_DEVICE_ROOT) is a JetPack 4.6 Nano is refused before anything is sent."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgekit.flash.deploy import flash
from edgekit.flash.errors import FlashError
from edgekit.remote import SshTarget
from tests import sshd

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "cpp_runtime" / "tools"
ENV = TOOLS / "device_env.py"
ORT_HEADERS = ROOT / ".deps" / "onnxruntime" / "include"
TRT = Path(__file__).resolve().parents[3] / "shared" / "third_party" / "tensorrt"
TEGRA = {
    "4.6": "R32 (release), REVISION: 7.3",
    "5": "R35 (release), REVISION: 4.1",
    "6": "R36 (release), REVISION: 4.0",
    "future": "R38 (release), REVISION: 1.0",
}
UBUNTU = {"4.6": "18.04", "5": "20.04", "6": "22.04", "future": "26.04", None: "12"}


def _trt_headers() -> Path:
    """shared/ beside the clone (CI), or beside the main checkout of a git worktree; $EDGEKIT_TRT_HEADERS."""
    git = ["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"]
    common = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    cands = [Path(p) for p in (os.environ.get("EDGEKIT_TRT_HEADERS"),) if p] + [TRT]
    if common:
        cands.append(Path(common).parent.parent / "shared" / "third_party" / "tensorrt")
    for cand in cands:
        if (cand / "8.5.2" / "include" / "NvInferVersion.h").is_file():
            return cand
    pytest.skip("TensorRT headers (shared/third_party/tensorrt) not found")


def _file(p: Path, text: str = "") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def fake_device(
    tmp: Path,
    jetpack: str | None = "5",
    trt: str | None = "8.5.2",
    trt_lib: bool = True,
    ort: str | None = None,
    ort_api: int | None = None,
    gcc: str | None = "9.4.0",
    cmake: str | None = "3.16.3",
    njson: str = "3.7.3",
) -> tuple[Path, dict[str, str]]:
    """(root, env) of a fake device. ort: None, "nvidia" (installed with headers + providers, API
    ``ort_api``) or "wheel" (dist-packages library 1.<ort_api>.0, no headers)."""
    root = tmp / "root"
    if jetpack:
        _file(root / "etc/nv_tegra_release", f"# {TEGRA[jetpack]}, GCID: 1, BOARD: t186ref, EABI: aarch64\n")
    _file(root / "etc/os-release", f'NAME="Ubuntu"\nVERSION_ID="{UBUNTU[jetpack]}"\n')
    major, minor = njson.split(".")[:2]
    _file(
        root / "usr/include/nlohmann/json.hpp",
        f"#define NLOHMANN_JSON_VERSION_MAJOR {major}\n#define NLOHMANN_JSON_VERSION_MINOR {minor}\n",
    )
    if trt:
        inc = root / "usr/include/aarch64-linux-gnu"
        _file(inc / "NvInfer.h")
        shutil.copy(
            _trt_headers() / trt / "include" / "NvInferVersion.h", inc / "NvInferVersion.h"
        )  # NVIDIA's
        if trt_lib:
            _file(root / f"usr/lib/aarch64-linux-gnu/libnvinfer.so.{trt.split('.')[0]}")
        _file(root / "usr/local/cuda/include/cuda_runtime_api.h")
        _file(root / "usr/local/cuda/lib64/libcudart.so.11.0")
    if ort == "nvidia":
        _file(root / f"usr/local/lib/libonnxruntime.so.1.{ort_api}.0")
        _file(root / "usr/local/lib/libonnxruntime_providers_tensorrt.so")
        _file(root / "usr/local/lib/libonnxruntime_providers_cuda.so")
        text = (ORT_HEADERS / "onnxruntime_c_api.h").read_text()
        _file(
            root / "usr/local/include/onnxruntime/onnxruntime_c_api.h",
            text.replace("#define ORT_API_VERSION 21", f"#define ORT_API_VERSION {ort_api}"),
        )
    elif ort == "wheel":
        _file(root / f"usr/lib/python3/dist-packages/onnxruntime/capi/libonnxruntime.so.1.{ort_api}.0")
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    if gcc:
        _file(bin_dir / "g++", f"#!/bin/sh\necho {gcc}\n").chmod(0o755)
    if cmake:
        _file(bin_dir / "cmake", f"#!/bin/sh\necho 'cmake version {cmake}'\n").chmod(0o755)
    return root, {"PATH": str(bin_dir), "HOME": str(tmp)}


def run_env(root: Path, env: dict[str, str], py: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ENV),
            "--root",
            str(root),
            "--python-version",
            py,
            "--ort-headers",
            str(ORT_HEADERS),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def decide(tmp: Path, py: str, **kw: object) -> dict:  # type: ignore[type-arg]
    root, env = fake_device(tmp, **kw)  # type: ignore[arg-type]
    p = run_env(root, env, py, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def fails(tmp: Path, py: str, **kw: object) -> str:
    root, env = fake_device(tmp, **kw)  # type: ignore[arg-type]
    p = run_env(root, env, py, "--check")
    assert p.returncode != 0, p.stdout
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and " — fix: " in lines[0], p.stderr
    return lines[0]


@pytest.mark.parametrize("script", ["device_env.py", "device_build.py", "engine_build.py"])
def test_device_scripts_are_python36_stdlib_only(script: str) -> None:
    tree = ast.parse((TOOLS / script).read_text(), feature_version=(3, 6))
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert mods - {"device_env"} <= set(sys.stdlib_module_names) and "__future__" not in mods, mods


def test_jetpack5_py38_trt_no_ort_builds_trt_only_and_says_why(tmp_path: Path) -> None:
    env = decide(tmp_path, "3.8")
    assert (env["jetpack"], env["l4t"], env["native_tensorrt"]) == ("5", "35.4.1", True)
    assert env["tensorrt"]["version"] == "8.5.2"  # read from NVIDIA's NvInferVersion.h
    ort = env["onnxruntime"]
    assert ort["choice"] == "none" and ort["needed_api"] == 21
    assert "building WITHOUT ONNX Runtime" in ort["reason"]
    assert "onnxruntime 1.19.2 (C API 19), older than the C API 21" in ort["reason"]


def test_jetpack6_py310_trt_no_ort_picks_the_wheel_that_exists(tmp_path: Path) -> None:
    env = decide(tmp_path, "3.10", jetpack="6", trt="10.3.0", gcc="11.4.0", cmake="3.22.1", njson="3.10.5")
    ort = env["onnxruntime"]
    assert (ort["choice"], ort["version"], ort["api"]) == ("wheel", "1.23.2", 23)
    assert env["tensorrt"]["version"] == "10.3.0" and env["native_tensorrt"]


def test_installed_nvidia_ort_is_preferred_with_its_own_headers(tmp_path: Path) -> None:
    root, env_ = fake_device(tmp_path, jetpack="6", trt="8.6", ort="nvidia", ort_api=16)
    env = json.loads(run_env(root, env_, "3.10", "--json").stdout)
    ort = env["onnxruntime"]
    assert ort["choice"] == "installed" and ort["api"] == ort["needed_api"] == 16  # the API follows the ORT
    assert ort["providers"] == ["CUDA", "TensorRT"] and ort["library"].endswith("libonnxruntime.so.1.16.0")
    args = run_env(root, env_, "3.10", "--cmake-args").stdout.split()
    assert f"-DORT_ROOT={root}/usr/local" in args and "-DEDGEKIT_WITH_TENSORRT=ON" in args
    assert f"-DEDGEKIT_ORT_LIBRARY={root}/usr/local/lib/libonnxruntime.so.1.16.0" in args


def test_old_ort_library_without_headers_is_not_used(tmp_path: Path) -> None:
    env = decide(tmp_path, "3.8", ort="wheel", ort_api=19)
    ort = env["onnxruntime"]
    assert ort["choice"] == "none"
    assert (
        "ONNX Runtime 1.19.0 at" in ort["reason"] and "has C API 19, older than the C API 21" in ort["reason"]
    )


def test_newer_installed_library_is_used_with_edgekits_headers(tmp_path: Path) -> None:
    env = decide(tmp_path, "3.8", ort="wheel", ort_api=22)
    assert (env["onnxruntime"]["choice"], env["onnxruntime"]["api"]) == ("python-package", 22)


def test_plain_linux_without_trt_needs_ort(tmp_path: Path) -> None:
    env = decide(tmp_path / "a", "3.10", jetpack=None, trt=None)
    assert not env["native_tensorrt"] and env["onnxruntime"]["choice"] == "wheel"
    line = fails(tmp_path / "b", "3.8", jetpack=None, trt=None, ort="wheel", ort_api=19)
    assert "no usable ONNX Runtime and no TensorRT" in line and "C API 19, older than the C API 21" in line


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        (
            {"jetpack": "4.6", "trt": "8.2", "gcc": "7.5.0", "cmake": "3.10.2", "njson": "2.1"},
            "JetPack 4.6 (Ubuntu 18.04) is outside the support matrix: GCC 7.5 has no <filesystem>",
        ),
        ({"jetpack": "future"}, "L4T 38.1.0"),
        (
            {"trt_lib": False},
            "TensorRT headers (NvInfer.h 8.5.2 in /usr/include/aarch64-linux-gnu) but no "
            "libnvinfer library — fix: sudo apt-get install libnvinfer-dev",
        ),
        ({"gcc": None}, "no C++ compiler (g++) on this device — fix: sudo apt-get install build-essential"),
        ({"cmake": None}, "CMake is missing on this device"),
        ({"cmake": "3.10.2"}, "CMake 3.10.2 is too old (3.16 or newer is needed)"),
        ({"gcc": "8.4.0"}, "g++ 8.4.0 is too old: the runtime needs C++17 <filesystem> in libstdc++ itself"),
        ({"njson": "2.1"}, "nlohmann-json 2.1 (3.2 or newer is needed)"),
    ],
)
def test_what_stops_the_build_is_one_line_with_a_fix(tmp_path: Path, kw: dict, needle: str) -> None:  # type: ignore[type-arg]
    assert needle in fails(tmp_path, "3.8", **kw)


def test_matrix_is_published_and_held(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(ENV), "--matrix"], capture_output=True, text=True, timeout=30)
    m = json.loads(p.stdout)
    assert (
        set(m) == {"4.6", "5", "6"}
        and not m["4.6"]["supported"]
        and m["5"]["supported"]
        and m["6"]["supported"]
    )
    assert (m["5"]["cmake"], m["5"]["gcc"], m["5"]["python"]) == ("3.16.3", "9.4.0", "3.8.10")
    assert (m["6"]["cmake"], m["6"]["python"]) == ("3.22.1", "3.10.12")
    # the build is held to it: CMake's minimum is JetPack 5's CMake
    assert "cmake_minimum_required(VERSION 3.16)" in (ROOT / "cpp_runtime" / "CMakeLists.txt").read_text()


def test_device_build_print_decides_without_building(tmp_path: Path) -> None:
    """device_build.py --print on this machine (a plain Linux box): real g++/cmake, no TensorRT."""
    work = tmp_path / "src"
    shutil.copytree(TOOLS, work / "cpp_runtime" / "tools")
    shutil.copytree(ORT_HEADERS, work / ".deps" / "onnxruntime" / "include")
    p = subprocess.run(
        [sys.executable, "cpp_runtime/tools/device_build.py", "--print"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert (
        out["configure"][:3] == ["cmake", "-S", "cpp_runtime"]
        and "-DEDGEKIT_BUILD_TESTS=OFF" in out["configure"]
    )
    assert f"-DORT_ROOT={work / '.deps' / 'onnxruntime'}" in out["configure"]
    assert out["native_tensorrt"] is False


@pytest.fixture()
def nano_server(tmp_path: Path) -> Iterator[sshd.SshServer]:
    why = sshd.available()
    if why:
        pytest.skip(f"no local sshd: {why}")
    root, _ = fake_device(
        tmp_path / "nano", jetpack="4.6", trt="8.2", gcc="7.5.0", cmake="3.10.2", njson="2.1"
    )
    srv = sshd.SshServer(tmp_path / "sshd", extra_config=(f"SetEnv EDGEKIT_DEVICE_ROOT={root}",))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.ssh
def test_flash_refuses_a_jetpack_outside_the_matrix(
    tiny_bundle: Path, nano_server: sshd.SshServer, tmp_path: Path
) -> None:
    from flash_helpers import opts, variant

    from edgekit import bundle as B

    src = variant(tiny_bundle, tmp_path / "nano-bundle")
    b = B.load(src, verify=False)
    b.manifest.device = "jetson-nano"
    B.write_manifest(src, b.manifest)
    t = SshTarget.parse(
        nano_server.target,
        port=nano_server.port,
        identity=nano_server.identity,
        known_hosts=nano_server.known_hosts,
    )
    dev = tmp_path / "device"
    with pytest.raises(
        FlashError,
        match=r"JetPack 4\.6 \(Ubuntu 18\.04\) is outside the support matrix.*"
        r"nothing was sent — fix: use JetPack 5 or 6",
    ):
        flash(src, t, opts(dev, runtime=True))
    assert not (dev / "current").exists() and not list((dev / "bundles").iterdir())
