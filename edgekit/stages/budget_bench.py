"""Benchmark: one latency-budget build on ``cpu``: the budget, the estimate, the measured latency, "
"the accuracy.

    python -m edgekit.stages.budget_bench --budget-ms 0.05 [--json out.json] [--example digits]

Runs the example's fast build with ``Recipe.prune_target_ms`` set (no parity, no report), then prints every
step the search tried and the build's final accuracy (after fine-tuning and QAT).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget-ms", type=float, required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--example", default="digits")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    from edgekit.build import BuildOptions, run_build
    from edgekit.examples import get_example

    ex = get_example(a.example)
    recipe = dataclasses.replace(ex.recipe(True), prune_target_ms=a.budget_ms)
    from edgekit.errors import EdgekitError

    with tempfile.TemporaryDirectory() as d:
        opts = BuildOptions(device=a.device, example=a.example, out=Path(d) / "b", fast=True, recipe=recipe,
                            parity=False, report=False)
        try:
            res = run_build(opts)
        except EdgekitError as exc:  # e.g. an unreachable budget: one line, the lowest figure in it
            Console(stderr=True).print(f"[red]error:[/] {exc}")
            if a.json:
                Path(a.json).write_text(json.dumps({"budget_ms": a.budget_ms, "device": a.device,
                                                    "error": str(exc)}) + "\n")
            return exc.exit_code
        extra = res.manifest.extra
    budget = extra["budget"]
    build = res.manifest.build
    stages = {s.stage: s.model_dump() for s in build.stages} if build is not None else {}
    t = Table(
        title=f"latency budget {a.budget_ms:g} ms on {a.device} ({budget['estimator']})",
        caption=budget["message"],
    )
    for col in (
        "ratio",
        "round",
        "MMACs",
        "estimate ms",
        "measured ms",
        "meets",
        "accuracy (before fine-tune)",
    ):
        t.add_column(col)
    for s in budget["steps"]:
        t.add_row(
            f"{s['ratio']:g}",
            str(s["round_to"]),
            f"{(s['macs'] or 0) / 1e6:.2f}",
            f"{s['estimate_ms']:.4f}",
            "-" if s["measured_ms"] is None else f"{s['measured_ms']:.4f}",
            "yes" if s["meets"] else "no",
            "-" if s["accuracy"] is None else f"{s['accuracy']:.4f}",
        )
    c = Console()
    c.print(t)
    final = {k: stages[k]["accuracy"] for k in ("prune", "finetune", "qat") if k in stages}
    c.print(
        f"accuracy after each stage: {final}; models: "
        + ", ".join(f"{m.id} {m.metrics}" for m in res.manifest.models)
    )
    doc = {
        "budget_ms": a.budget_ms,
        "device": a.device,
        "example": a.example,
        "search": budget,
        "stage_accuracy": final,
        "models": [{"id": m.id, **m.metrics} for m in res.manifest.models],
        "build_seconds": res.seconds,
    }
    if a.json:
        Path(a.json).write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0 if budget["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
