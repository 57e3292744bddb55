"""The decode step's EXIF rule (``exif: apply|ignore``) on a real JPEG carrying an Orientation tag:
Python and the C++ runtime decode it to the same pixels under each rule, and the two rules differ."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit import bundle as B
from edgekit import runtime_cpp
from edgekit.preprocess import run as py_run
from edgekit.preprocess.python_impl import decode
from edgekit.preprocess.spec import Decode, Layout, PreprocessSpec, Resize, ToFloat


def exif_jpeg(path: Path, orientation: int = 6) -> np.ndarray:
    """A 24x40 photo crop saved as JPEG with EXIF Orientation; returns the stored (unrotated) BGR pixels."""
    import skimage.data
    from PIL import Image

    rgb = cv2.resize(skimage.data.chelsea(), (40, 24), interpolation=cv2.INTER_AREA)
    ex = Image.Exif()
    ex[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95, exif=ex.tobytes())
    path.write_bytes(buf.getvalue())
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    return cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), flags)


def _spec(rule: str) -> PreprocessSpec:
    return PreprocessSpec(steps=[Decode(exif=rule), Resize(size=[16, 16]), ToFloat(), Layout()])  # type: ignore[arg-type]


def test_python_exif_rules(tmp_path: Path) -> None:
    stored = exif_jpeg(tmp_path / "o6.jpg")
    ign = decode(Decode(exif="ignore"), tmp_path / "o6.jpg")
    app = decode(Decode(exif="apply"), tmp_path / "o6.jpg")
    assert ign.shape == (24, 40, 3) and np.array_equal(ign, stored)
    assert app.shape == (40, 24, 3)  # orientation 6: rotated 90 degrees clockwise
    assert np.array_equal(app, cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE))
    assert _spec("apply").sha256() != _spec("ignore").sha256()  # the rule is part of the declaration
    png = tmp_path / "frame.png"  # camera frames / PNGs carry no tag: both rules agree
    cv2.imwrite(str(png), stored)
    assert np.array_equal(decode(Decode(exif="apply"), png), decode(Decode(exif="ignore"), png))


def _bundle(root: Path, rule: str) -> Path:
    import onnx
    from onnx import TensorProto, helper

    spec = _spec(rule)
    with B.staging(root) as r:
        (r / "models").mkdir()
        g = helper.make_graph(
            [helper.make_node("ReduceMean", ["input"], ["m"], axes=[2, 3], keepdims=0),
             helper.make_node("MatMul", ["m", "w"], ["logits"])],
            "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 16, 16])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
            [helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [1, -1, 0.5, 0.5, -1, 1])],
        )
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        onnx.save(model, str(r / "models" / "m.onnx"))
        (r / "labels.txt").write_text("a\nb\n")
        m = B.Manifest(name="exif", device="cpu", input=B.InputInfo(name="input", shape=[-1, 3, 16, 16]),
                       outputs=[B.TensorInfo(name="logits", shape=[-1, 2])], preprocess=spec,
                       models=[B.ModelEntry(id="student_fp32", file="models/m.onnx", precision="fp32",
                                            role="student", opset=17)],
                       default_model="student_fp32")
        m.postprocess.top_k = 2
        B.write_manifest(r, m)
    return root


@pytest.mark.parametrize("rule", ["apply", "ignore"])
def test_cpp_and_python_apply_the_same_exif_rule(tmp_path: Path, rule: str) -> None:
    if not runtime_cpp.is_built():
        pytest.skip("the C++ runtime is not built: run tools/setup.sh")
    img = tmp_path / "in" / "o6.jpg"
    img.parent.mkdir()
    exif_jpeg(img)
    bundle = _bundle(tmp_path / "b", rule)
    runtime_cpp.run_infer(bundle, img.parent, dump_stages=tmp_path / "dump")
    _, stages = py_run(_spec(rule), img, collect=True)
    assert len(stages) == 4
    for s in stages:
        got = np.load(tmp_path / "dump" / "o6" / f"{s.name}.npy")
        assert got.shape == s.tensor.shape and got.tobytes() == s.tensor.tobytes(), (rule, s.name)
    want_hw = (40, 24) if rule == "apply" else (24, 40)
    assert stages[0].tensor.shape[:2] == want_hw
