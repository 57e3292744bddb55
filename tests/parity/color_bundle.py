"""A second small fixture bundle for parity: the imagenet-style spec (BGR decode → RGB, shorter-side linear
resize, centre crop, 1/255, mean/std, NCHW) on real photographs (scikit-image, written as JPEG), a tiny
3-channel CNN with global pooling (so a changed input size still runs), FP32 ONNX, and an INT8 Q/DQ ONNX
exported from a plain-PyTorch fake-quant copy (TensorRT flavour: symmetric, per-channel weights).

    python -m tests.parity.color_bundle OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PHOTOS = ["chelsea", "coffee", "astronaut", "rocket", "hubble_deep_field", "immunohistochemistry"]
LABELS = ["cat", "cup", "person", "rocket", "sky", "tissue"]


def _net():  # type: ignore[no-untyped-def]
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, len(LABELS)),
    )


def _fake_quant_copy(net, calib):  # type: ignore[no-untyped-def]
    """Symmetric INT8 fake-quant: per-channel weights, per-tensor activations (max calibration)."""
    import copy

    import torch
    import torch.nn as nn

    class FQ(nn.Module):
        def __init__(self, layer: nn.Module, act_scale: float) -> None:
            super().__init__()
            self.layer = layer
            self.act_scale = act_scale
            w = layer.weight.detach()
            s = w.abs().flatten(1).amax(1).clamp_min(1e-8) / 127.0
            self.register_buffer("w_scale", s.float())
            self.register_buffer("w_zero", torch.zeros_like(s, dtype=torch.int32))

        def forward(self, x):  # type: ignore[no-untyped-def]
            x = torch.fake_quantize_per_tensor_affine(x, self.act_scale, 0, -128, 127)
            w = torch.fake_quantize_per_channel_affine(
                self.layer.weight, self.w_scale, self.w_zero, 0, -128, 127
            )
            if isinstance(self.layer, nn.Conv2d):
                return nn.functional.conv2d(x, w, self.layer.bias, self.layer.stride, self.layer.padding)
            return nn.functional.linear(x, w, self.layer.bias)

    fq = copy.deepcopy(net)
    maxes: dict[int, float] = {}
    hooks = [
        m.register_forward_pre_hook(
            lambda m, a, i=i: maxes.__setitem__(i, max(maxes.get(i, 0.0), float(a[0].abs().max())))
        )
        for i, m in enumerate(fq)
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.no_grad():
        fq(calib)
    for h in hooks:
        h.remove()
    for i, m in list(enumerate(fq)):
        if isinstance(m, nn.Conv2d | nn.Linear):
            fq[i] = FQ(m, maxes[i] / 127.0)
    return fq.eval()


def make_color_bundle(out: Path, seed: int = 0) -> Path:
    import skimage.data
    import torch

    from edgekit import bundle as B
    from edgekit.parity.reference import write_reference
    from edgekit.preprocess import imagenet_spec, run_batch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    spec = imagenet_spec(size=32, resize_to=40)
    net = _net().eval()
    with torch.no_grad():
        net[-1].weight.mul_(8.0)  # spread the logits so top-1 is not decided by rounding
    with B.staging(out) as root:
        for d in ("models", "golden", "reference"):
            (root / d).mkdir()
        golden = []
        for k, name in enumerate(PHOTOS):
            rgb = getattr(skimage.data, name)()
            cv2.imwrite(
                str(root / "golden" / f"{name}.jpg"),
                cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90],
            )
            golden.append(B.GoldenItem(name=name, input=f"golden/{name}.jpg", label=k))
        x = torch.from_numpy(run_batch(spec, [root / g.input for g in golden]))
        fq = _fake_quant_copy(net, x)
        kw = dict(
            input_names=["input"],
            output_names=["logits"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
        torch.onnx.export(net, x[:1], str(root / "models" / "student_fp32.onnx"), **kw)
        torch.onnx.export(fq, x[:1], str(root / "models" / "student_int8_qdq.onnx"), **kw)
        (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
        m = B.Manifest(
            name="tiny-color",
            device="cpu",
            input=B.InputInfo(name="input", shape=[-1, 3, 32, 32], layout="NCHW"),
            outputs=[B.TensorInfo(name="logits", shape=[-1, len(LABELS)])],
            preprocess=spec,
            models=[
                B.ModelEntry(
                    id="student_fp32",
                    file="models/student_fp32.onnx",
                    precision="fp32",
                    role="student",
                    opset=17,
                ),
                B.ModelEntry(
                    id="student_int8_qdq",
                    file="models/student_int8_qdq.onnx",
                    precision="int8",
                    role="student",
                    int8_flavour="trt_qdq",
                    opset=17,
                ),
            ],
            default_model="student_fp32",
            golden=golden,
            postprocess=B.PostprocessInfo(top_k=3),
        )
        torch.export.save(torch.export.export(net, (x[:1],)), str(root / "reference" / "student_fp32.pt2"))
        with torch.no_grad():  # fake-quant: TorchScript, as the build does
            torch.jit.save(torch.jit.trace(fq, x[:1]), str(root / "reference" / "student_int8_qdq.ts"))
        write_reference(root, m, {"student_fp32": net, "student_int8_qdq": fq})
        B.write_manifest(root, m)
    return out


if __name__ == "__main__":
    print(make_color_bundle(Path(sys.argv[1])))
