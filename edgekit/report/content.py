"""What the report says, gathered once for the HTML page and the Markdown summary.

Every section is either data that exists (passed in, or in the manifest / bundle) or ``None``, which both
renderers show as "not run". Nothing is filled in or guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit import __version__
from edgekit.bundle import Manifest


@dataclass
class Verification:
    what: str
    # "verified here" | "computed here" | "not run" | "unverified here" | "not verified" | "failed"
    status: str
    detail: str = ""


@dataclass
class ReportContent:
    manifest: Manifest
    root: Path
    stages: list[dict[str, Any]] | None
    bench: dict[str, Any] | None
    estimate: dict[str, Any] | None
    parity: list[dict[str, Any]] | None
    verification: list[Verification] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    version: str = __version__

    def latency_b1(self) -> dict[str, float]:
        """Measured p50 at the smallest batch, per model id (empty without a bench)."""
        if not self.bench or not self.bench.get("results"):
            return {}
        small = min(r["batch"] for r in self.bench["results"])
        return {r["model_id"]: r["latency_ms"]["p50"] for r in self.bench["results"] if r["batch"] == small}


def _read_json(p: Path) -> Any:
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _first(*cands: tuple[Any, str]) -> tuple[Any, str]:
    for value, where in cands:
        if value:
            return value, where
    return None, ""


def parity_verified(p: dict[str, Any]) -> bool:
    """A parity result counts as verified only with its evidence: verdict in sync, exit 0, and every golden
    item compared (``coverage``; for a report without it, stage and output rows that all passed on >0 items).
    A report that merely says ``in_sync`` — or compared nothing — is not verified."""
    claims = p.get("in_sync") is True and p.get("verdict") == "in sync" and p.get("exit_code") == 0
    if p.get("error") or not claims:
        return False
    cov = p.get("coverage")
    if isinstance(cov, dict):
        n = cov.get("items")
        keys = ("ran", "stages", "outputs", "postprocess")
        return isinstance(n, int) and n > 0 and all(cov.get(k) == n for k in keys)
    stages = p.get("stages") or []
    outs = p.get("outputs") or []
    return (
        bool(stages)
        and bool(outs)
        and all(s.get("status") == "pass" and (s.get("items") or 0) > 0 for s in stages)
        and all(o.get("status") == "pass" for o in outs)
    )


def parity_verdict(p: dict[str, Any]) -> str:
    """The verdict to show: "in sync" only when :func:`parity_verified`; a claim without evidence reads
    "not verified"."""
    if parity_verified(p):
        return "in sync"
    v = p.get("verdict")
    if p.get("error") or v == "error":
        return "error"
    return "NOT in sync" if v == "NOT in sync" or p.get("exit_code") == 1 else "not verified"


def _parity_list(p: Any) -> list[dict[str, Any]] | None:
    if p is None:
        return None
    if isinstance(p, dict) and isinstance(p.get("reports"), list):
        p = p["reports"]
    if isinstance(p, dict):
        return [p]
    if isinstance(p, list):
        return [x for x in p if isinstance(x, dict)] or None
    return None


def gather(
    root: Path,
    manifest: Manifest,
    bench: dict[str, Any] | None,
    estimate: dict[str, Any] | None,
    parity: dict[str, Any] | list[dict[str, Any]] | None,
) -> ReportContent:
    extra = manifest.extra
    bench, bsrc = _first(
        (bench, "passed in"),
        (extra.get("bench"), "manifest.extra['bench']"),
        (_read_json(root / "bench.json"), "bench.json"),
    )
    estimate, esrc = _first(
        (estimate, "passed in"),
        (extra.get("estimate"), "manifest.extra['estimate']"),
        (_read_json(root / "estimate.json"), "estimate.json"),
    )
    par, psrc = _first(
        (parity, "passed in"),
        (extra.get("parity"), "manifest.extra['parity']"),
        (_read_json(root / "parity.json"), "parity.json"),
    )
    # the typed build record (manifest.build); older bundles carried the rows in manifest.extra["stages"]
    typed = [r.model_dump() for r in manifest.build.stages] if manifest.build is not None else []
    legacy = extra.get("stages") if isinstance(extra.get("stages"), list) and extra.get("stages") else None
    stages = typed or legacy
    c = ReportContent(
        manifest=manifest,
        root=root,
        stages=stages,
        bench=bench,
        estimate=estimate,
        parity=_parity_list(par),
        sources={
            "bench": bsrc,
            "estimate": esrc,
            "parity": psrc,
            "stages": ("manifest.build.stages" if typed else "manifest.extra['stages']") if stages else "",
        },
    )
    c.verification = _verification(c)
    return c


def _verification(c: ReportContent) -> list[Verification]:
    v: list[Verification] = []
    if c.stages:
        v.append(
            Verification(
                "training / compression stages (PyTorch, this host)",
                "verified here",
                f"{len(c.stages)} stage(s) recorded by the build",
            )
        )
    else:
        v.append(Verification("training / compression stages", "not run", "no manifest.build.stages"))
    if c.bench:
        host = c.bench.get("host", {}).get("cpu", "this host")
        v.append(
            Verification(
                f"latency on {c.bench.get('runtime')} (CPU)",
                "verified here",
                f"measured on {host}, {len(c.bench.get('results', []))} measurement(s)",
            )
        )
    else:
        v.append(Verification("latency measurement", "not run", "run `edgekit bench BUNDLE --report`"))
    if c.parity:
        for p in c.parity:
            verdict = parity_verdict(p)
            status = {"in sync": "verified here", "not verified": "not verified"}.get(verdict, "failed")
            v.append(
                Verification(
                    f"parity: {p.get('runtime', '?')} ({p.get('where', '?')}) vs training",
                    status,
                    f"model {p.get('model', '?')}: {verdict}",
                )
            )
    else:
        v.append(Verification("Python vs C++ parity", "not run", "run `edgekit parity BUNDLE`"))
    kind = c.estimate and any("dla" in m.get("targets", {}) for m in c.estimate.get("models", {}).values())
    v.append(
        Verification(
            "latency estimate (roofline from the ONNX graph)",
            "computed here" if c.estimate else "not run",
            "a model, not a measurement" + ("; DLA placement from the checker's rules" if kind else ""),
        )
    )
    v.append(
        Verification(
            "TensorRT engine build, Jetson GPU/DLA latency and accuracy",
            "unverified here",
            "no Jetson and no TensorRT on this machine",
        )
    )
    return v
