"""Compatibility re-exports: the six post-export stages that lived here are one module per stage now
(dla_translate, trt_check, trt_plan, dla_verify, parity_reference, bench_estimate; shared helpers in
results)."""

from __future__ import annotations

from edgekit.stages.bench_estimate import bench_estimate
from edgekit.stages.dla_translate import dla_translate
from edgekit.stages.dla_verify import dla_verify
from edgekit.stages.parity_reference import parity_reference
from edgekit.stages.results import DLA_MODEL_ID, _jsonable, _results
from edgekit.stages.trt_check import trt_check
from edgekit.stages.trt_plan import trt_plan

__all__ = ["DLA_MODEL_ID", "_jsonable", "_results", "bench_estimate", "dla_translate", "dla_verify",
           "parity_reference", "trt_check", "trt_plan"]
