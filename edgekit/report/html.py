"""report.html: one self-contained page (inline CSS, figures as base64 PNG, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Any

from edgekit.report import plots
from edgekit.report.content import ReportContent, parity_verdict

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d2433}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 10px;border-bottom:1px solid #dde1e7;padding-bottom:6px}
h3{font-size:14px;margin:14px 0 6px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:16px 20px;margin:16px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0;width:100%}
th,td{border-bottom:1px solid #eceff3;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600}th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left}.muted{color:#6b7280;font-size:12px}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600}
.ok{background:#d1fae5;color:#065f46}.no{background:#fee2e2;color:#991b1b}.na{background:#e5e7eb;color:#374151}
.warn{background:#fef3c7;color:#92400e}.dla{color:#2a9d8f;font-weight:600}.gpu{color:#e76f51;font-weight:600}
.notrun{color:#6b7280;font-style:italic;padding:8px 0}img{max-width:100%;display:block;margin:8px 0}
ul{margin:4px 0 4px 18px;padding:0;font-size:13px}
"""

_STATUS_CLASS = {
    "verified here": "ok",
    "computed here": "warn",
    "not run": "na",
    "unverified here": "warn",
    "not verified": "no",
    "failed": "no",
}


def _f(v: Any, spec: str = ".3f", scale: float = 1.0) -> str:
    if v is None:
        return "-"
    try:
        return format(float(v) / scale, spec)
    except (TypeError, ValueError):
        return escape(str(v))


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{escape(h)}</th>' for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _img(b64: str | None, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">' if b64 else ""


def _not_run(what: str, how: str) -> str:
    return f'<p class="notrun">not run — {escape(what)}. {escape(how)}</p>'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def _verification(c: ReportContent) -> str:
    rows = [
        [
            escape(v.what),
            f'<span class="badge {_STATUS_CLASS.get(v.status, "na")}">{escape(v.status)}</span>',
            escape(v.detail),
        ]
        for v in c.verification
    ]
    return _table(["what", "status", "detail"], rows, left=3)


def _models(c: ReportContent) -> str:
    rows = []
    for m in c.manifest.models:
        f = c.manifest.files.get(m.file)
        size = f.size if f else (c.root / m.file).stat().st_size if (c.root / m.file).is_file() else None
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in m.metrics.items()) or "-"
        rows.append(
            [
                escape(m.id),
                escape(m.role),
                escape(m.precision),
                escape(m.int8_flavour or "-"),
                _f(size, ".2f", 1e6),
                escape(metrics),
            ]
        )
    return _table(["model", "role", "precision", "INT8 flavour", "ONNX MB", "metrics"], rows, left=4)


def _stages(c: ReportContent) -> str:
    if not c.stages:
        return _not_run(
            "no stage records in manifest.build.stages", "They are written by `edgekit build`."
        )
    lat = c.latency_b1()
    rows = []
    for s in c.stages:
        acc = s.get("accuracy")
        rows.append(
            [
                escape(str(s.get("stage"))),
                escape(str(s.get("model_id") or "-")),
                "-" if acc is None else f"{100 * float(acc):.2f} %",
                _f(s.get("params"), ",.0f"),
                _f(s.get("macs"), ".2f", 1e6),
                _f(s.get("onnx_bytes"), ".2f", 1e6),
                _f(lat.get(str(s.get("model_id")))),
                _f(s.get("seconds"), ".1f"),
            ]
        )
    note = '<p class="muted">latency: measured p50 at the smallest batch benchmarked ("-": not measured).</p>'
    return (
        _table(
            ["stage", "model", "accuracy", "params", "MMACs (build)", "ONNX MB", "p50 ms", "build s"],
            rows,
            left=2,
        )
        + note
        + _img(plots.stages_plot(c.stages, lat), "accuracy vs MACs, size and latency")
    )


def _comparison(b: dict[str, Any]) -> str:
    """C++ runtime vs Python ONNX Runtime vs PyTorch eager, per model and batch (p50 / fastest run)."""
    comp = b.get("runtime_comparison") or []
    if not comp:
        return ""
    rts = sorted({rt for c in comp for rt in c["p50_ms"]}, key=["cpp", "ort", "torch"].index)
    rows = [
        [escape(c["model_id"]), str(c["batch"])]
        + [f"{_f(c['p50_ms'].get(rt))} / {_f(c['min_ms'].get(rt))}" for rt in rts]
        for c in comp
    ]
    return "<h3>Runtimes compared (ms: p50 / fastest run)</h3>" + _table(["model", "batch", *rts], rows)


