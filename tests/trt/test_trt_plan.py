"""Build plans: exact builder settings per engine and the equivalent trtexec lines, per TensorRT version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest

from edgekit import bundle as B
from edgekit.errors import ConfigError
from edgekit.profiles import get_profile
from edgekit.trt.dla_int8 import translate
from edgekit.trt.plan import read_plan, trtexec_args, write_plan

QDQ = B.ModelEntry(
    id="student_int8_qdq",
    file="models/student_int8_qdq.onnx",
    precision="int8",
    role="student",
    int8_flavour="trt_qdq",
    opset=17,
)


@pytest.fixture()
def bundle_with_qdq(tiny_bundle_copy: Path, qdq_model: Path) -> Path:
    shutil.copy(qdq_model, tiny_bundle_copy / "models" / "student_int8_qdq.onnx")
    return tiny_bundle_copy


def entries(root: Path) -> list[B.ModelEntry]:
    return [*B.load(root, verify=False).manifest.models, QDQ]


def test_xavier_plan_with_dla_translation(bundle_with_qdq: Path) -> None:
    root = bundle_with_qdq
    prof = get_profile("jetson-xavier")
    translate(root / "models" / "student_int8_qdq.onnx", root / "models", prof)
    res = write_plan(root, prof, entries(root))
    plan = json.loads(res.plan_json.read_text())
    assert plan["built"] is False and "No engine was built" in plan["note"]
    by_id = {e["model_id"]: e for e in plan["engines"]}
    assert set(by_id) == {"student_fp32", "student_int8_qdq", "student_int8_qdq_dla"}  # ORT-CPU model skipped
    fp16 = by_id["student_fp32"]
    assert (fp16["precision"], fp16["dla_core"], fp16["gpu_fallback"]) == ("fp16", 0, True)
    gpu8 = by_id["student_int8_qdq"]
    assert (gpu8["int8_mode"], gpu8["dla_core"]) == ("explicit", None)  # Q/DQ never goes to the DLA
    dla8 = by_id["student_int8_qdq_dla"]
    assert dla8["int8_mode"] == "implicit" and dla8["onnx"] == "models/student_int8_qdq_noqdq.onnx"
    assert dla8["calib_cache"] == "models/student_int8_qdq_calib.cache"
    assert (dla8["explicit_batch_flag"], dla8["memory_api"]) == (True, "set_memory_pool_limit")
    assert dla8["input_shape"] == [1, 1, 28, 28]
    assert plan["default_engine"] == dla8["engine"] and plan["trtexec"] == dla8["trtexec_args"]
    script = res.build_sh.read_text()
    line = next(ln for ln in script.splitlines() if "noqdq" in ln)
    for flag in (
        "--int8",
        "--fp16",
        "--calib=models/student_int8_qdq_calib.cache",
        "--useDLACore=0",
        "--allowGPUFallback",
        "--memPoolSize=workspace:1024",
        "--shapes=input:1x1x28x28",
        "--timingCacheFile=trt/timing.cache",
        "--saveEngine=trt/student_int8_qdq_dla.int8.dla0.engine",
    ):
        assert flag in line.split(), flag
    assert [s.engine for s in read_plan(root)] == [e["engine"] for e in plan["engines"]]
    assert res.model_dump()["built"] is False


def test_trt82_uses_workspace_and_no_dla(tiny_bundle_copy: Path) -> None:
    res = write_plan(tiny_bundle_copy, get_profile("jetson-nano"), entries(tiny_bundle_copy)[:1])
    (spec,) = res.specs
    assert (spec.memory_api, spec.explicit_batch_flag, spec.dla_core) == ("max_workspace_size", True, None)
    # the 4 GB Nano's workspace limit: 1/8 of its memory (CPU and GPU share it), not 1024 MiB
    assert spec.workspace_mib == 512
    assert "--workspace=512" in trtexec_args(spec) and "--useDLACore" not in " ".join(trtexec_args(spec))
    assert "--timingCacheFile=trt/timing.cache" in trtexec_args(spec)


def test_trt10_flags_and_static_inputs(tiny_bundle_copy: Path) -> None:
    m = onnx.load(str(tiny_bundle_copy / "models" / "student_fp32.onnx"))
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1  # static batch
    onnx.save(m, str(tiny_bundle_copy / "models" / "student_fp32.onnx"))
    res = write_plan(tiny_bundle_copy, get_profile("jetson-orin-nano"), entries(tiny_bundle_copy)[:1])
    (spec,) = res.specs
    assert (spec.explicit_batch_flag, spec.memory_api, spec.dynamic_input) == (
        False,
        "set_memory_pool_limit",
        False,
    )
    assert not any(
        a.startswith("--shapes") for a in trtexec_args(spec)
    )  # trtexec rejects it for static models


def test_dla_implicit_entry_needs_its_cache(tiny_bundle_copy: Path) -> None:
    e = B.ModelEntry(
        id="s_dla",
        file="models/student_fp32.onnx",
        precision="int8",
        role="student",
        int8_flavour="dla_implicit",
        opset=17,
    )
    with pytest.raises(ConfigError, match="calibration cache"):
        write_plan(tiny_bundle_copy, get_profile("jetson-orin"), [e])


def test_bad_plans(tiny_bundle_copy: Path) -> None:
    cpu_only = [
        m for m in B.load(tiny_bundle_copy, verify=False).manifest.models if m.int8_flavour == "ort_cpu"
    ]
    with pytest.raises(ConfigError, match="no model"):
        write_plan(tiny_bundle_copy, get_profile("jetson-orin"), cpu_only)
    with pytest.raises(ConfigError, match="no TensorRT"):
        write_plan(tiny_bundle_copy, get_profile("cpu"), entries(tiny_bundle_copy))
    with pytest.raises(ConfigError, match="DLA core 5"):
        write_plan(tiny_bundle_copy, get_profile("jetson-orin"), entries(tiny_bundle_copy)[:1], dla_core=5)
    assert not (tiny_bundle_copy / "trt" / "plan.json").exists()


def test_teachers_get_no_engine_by_default(tiny_bundle_copy: Path) -> None:
    teacher = B.ModelEntry(
        id="teacher_fp32", file="models/student_fp32.onnx", precision="fp32", role="teacher", opset=17
    )
    prof = get_profile("jetson-orin-nano")
    assert [
        s.model_id
        for s in write_plan(tiny_bundle_copy, prof, [teacher, *entries(tiny_bundle_copy)[:1]]).specs
    ] == ["student_fp32"]
    from edgekit.trt.plan import engine_specs

    specs = engine_specs(prof, [teacher], bundle_root=tiny_bundle_copy, include_teachers=True)
    assert [s.model_id for s in specs] == ["teacher_fp32"]


def test_dla_implicit_cache_must_match_the_profile_and_the_model(tiny_bundle_copy: Path) -> None:
    """A cache for another TensorRT (Xavier's 8.5.2 for an Orin on 10.3), or naming tensors the model lacks,
    is refused when the plan is written; a matching one passes."""
    from edgekit.errors import InputError
    from edgekit.trt.calib_cache import CalibCache

    e = B.ModelEntry(id="s_dla", file="models/student_fp32.onnx", precision="int8", role="student",
                     int8_flavour="dla_implicit", opset=17)
    cache = tiny_bundle_copy / "models" / "student_fp32_calib.cache"
    name = onnx.load(str(tiny_bundle_copy / e.file)).graph.input[0].name
    CalibCache("8502", {name: 0.01}).write(cache)
    with pytest.raises(ConfigError, match="is for TensorRT tag 8502, jetson-orin runs TensorRT 10.3.0"):
        write_plan(tiny_bundle_copy, get_profile("jetson-orin"), [e])
    CalibCache("100300", {name: 0.01, "ghost_tensor": 0.02}).write(cache)
    with pytest.raises(InputError, match="does not have: ghost_tensor"):
        write_plan(tiny_bundle_copy, get_profile("jetson-orin"), [e])
    CalibCache("100300", {name: 0.01}).write(cache)
    (spec,) = write_plan(tiny_bundle_copy, get_profile("jetson-orin"), [e]).specs
    assert spec.calib_cache == "models/student_fp32_calib.cache" and spec.int8_mode == "implicit"
