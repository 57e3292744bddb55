"""Write the reference data the GoogleTest suite checks the C++ runtime against, with the Python side
itself (NumPy, hashlib, OpenCV, edgekit.preprocess, onnx + onnxruntime). Run by ctest as a fixture:

    python make_fixtures.py OUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def npy_cases(out: Path) -> None:
    d = out / "npy"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "f4_2x3": np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(7),
        "u1_4x5x3": rng.integers(0, 256, (4, 5, 3), dtype=np.uint8),
        "i8_7": np.arange(-3, 4, dtype=np.int64) * 1_000_000_007,
        "f4_scalar": np.array(3.5, dtype=np.float32),
        "f2_3": np.array([1.0, -2.5, 65504.0], dtype=np.float16),
        "f4_1x1x28x28": rng.standard_normal((1, 1, 28, 28)).astype(np.float32),
        "f4_big_first_axis": np.zeros((123456789012, 0), dtype=np.float32),
        "f8_empty": np.zeros((0,), dtype=np.float64),
    }
    info = {}
    for name, a in arrays.items():
        np.save(d / f"{name}.npy", a)
        info[name] = {
            "descr": a.dtype.str.replace("<u1", "|u1"),
            "shape": list(a.shape),
            "hex": a.tobytes().hex(),
        }
    # A Fortran-order array and a non-npy file: the reader must refuse both.
    np.save(d / "fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    (d / "not_npy.npy").write_bytes(b"hello, not numpy")
    full = (d / "f4_2x3.npy").read_bytes()
    (d / "truncated.npy").write_bytes(full[:-4])
    (d / "info.json").write_text(json.dumps(info))


def sha_cases(out: Path) -> None:
    d = out / "sha256"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    info = {}
    for n in (0, 1, 55, 56, 63, 64, 65, 1000, (1 << 20) + 17):
        p = d / f"bytes_{n}.bin"
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        p.write_bytes(data)
        info[p.name] = hashlib.sha256(data).hexdigest()
    (d / "info.json").write_text(json.dumps(info))


def geometry_cases(out: Path) -> None:
    from edgekit.preprocess import geometry as g

    rng = np.random.default_rng(3)
    cases = []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 2000, 2))
        t, th, tw = (int(v) for v in rng.integers(1, 700, 3))
        cases.append({"fn": "shorter_side", "args": [h, w, t], "out": list(g.shorter_side(h, w, t))})
        cases.append({"fn": "letterbox", "args": [h, w, th, tw], "out": list(g.letterbox(h, w, th, tw))})
        ch, cw = min(h, th), min(w, tw)
        cases.append({"fn": "center_crop", "args": [h, w, ch, cw], "out": list(g.center_crop(h, w, ch, cw))})
    for h, w in [(1, 1), (1, 1000), (1000, 1), (300, 451), (451, 300), (256, 256)]:
        cases.append({"fn": "shorter_side", "args": [h, w, 256], "out": list(g.shorter_side(h, w, 256))})
        cases.append({"fn": "letterbox", "args": [h, w, 224, 320], "out": list(g.letterbox(h, w, 224, 320))})
    (out / "geometry.json").write_text(json.dumps(cases))


def preprocess_cases(out: Path) -> None:
    import skimage

    from edgekit.preprocess import imagenet_spec, mnist_spec, run
    from edgekit.preprocess.spec import PreprocessSpec

    d = out / "preprocess"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    chelsea = Path(skimage.__file__).parent / "data" / "chelsea.png"
    images = {
        "chelsea.png": chelsea.read_bytes(),
        "color_37x53.png": cv2.imencode(".png", rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))[
            1
        ].tobytes(),
        "gray_61x40.png": cv2.imencode(".png", rng.integers(0, 256, (61, 40), dtype=np.uint8))[1].tobytes(),
        "chelsea_q90.jpg": cv2.imencode(".jpg", cv2.imread(str(chelsea)), [cv2.IMWRITE_JPEG_QUALITY, 90])[
            1
        ].tobytes(),
        "rgba_20x30.png": cv2.imencode(".png", rng.integers(0, 256, (20, 30, 4), dtype=np.uint8))[
            1
        ].tobytes(),
        "color_9x7.bmp": cv2.imencode(".bmp", rng.integers(0, 256, (9, 7, 3), dtype=np.uint8))[1].tobytes(),
    }
    for name, data in images.items():
        (d / name).write_bytes(data)

    def S(steps: list[dict]) -> PreprocessSpec:  # noqa: N802
        return PreprocessSpec.model_validate({"steps": steps})

    specs = {
        "imagenet": imagenet_spec(),
        "mnist": mnist_spec(),
        "letterbox_nhwc": S(
            [
                {"op": "decode"},
                {"op": "resize", "mode": "letterbox", "size": [96, 128], "pad_value": 114},
                {"op": "to_float", "scale": 1 / 255},
                {"op": "layout", "to": "NHWC"},
            ]
        ),
        "nearest_gray": S(
            [
                {"op": "decode"},
                {"op": "cvt_color", "code": "BGR2GRAY"},
                {"op": "resize", "size": [50, 33], "interpolation": "nearest"},
                {"op": "to_float", "scale": 0.5},
                {"op": "normalize", "mean": [100.0], "std": [3.3]},
                {"op": "layout"},
            ]
        ),
        "exact_crop": S(
            [
                {"op": "decode"},
                {"op": "resize", "mode": "shorter_side", "size": [40], "interpolation": "linear_exact"},
                {"op": "center_crop", "size": [32, 32]},
                {"op": "cvt_color", "code": "BGR2RGB"},
                {"op": "to_float", "scale": 0.00392156862745098},
                {"op": "normalize", "mean": [0.5, 0.25, 0.125], "std": [0.1, 0.2, 0.3]},
                {"op": "layout"},
            ]
        ),
        "gray_to_rgb": S(
            [
                {"op": "decode", "color": "gray"},
                {"op": "cvt_color", "code": "GRAY2RGB"},
                {"op": "resize", "size": [64, 64], "interpolation": "area"},
                {"op": "to_float"},
                {"op": "normalize", "mean": [0.2], "std": [0.7]},
                {"op": "layout"},
            ]
        ),
        # Runtime errors both sides must raise: a crop larger than the image, a mean per channel mismatch.
        "crop_too_big": S(
            [{"op": "decode"}, {"op": "center_crop", "size": [40, 40]}, {"op": "to_float"}, {"op": "layout"}]
        ),
        "bad_mean": S(
            [
                {"op": "decode"},
                {"op": "resize", "size": [8, 8]},
                {"op": "to_float"},
                {"op": "normalize", "mean": [0.1, 0.2], "std": [1.0, 2.0]},
                {"op": "layout"},
            ]
        ),
    }
    cases = []
    for sname, spec in specs.items():
        for iname in images:
            case = f"{sname}__{iname.replace('.', '_')}"
            try:
                _, stages = run(spec, images[iname], collect=True)
            except Exception as exc:  # noqa: BLE001 - recorded: the C++ side must fail the same way
                cases.append({"case": case, "spec": spec.to_json_obj(), "image": iname, "error": str(exc)})
                continue
            cd = d / case
            cd.mkdir(exist_ok=True)
            for st in stages:
                np.save(cd / f"{st.name}.npy", st.tensor)
            entry = {
                "case": case,
                "spec": spec.to_json_obj(),
                "image": iname,
                "stages": [st.name for st in stages],
            }
            cases.append(entry)
    (d / "cases.json").write_text(json.dumps(cases, indent=1))


def bundle_case(out: Path) -> None:
    """A minimal real bundle written by edgekit.bundle (manifest, sha256 list) around a tiny ONNX model."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from edgekit import bundle as B
    from edgekit.preprocess import mnist_spec

    root = out / "bundle"
    root.mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((784, 10)).astype(np.float32) * 0.05
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.tobytes(), raw=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, root / "models" / "tiny.onnx")
    (root / "labels.txt").write_text("\n".join(f"digit {i}" for i in range(10)) + "\n")
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.save(out / "bundle_input.npy", x)
    sess = ort.InferenceSession(str(root / "models" / "tiny.onnx"), providers=["CPUExecutionProvider"])
    np.save(out / "bundle_output.npy", sess.run(None, {"input": x})[0])
    m = B.Manifest(
        name="gtest",
        device="cpu",
        input=B.InputInfo(name="input", shape=[-1, 1, 28, 28]),
        outputs=[B.TensorInfo(name="logits", shape=[-1, 10])],
        preprocess=mnist_spec(),
        models=[
            B.ModelEntry(id="tiny_fp32", file="models/tiny.onnx", precision="fp32", role="student", opset=17)
        ],
        default_model="tiny_fp32",
        extra={"tensorrt": {"engines": {"tiny_fp32": {"file": "engines/tiny.engine"}}}},
    )
    B.write_manifest(root, m)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    npy_cases(out)
    sha_cases(out)
    geometry_cases(out)
    preprocess_cases(out)
    bundle_case(out)
    (out / "READY").write_text("ok\n")


if __name__ == "__main__":
    main()
