"""Calibration of the device-free latency estimate on NVIDIA-published Jetson figures.

- ``points.yaml``: the published points, each with its source and conditions (and the set's version);
- ``zoo.py``: the points' architectures in plain torch (rebuilt as ONNX graphs);
- ``features.py``: per-layer features (kind, unit, MACs, bytes) and GPU<->DLA hand-overs of an ONNX graph;
- ``features.json``: the committed features of every point (``python -m edgekit.bench.calibrate --rebuild``);
- ``model.py``: the calibrated latency model and its fit; ``calibration.json``: fitted parameters, the
  leave-one-out report and the error bands per device and unit.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
POINTS = HERE / "points.yaml"
FEATURES = HERE / "features.json"
CALIBRATION = HERE / "calibration.json"