def _bench(c: ReportContent) -> str:
    b = c.bench
    if not b or not b.get("results"):
        return _not_run("no benchmark results", "Run `edgekit bench BUNDLE --report`.")
    host = b.get("host", {})
    peak = host.get("peak", {})
    head = (
        f'<p class="muted">runtime {escape(str(b.get("runtime")))}, {b.get("threads")} thread(s), '
        f"{b.get('warmup')} warm-up + {b.get('iters')} timed runs"
        + (f" x {b.get('rounds')} interleaved rounds" if (b.get("rounds") or 1) > 1 else "")
        + ", one process per measurement, on "
        f"{escape(str(host.get('cpu', '?')))} ({host.get('logical_cpus')} logical CPUs); host peak "
        f"{peak.get('fp32_gflops')} GFLOP/s fp32, {peak.get('int8_gops')} GOP/s int8 "
        f"({escape(str(peak.get('source', '')))}). Source: {escape(c.sources.get('bench', ''))}.</p>"
    )
    rows = []
    multi = len({r.get("runtime") for r in b["results"]}) > 1
    for r in b["results"]:
        lat = r["latency_ms"]
        frac = r.get("fraction_of_peak")
        rows.append(
            [
                escape(r["model_id"] + (f" [{r.get('runtime')}]" if multi else "")),
                escape(r["precision"] + (f"/{r['int8_flavour']}" if r.get("int8_flavour") else "")),
                str(r["batch"]),
                _f(lat.get("p50")),
                _f(lat.get("p90")),
                _f(lat.get("p99")),
                _f(r.get("throughput_ips"), ",.0f"),
                _f(r.get("peak_rss_mb"), ".0f"),
                _f(r.get("preprocess_ms")),
                _f(r.get("estimate_ms")),
                _f(r.get("estimate_over_measured"), ".2f"),
                "-" if frac is None else f"{100 * frac:.1f} %",
            ]
        )
    table = _table(
        [
            "model",
            "precision",
            "batch",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "img/s",
            "peak RSS MB",
            "preproc ms/img",
            "estimate ms",
            "est / meas",
            "of peak",
        ],
        rows,
        left=2,
    )
    sp = "".join(
        f"<li>{escape(str(s.get('runtime') or ''))} {escape(s['model_id'])} vs {escape(s['baseline'])} "
        f"at batch {s['batch']}: "
        f"<b>{s['speedup']:.2f}x</b> ({escape(s['kind'])}"
        + (f"; fastest run {s['speedup_min']:.2f}x" if s.get("speedup_min") else "")
        + ")</li>"
        for s in b.get("speedups", [])
    )
    skipped = "".join(
        f"<li>skipped {escape(s['model_id'])}: {escape(s['why'])}</li>" for s in b.get("skipped", [])
    )
    return (
        head
        + table
        + _comparison(b)
        + (f"<h3>Speed-ups (p50)</h3><ul>{sp}</ul>" if sp else "")
        + (f"<ul>{skipped}</ul>" if skipped else "")
        + "<h3>Latency histogram</h3>"
        + (
            _img(plots.latency_histogram(b["results"]), "latency histogram")
            or _not_run("no per-run samples", "")
        )
    )


def _estimate(c: ReportContent) -> str:
    e = c.estimate
    if not e or not e.get("models"):
        return _not_run(
            "no latency estimate", "Run `edgekit estimate BUNDLE` or `edgekit bench BUNDLE --report`."
        )
    rows = []
    versions: set[str] = set()
    for mid, m in e["models"].items():
        if "error" in m:
            rows.append([escape(mid), "-", "-", "-", "-", escape(m["error"]), "-", "-", "-"])
            continue
        for unit, t in m["targets"].items():
            if not t.get("available"):
                rows.append(
                    [escape(mid), escape(unit.upper()), "-", "-", "-", escape(f"n/a: "
                        f"{t.get('why')}"), "-", "-",
                     "-"]
                )
                continue
            cal = t.get("calibrated") or {}
            if cal.get("available"):
                versions.add(str(cal.get("calibration_version")))
            rows.append(
                [
                    escape(mid),
                    f'<span class="{unit}">{unit.upper()}</span>',
                    escape(t["precision"]),
                    _f(m["macs"], ".2f", 1e6),
                    _f(m["bytes"], ".2f", 1e6),
                    _f(t["total_ms"], ".4f"),
                    _f(cal.get("total_ms"), ".3f") if cal.get("available") else "-",
                    escape(cal.get("band_text", "-") if cal.get("available") else str(cal.get("why", "-"))),
                    _f(t.get("layers_on_gpu"), "d") if unit == "dla" else "-",
                ]
            )
    calib = (
        f" Calibrated figures: fitted on NVIDIA-published Jetson points, calibration set "
        f"<b>{escape(', '.join(sorted(versions)))}</b>; the band is the leave-one-out "
        f"estimate/published range "
        "for that device and unit." if versions else ""
    )
    out = (
        f'<p class="muted">device profile <b>{escape(str(e.get("device")))}</b>, batch {e.get("batch")}. '
        f"A roofline model, not a measurement. Source: {escape(c.sources.get('estimate', ''))}.{calib}</p>"
        + _table(
            ["model", "unit", "precision", "MMACs (conv/matmul)", "MB moved", "roofline ms", "calibrated ms",
             "error band (LOO)", "layers on GPU"],
            rows,
        )
    )
    default = e["models"].get(c.manifest.default_model) or next(
        (m for m in e["models"].values() if "targets" in m), None
    )
    if default and "targets" in default:
        tgt = default["targets"].get("dla") or next(iter(default["targets"].values()))
        if tgt.get("available"):
            src = default.get("placement_source") or "single unit"
            lrows = [
                [
                    escape(r["name"]),
                    escape(r["op"] + "".join(f"+{x}" for x in r.get("fused", []))),
                    f'<span class="{r["unit"]}">{r["unit"].upper()}</span>',
                    _f(r["macs"], ".3f", 1e6),
                    _f(r["bytes"], ".1f", 1e3),
                    _f(r["compute_ms"], ".4f"),
                    _f(r["memory_ms"], ".4f"),
                    _f(r["ms"], ".4f"),
                    escape(r["bound"]),
                ]
                for r in tgt["layers"]
            ]
            out += (
                f"<h3>Per-layer placement and estimate — {escape(str(default.get('model')))} on "
                f'{tgt["unit"].upper()}</h3><p class="muted">placement source: {escape(str(src))}; '
                f"{tgt.get('transitions', 0)} DLA/GPU transition(s).</p>"
                + _table(
                    [
                        "layer",
                        "op (+fused)",
                        "unit",
                        "MMACs",
                        "KB moved",
                        "compute ms",
                        "memory ms",
                        "est ms",
                        "bound",
                    ],
                    lrows,
                    left=3,
                )
                + _img(
                    plots.placement_plot(tgt["layers"], f"estimated time per layer ({tgt['unit'].upper()})"),
                    "per-layer placement",
                )
            )
        out += (
            "<h3>Assumptions</h3><ul>"
            + "".join(f"<li>{escape(a)}</li>" for a in default["assumptions"])
            + "</ul>"
        )
    return out


