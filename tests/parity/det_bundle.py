"""A small but real detection bundle for parity: real photographs (scikit-image, written as JPEG) through a
letterbox spec (BGR decode → RGB, letterbox 64x64 with grey padding, 1/255, NCHW), a tiny conv detector with
ONE output ``raw`` [N, 4 + C, 8, 8] (``edgekit_ltrb``, stride 8) exported to FP32 ONNX, a DetectionPostprocess
manifest, the PyTorch reference (torch.export) and the parity record written by edgekit's own reference code.
Built in a few seconds; not the `edgekit build` pipeline (the det-model engineer's detector comes from that).

The detector is a real conv net with set (not trained) weights, so its detections are meaningful and stable:
an 8x8/stride-8 conv averages each cell's R, G, B and brightness, a 1x1 conv head turns them into ltrb
distances (in strides) and three class logits: "red" (R above the mean of G and B), "blue" (B above R and G)
and "bright". On the photos it finds tens of boxes, most far above the 0.3 threshold, a few near it, and
overlapping neighbours that NMS suppresses — so thresholds, NMS, the box format, the letterbox inverse and the
class index all change what it reports.

    python -m tests.parity.det_bundle OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PHOTOS = ["chelsea", "coffee", "astronaut", "rocket", "camera"]  # camera: grey, 512x512
LABELS = ["red", "blue", "bright"]
SPEC = {
    "steps": [
        {"op": "decode"},
        {"op": "cvt_color", "code": "BGR2RGB"},
        {"op": "resize", "mode": "letterbox", "size": [64, 64], "interpolation": "linear", "pad_value": 114},
        {"op": "to_float"},
        {"op": "layout", "to": "NCHW"},
    ]
}


def tiny_detector():  # type: ignore[no-untyped-def]
    import torch
    import torch.nn as nn

    net = nn.Sequential(nn.Conv2d(3, 4, 8, stride=8), nn.ReLU(), nn.Conv2d(4, 4 + len(LABELS), 1))
    with torch.no_grad():
        w = torch.zeros(4, 3, 8, 8)
        for c in range(3):
            w[c, c] = 1.0 / 64.0  # per-cell mean of R, G, B
        w[3] = 1.0 / 192.0  # per-cell brightness
        net[0].weight.copy_(w)
        net[0].bias.zero_()
        h = torch.zeros(4 + len(LABELS), 4)
        b = torch.zeros(4 + len(LABELS))
        h[0, 0], h[1, 1], h[2, 2], h[3, 3] = 1.5, 1.2, 1.8, 1.0  # ltrb in strides grow with the colour
        b[:4] = torch.tensor([0.4, 0.5, 0.3, 0.6])
        h[4] = torch.tensor([30.0, -15.0, -15.0, 0.0])  # red: R - (G + B) / 2
        b[4] = -2.5
        h[5] = torch.tensor([-15.0, -15.0, 30.0, 0.0])  # blue: B - (R + G) / 2
        b[5] = -2.5
        h[6] = torch.tensor([0.0, 0.0, 0.0, 25.0])  # bright
        b[6] = -19.0
        net[2].weight.copy_(h[:, :, None, None])
        net[2].bias.copy_(b)
    return net.eval()


def make_det_bundle(out: Path) -> Path:
    import skimage.data
    import torch

    from edgekit import bundle as B
    from edgekit.parity.reference import write_reference
    from edgekit.preprocess import PreprocessSpec, run_batch

    torch.set_num_threads(1)
    spec = PreprocessSpec.model_validate(SPEC)
    net = tiny_detector()
    with B.staging(out) as root:
        for d in ("models", "golden", "reference"):
            (root / d).mkdir()
        golden = []
        for name in PHOTOS:
            img = getattr(skimage.data, name)()
            bgr = (
                cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
                if img.ndim == 2
                else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
            )
            cv2.imwrite(str(root / "golden" / f"{name}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
            golden.append(B.GoldenItem(name=name, input=f"golden/{name}.jpg"))
        x = torch.from_numpy(run_batch(spec, [root / g.input for g in golden]))
        torch.onnx.export(
            net, x[:1], str(root / "models" / "student_fp32.onnx"), input_names=["input"],
            output_names=["raw"], opset_version=13, dynamo=False,
            dynamic_axes={"input": {0: "N"}, "raw": {0: "N"}},
        )  # fmt: skip
        (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
        m = B.Manifest(
            name="tiny-detector",
            device="cpu",
            task="detection",
            input=B.InputInfo(name="input", shape=[-1, 3, 64, 64], layout="NCHW"),
            outputs=[B.TensorInfo(name="raw", shape=[-1, 4 + len(LABELS), 8, 8])],
            preprocess=spec,
            models=[
                B.ModelEntry(
                    id="student_fp32",
                    file="models/student_fp32.onnx",
                    precision="fp32",
                    role="student",
                    opset=13,
                )
            ],  # fmt: skip
            default_model="student_fp32",
            golden=golden,
            postprocess=B.DetectionPostprocess(stride=8, score_threshold=0.3, nms_iou=0.5, score_margin=0.05),
        )
        torch.export.save(torch.export.export(net, (x[:1],)), str(root / "reference" / "student_fp32.pt2"))
        write_reference(root, m, {"student_fp32": net})
        B.write_manifest(root, m)
    return out


if __name__ == "__main__":
    print(make_det_bundle(Path(sys.argv[1])))
