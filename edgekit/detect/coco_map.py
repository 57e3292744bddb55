"""COCO mAP of decoded detections against [N, max_boxes, 5] targets, by pycocotools (COCOeval, ``bbox``).

Both sides are in network-input pixels: the targets as the data engine gives them (rows class_id, x1, y1,
x2, y2, padded with class_id -1), the detections from ``edgekit.detect.postprocess.detect`` with
``coordinates: input``. Category ids are the output class channels + 1 (COCO ids start at 1). No ground-truth
box at all is an error (a metric over zero items), never a number.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from edgekit.detect.postprocess import Detection
from edgekit.errors import EdgekitError


def coco_map(dets: Sequence[Sequence[Detection]], target: np.ndarray, n_classes: int,
             image_hw: tuple[int, int], skip_class0: bool = False) -> dict[str, float]:
    """{"map50_95", "map50"} of ``dets`` (one list per image) against ``target`` [N, M, 5]."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    t = np.asarray(target, dtype=np.float64)
    if t.ndim != 3 or t.shape[-1] != 5 or len(t) != len(dets):
        raise ValueError(f"targets of shape {list(t.shape)} do not fit {len(dets)} images of detections")
    h, w = image_hw
    first = 1 if skip_class0 else 0
    images = [{"id": i + 1, "width": int(w), "height": int(h)} for i in range(len(t))]
    anns: list[dict[str, object]] = []
    for i, rows in enumerate(t):
        for c, x1, y1, x2, y2 in rows:
            if c < first or c >= n_classes or x2 <= x1 or y2 <= y1:
                continue
            bw, bh = x2 - x1, y2 - y1
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                         "bbox": [float(x1), float(y1), float(bw), float(bh)], "area": float(bw * bh),
                         "iscrowd": 0})
    if not anns:
        raise EdgekitError("the held-out split has no ground-truth box: mAP is undefined",
                           "give the val split images with boxes")
    res = [{"image_id": i + 1, "category_id": d.class_id + 1,
            "bbox": [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]], "score": d.score}
           for i, row in enumerate(dets) for d in row if d.class_id >= first]
    if not res:
        return {"map50_95": 0.0, "map50": 0.0}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": c + 1, "name": str(c)} for c in range(first, n_classes)]}
        gt.createIndex()
        dt = gt.loadRes(res)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    m, m50 = float(ev.stats[0]), float(ev.stats[1])
    return {"map50_95": round(max(m, 0.0), 6), "map50": round(max(m50, 0.0), 6)}
