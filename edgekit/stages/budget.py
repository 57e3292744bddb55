"""Compress to a latency budget: choose the pruning ratio by searching with the calibrated estimate.

``search(model, example, profile, target_ms, prune, evaluate)`` tries pruning ratios on copies of ``model``
(the user's model is never modified): ratio 0 first (already within budget: no pruning), then the largest
allowed ratio (if even that misses, the budget is unreachable and the result names the lowest reachable
figure), then bisection for the smallest ratio whose *deployed* model (exported to ONNX, estimated on the
build's device) meets the budget: the least pruning, so the most accuracy kept. Channel counts are rounded to
``round_to`` (the profile's ``channel_round``) by the prune callback; every step records ratio, rounding,
estimated latency against the budget and accuracy (before fine-tuning), and on ``cpu`` the measured latency
(ONNX Runtime in a separate process). On ``cpu`` the estimate is the roofline mapped through this host's
measured latencies of the unpruned and the most-pruned model (fixed cost + slope x roofline, "host-
calibrated"); on a Jetson it is the calibrated estimate
of edgekit.bench.calibrated on the profile's GPU (or ``unit``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from edgekit.profiles import DeviceProfile


@dataclass(frozen=True)
class BudgetStep:
    ratio: float
    round_to: int
    estimate_ms: float
    meets: bool
    accuracy: float | None
    measured_ms: float | None = None
    macs: int | None = None


@dataclass
class BudgetResult:
    target_ms: float
    device: str
    unit: str
    precision: str
    estimator: str
    steps: list[BudgetStep] = field(default_factory=list)
    ratio: float | None = None  # the chosen ratio; None when the budget is unreachable
    lowest_ms: float | None = None  # the lowest estimate reached by any step
    message: str = ""

    @property
    def met(self) -> bool:
        return self.ratio is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["met"] = self.met
        return d

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self.to_dict()


def _export(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    import warnings

    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example[:1],),
            str(path),
            input_names=["input"],
            opset_version=17,
            dynamo=False,
            do_constant_folding=True,
        )
    return path


def measure_ms(onnx_path: Path, sample_shape: list[int], iters: int = 300, threads: int = 1) -> float:
    """Median ONNX Runtime latency (ms) of one batch-1 run, timed in a separate process."""
    job = {
        "runtime": "ort",
        "model_path": str(onnx_path),
        "batch": 1,
        "sample_shape": sample_shape,
        "threads": threads,
        "warmup": 30,
        "iters": iters,
    }
    out = subprocess.run(
        [sys.executable, "-m", "edgekit.bench.worker", json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("EDGEKIT_BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"latency measurement failed: {out.stderr.strip()[-300:]}")
    samples = sorted(json.loads(line[len("EDGEKIT_BENCH ") :])["samples_ms"])
    return float(samples[len(samples) // 2])


def make_estimator(
    profile: DeviceProfile, precision: str, unit: str | None = None
) -> tuple[Callable[[Path], float], str, str]:
    """(onnx -> estimated ms, unit, description) for the build's device."""
    if profile.kind == "cpu":
        from edgekit.bench.roofline import estimate

        return (
            lambda p: float(estimate(p, profile, precision)["targets"]["cpu"]["total_ms"]),
            "cpu",
            "roofline (cpu profile)",
        )
    from edgekit.bench.calibrated import estimate as calibrated

    u = unit or "gpu"

    def est(p: Path) -> float:
        r = calibrated(p, profile, precision, 1, u)
        if not r.get("available"):
            raise RuntimeError(f"no calibrated estimate: {r.get('why')}")
        return float(r["total_ms"])

    return est, u, "calibrated estimate (edgekit.bench.calibrated)"


