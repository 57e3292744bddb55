"""End-to-end `edgekit build --fast` through the CLI, and the bad-input paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from edgekit import bundle as B
from edgekit.stages.onnx_utils import ort_logits
from tests.fixtures.ort_ref import unfused_logits

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def edgekit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgekit.cli", *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=600)


@pytest.fixture(scope="module")
def cpu_bundle(tmp_path_factory) -> tuple[Path, dict]:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("build") / "cpu"
    r = edgekit("build", "--device", "cpu", "--fast", "--out", out, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    return out, json.loads(r.stdout)


def _check_models_run(b: B.Bundle, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    accs = {}
    for m in b.manifest.models:
        logits = ort_logits(b.path(m.file), x)
        assert logits.shape == (len(x), 10)
        accs[m.id] = float((logits.argmax(1) == y).mean())
    return accs


def _golden(b: B.Bundle) -> tuple[np.ndarray, np.ndarray]:
    from edgekit.preprocess import run_batch

    items = b.manifest.golden
    x = run_batch(b.manifest.preprocess, [b.path(g.input) for g in items])
    return x, np.array([g.label for g in items])


def test_cpu_fast_build(cpu_bundle) -> None:  # type: ignore[no-untyped-def]
    out, summary = cpu_bundle
    b = B.load(out, verify=True)
    m = b.manifest
    assert m.device == "cpu" and m.default_model == "student_int8_cpu"
    ids = {e.id for e in m.models}
    assert ids == {"teacher_fp32", "student_fp32", "student_int8_qdq", "student_int8_cpu"}
    assert m.model("student_int8_qdq").int8_flavour == "trt_qdq"
    assert m.model("student_int8_cpu").int8_flavour == "ort_cpu"
    assert all(e.opset == 17 for e in m.models)
    assert len(m.golden) == 32 and b.labels() == [str(i) for i in range(10)]
    x, y = _golden(b)
    accs = _check_models_run(b, x, y)
    assert accs["student_int8_cpu"] >= 0.5, accs  # fast mode: 1 epoch on 1,000 digits (chance: 0.1)
    ops = [n.op_type for n in onnx.load(str(b.model_path("student_int8_cpu"))).graph.node]
    assert "QLinearConv" in ops
    # dynamic batch
    sess_out = ort_logits(b.model_path("student_int8_qdq"), x[:3], bs=3)
    assert sess_out.shape == (3, 10)
    assert m.build is not None and m.build.project == "digits"  # the built-in project, on the project path
    stages = m.build.stages
    names = [s.stage for s in stages]
    for want in ("teacher", "distill", "prune", "finetune", "qat", "export_qdq", "quantize_cpu"):
        assert want in names
    assert all(s.accuracy is not None and 0 <= s.accuracy <= 1 and not s.reused for s in stages)
    prune = next(s for s in stages if s.stage == "prune")
    distill = next(s for s in stages if s.stage == "distill")
    assert prune.params < distill.params and prune.macs < distill.macs  # type: ignore[operator]
    assert m.build.fits["teacher"].epochs == 1 and m.build.data.golden == 32
    assert "stages" not in m.extra and "data" not in m.extra  # the typed record replaced them
    assert summary["default_model"] == "student_int8_cpu" and summary["bundle"] == str(out.resolve())
    assert "trt_check" not in m.extra["hooks"] and "dla_translate" not in m.extra["hooks"]  # not TensorRT


def test_reference_models_run_without_edgekit_classes(cpu_bundle) -> None:  # type: ignore[no-untyped-def]
    out, _ = cpu_bundle
    b = B.load(out)
    refs = b.manifest.extra["references"]
    assert set(refs) == {"teacher_fp32", "student_fp32", "student_int8_qdq"}
    assert refs["student_fp32"]["format"] == "torch.export"
    assert refs["student_int8_qdq"]["format"] == "torchscript"
    x, _ = _golden(b)
    for mid, ref in refs.items():
        p = b.path(ref["file"])
        if ref["format"] == "torch.export":
            mod = torch.export.load(str(p)).module()
        else:
            mod = torch.jit.load(str(p))
        with torch.no_grad():
            got = mod(torch.from_numpy(x[:5])).numpy()
        onnx_out = unfused_logits(b.model_path(mid), x[:5])  # no CPU-dependent fused INT8 kernels
        assert (got.argmax(1) == onnx_out.argmax(1)).all()
        assert np.abs(got - onnx_out).max() < 0.05 * (np.ptp(onnx_out) + 1e-6)


def test_jetson_build_reuses_teacher_checkpoint(cpu_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src, _ = cpu_bundle
    ckpt = src / "reference" / "teacher_state_dict.pt"
    out = tmp_path / "xavier"
    r = edgekit("build", "--device", "jetson-xavier", "--fast", "--out", out, "--teacher", ckpt)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "student_int8_qdq" in r.stdout  # the final table
    b = B.load(out, verify=True)
    m = b.manifest
    assert m.default_model == "student_int8_qdq"
    assert {e.id for e in m.models} == {"teacher_fp32", "student_fp32", "student_int8_qdq",
                                        "student_int8_dla"}
    assert m.model("student_int8_dla").int8_flavour == "dla_implicit"
    assert m.build is not None and m.build.teacher_source == "checkpoint"
    src_teacher = B.load(src).manifest.model("teacher_fp32").metrics["accuracy"]
    assert m.model("teacher_fp32").metrics["accuracy"] == src_teacher  # same weights, same accuracy
    x, y = _golden(b)
    _check_models_run(b, x, y)
    from edgekit.preprocess import run

    assert run(m.preprocess, b.path(m.golden[0].input))[0].shape == (1, 1, 28, 28)
    # pruned to the profile's channel_round (8)
    g = onnx.load(str(b.model_path("student_fp32"))).graph
    inits = {i.name: i for i in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv"]
    assert convs and all(inits[n.input[1]].dims[0] % 8 == 0 for n in convs)
    hk = m.extra["hooks"]
    assert hk["trt_check"]["student_int8_dla"]["use_dla"] is True  # DLA placement of the translated model
    assert hk["dla_verify"]["passed"] is True and hk["dla_verify"]["top1_agreement"] >= 0.99
    assert (b.root / "trt" / "plan.json").is_file()
    plan = json.loads((b.root / "trt" / "plan.json").read_text())
    assert plan["built"] is False and plan["engines"]  # nothing claims an engine was built


def test_unknown_device_exits_2_with_suggestion(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = edgekit("build", "--device", "jetson-xavir", "--fast", "--out", tmp_path / "b")
    assert r.returncode == 2
    assert "unknown device 'jetson-xavir'" in r.stderr and "did you mean 'jetson-xavier'" in r.stderr
    assert not (tmp_path / "b").exists()


def test_missing_and_corrupt_teacher_checkpoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no.pt"
    r = edgekit("build", "--device", "cpu", "--fast", "--out", tmp_path / "b", "--teacher", missing)
    assert r.returncode == 2 and "teacher checkpoint" in r.stderr and "does not exist" in r.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    r = edgekit("build", "--device", "cpu", "--fast", "--out", tmp_path / "b", "--teacher", bad)
    assert r.returncode == 2 and "corrupt" in r.stderr and "fix:" in r.stderr
    assert not (tmp_path / "b").exists()


def test_wrong_checkpoint_shape_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edgekit.examples.digits import cnn

    p = tmp_path / "other.pt"
    torch.save(cnn((8, 8, 8)).state_dict(), p)
    r = edgekit("build", "--device", "cpu", "--fast", "--out", tmp_path / "b", "--teacher", p)
    assert r.returncode == 2 and "does not fit" in r.stderr


def test_bad_config_file_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from edgekit.project.project import builtin_path

    shutil.copytree(builtin_path("digits").parent, tmp_path / "p")
    cfg = tmp_path / "p" / "edgekit.yaml"
    lines = cfg.read_text().splitlines()
    n = next(i for i, t in enumerate(lines) if t.startswith("  epochs:"))
    lines[n] = "  epochs: 3"
    cfg.write_text("\n".join(lines) + "\n")
    r = edgekit("build", "--config", cfg, "--device", "cpu", "--fast")
    assert r.returncode == 2 and f"edgekit.yaml:{n + 1}: recipe.epochs:" in r.stderr, r.stderr


def test_failed_build_keeps_the_previous_bundle(cpu_bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from edgekit.build import BuildOptions, run_build

    src, _ = cpu_bundle
    out = tmp_path / "bundle"
    shutil.copytree(src, out)
    before = B.load(out).manifest.files

    def boom(ctx):  # type: ignore[no-untyped-def]
        assert (ctx.root / "models" / "student_int8_cpu.onnx").is_file()  # real work was done in staging
        raise KeyboardInterrupt  # like Ctrl-C in the middle of the build

    opts = BuildOptions(device="cpu", fast=True, out=out, teacher=src / "reference" / "teacher_state_dict.pt",
                        extra_stages=[("boom", boom)])
    with pytest.raises(KeyboardInterrupt):
        run_build(opts)
    b = B.load(out, verify=True)
    assert b.manifest.files == before
    # no staging leftovers (the stage cache beside the bundle is kept on purpose: the next build reuses it)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".edgekit-cache") == ["bundle"]


def test_out_that_is_not_a_bundle_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edgekit.build import BuildOptions, run_build
    from edgekit.errors import EdgekitError

    out = tmp_path / "photos"
    out.mkdir()
    (out / "keep.jpg").write_bytes(b"precious")
    with pytest.raises(EdgekitError, match="not an edgekit bundle"):
        run_build(BuildOptions(device="cpu", fast=True, out=out))
    assert (out / "keep.jpg").read_bytes() == b"precious"
