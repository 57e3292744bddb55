"""Tolerances: per preprocessing step (exact where the toolchain rules make it exact) and per model
precision for the outputs. Every number is shown in the report next to the measured value.

Why these numbers (measured facts in device_configs/README.md, cpp_runtime/README.md):
- uint8 decode / cvt_color / crop and resize with linear, area, nearest, linear_exact are bit-identical
  between OpenCV builds and versions (4.6 C++ vs 4.14/5.0 Python): tolerance 0.
- uint8 cubic resize differs by ±1 between builds: tolerance 1 (kept for specs that allow it).
- ``to_float`` is ``x.astype(float32) * float32(scale)``, bit-exact with C++ ``convertTo``: tolerance 0.
- ``normalize`` may be computed as ``(x - m) / s`` or ``(x - m) * (1 / s)``: a few float32 ulp, 1e-5 absolute.
- outputs: FP32 runs of the same ONNX file agree to ~1e-6 (ORT C++ vs Python: identical; torch vs ORT on small
  nets ~1e-5), FP16 engines ~1e-3 relative, INT8 fake-quant vs ORT Q/DQ: max |d| ~0.02 on logits spanning 6.5.
  So error limits scale with the reference's magnitude and loosen with the precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STEP_ATOL: dict[str, float] = {
    "decode": 0.0,
    "cvt_color": 0.0,
    "center_crop": 0.0,
    "to_float": 0.0,
    "normalize": 1e-5,
    "layout": 1e-5,
}
RESIZE_ATOL = {"linear": 0.0, "area": 0.0, "nearest": 0.0, "linear_exact": 0.0, "cubic": 1.0}


def step_atol(op: str, step: dict | None = None) -> float:
    """Absolute tolerance for one preprocessing stage. ``layout`` after ``to_float`` without ``normalize``
    would be exact too, but 1e-5 is far below any real drift (smallest step 1/255 = 3.9e-3)."""
    if op == "resize":
        interp = (step or {}).get("interpolation", "linear")
        return RESIZE_ATOL.get(interp, 1.0)
    return STEP_ATOL.get(op, 1e-5)


@dataclass(frozen=True)
class OutputTolerance:
    precision: str
    rel_max_abs: float  # max |ref - got| <= rel_max_abs * max(1, max|ref|)
    min_cosine: float
    min_top1: float  # fraction of golden items whose top-1 index agrees
    min_topk: float  # mean overlap of the top-k index sets

    def max_abs_limit(self, ref_absmax: float) -> float:
        return self.rel_max_abs * max(1.0, ref_absmax)

    def to_dict(self) -> dict:
        return asdict(self)


OUTPUT_TOL: dict[str, OutputTolerance] = {
    "fp32": OutputTolerance("fp32", 1e-4, 0.99999, 1.0, 1.0),
    "fp16": OutputTolerance("fp16", 1e-2, 0.9995, 0.99, 0.95),
    "int8": OutputTolerance("int8", 5e-2, 0.995, 0.99, 0.9),
}


def output_tolerance(precision: str) -> OutputTolerance:
    return OUTPUT_TOL.get(precision, OUTPUT_TOL["int8"])


@dataclass(frozen=True)
class DetectionTolerance:
    """Box-by-box agreement of two detection lists (edgekit.parity.compare.detections): matched boxes
    (one-to-one, same class, greedy by score) must overlap with IoU >= ``min_iou`` and their scores agree
    within ``score_atol + score_rtol * |score|``. ``pair_iou``: the least IoU at which two boxes count as the
    same object at all (below it they are two unmatched detections)."""

    name: str
    min_iou: float
    score_atol: float
    score_rtol: float = 0.0
    pair_iou: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


# Given the SAME raw output, the C++ and the Python postprocess decode the same float32 boxes in the same
# order (edgekit/detect/postprocess.py, cpp_runtime/src/detect.cpp) and map them with the same float64
# affine: boxes agree to float32 rounding (IoU ~1 - 1e-6) and scores to float32 sigmoid rounding (~1e-7).
DET_SAME_OUTPUT = DetectionTolerance("same raw output", min_iou=0.99, score_atol=1e-6, score_rtol=1e-5)

# Against the training record the raw outputs differ within the precision's output tolerance L (max |d|):
# a sigmoid score moves by at most L/4 (sigmoid is 1/4-Lipschitz), a raw score by L; a box side moves by up
# to L * stride input pixels, so the IoU limit loosens with the precision.
DET_VS_RECORD_IOU = {"fp32": 0.99, "fp16": 0.95, "int8": 0.75}


def detection_tolerance_vs_record(precision: str, output_limit: float, sigmoid: bool) -> DetectionTolerance:
    """The tolerance of the side's detections against the training record's, for outputs that agree within
    ``output_limit`` (the precision's output max |d| limit)."""
    lip = 0.25 if sigmoid else 1.0
    return DetectionTolerance(
        f"vs training record ({precision})",
        min_iou=DET_VS_RECORD_IOU.get(precision, DET_VS_RECORD_IOU["int8"]),
        score_atol=lip * output_limit + 1e-6,
        score_rtol=1e-5,
    )
