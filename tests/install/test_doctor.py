"""`edgekit doctor` (issue 14 item 8): the real stdlib script (cpp_runtime/tools/doctor.py) run against fake
roots (a fake /etc/nv_tegra_release, dpkg status, NvInfer.h copied from NVIDIA's real headers, fake nvpmodel /
tegrastats / trtexec / gst-inspect-1.0 programs on PATH), each check broken once; and once for real here."""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "cpp_runtime" / "tools" / "doctor.py"
TRT_HEADERS = REPO.parent / "shared" / "third_party" / "tensorrt"
if not TRT_HEADERS.is_dir():
    TRT_HEADERS = Path("/work/shared/third_party/tensorrt")


def _exe(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def fake_jetson(
    tmp: Path,
    trt: str = "8.5.2",
    l4t: str = "# R35 (release), REVISION: 3.1, GCID: 32827747, "
    "BOARD: t186ref, EABI: aarch64, DATE: Sun Mar 19 15:19:21 UTC 2023",
) -> Path:
    root = tmp / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "nv_tegra_release").write_text(l4t + "\n")
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: bash\nStatus: install ok installed\nVersion: 5.0\n\n"
        "Package: nvidia-jetpack\nStatus: install ok installed\nArchitecture: arm64\nVersion: 5.1.1-b56\n\n"
    )
    inc = root / "usr/include/aarch64-linux-gnu"
    inc.mkdir(parents=True)
    shutil.copy(TRT_HEADERS / trt / "include" / "NvInferVersion.h", inc / "NvInferVersion.h")
    lib = root / "usr/lib/aarch64-linux-gnu"
    lib.mkdir(parents=True)
    (lib / "libnvinfer.so.8").write_bytes(b"")
    for cpu in ("cpu0", "cpu1"):
        f = root / "sys/devices/system/cpu" / cpu / "cpufreq"
        f.mkdir(parents=True)
        (f / "scaling_min_freq").write_text("2265600\n")
        (f / "cpuinfo_max_freq").write_text("2265600\n")
    (root / "dev").mkdir()
    (root / "dev" / "video0").write_text("")
    ort = tmp / "ortlib" / "libonnxruntime.so.1"
    ort.parent.mkdir()
    ort.write_bytes(b"")
    # a runtime "binary" that carries what doctor reads from the real one: the TRT backend and the ORT path
    binp = root / "opt/edgekit/bin/edgekit-infer"
    _exe(binp, f"echo edgekit-infer\n# [TensorRT] %s\n# {ort}\n")
    b = tmp / "bin"
    _exe(b / "nvpmodel", 'echo "NV Power Mode: MAXN"; echo 0')
    _exe(
        b / "tegrastats",
        'while true; do echo "RAM 2262/31927MB (lfb 7x4MB) CPU [1%@2265] GR3D_FREQ 0%"; sleep 0.2; done',
    )
    _exe(b / "trtexec", "echo trtexec")
    _exe(b / "gst-inspect-1.0", '[ "$1" = nvarguscamerasrc ] && exit 0; exit 1')
    return root


