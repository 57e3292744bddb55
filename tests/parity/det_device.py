"""A stand-in for ``edgekit-infer`` on a DETECTION bundle, for the parity runner's C++ path until the C++
runtime interprets detection (the det-cpp engineer's branch): the same argv (``--bundle --input --model
--dump-stages --json``), the same dump layout (``DIR/<stem>/NN_op.npy``, ``output_<name>.npy``) and the same
fixed result line (``{"input", "model", "nonfinite", "image_size": [h, w], "detections": [{"box", "score",
"class_id", "label"}]}``), computed with edgekit's Python preprocessing, ONNX Runtime and detection
postprocess. ``bug`` injects one device-side defect the way a C++ implementation could get it wrong:

- ``none``: correct;
- ``xywh``: reports boxes as [x, y, w, h] instead of [x1, y1, x2, y2];
- ``no_inverse``: forgets the letterbox inverse (boxes in network-input pixels);
- ``class_plus_1``: reports class ids (and their labels) off by one;
- ``threshold_0.6``: applies score threshold 0.6 whatever the manifest says;
- ``nms_0.2``: applies NMS IoU 0.2 whatever the manifest says.

It never stands in for a C++ result in a claim: the tests that use it test parity's runner, comparison and
localization on the fixed output format; the real edgekit-infer is tested on its own (test_detection.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """#!{python}
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
import numpy as np
from edgekit import bundle as B
from edgekit.detect.postprocess import detect
from edgekit.parity import ort_session
from edgekit.preprocess import run as run_pre

BUG = {bug!r}
args = sys.argv[1:]
opt = lambda k: args[args.index(k) + 1] if k in args else None
b = B.load(opt("--bundle"))
m = b.manifest
entry = m.model(opt("--model"))
inp = Path(opt("--input"))
files = sorted(p for p in inp.iterdir() if p.suffix in (".jpg", ".png")) if inp.is_dir() else [inp]
sess = ort_session.session(b.model_path(entry.id))
labels = b.labels()
post = m.postprocess
if BUG == "no_inverse":
    post = post.model_copy(update={{"coordinates": "input"}})
elif BUG.startswith("threshold_"):
    post = post.model_copy(update={{"score_threshold": float(BUG.split("_")[1])}})
elif BUG.startswith("nms_"):
    post = post.model_copy(update={{"nms_iou": float(BUG.split("_")[1])}})
for f in files:
    final, stages = run_pre(m.preprocess, f, collect=True)
    d = Path(opt("--dump-stages")) / f.stem
    d.mkdir(parents=True, exist_ok=True)
    for s in stages:
        np.save(d / (s.name + ".npy"), s.tensor)
    outs = ort_session.run(sess, final, m.input.name)
    for k, v in outs.items():
        np.save(d / ("output_" + k + ".npy"), v)
    hw = [int(stages[0].tensor.shape[0]), int(stages[0].tensor.shape[1])]
    rows = [x.as_dict() for x in detect(outs[m.outputs[0].name], post, labels, m.preprocess, [hw])[0]]
    for r in rows:
        if BUG == "xywh":
            x1, y1, x2, y2 = r["box"]
            r["box"] = [x1, y1, x2 - x1, y2 - y1]
        elif BUG == "class_plus_1":
            r["class_id"] += 1
            r["label"] = labels[r["class_id"]] if r["class_id"] < len(labels) else ""
    print(json.dumps({{"input": str(f), "model": entry.id, "nonfinite": 0, "image_size": hw,
                      "detections": rows}}))
"""


def det_device(folder: Path, bug: str = "none") -> Path:
    """Write the stand-in ``edgekit-infer`` with ``bug`` into ``folder``; returns its path."""
    p = Path(folder) / f"edgekit-infer-det-{bug}"
    p.write_text(SCRIPT.format(python=sys.executable, repo=str(REPO), bug=bug))
    p.chmod(0o755)
    return p
