"""The device-side engine build (cpp_runtime/tools/engine_build.py) and flash's engine step.

TensorRT cannot run here: engine_build.py is run for real (the device's python3 stands in), with small
stand-in programs for ``trtexec`` and ``edgekit-trt-meta`` that record their argv. What is checked is that
the argv is exactly the plan's entry for the bundle's default_model (not the plan's first engine), that
the engine and its metadata JSON appear only together, and that every absence is one line with a fix.
On the real sshd: the engine step reports TensorRT absent, parity --host picks --backend trt when the
device holds the engine, and a bundle newer than the device's runtime is refused."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flash_helpers import opts, variant

from edgekit import bundle as B
from edgekit.flash.deploy import flash
from edgekit.flash.errors import FlashError
from edgekit.flash.layout import RemoteLayout, bundle_id
from edgekit.profiles import get_profile
from edgekit.remote import SshRemote, SshTarget
from edgekit.trt.plan import write_plan

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "cpp_runtime" / "tools" / "engine_build.py"

# Stand-ins: each appends its argv (JSON) to $EDGEKIT_TEST_LOG. trtexec writes bytes to --saveEngine.
LOG_ARGV = """python3 -c 'import json,os,sys; open(os.environ["EDGEKIT_TEST_LOG"],"a").write(json.dumps(sys.argv[1:])+"\\n")' "$@"
"""  # noqa: E501
FAKE_TRTEXEC = """#!/bin/sh
""" + LOG_ARGV + """
for a in "$@"; do case "$a" in --saveEngine=*) printf 'engine-bytes' > "${a#--saveEngine=}";; esac; done
for a in "$@"; do case "$a" in --timingCacheFile=*) printf 't' >> "${a#--timingCacheFile=}";; esac; done
exit ${FAKE_RC:-0}
"""
FAKE_META = """#!/bin/sh
""" + LOG_ARGV + """
while [ $# -gt 0 ]; do [ "$1" = --out ] && printf '{"trt_version": "stand-in"}' > "$2"; shift; done
"""


def jetson_bundle(src: Path, dest: Path, device: str = "jetson-orin-nano") -> Path:
    """A copy of the tiny bundle for a Jetson profile with its TensorRT plan, plus a decoy engine entry
    put FIRST in the plan and made the plan's default (what flash used to build)."""
    b = variant(src, dest)
    m = B.load(b, verify=False).manifest
    m.device = device
    B.write_manifest(b, m)
    write_plan(b, get_profile(device), list(m.models))
    p = b / "trt" / "plan.json"
    plan = json.loads(p.read_text())
    decoy = {
        **plan["engines"][0],
        "model_id": "student_int8_dla",
        "engine": "trt/student_int8_dla.int8.dla0.engine",
    }
    decoy["trtexec_args"] = [
        a.replace("trt/student_fp32", "trt/student_int8_dla") for a in decoy["trtexec_args"]
    ]
    decoy["trtexec_args"] = [a.replace(".fp16.engine", ".int8.dla0.engine") for a in decoy["trtexec_args"]]
    plan["engines"].insert(0, decoy)
    plan["default_engine"], plan["trtexec"] = decoy["engine"], decoy["trtexec_args"]
    p.write_text(json.dumps(plan, indent=2))
    return b


def tools(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    trtexec, meta = bin_dir / "trtexec", tmp / "edgekit-trt-meta"
    trtexec.write_text(FAKE_TRTEXEC)
    meta.write_text(FAKE_META)
    trtexec.chmod(0o755)
    meta.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "EDGEKIT_TEST_LOG": str(tmp / "argv.log")}
    return trtexec, meta, env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["python3", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture(scope="module")
def orin(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jetson_bundle(tiny_bundle, tmp_path_factory.mktemp("orin") / "b")


def test_script_is_python36_stdlib_only() -> None:
    src = SCRIPT.read_text()
    tree = ast.parse(src, feature_version=(3, 6))  # no walrus, no positional-only, no 3.7+ syntax
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert mods <= set(sys.stdlib_module_names) and "__future__" not in mods, mods
    assert "edgekit" not in mods


def test_print_shows_the_default_models_plan_entry_not_the_first(orin: Path, tmp_path: Path) -> None:
    _, _, env = tools(tmp_path)
    p = run("--bundle", str(orin), "--print", env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    plan = json.loads((orin / "trt" / "plan.json").read_text())
    want = next(e for e in plan["engines"] if e["model_id"] == "student_fp32")
    assert plan["engines"][0]["model_id"] == "student_int8_dla" != out["model"] == "student_fp32"
    assert out["engine"] == want["engine"] == "trt/student_fp32.fp16.engine"
    expect = [
        a.replace(want["engine"], want["engine"] + ".tmp") if a.startswith("--saveEngine=") else a
        for a in want["trtexec_args"]
    ]
    assert out["trtexec"][1:] == expect  # exactly the plan's arguments, only the output name is a temp one
    assert (
        "--memPoolSize=workspace:1024" in out["trtexec"]
        and "--timingCacheFile=trt/timing.cache" in out["trtexec"]
    )
    p = run("--bundle", str(orin), "--model", "student_int8_dla", "--print", env=env)
    assert json.loads(p.stdout.strip().splitlines()[-1])["engine"] == "trt/student_int8_dla.int8.dla0.engine"


def test_build_runs_exactly_the_plan_and_writes_engine_with_metadata(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    b = jetson_bundle(tiny_bundle, tmp_path / "b")
    _, meta, env = tools(tmp_path)
    store = tmp_path / "device-timing.cache"
    store.write_text("T")  # timings of an earlier build on this device
    p = run("--bundle", str(b), "--meta-tool", str(meta), "--timing-cache-store", str(store), env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["state"] == "built" and out["engine"] == "trt/student_fp32.fp16.engine"
    assert (b / "trt" / "timing.cache").read_text() == store.read_text() == "Tt"  # used, then kept
    build_argv, meta_argv = (json.loads(ln) for ln in (tmp_path / "argv.log").read_text().splitlines())
    plan = json.loads((b / "trt" / "plan.json").read_text())
    want = next(e for e in plan["engines"] if e["model_id"] == "student_fp32")
    assert [a.replace(".engine.tmp", ".engine") for a in build_argv] == want["trtexec_args"]
    assert meta_argv == [
        "--engine",
        "trt/student_fp32.fp16.engine.tmp",
        "--onnx",
        want["onnx"],
        "--precision",
        "fp16",
        "--out",
        "trt/student_fp32.fp16.engine.json.new",
    ]
    assert (b / want["engine"]).read_bytes() == b"engine-bytes"
    assert json.loads((b / (want["engine"] + ".json")).read_text()) == {"trt_version": "stand-in"}
    assert not list(b.glob("trt/*.tmp")) and not list(b.glob("trt/*.new"))


def test_failed_trtexec_leaves_no_engine_or_metadata(tiny_bundle: Path, tmp_path: Path) -> None:
    b = jetson_bundle(tiny_bundle, tmp_path / "b")
    _, meta, env = tools(tmp_path)
    p = run("--bundle", str(b), "--meta-tool", str(meta), env={**env, "FAKE_RC": "3"})
    assert p.returncode == 4 and "error: trtexec exit 3" in p.stderr and "— fix:" in p.stderr
    assert not (b / "trt" / "student_fp32.fp16.engine").exists()
    assert not (b / "trt" / "student_fp32.fp16.engine.json").exists()


@pytest.mark.parametrize(
    ("case", "code", "needle"),
    [
        ("no-trtexec", 5, "TensorRT absent on device: engine not built (no trtexec on PATH"),
        ("no-meta", 6, "edgekit-trt-meta is not built"),
        (
            "no-entry",
            3,
            "trt/plan.json has no engine for the bundle's model 'ghost' (it has: student_int8_dla, "
            "student_fp32)",
        ),
        ("no-plan", 3, "the bundle has no trt/plan.json"),
    ],
)
def test_absences_are_one_line_with_a_fix(
    orin: Path, tmp_path: Path, case: str, code: int, needle: str
) -> None:
    _, meta, env = tools(tmp_path)
    args = ["--bundle", str(orin), "--meta-tool", str(meta)]
    if case == "no-trtexec":
        env["PATH"] = "/usr/bin:/bin"
    elif case == "no-meta":
        args[-1] = str(tmp_path / "missing-meta")
    elif case == "no-entry":
        args += ["--model", "ghost"]
    else:
        args[1] = str(tmp_path)
    p = run(*args, env=env)
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "— fix:" in lines[0], p.stderr
    assert not (tmp_path / "argv.log").exists()  # nothing was run


def test_flash_reports_tensorrt_absent_with_a_plan(orin: Path, target: SshTarget, tmp_path: Path) -> None:
    rep = flash(orin, target, opts(tmp_path / "device"))
    eng = {s.name: s for s in rep.steps}["engine"]
    assert (eng.status, eng.detail) == ("absent", "TensorRT absent on device: engine not built")
    assert (tmp_path / "device" / "runtime" / "tools" / "engine_build.py").is_file()  # the script was sent


def test_parity_host_selects_trt_when_the_device_has_the_engine(
    orin: Path, target: SshTarget, tmp_path: Path
) -> None:
    from edgekit.parity.check import _device_engine_args
    from edgekit.parity.report import ParityReport
    from edgekit.remote.executor import SshExecutor

    dev = tmp_path / "device"
    flash(orin, target, opts(dev))
    bdir = dev / "bundles" / bundle_id(B.load(orin, verify=False))
    bundle = B.load(orin, verify=False)
    with SshRemote(target) as r:
        ex = SshExecutor(r, str(dev))
        rep = ParityReport(bundle=str(orin), runtime="cpp", where="", model="student_fp32", precision="fp32")
        assert _device_engine_args(ex, bundle, "student_fp32", rep, None) is None  # no engine: ORT
        (bdir / "trt").mkdir(exist_ok=True)
        (bdir / "trt" / "student_fp32.fp16.engine").write_bytes(b"x")
        assert _device_engine_args(ex, bundle, "student_fp32", rep, None) is None  # no metadata: not usable
        (bdir / "trt" / "student_fp32.fp16.engine.json").write_text("{}")
        assert _device_engine_args(ex, bundle, "student_fp32", rep, None) == ["--backend", "trt"]
        assert rep.precision == "fp16" and "--backend trt" in rep.notes[-1]


def test_bundle_newer_than_the_devices_runtime_is_refused(
    tiny_bundle: Path, target: SshTarget, tmp_path: Path
) -> None:
    dev = tmp_path / "device"
    layout = RemoteLayout(str(dev))
    hdr = Path(layout.runtime_src) / "cpp_runtime" / "include" / "edgekit" / "manifest.hpp"
    hdr.parent.mkdir(parents=True)
    hdr.write_text("constexpr int kSchemaVersion = 0;\n")  # a runtime built from older sources
    Path(layout.fingerprint).write_text("x\n")
    with pytest.raises(
        FlashError, match=r"schema_version 1 is newer than the C\+\+ runtime built on .* \(0\)"
    ):
        flash(tiny_bundle, target, opts(dev))
    assert not (dev / "current").exists() and not os.listdir(dev / "bundles")
    hdr.write_text("constexpr int kSchemaVersion = 1;\n")
    assert flash(tiny_bundle, target, opts(dev)).active
