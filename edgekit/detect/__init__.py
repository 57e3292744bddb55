"""Detection postprocessing: decoding, NMS and the inverse geometry (edgekit/detect/postprocess.py)."""

from edgekit.detect.postprocess import Detection, decode, detect, iou, nms

__all__ = ["Detection", "decode", "detect", "iou", "nms"]
