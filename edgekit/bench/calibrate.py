"""``python -m edgekit.bench.calibrate``: fit the calibrated estimate on the published Jetson points and
report its leave-one-out error by device and unit (before and after calibration).

    python -m edgekit.bench.calibrate                 # table from the committed features
    python -m edgekit.bench.calibrate --json out.json # the report as JSON too
    python -m edgekit.bench.calibrate --write         # refit and write calibration.json (commit it)
    python -m edgekit.bench.calibrate --rebuild       # re-export every model and re-extract features.json

"Before" is the uncalibrated roofline (max(compute, memory) + 5/20 us per GPU/DLA layer, 30/50 us per run,
100 us per hand-over) on the same features and today's profiles.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from edgekit.bench.calibration import CALIBRATION, FEATURES
from edgekit.bench.calibration.build import feature_key, rebuild
from edgekit.bench.calibration.features import Features
from edgekit.bench.calibration.model import Case, Params, fit, params_hash, peak_gops, predict
from edgekit.bench.calibration.points import Point, PointSet, load
from edgekit.errors import InputError
from edgekit.profiles import get_profile

GOAL_MAX = 1.5
GOAL_MEDIAN = (0.8, 1.25)


def load_features(ps: PointSet, path: Path = FEATURES) -> dict[str, Features]:
    if not path.exists():
        raise InputError(f"{path} does not exist", "run python -m edgekit.bench.calibrate --rebuild")
    doc = json.loads(path.read_text())
    feats = {k: Features.from_dict(v) for k, v in doc["features"].items()}
    missing = [p.id for p in ps.points if feature_key(p) not in feats]
    if missing:
        raise InputError(
            f"no features for calibration point(s) {', '.join(missing)} in {path.name}",
            "run python -m edgekit.bench.calibrate --rebuild",
        )
    return feats


def cases_for(ps: PointSet, feats: dict[str, Features]) -> list[Case]:
    return [
        Case(feats[feature_key(p)], get_profile(p.device), p.precision, p.unit, p.harness) for p in ps.points
    ]


def before_ms(c: Case) -> float:
    """The roofline as it was before calibration, on the same features."""
    bw = c.profile.memory.bandwidth_gbps
    lo = {"gpu": 5.0, "dla": 20.0}
    run = {"gpu": 30.0, "dla": 50.0}
    t = run[c.unit] / 1e3 + len(c.features.handovers) * 0.1
    for _kind, u, macs, nbytes in c.features.layers:
        comp = 2.0 * macs / (peak_gops(c.profile, u, c.precision) * 1e9) * 1e3
        t += max(comp, nbytes / (bw * 1e9) * 1e3) + lo[u] / 1e3
    return t


def leave_one_out(cases: list[Case], ms: list[float], full: Params) -> list[float]:
    out = []
    for i in range(len(cases)):
        rest = [c for j, c in enumerate(cases) if j != i]
        p = fit(rest, [m for j, m in enumerate(ms) if j != i], start=full)
        out.append(float(predict([cases[i]], p)[0]))
    return out


def _stats(ratios: list[float]) -> dict[str, Any]:
    worst = max(max(r, 1 / r) for r in ratios)
    return {
        "n": len(ratios),
        "median": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "worst_factor": worst,
        "within_1p5x": sum(1 for r in ratios if 1 / GOAL_MAX <= r <= GOAL_MAX),
    }


def bands(points: list[Point], ratios: list[float]) -> dict[str, Any]:
    """LOO error band (estimate / published) per device/unit and per unit over all devices."""
    groups: dict[str, list[float]] = {}
    for p, r in zip(points, ratios, strict=True):
        groups.setdefault(f"{p.device}/{p.unit}", []).append(r)
        groups.setdefault(f"*/{p.unit}", []).append(r)
    return {k: _stats(v) for k, v in sorted(groups.items())}


def run(ps: PointSet, feats: dict[str, Features]) -> dict[str, Any]:
    cases = cases_for(ps, feats)
    ms = [p.ms for p in ps.points]
    full = fit(cases, ms)
    insample = predict(cases, full).tolist()
    loo = leave_one_out(cases, ms, full)
    before = [before_ms(c) for c in cases]
    rows = []
    for p, b, s, lo in zip(ps.points, before, insample, loo, strict=True):
        rows.append(
            {
                "id": p.id,
                "device": p.device,
                "unit": p.unit,
                "precision": p.precision,
                "batch": p.batch,
                "model": p.model,
                "input": list(p.input),
                "harness": p.harness,
                "published_ms": p.ms,
                "before_ms": b,
                "before_ratio": b / p.ms,
                "fit_ms": s,
                "fit_ratio": s / p.ms,
                "loo_ms": lo,
                "loo_ratio": lo / p.ms,
                "source": p.cite(),
                "conditions": p.conditions,
                "matched": p.matched,
                "mismatch": p.mismatch,
            }
        )
    loo_r = [r["loo_ratio"] for r in rows]
    summary = _stats(loo_r)
    summary["goal_met"] = bool(
        summary["within_1p5x"] == summary["n"] and GOAL_MEDIAN[0] <= summary["median"] <= GOAL_MEDIAN[1]
    )
    return {
        "schema": "edgekit-calibration/1",
        "points_version": ps.version,
        "version": f"{ps.version}+{params_hash(full)}",
        "params": full.to_dict(),
        "summary_before": _stats([r["before_ratio"] for r in rows]),
        "summary_loo": summary,
        "bands": bands(ps.points, loo_r),
        "bands_before": bands(ps.points, [r["before_ratio"] for r in rows]),
        "points": rows,
    }


def table(doc: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(
        title=f"edgekit calibration {doc['version']} — estimate / published (leave-one-out)",
        caption="before = uncalibrated roofline; LOO = calibrated, fitted without that point; "
        "* = conditions not matched (see points.yaml 'mismatch')",
    )
    for col in (
        "id",
        "device",
        "unit",
        "prec",
        "bs",
        "model",
        "published ms",
        "before",
        "ratio",
        "LOO est",
        "LOO ratio",
        "source",
    ):
        t.add_column(col, overflow="fold")
    for r in doc["points"]:
        t.add_row(
            r["id"] + ("" if r["matched"] else "*"),
            r["device"],
            r["unit"],
            r["precision"],
            str(r["batch"]),
            r["model"],
            f"{r['published_ms']:.3f}",
            f"{r['before_ms']:.3f}",
            f"{r['before_ratio']:.2f}",
            f"{r['loo_ms']:.3f}",
            f"{r['loo_ratio']:.2f}",
            r["source"],
        )
    return t


def band_table(doc: dict[str, Any]) -> Any:
    from rich.table import Table

    t = Table(title="error band by device and unit (estimate / published)")
    for col in (
        "device/unit",
        "n",
        "before median",
        "before range",
        "LOO median",
        "LOO range",
        "within 1.5x",
    ):
        t.add_column(col)
    for k, b in doc["bands"].items():
        bb = doc["bands_before"][k]
        t.add_row(
            k,
            str(b["n"]),
            f"{bb['median']:.2f}",
            f"{bb['min']:.2f}–{bb['max']:.2f}",
            f"{b['median']:.2f}",
            f"{b['min']:.2f}–{b['max']:.2f}",
            f"{b['within_1p5x']}/{b['n']}",
        )
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgekit.bench.calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="write the report JSON here ('-' for stdout)")
    ap.add_argument("--write", action="store_true", help="write edgekit/bench/calibration/calibration.json")
    ap.add_argument(
        "--rebuild", action="store_true", help="re-export the models and re-extract features.json"
    )
    ap.add_argument("--missing", action="store_true", help="export and extract only points without features")
    a = ap.parse_args(argv)
    from rich.console import Console

    console = Console(stderr=a.json == "-", width=max(160, Console().width))
    ps = load()
    if a.rebuild or a.missing:
        with console.status("rebuilding features") as st:
            rebuild(ps, progress=lambda k: st.update(f"exporting {k}"), only_missing=a.missing)
    with console.status(f"fitting + leave-one-out over {len(ps.points)} points"):
        doc = run(ps, load_features(ps))
    console.print(table(doc))
    console.print(band_table(doc))
    s, b = doc["summary_loo"], doc["summary_before"]
    console.print(
        f"before: median {b['median']:.2f}, {b['within_1p5x']}/{b['n']} within 1.5x, worst "
        f"{b['worst_factor']:.2f}x; "
        f"LOO: median {s['median']:.2f}, {s['within_1p5x']}/{s['n']} within 1.5x, worst "
        f"{s['worst_factor']:.2f}x; "
        f"goal {'met' if s['goal_met'] else 'NOT met'}"
    )
    if a.write:
        tmp = CALIBRATION.with_name(CALIBRATION.name + f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        os.replace(tmp, CALIBRATION)
        console.print(f"wrote {CALIBRATION}")
    if a.json:
        text = json.dumps(doc, indent=1)
        if a.json == "-":
            print(text)
        else:
            Path(a.json).write_text(text + "\n")
    return 0 if all(math.isfinite(r["loo_ms"]) for r in doc["points"]) else 1


if __name__ == "__main__":
    sys.exit(main())
