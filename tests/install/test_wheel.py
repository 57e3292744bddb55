"""`pip install edgekit` outside the checkout (issue 14 item 7): a wheel built with `python -m build`,
installed into a fresh virtual environment in a temporary folder, run from a folder outside the checkout:
`edgekit devices`, `edgekit runtime build` (CMake, from the sources inside the wheel), a `--fast` build and
parity.

The fresh venv installs edgekit's dependencies through pip from the machine's wheel sources (no
--system-site-packages: nothing of the checkout's .venv is visible). Costs CI a few minutes (the note has the
measured time): one test, so the steps share the install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(tmp: Path, venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EDGEKIT_", "VIRTUAL_ENV", "PYTHON")) and k != "PATH"
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        HOME=str(tmp / "home"),
        EDGEKIT_CACHE_DIR=str(tmp / "cache"),
        OMP_WAIT_POLICY="PASSIVE",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _run(
    cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    if shutil.which("cmake") is None or shutil.which("c++") is None:
        pytest.skip("needs cmake and a C++ compiler (tools/setup.sh installs them)")
    times: dict[str, float] = {}
    outside = tmp_path / "work"
    outside.mkdir()
    (tmp_path / "home").mkdir()

    t = time.perf_counter()
    dist = tmp_path / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    times["python -m build"] = time.perf_counter() - t
    wheel = next(dist.glob("edgekit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for want in (
        "edgekit/_shipped/device_configs/cpu.yaml",
        "edgekit/_shipped/device_configs/jetson-xavier.yaml",
        "edgekit/_shipped/cpp_runtime/CMakeLists.txt",
        "edgekit/_shipped/cpp_runtime/tools/doctor.py",
        "edgekit/_shipped/tools/setup_cpp.sh",
        "edgekit/examples/digits.py",
        "edgekit/data/imagenet_labels.txt",
    ):
        assert want in names, f"{want} is not in {wheel.name}"
    assert not any("/build/" in n or n.endswith(".pyc") for n in names if n.startswith("edgekit/_shipped/"))

    t = time.perf_counter()
    venv = tmp_path / "venv"
    r = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    env = _env(tmp_path, venv)
    # this environment's pip installs into the fresh one (--python): no pip bootstrap, no byte-compiling
    r = _run(
        [sys.executable, "-m", "pip", "--python", py, "install", "-q", "--no-compile", wheel],
        outside,
        {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=1800,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    times["fresh venv + pip install"] = time.perf_counter() - t

    edgekit = venv / "bin" / "edgekit"
    r = _run(
        [
            py,
            "-c",
            "import edgekit, sysconfig; print(edgekit.__file__); print(sysconfig.get_paths()['purelib'])",
        ],
        outside,
        env,
    )
    assert r.returncode == 0, r.stderr
    where, purelib = r.stdout.split()
    assert Path(where).resolve().is_relative_to(Path(purelib).resolve()), (where, purelib)
    assert not Path(where).resolve().is_relative_to(REPO)

    r = _run([edgekit, "--version"], outside, env)
    assert r.returncode == 0 and "onnxruntime" in r.stdout, r.stdout + r.stderr
    r = _run([edgekit, "devices", "--json"], outside, env)
    assert r.returncode == 0, r.stderr
    assert {"cpu", "jetson-xavier", "jetson-nano"} <= set(json.loads(r.stdout))

    # bad input: no runtime built yet -> one line naming `edgekit runtime build`, non-zero exit
    r = _run([edgekit, "runtime", "where"], outside, env)
    assert r.returncode == 1 and "edgekit runtime build" in r.stdout, r.stdout + r.stderr
    r = _run([edgekit, "doctor", "--json"], outside, env)
    rows = {row["item"]: row for row in json.loads(r.stdout)["rows"]}
    assert r.returncode == 1 and rows["edgekit-infer"]["status"] == "missing", r.stdout
    assert "edgekit runtime build" in rows["edgekit-infer"]["fix"]
    # bad input: no CMake on PATH -> one line with the fix, exit 2, nothing built
    r = _run([edgekit, "runtime", "build"], outside, {**env, "PATH": str(venv / "bin")})
    assert r.returncode == 2 and "CMake is not installed" in r.stderr and "fix:" in r.stderr, r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr

    t = time.perf_counter()
    r = _run(
        [edgekit, "runtime", "build", "--json", "--jobs", "2"], outside, env, timeout=1800
    )  # default prefix
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(r.stdout)
    assert Path(res["prefix"]).resolve() == venv.resolve()  # the active venv is the default prefix
    assert (
        Path(res["source"]).resolve().is_relative_to(Path(purelib).resolve())
    )  # built from the wheel's sources
    times["edgekit runtime build"] = time.perf_counter() - t
    r = _run([edgekit, "runtime", "where", "--json"], outside, env)
    assert r.returncode == 0 and json.loads(r.stdout)["binaries"]["edgekit-infer"] == str(
        venv / "bin" / "edgekit-infer"
    )

    t = time.perf_counter()
    bundle = outside / "bundles" / "digits-cpu"
    r = _run(
        [edgekit, "build", "--device", "cpu", "--example", "digits", "--fast", "--out", bundle, "--json"],
        outside,
        env,
        timeout=1800,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    summary = json.loads(r.stdout)
    assert (
        summary["parity"]
        and summary["parity"].get("exit_code", 0) == 0
        and "skipped" not in summary["parity"]
    )
    times["edgekit build --fast (with parity)"] = time.perf_counter() - t
    man = json.loads((bundle / "manifest.json").read_text())
    assert man["provenance"]["onnxruntime"] and len(man["provenance"]["config_sha256"]) == 64

    t = time.perf_counter()
    r = _run([edgekit, "parity", bundle, "--json", "-"], outside, env, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rep = json.loads(r.stdout)
    assert rep["in_sync"] and rep["error"] is None and rep["runtime"] == "cpp"
    assert rep["outputs"] and rep["stages"], "parity compared nothing"
    times["edgekit parity"] = time.perf_counter() - t
    r = _run([edgekit, "doctor", "--json"], outside, env)
    assert json.loads(r.stdout)["ok"] is True and r.returncode == 0, r.stdout

    (tmp_path / "times.json").write_text(json.dumps(times, indent=2))
    print("wheel test times (s):", json.dumps({k: round(v, 1) for k, v in times.items()}))


def test_editable_install_reads_the_checkout(tmp_path: Path) -> None:
    """The developer install (`pip install -e .`) keeps working: no copy, the checkout's files are read."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "-e", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    code = ("import edgekit.resources as r; "
            "print(r.in_checkout(), r.device_configs_dir(), r.runtime_source_root())")
    r = subprocess.run(
        [str(py), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "EDGEKIT_"))},
    )
    assert r.stdout.split() == ["True", str(REPO / "device_configs"), str(REPO)], r.stdout + r.stderr
    assert not (REPO / "edgekit" / "_shipped").exists()
