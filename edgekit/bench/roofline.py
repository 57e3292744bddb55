"""Latency estimate without the device: a roofline per layer.

For each layer (see :mod:`edgekit.bench.macs`): time = max(2 x MACs / peak, bytes / bandwidth) + a fixed
per-layer overhead, summed over the layers plus a per-run overhead. Peaks and bandwidth come from the device
profile (``profile.peak.for_precision``, ``profile.memory.bandwidth_gbps``). On a profile with DLA cores the
DLA is estimated too, with the layer placement from ``edgekit.trt.check.check_model`` when that module is
importable, or from a placement mapping passed in; layers the placement keeps on the GPU run at GPU speed and
every DLA<->GPU boundary costs a transition. The numbers are a model, not a measurement: every estimate
carries its assumptions, and ``edgekit bench`` on the ``cpu`` profile reports estimate / measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgekit.bench.macs import GraphCost, LayerCost, count_model
from edgekit.errors import InputError
from edgekit.profiles import DeviceProfile

# Fixed costs (microseconds). Stated, not measured on a Jetson: unverified here.
LAYER_OVERHEAD_US = {"cpu": 2.0, "gpu": 5.0, "dla": 20.0}
RUN_OVERHEAD_US = {"cpu": 10.0, "gpu": 30.0, "dla": 50.0}
TRANSITION_US = 100.0  # one DLA <-> GPU hand-over (reformat + sync)


def _unit_peak(profile: DeviceProfile, unit: str, precision: str) -> tuple[float | None, str]:
    """Peak in G(FL)OP/s for ``unit`` at ``precision``; DLA has no fp32, so fp32 runs there as fp16."""
    if unit == "dla":
        prec = "fp16" if precision == "fp32" else precision
        return profile.peak.for_precision(prec, dla=True), prec  # type: ignore[arg-type]
    return profile.peak.for_precision(precision), precision  # type: ignore[arg-type]


def _layer_time(layer: LayerCost, peak_gops: float, bw_gbps: float, unit: str) -> dict[str, Any]:
    compute_ms = 2.0 * layer.macs / (peak_gops * 1e9) * 1e3
    memory_ms = layer.bytes / (bw_gbps * 1e9) * 1e3
    overhead_ms = LAYER_OVERHEAD_US[unit] / 1e3
    bound = "compute" if compute_ms >= memory_ms else "memory"
    if overhead_ms > max(compute_ms, memory_ms):
        bound = "overhead"
    return {
        "name": layer.name,
        "op": layer.op,
        "fused": layer.fused,
        "unit": unit,
        "macs": layer.macs,
        "bytes": layer.bytes,
        "compute_ms": compute_ms,
        "memory_ms": memory_ms,
        "overhead_ms": overhead_ms,
        "ms": max(compute_ms, memory_ms) + overhead_ms,
        "bound": bound,
    }


def placement_from_check(
    onnx_path: Path, profile: DeviceProfile, precision: str = "int8"
) -> tuple[dict[str, str] | None, str]:
    """Ask the TensorRT engineer's checker for the per-layer placement, if it is installed.

    Returns ``(mapping node name -> "DLA"|"GPU", source)``; ``(None, why)`` when unavailable."""
    try:
        from edgekit.trt.check import check_model  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None, "edgekit.trt.check not available"
    try:
        dla_prec = "fp16" if precision == "fp32" else precision
        try:
            report = check_model(onnx_path, profile, precision=dla_prec, use_dla=True)
        except TypeError:  # an older signature
            report = check_model(onnx_path, profile)
        layers = getattr(report, "layers", None)
        if layers is None and isinstance(report, Mapping):
            layers = report.get("layers")
        return normalize_placement(layers or []), "edgekit.trt.check.check_model"
    except Exception as exc:  # the checker is someone else's code: degrade to "unknown", say why
        return None, f"edgekit.trt.check.check_model failed: {type(exc).__name__}: {exc}"


def normalize_placement(layers: Any) -> dict[str, str]:
    """Accept ``{name: unit}`` or a list of objects/dicts with a name and a unit field; return
    ``{name: "DLA"|"GPU"}``."""
    if isinstance(layers, Mapping):
        items = list(layers.items())
    else:
        items = []
        for item in layers:
            get = item.get if isinstance(item, Mapping) else lambda k, d=None, it=item: getattr(it, k, d)
            name = get("node") or get("name")
            unit = None
            for key in ("where", "placement", "device", "unit", "target", "runs_on"):
                unit = get(key)
                if unit is not None:
                    break
            if unit is None and get("dla") is not None:
                unit = "DLA" if get("dla") else "GPU"
            if name is not None and unit is not None:
                items.append((str(name), unit))
    return {k: ("DLA" if "dla" in str(v).lower() else "GPU") for k, v in items}


def _target(
    cost: GraphCost, profile: DeviceProfile, unit: str, precision: str, placement: Mapping[str, str] | None
) -> dict[str, Any]:
    peak, prec = _unit_peak(profile, unit, precision)
    bw = profile.memory.bandwidth_gbps
    gpu_peak, _ = _unit_peak(profile, "gpu", precision) if unit == "dla" else (peak, prec)
    if peak is None:
        return {
            "unit": unit,
            "available": False,
            "why": f"profile {profile.name} has no {unit} peak for {prec}",
        }
    rows = []
    transitions = 0
    prev_unit = None
    for layer in cost.layers:
        where = unit
        if unit == "dla" and placement is not None:
            names = layer.nodes or [layer.name]
            where = "dla" if placement.get(names[0], "DLA") == "DLA" else "gpu"
        if where == "gpu" and unit == "dla" and gpu_peak is None:
            return {"unit": unit, "available": False, "why": f"no GPU peak for {prec} to run fallback layers"}
        row = _layer_time(layer, peak if where == unit else gpu_peak, bw, where)  # type: ignore[arg-type]
        if prev_unit is not None and where != prev_unit:
            transitions += 1
        prev_unit = where
        rows.append(row)
    run_ms = RUN_OVERHEAD_US[unit] / 1e3
    trans_ms = transitions * TRANSITION_US / 1e3
    total = sum(r["ms"] for r in rows) + run_ms + trans_ms
    return {
        "unit": unit,
        "available": True,
        "precision": prec,
        "peak_gops": peak,
        "bandwidth_gbps": bw,
        "total_ms": total,
        "run_overhead_ms": run_ms,
        "transitions": transitions,
        "transition_ms": trans_ms,
        "layers": rows,
        "layers_on_gpu": sum(1 for r in rows if r["unit"] == "gpu") if unit == "dla" else None,
    }


def estimate(
    onnx_path: str | Path,
    profile: DeviceProfile,
    precision: str,
    batch: int = 1,
    placement: Mapping[str, str] | None = None,
    cost: GraphCost | None = None,
    peaks_source: str | None = None,
) -> dict[str, Any]:
    """Roofline latency of one ONNX model on ``profile`` at ``precision`` and ``batch``.

    ``placement`` maps ONNX node names to "DLA"/"GPU"; without it the TensorRT checker is asked when
    importable, else every layer is assumed to run on the DLA (stated in the assumptions)."""
    onnx_path = Path(onnx_path)
    if precision not in ("fp32", "fp16", "int8"):
        raise InputError(f"unknown precision '{precision}'", "use fp32, fp16 or int8")
    cost = cost or count_model(onnx_path, batch=batch, precision=precision)
    units = ["cpu"] if profile.kind == "cpu" else ["gpu"] + (["dla"] if profile.has_dla else [])
    assumptions = [
        "latency per layer = max(2*MACs/peak, bytes/bandwidth) + per-layer overhead; total adds a per-run "
        "overhead",
        "per-layer overhead (us): "
        + ", ".join(f"{u} {LAYER_OVERHEAD_US[u]:g}" for u in units)
        + "; per-run (us): "
        + ", ".join(f"{u} {RUN_OVERHEAD_US[u]:g}" for u in units),
        "bytes = weights + activations in + out at the precision's element size; "
        "Conv+BN+activation+residual Add fused; Q/DQ and shape nodes free",
        (f"peaks {peaks_source}" if peaks_source else f"peaks from device_configs/{profile.name}.yaml")
        + (f" (unconfirmed: {', '.join(profile.unconfirmed)})" if profile.unconfirmed else ""),
    ]
    place_source = None
    if "dla" in units:
        if placement is not None:
            place_source = "given"
        else:
            placement, place_source = placement_from_check(onnx_path, profile, precision)
        if placement is None:
            assumptions.append(f"DLA placement unknown ({place_source}): every layer assumed on the DLA")
            place_source = f"assumed all-DLA ({place_source})"
        assumptions.append(
            f"DLA<->GPU transition: {TRANSITION_US:g} us each; DLA has no fp32 (runs fp16); "
            "layers the placement does not name are assumed on the DLA"
        )
    if profile.kind == "jetson":
        assumptions.append("Jetson numbers are a model only: unverified here (no device, no TensorRT)")
    targets = {u: _target(cost, profile, u, precision, placement) for u in units}
    if profile.kind == "jetson":
        from edgekit.bench.calibrated import estimate as calibrated

        for u, tg in targets.items():
            if not tg.get("available"):
                continue
            try:
                tg["calibrated"] = calibrated(onnx_path, profile, precision, batch, u,
                                              placement if u == "dla" else None)
            except Exception as exc:  # never invent a figure: say why there is none
                tg["calibrated"] = {"available": False, "why": f"{type(exc).__name__}: {exc}"}
        assumptions.append(
            "calibrated figure: roofline + fitted per-kind efficiencies, per-device factors, "
            "per-layer/per-run "
            "and GPU<->DLA hand-over costs, fitted on NVIDIA-published points only "
            "(edgekit/bench/calibration); the band beside it is the leave-one-out estimate/published range"
        )
    return {
        "model": onnx_path.name,
        "device": profile.name,
        "precision": precision,
        "batch": batch,
        "macs": cost.macs,
        "bytes": cost.bytes,
        "weight_bytes": cost.weight_bytes,
        "placement_source": place_source,
        "placement": dict(placement) if placement else None,
        "assumptions": assumptions,
        "targets": targets,
    }


def estimate_bundle(
    bundle: Any, device: str | None = None, batch: int = 1, placement: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Roofline estimates of every model in a bundle on ``device`` (default: the bundle's device).

    Returns ``{"device", "batch", "models": {model_id: estimate(...)}}``; models that cannot be sized
    carry ``{"error": ...}`` instead of inventing a number."""
    from edgekit.errors import EdgekitError
    from edgekit.profiles import get_profile

    prof = get_profile(device or bundle.manifest.device)
    models: dict[str, Any] = {}
    for m in bundle.manifest.models:
        try:
            models[m.id] = estimate(bundle.path(m.file), prof, m.precision, batch, placement)
        except EdgekitError as exc:
            models[m.id] = {"error": str(exc)}
    return {"schema": "edgekit-estimate/1", "device": prof.name, "batch": batch, "models": models}
