"""Fixtures for the end-to-end tests of the C++ runtime binaries (built by tools/setup.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgekit import runtime_cpp

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
SKIMAGE_DATA = Path(__import__("skimage").__file__).parent / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for it in items:
        if "tests/cpp/" in str(it.fspath):
            it.add_marker(pytest.mark.cpp)


@pytest.fixture(scope="session")
def infer_bin() -> Path:
    if not runtime_cpp.is_built():
        pytest.skip("the C++ runtime is not built: run tools/setup.sh")
    return runtime_cpp.find_binary("edgekit-infer")


@pytest.fixture(scope="session")
def bench_bin(infer_bin: Path) -> Path:
    return runtime_cpp.find_binary("edgekit-bench")


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures.tiny_bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("cpp") / "tiny")


def _imagenet_style_model(path: Path, classes: int = 5) -> None:
    """A small real ONNX classifier on 1x3x224x224: conv 3->4 (stride 4), ReLU, global pool, matmul."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(7)
    wc = (rng.standard_normal((4, 3, 4, 4)) * 0.3).astype(np.float32)
    wf = rng.standard_normal((4, classes)).astype(np.float32)
    inits = [
        helper.make_tensor("wc", TensorProto.FLOAT, wc.shape, wc.tobytes(), raw=True),
        helper.make_tensor("wf", TensorProto.FLOAT, wf.shape, wf.tobytes(), raw=True),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "wc"], ["c"], strides=[4, 4]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "wf"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "imagenet_style",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture(scope="session")
def imagenet_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with the imagenet spec (BGR2RGB, shorter side 256, crop 224, normalize) and skimage photos."""
    from edgekit import bundle as B
    from edgekit.preprocess import imagenet_spec

    out = tmp_path_factory.mktemp("cpp") / "imagenet"
    with B.staging(out) as root:
        (root / "models").mkdir()
        (root / "golden").mkdir()
        _imagenet_style_model(root / "models" / "tiny_fp32.onnx")
        golden = []
        for name in ("chelsea.png", "coffee.png", "camera.png"):  # camera.png is a gray PNG
            shutil.copy(SKIMAGE_DATA / name, root / "golden" / name)
            golden.append(B.GoldenItem(name=Path(name).stem, input=f"golden/{name}"))
        (root / "labels.txt").write_text("cat\ncoffee\nman\ntree\nsky\n")
        m = B.Manifest(
            name="imagenet-style",
            device="cpu",
            input=B.InputInfo(name="input", shape=[-1, 3, 224, 224]),
            outputs=[B.TensorInfo(name="logits", shape=[-1, 5])],
            preprocess=imagenet_spec(),
            postprocess=B.PostprocessInfo(top_k=3),
            models=[
                B.ModelEntry(
                    id="tiny_fp32", file="models/tiny_fp32.onnx", precision="fp32", role="student", opset=17
                )
            ],
            default_model="tiny_fp32",
            golden=golden,
        )
        B.write_manifest(root, m)
    return out


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str


def run_bin(binary: Path, *args: str | Path, env: dict[str, str] | None = None) -> Result:
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(
        [str(binary), *map(str, args)], capture_output=True, text=True, timeout=300, env=e, check=False
    )
    return Result(p.returncode, p.stdout, p.stderr)


def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
