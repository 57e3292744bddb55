"""Which stages run and which model is the default, per device profile (no training)."""

from pathlib import Path

import pytest

from edgekit.build import plan_stages
from edgekit.bundle import ModelEntry
from edgekit.examples import get_example
from edgekit.profiles import get_profile
from edgekit.stages.context import BuildContext
from edgekit.stages.manifest import default_model_id
from edgekit.stages.progress import Reporter

ALL_IDS = ["teacher_fp32", "student_fp32", "student_int8_qdq", "student_int8_cpu"]


def _ctx(device: str) -> BuildContext:
    ex = get_example("digits")
    return BuildContext(example=ex, profile=get_profile(device), recipe=ex.recipe(True),
                        root=Path("/nonexistent"), reporter=Reporter())


@pytest.mark.parametrize("device,int8_stages,default,opset", [
    ("cpu", ["qat", "export_qdq", "quantize_cpu"], "student_int8_cpu", 17),
    ("jetson-xavier", ["qat", "export_qdq"], "student_int8_qdq", 17),
    ("jetson-orin", ["qat", "export_qdq"], "student_int8_qdq", 17),
    ("jetson-nano", [], "student_fp32", 13),
    ("jetson-tx2", [], "student_fp32", 13),
])
def test_stages_and_default_model_per_profile(
    device: str, int8_stages: list[str], default: str, opset: int
) -> None:
    ctx = _ctx(device)
    names = [n for n, _ in plan_stages(ctx)]
    assert names[:4] == ["data", "teacher", "distill", "prune"]
    assert [n for n in names if n in ("qat", "ptq", "export_qdq", "quantize_cpu")] == int8_stages
    assert names.index("export_fp32") < names.index("golden") < names.index("manifest")
    assert names[-1] == "write_manifest"
    assert ctx.opset == opset
    produced = {"qat": "student_int8_qdq", "quantize_cpu": "student_int8_cpu"}
    ids = ["teacher_fp32", "student_fp32"] + [produced[s] for s in int8_stages if s in produced]
    ctx.models = [ModelEntry(id=i, file=f"models/{i}.onnx", precision="fp32", role="student", opset=opset)
                  for i in ids]
    assert default_model_id(ctx) == default


def test_trt_hooks_only_for_tensorrt_profiles() -> None:
    from edgekit.stages import hooks

    ctx = _ctx("cpu")
    for h in (hooks.trt_check, hooks.dla_translate, hooks.trt_plan):
        h(ctx)
    assert ctx.extra["hooks"] == {}


def test_hook_skips_a_missing_module_and_runs_a_present_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from edgekit.stages import hooks

    ctx = _ctx("jetson-xavier")
    ctx.onnx = {"student_fp32": Path("/x/student_fp32.onnx")}
    monkeypatch.setitem(sys.modules, "edgekit.trt.check", None)  # import raises ModuleNotFoundError
    hooks.trt_check(ctx)
    assert ctx.extra["hooks"]["trt_check"] == "skipped: edgekit.trt.check not available"
    calls = []
    fake = types.ModuleType("edgekit.trt.check")
    fake.check_model = lambda path, profile: calls.append((path, profile.name)) or {"ok": True}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "edgekit.trt.check", fake)
    hooks.trt_check(ctx)
    assert calls == [(Path("/x/student_fp32.onnx"), "jetson-xavier")]
    assert ctx.extra["hooks"]["trt_check"] == {"student_fp32": {"ok": True}}
