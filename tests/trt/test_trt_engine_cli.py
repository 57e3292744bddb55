"""`edgekit engine translate|plan|build` in-process (typer's runner): real files, real ONNX Runtime."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from edgekit import bundle as B
from edgekit.commands import engine


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    engine.register(app)
    return app


def test_translate_with_golden_verification(
    qdq_model: Path, tiny_bundle_session: Path, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        _app(),
        [
            "engine",
            "translate",
            str(qdq_model),
            "--device",
            "jetson-xavier",
            "--out",
            str(tmp_path),
            "--verify-bundle",
            str(tiny_bundle_session),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["verification"]["n"] == 16 and out["verification"]["passed"]
    assert (
        (tmp_path / "student_int8_qdq_calib.cache").read_text().startswith("TRT-8502-EntropyCalibration2\n")
    )


def test_plan_rehashes_the_bundle_and_build_needs_tensorrt(tiny_bundle_copy: Path) -> None:
    res = CliRunner().invoke(_app(), ["engine", "plan", str(tiny_bundle_copy), "--device", "jetson-orin"])
    assert res.exit_code == 0, res.output
    b = B.load(tiny_bundle_copy)  # verifies every sha256, trt/ files included
    assert "trt/plan.json" in b.manifest.files and b.manifest.extra["trt_plan"]["built"] is False
    built = CliRunner().invoke(_app(), ["engine", "build", str(tiny_bundle_copy)])
    assert built.exit_code != 0 and "TensorRT is not importable" in str(built.exception)
    assert not list((tiny_bundle_copy / "trt").glob("*.engine"))
