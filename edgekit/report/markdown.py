"""report.md: the short summary for a pull request. Same content as the HTML page, no figures."""

from __future__ import annotations

from typing import Any

from edgekit.report.content import ReportContent, parity_verdict


def _f(v: Any, spec: str = ".3f", scale: float = 1.0) -> str:
    return "-" if v is None else format(float(v) / scale, spec)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


def render_markdown(c: ReportContent) -> str:
    m = c.manifest
    out = [f"## edgekit build report — {m.name} ({m.device})", ""]
    out += _table(
        ["what", "status", "detail"], [[v.what, f"**{v.status}**", v.detail] for v in c.verification]
    )
    out += ["", "### Stages"]
    if c.stages:
        lat = c.latency_b1()
        out += _table(
            ["stage", "model", "accuracy", "MMACs", "ONNX MB", "p50 ms"],
            [
                [
                    str(s.get("stage")),
                    str(s.get("model_id") or "-"),
                    "-" if s.get("accuracy") is None else f"{100 * float(s['accuracy']):.2f} %",
                    _f(s.get("macs"), ".2f", 1e6),
                    _f(s.get("onnx_bytes"), ".2f", 1e6),
                    _f(lat.get(str(s.get("model_id")))),
                ]
                for s in c.stages
            ],
        )
    else:
        out.append("not run")
    out += ["", "### Measured latency (this host)"]
    if c.bench and c.bench.get("results"):
        b = c.bench
        multi = len({x.get("runtime") for x in b["results"]}) > 1
        out.append(
            f"{b.get('runtime')}, {b.get('threads')} thread(s), {b.get('iters')} runs, on "
            f"{b.get('host', {}).get('cpu', '?')}"
        )
        out.append("")
        out += _table(
            ["model", "precision", "batch", "p50 ms", "p99 ms", "img/s", "RSS MB", "est/meas"],
            [
                [
                    r["model_id"] + (f" [{r.get('runtime')}]" if multi else ""),
                    r["precision"],
                    str(r["batch"]),
                    _f(r["latency_ms"]["p50"]),
                    _f(r["latency_ms"]["p99"]),
                    _f(r["throughput_ips"], ",.0f"),
                    _f(r["peak_rss_mb"], ".0f"),
                    _f(r.get("estimate_over_measured"), ".2f"),
                ]
                for r in b["results"]
            ],
        )
        out.append("")
        for s in b.get("speedups", []):
            fast = f" (fastest run {s['speedup_min']:.2f}x)" if s.get("speedup_min") else ""
            out.append(
                f"- {s.get('runtime') or ''} {s['model_id']} vs {s['baseline']} at batch {s['batch']}: "
                f"**{s['speedup']:.2f}x** p50{fast}"
            )
    else:
        out.append("not run")
    out += ["", "### Latency estimate (roofline, not a measurement)"]
    if c.estimate and c.estimate.get("models"):
        rows = []
        versions: set[str] = set()
        for mid, e in c.estimate["models"].items():
            for unit, t in e.get("targets", {}).items():
                if t.get("available"):
                    cal = t.get("calibrated") or {}
                    if cal.get("available"):
                        versions.add(str(cal.get("calibration_version")))
                    rows.append(
                        [
                            mid,
                            unit.upper(),
                            t["precision"],
                            f"{t['total_ms']:.4f}",
                            f"{cal['total_ms']:.3f}" if cal.get("available") else "-",
                            cal.get("band_text", "-") if cal.get("available") else "-",
                            "-" if t.get("layers_on_gpu") is None else str(t["layers_on_gpu"]),
                        ]
                    )
        out.append(f"device {c.estimate.get('device')}, batch {c.estimate.get('batch')}")
        if versions:
            out.append(f"calibration set {', '.join(sorted(versions))} (band: leave-one-out "
                f"estimate/published "
                       "for that device and unit)")
        out.append("")
        out += _table(["model", "unit", "precision", "roofline ms", "calibrated ms", "error band (LOO)",
                       "layers on GPU"], rows)
    else:
        out.append("not run")
    out += ["", "### Parity"]
    if c.parity:
        for p in c.parity:
            out.append(
                f"- {p.get('runtime', '?')} ({p.get('where', '?')}), model {p.get('model', '?')}: "
                f"**{parity_verdict(p)}** "
                f"{p.get('summary', '')}"
            )
    else:
        out.append("not run")
    out += ["", "TensorRT / Jetson results: unverified here (no device, no TensorRT on the build host).", ""]
    return "\n".join(out)
