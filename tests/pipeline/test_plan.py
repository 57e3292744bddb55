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
    from edgekit.stages.dla_translate import dla_translate
    from edgekit.stages.trt_check import trt_check
    from edgekit.stages.trt_plan import trt_plan

    ctx = _ctx("cpu")
    for h in (trt_check, dla_translate, trt_plan):
        h(ctx)
    assert ctx.extra.get("hooks", {}) == {}


def _onnx_with_opset(path: Path, opset: int) -> Path:
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["input"], ["logits"], name="relu0")], "g",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 10])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def test_trt_check_error_in_a_deployed_model_stops_the_build(tmp_path: Path) -> None:
    from edgekit.errors import ConfigError
    from edgekit.stages.trt_check import trt_check

    ctx = _ctx("jetson-nano")  # TensorRT 8.2 parses opset <= 13
    ctx.onnx = {"teacher_fp32": _onnx_with_opset(tmp_path / "t.onnx", 17)}
    ctx.models = [ModelEntry(id="teacher_fp32", file="models/t.onnx", precision="fp32", role="teacher",
                             opset=17)]
    trt_check(ctx)  # a teacher is checked for information only
    assert ctx.extra["hooks"]["trt_check"]["teacher_fp32"]["errors"] >= 1
    ctx.onnx["student_fp32"] = _onnx_with_opset(tmp_path / "s.onnx", 17)
    ctx.models.append(ModelEntry(id="student_fp32", file="models/s.onnx", precision="fp32", role="student",
                                 opset=17))
    with pytest.raises(ConfigError, match="cannot be built for jetson-nano") as e:
        trt_check(ctx)
    assert e.value.fix
    ctx.onnx["student_fp32"] = _onnx_with_opset(tmp_path / "s13.onnx", 13)
    trt_check(ctx)
    assert ctx.extra["hooks"]["trt_check"]["student_fp32"]["ok"] is True