def search(
    model: nn.Module,
    example: torch.Tensor,
    profile: DeviceProfile,
    target_ms: float,
    prune: Callable[[nn.Module, float], nn.Module],
    evaluate: Callable[[nn.Module], float] | None = None,
    *,
    precision: str = "fp32",
    unit: str | None = None,
    max_ratio: float = 0.75,  # torch-pruning stops pruning a layer near 0.8 with channel rounding
    iterations: int = 5,
    measure: bool | None = None,
    estimator: Callable[[Path], float] | None = None,
    progress: Callable[[BudgetStep], None] | None = None,
) -> tuple[BudgetResult, nn.Module]:
    """Search the pruning ratio for ``target_ms`` on ``profile``; returns the result and the pruned model
    (a copy; the unpruned copy when ratio 0 meets the budget or when the budget is unreachable)."""
    if target_ms <= 0:
        from edgekit.errors import ConfigError

        raise ConfigError(
            f"recipe.prune_target_ms {target_ms} must be > 0", "give the budget in milliseconds"
        )
    est, u, desc = (
        (estimator, "cpu" if profile.kind == "cpu" else unit or "gpu", "given")
        if estimator
        else make_estimator(profile, precision, unit)
    )
    do_measure = profile.kind == "cpu" if measure is None else measure
    sample_shape = list(example.shape[1:])
    res = BudgetResult(target_ms, profile.name, u, precision, desc)
    tried: dict[float, tuple[BudgetStep, nn.Module]] = {}
    raw_of: dict[float, float] = {}
    line = [0.0, 1.0]  # host calibration on cpu: estimate = line[0] + line[1] x roofline
    with tempfile.TemporaryDirectory(prefix="edgekit-budget-") as d:

        def recalibrate() -> None:
            """cpu: fit fixed + slope x roofline through the measured steps (1 point: slope only)."""
            pts = [(raw_of[s.ratio], s.measured_ms) for s in res.steps if s.measured_ms is not None]
            if estimator is not None or not pts:
                return
            if len(pts) == 1 or abs(pts[0][0] - pts[-1][0]) < 1e-12:
                line[:] = [0.0, pts[0][1] / pts[0][0] if pts[0][0] > 0 else 1.0]
            else:
                (r0, m0), (r1, m1) = pts[0], pts[-1]
                b = max((m0 - m1) / (r0 - r1), 0.0)
                line[:] = [m0 - b * r0, b]
            res.estimator = (f"{desc}, host-calibrated: {line[0]:.4f} ms + {line[1]:.2f} x roofline "
                             f"(through this host's measured unpruned and most-pruned models)")
            res.steps[:] = [dataclasses.replace(s, estimate_ms=line[0] + line[1] * raw_of[s.ratio],
                                                meets=line[0] + line[1] * raw_of[s.ratio] <= target_ms)
                            for s in res.steps]
            for s in res.steps:
                tried[s.ratio] = (s, tried[s.ratio][1])

        def step(ratio: float) -> BudgetStep:
            if ratio in tried:
                return tried[ratio][0]
            m = copy.deepcopy(model).eval()
            if ratio > 0:
                m = prune(m, ratio).eval()
            path = _export(m, example, Path(d) / f"r{ratio:.4f}.onnx")
            raw = est(path)
            raw_of[ratio] = raw
            measured = measure_ms(path, sample_shape) if do_measure else None
            e = line[0] + line[1] * raw
            from edgekit.stages.common import stats

            _, macs = stats(m, example[:1])
            s = BudgetStep(ratio, getattr(profile, "channel_round", 1), e, e <= target_ms,
                           evaluate(m) if evaluate else None, measured, int(macs))
            tried[ratio] = (s, m)
            res.steps.append(s)
            if do_measure and ratio in (0.0, max_ratio):
                recalibrate()
                s = tried[ratio][0]
            if progress:
                progress(s)
            return s

        s0 = step(0.0)
        if s0.meets:
            res.ratio, res.lowest_ms = 0.0, s0.estimate_ms
            res.message = f"unpruned model meets the budget: {s0.estimate_ms:.3f} ms <= {target_ms:g} ms"
            return res, tried[0.0][1]
        smax = step(max_ratio)
        if not smax.meets:
            best_step = min(res.steps, key=lambda s: s.estimate_ms)
            low = best_step.estimate_ms
            res.lowest_ms = low
            res.message = (
                f"budget {target_ms:g} ms is not reachable on {profile.name} ({u}): the lowest "
                f"estimate is {low:.3f} ms (pruning ratio {best_step.ratio:g}; ratios 0-{max_ratio:g} tried)"
            )
            return res, tried[0.0][1]
        lo, hi = 0.0, max_ratio
        for _ in range(iterations):
            mid = round((lo + hi) / 2, 4)
            if step(mid).meets:
                hi = mid
            else:
                lo = mid
        best = tried[hi][0]
        res.ratio, res.lowest_ms = hi, min(s.estimate_ms for s in res.steps)
        res.message = (
            f"pruning ratio {hi:g}: estimated {best.estimate_ms:.3f} ms <= budget {target_ms:g} ms"
            + (f" (measured {best.measured_ms:.3f} ms)" if best.measured_ms is not None else "")
        )
        return res, tried[hi][1]