def _parity(c: ReportContent) -> str:
    if not c.parity:
        return _not_run(
            "no parity result (manifest.extra['parity'] or parity.json)", "Run `edgekit parity BUNDLE`."
        )
    out = f'<p class="muted">Source: {escape(c.sources.get("parity", ""))}.</p>'
    for p in c.parity:
        verdict = parity_verdict(p)
        ok = verdict == "in sync"
        out += (
            f"<h3>{escape(str(p.get('runtime', '?')))} ({escape(str(p.get('where', '?')))}), model "
            f'{escape(str(p.get("model", "?")))} <span class="badge {"ok" if ok else "no"}">{escape(verdict)}'
            f"</span></h3><p>{escape(str(p.get('summary', '')))}</p>"
        )
        if p.get("outputs"):
            out += _table(
                ["output", "against", "max |d|", "limit", "min cos", "top-1", "status"],
                [
                    [
                        escape(str(o.get("output"))),
                        escape(str(o.get("against"))),
                        _f(o.get("max_abs"), ".3g"),
                        _f(o.get("max_abs_limit"), ".3g"),
                        _f(o.get("min_cosine"), ".5f"),
                        _f(o.get("top1"), ".3f"),
                        escape(str(o.get("status"))),
                    ]
                    for o in p["outputs"]
                ],
                left=2,
            )
        if p.get("stages"):
            bad = [s for s in p["stages"] if s.get("status") not in ("pass", "skip")]
            out += (
                f'<p class="muted">{len(p["stages"])} preprocessing stage(s) compared, {len(bad)} not passing'
                + (
                    f"; first divergence: {escape(str(p.get('first_divergence')))}"
                    if p.get("first_divergence")
                    else ""
                )
                + "</p>"
            )
        if p.get("diagnoses"):
            out += (
                "<ul>"
                + "".join(
                    f"<li>{escape(str(d.get('step')))}: {escape(str(d.get('cause')))}</li>"
                    for d in p["diagnoses"]
                )
                + "</ul>"
            )
    return out


def render_html(c: ReportContent) -> str:
    m = c.manifest
    try:
        from edgekit.profiles import get_profile

        device = get_profile(m.device).display_name
    except Exception:  # an unknown device still gets a report
        device = m.device
    body = "".join(
        [
            _section("verification", "What was verified", _verification(c)),
            _section("models", "Models in the bundle", _models(c)),
            _section("stages", "Accuracy vs MACs vs size vs latency across the stages", _stages(c)),
            _section("bench", "Measured latency (this host)", _bench(c)),
            _section("estimate", "Latency estimate without the device (GPU / DLA placement)", _estimate(c)),
            _section("parity", "Parity: deployed runtime vs training", _parity(c)),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>edgekit report — {escape(m.name)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>edgekit build report — {escape(m.name)}</h1>"
        f'<p class="muted">device {escape(device)} ({escape(m.device)}) · created {escape(m.created_at)} by '
        f"{escape(m.created_by)} · default model {escape(m.default_model)} · "
        f"report by edgekit {escape(c.version)}</p>"
        f"{body}</main></body></html>\n"
    )
