"""The report's figures: matplotlib (Agg) PNGs as base64 for inlining; ``None`` = nothing to plot."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNIT_COLORS = {"dla": "#2a9d8f", "gpu": "#e76f51", "cpu": "#457b9d"}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def stages_plot(stages: Sequence[dict[str, Any]], latency_ms: dict[str, float]) -> str | None:
    """Accuracy against MACs, ONNX size and measured latency (batch 1), one point per stage."""
    pts = [s for s in stages if s.get("accuracy") is not None]
    if not pts:
        return None
    panels: list[tuple[str, str, float]] = [
        ("macs", "MMACs / image (build count)", 1e6),
        ("onnx_bytes", "ONNX size (MB)", 1e6),
    ]
    if any(s.get("model_id") in latency_ms for s in pts):
        panels.append(("latency", "p50 latency, batch 1 (ms)", 1.0))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.4 * len(panels), 3.6), squeeze=False, layout="constrained"
    )
    for ax, (key, label, scale) in zip(axes[0], panels, strict=False):
        path = [
            (float(v) / scale, 100 * float(s["accuracy"]))
            for s in pts
            if (v := (latency_ms.get(s.get("model_id", "")) if key == "latency" else s.get(key))) is not None
        ]
        if len(path) > 1:  # the build's trajectory, in stage order
            ax.plot([p[0] for p in path], [p[1] for p in path], color="#9ca3af", lw=0.8, zorder=0)
        for s in pts:
            v = latency_ms.get(s.get("model_id", "")) if key == "latency" else s.get(key)
            if v is None:
                continue
            ax.scatter(float(v) / scale, 100 * float(s["accuracy"]), s=40, color="#264653")
            ax.annotate(
                str(s["stage"]),
                (float(v) / scale, 100 * float(s["accuracy"])),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    fig.suptitle("Accuracy vs cost across the build stages", fontsize=10)
    return _png(fig)


def latency_histogram(rows: Sequence[dict[str, Any]]) -> str | None:
    """Per-run latency distribution at the smallest batch: every model of a one-runtime bench, or, when
    several runtimes were measured, the model measured by most runtimes (runtimes side by side).
    Log-spaced bins when the latencies span more than 20x."""
    if not rows:
        return None
    small = min(r["batch"] for r in rows)
    sel = [r for r in rows if r["batch"] == small and r.get("samples_ms")]
    if not sel:
        return None
    multi = len({r.get("runtime") for r in sel}) > 1
    if multi:
        counts: dict[str, int] = {}
        for r in sel:
            counts[r["model_id"]] = counts.get(r["model_id"], 0) + 1
        best = max(counts, key=lambda m: counts[m])
        sel = [r for r in sel if r["model_id"] == best]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    # clip the long tail (other processes on a shared host) so the body of the distribution is visible
    hi = max(1.25 * float(sorted(r["samples_ms"])[int(0.95 * (len(r["samples_ms"]) - 1))]) for r in sel)
    lo = min(min(r["samples_ms"]) for r in sel)
    log = hi > 20 * lo > 0
    if hi <= lo:
        bins: Any = 20
    elif log:
        bins = [lo * (hi / lo) ** (i / 60) for i in range(61)]
    else:
        bins = [lo + (hi - lo) * i / 50 for i in range(51)]
    for r in sel:
        name = f"{r['model_id']} [{r.get('runtime')}]" if multi else r["model_id"]
        ax.hist([min(s, hi) for s in r["samples_ms"]], bins=bins, alpha=0.55,
                label=f"{name} (p50 {r['latency_ms']['p50']:.3f} ms)")  # fmt: skip
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(f"latency per run, batch {small} (ms; tail clipped at 1.25 x the largest p95)")
    ax.set_ylabel("runs")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def placement_plot(layers: Sequence[dict[str, Any]], title: str) -> str | None:
    """Estimated time per layer, coloured by where it runs (DLA / GPU / CPU)."""
    if not layers:
        return None
    h = max(2.0, 0.22 * len(layers) + 1.0)
    fig, ax = plt.subplots(figsize=(7.5, min(h, 14)))
    names = [f"{r['name']} ({r['op']})" for r in layers]
    ys = list(range(len(layers)))[::-1]
    ax.barh(ys, [r["ms"] * 1e3 for r in layers], color=[UNIT_COLORS.get(r["unit"], "#999") for r in layers])
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("estimated time (us)")
    for unit, c in UNIT_COLORS.items():
        if any(r["unit"] == unit for r in layers):
            ax.barh([], [], color=c, label=unit.upper())
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)