def run_script(root: Path, tmp: Path, *args: str) -> tuple[int, dict]:
    env = {"PATH": f"{tmp / 'bin'}:/usr/bin:/bin", "HOME": str(tmp)}
    # -I -S: no site-packages, no PYTHONPATH: the script needs nothing but the standard library
    r = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(SCRIPT),
            "--root",
            str(root),
            "--json",
            "--runtime-bin",
            str(root / "opt/edgekit/bin"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


def rows(doc: dict) -> dict[str, dict]:
    return {r["item"]: r for r in doc["rows"]}


def test_fake_jetson_all_present(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path)
    code, doc = run_script(root, tmp_path)
    r = rows(doc)
    assert code == 0 and doc["ok"], [x for x in doc["rows"] if x["status"] == "missing"]
    assert (
        r["JetPack"]["value"].startswith("JetPack 5.1.1 (L4T 35.3.1") and "5.1.1-b56" in r["JetPack"]["value"]
    )
    assert r["NvInfer.h"]["value"].startswith("8.5.2 ")
    assert r["libnvinfer"]["status"] == "ok" and r["trtexec"]["status"] == "ok"
    assert r["power mode (nvpmodel)"]["value"] == "MAXN (id 0)"
    assert r["jetson_clocks"]["value"].startswith("set")
    assert r["tegrastats"]["value"].startswith("RAM 2262/31927MB")
    assert r["/dev/video*"]["value"] == "/dev/video0" and r["nvarguscamerasrc"]["status"] == "ok"
    assert r["backends"]["value"] == "ort, trt" and r["ORT library"]["status"] == "ok"
    assert r["free disk"]["status"] == "ok"


def test_headers_without_library_fail(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path)
    (root / "usr/lib/aarch64-linux-gnu/libnvinfer.so.8").unlink()
    code, doc = run_script(root, tmp_path)
    r = rows(doc)["libnvinfer"]
    assert code == 1 and r["status"] == "missing" and "headers without a library" in r["fix"]


def test_tensorrt_version_must_match_profile(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path)
    code, doc = run_script(root, tmp_path, "--expect-tensorrt", "10.3", "--expect-jetpack", "6.1")
    r = rows(doc)
    assert code == 1 and r["NvInfer.h"]["status"] == "missing" and "10.3" in r["NvInfer.h"]["fix"]
    assert r["JetPack"]["status"] == "missing"
    code, _ = run_script(root, tmp_path, "--expect-tensorrt", "8.5.2", "--expect-jetpack", "5.1.5")
    assert code == 0


def test_tensorrt_11_header_macros(tmp_path: Path) -> None:
    # TensorRT 10.x/11.x define NV_TENSORRT_MAJOR through TRT_MAJOR_ENTERPRISE
    root = fake_jetson(tmp_path, trt="11.1")
    _, doc = run_script(root, tmp_path)
    assert rows(doc)["NvInfer.h"]["value"].startswith("11.1.0 ")


def test_release_outside_the_matrix(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path, l4t="# R99 (release), REVISION: 1.0")
    (root / "var/lib/dpkg/status").write_text("")
    code, doc = run_script(root, tmp_path)
    r = rows(doc)["JetPack"]
    assert code == 1 and r["status"] == "missing" and "support matrix" in r["fix"]


def test_optional_pieces_warn_but_do_not_fail(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path)
    (root / "sys/devices/system/cpu/cpu1/cpufreq/scaling_min_freq").write_text("1190400\n")
    for p in ("tegrastats", "nvpmodel", "gst-inspect-1.0", "trtexec"):
        (tmp_path / "bin" / p).unlink()
    (root / "dev" / "video0").unlink()
    code, doc = run_script(root, tmp_path)
    r = rows(doc)
    assert code == 0
    assert r["jetson_clocks"]["value"] == "not set" and r["jetson_clocks"]["status"] == "warn"
    assert r["tegrastats"]["status"] == "warn" and r["power mode (nvpmodel)"]["status"] == "warn"
    assert r["/dev/video*"]["status"] == "info"
    code, doc = run_script(root, tmp_path, "--need-camera")
    assert code == 1 and rows(doc)["/dev/video*"]["status"] == "missing"


def test_missing_runtime_and_build_tools(tmp_path: Path) -> None:
    root = fake_jetson(tmp_path)
    (root / "opt/edgekit/bin/edgekit-infer").unlink()
    code, doc = run_script(root, tmp_path)
    r = rows(doc)
    assert (
        code == 1
        and r["edgekit-infer"]["status"] == "missing"
        and "edgekit runtime build" in r["edgekit-infer"]["fix"]
    )
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}  # no cmake, no compiler
    res = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), "--root", str(root), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    r = rows(json.loads(res.stdout))
    assert (
        res.returncode == 1
        and r["cmake"]["status"] == "missing"
        and "apt-get install cmake" in r["cmake"]["fix"]
    )
    assert r["c++ compiler"]["status"] == "missing" and "build-essential" in r["c++ compiler"]["fix"]


def test_not_a_jetson_root(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    root = tmp_path / "empty"
    root.mkdir()
    _, doc = run_script(root, tmp_path)
    r = rows(doc)
    assert r["JetPack"]["status"] == "info" and not r["NvInfer.h"]["needed"]
    assert "power mode (nvpmodel)" not in r


def test_script_is_python36_and_stdlib_only() -> None:
    src = SCRIPT.read_text()
    ast.parse(src, feature_version=(3, 6))  # no walrus, no positional-only parameters, ...
    assert "from __future__ import annotations" not in src and "dataclass" not in src
    assert "capture_output" not in src and "text=True" not in src  # both are Python 3.7
    vermin = shutil.which("vermin") or (
        str(Path(sys.executable).parent / "vermin")
        if (Path(sys.executable).parent / "vermin").exists()
        else None
    )
    if vermin:
        r = subprocess.run(
            [vermin, "--no-tips", "--violations", "-t=3.6-", str(SCRIPT)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0, r.stdout + r.stderr


def test_wrapper_adds_python_rows_and_profile_expectations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgekit.doctor import run

    root = fake_jetson(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("EDGEKIT_CPP_BIN_DIR", str(root / "opt/edgekit/bin"))
    rows_, code, _ = run("jetson-orin", root=str(root))  # Orin's profile: JetPack 6 / TensorRT 10.3
    r = {x.item: x for x in rows_}
    assert {"torch", "onnx", "onnxruntime", "ORT providers", "edgekit"} <= set(r)
    assert code == 1 and r["NvInfer.h"].status == "missing" and "10.3" in r["NvInfer.h"].fix
    rows_, code, _ = run("jetson-xavier", root=str(root))  # JetPack 5 / TensorRT 8.5.2, as the fake root
    assert code == 0, [(x.item, x.value, x.fix) for x in rows_ if x.failed()]


def test_bench_power_state_on_a_fake_jetson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgekit.doctor import load_core

    root = fake_jetson(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    st = load_core().power_state(str(root))
    assert st["jetson"] and st["nvpmodel"] == "MAXN (id 0)" and st["jetson_clocks"] is True
    assert st["tegrastats"].startswith("RAM ")
    assert load_core().power_state(str(tmp_path / "nothing")) == {"jetson": False}


def test_doctor_for_real_on_this_host(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEKIT_")}
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    doc = json.loads(r.stdout)
    rr = rows(doc)
    assert rr["python"]["status"] == "ok" and rr["onnxruntime"]["status"] == "ok"
    assert rr["JetPack"]["status"] == "info"  # not a Jetson
    built = rr["edgekit-infer"]["status"] == "ok"
    assert (r.returncode == 0) == built == doc["ok"], (
        r.stdout
    )  # exit 0 exactly when everything needed is present
    # the same host without a runtime: needed and missing -> exit 1 with the fix
    env["EDGEKIT_CPP_BIN_DIR"] = str(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 1 and "MISSING" in r.stdout
