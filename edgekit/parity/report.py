"""The parity report: data for CI (``to_dict``) and a rich table for people (``render``).

The verdict fails closed. It is decided in one place, :meth:`ParityReport.decide`, from the evidence:

- ``in sync`` (exit 0): every golden item of the training record ran on the side under test, and its stages,
  outputs and reported top-k were all compared and all agree; every check that ran passed (or only warned).
- ``NOT in sync`` (exit 1): at least one comparison or check measured a difference.
- ``not verified`` (exit 3): nothing measured a difference, but something was not compared — the runtime
  under test failed or produced nothing on one or more items (a partial failure counts: an item the runtime
  failed on was not compared), a comparison covered zero items, or a required comparison was skipped
  (e.g. no reference outputs for the model). A comparison over zero items is never a pass.
- ``error`` (exit 2): the inputs are unusable (no bundle, no reference, unknown option).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from edgekit.io import atomic_write_json

EXIT_IN_SYNC, EXIT_OUT_OF_SYNC, EXIT_ERROR, EXIT_NOT_VERIFIED = 0, 1, 2, 3


@dataclass
class Check:
    """One static or numeric check: ``status`` is pass, fail, skip or warn."""

    name: str
    status: str
    detail: str = ""
    required: bool = False  # a skip of a required check leaves the verdict "not verified"


@dataclass
class StageRow:
    ref_stage: str
    got_stage: str | None
    tolerance: float
    max_abs: float | None  # over all items; None when not compared
    items_bad: int
    items: int
    status: str  # pass / fail / missing / skip


@dataclass
class OutputRow:
    output: str
    against: str  # which reference: "ort" or "torch"
    precision: str
    max_abs: float
    max_abs_limit: float
    min_cosine: float
    min_cosine_limit: float
    top1: float
    top1_limit: float
    topk: float
    topk_limit: float
    k: int
    status: str
    items: int = 0  # golden items compared
    items_total: int = 0  # golden items in the training record


@dataclass
class PostRow:
    """One aspect of the reported top-k (what the side shows) on the golden items: ``top_k`` (how many classes
    and in which order), ``scores`` (softmax or raw, against the training postprocess of the side's own
    outputs), ``labels`` (the label shown for each class) and ``vs training record`` (the recorded top-k)."""

    aspect: str
    items_bad: int
    items: int
    status: str  # pass / fail / skip
    detail: str = ""


@dataclass
class DetectionSummary:
    """A detector's reported detections against the expected ones on the golden items, box by box
    (edgekit.parity.compare.detections). ``against``: "same raw output" (the training postprocess applied
    in Python to the side's own raw outputs: C++ vs Python detections) or "training record" (the Python
    detections recorded at build time). The benchmark figures: ``count_agreement``, ``worst_iou`` and
    ``worst_score_diff``; ``excused_near_threshold`` counts detections within ``score_margin`` of the
    threshold that only one side reports (allowed, shown, never silent)."""

    against: str
    items: int  # golden items compared
    items_total: int
    items_bad: int  # items with an unexcused difference
    count_agreement: float  # fraction of the compared items whose detection counts are equal
    worst_iou: float | None  # over the matched boxes (None: no box matched)
    worst_score_diff: float | None
    excused_near_threshold: int
    expected: int  # detections expected over all items
    reported: int
    matched: int
    decisive: int  # matched detections scored above threshold + margin: what makes the comparison count
    min_iou: float
    score_atol: float
    score_rtol: float
    score_threshold: float
    score_margin: float
    status: str  # pass / fail / skip


@dataclass
class Coverage:
    """How many golden items each required comparison covered, on the side under test itself."""

    items: int = 0  # golden items in the training record
    ran: int = 0  # items the side under test produced a result for (no error)
    stages: int = 0  # items whose stage tensors were compared
    outputs: int = 0  # items whose outputs were compared
    postprocess: int = 0  # items whose reported top-k (a detector: detections) was compared

    def gaps(self, runtime: str, reported: str = "reported top-k") -> list[str]:
        if self.items == 0:
            return ["the training record has zero golden items: nothing was compared"]
        out = []
        if self.ran < self.items:
            out.append(f"{runtime} produced no result for {self.items - self.ran}/{self.items} golden items")
        compared = (
            ("stages", self.stages),
            ("outputs", self.outputs),
            (reported, self.postprocess),
        )
        for what, n in compared:
            if n < self.items:
                out.append(f"{what} of {runtime} compared on {n}/{self.items} golden items")
        return out


@dataclass
class Diagnosis:
    step: str  # e.g. "01_cvt_color", "model", "labels", "manifest"
    cause: str
    items: int  # how many golden items show it
    evidence: str = ""
    fix: str = ""  # what to do about it, when parity knows


@dataclass
class ParityReport:
    bundle: str
    runtime: str
    where: str
    model: str
    precision: str
    error: str | None = None
    first_divergence: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    stages: list[StageRow] = field(default_factory=list)
    outputs: list[OutputRow] = field(default_factory=list)
    postprocess: list[PostRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    detection: DetectionSummary | None = (
        None  # a detector: its detections vs the same raw output's (benchmark)
    )
    detection_vs_record: DetectionSummary | None = None  # a detector: its detections vs the training record
    stage_source: str = ""  # the side whose stage tensors the stage rows compare ("" = the side under test)
    drift: bool = False  # some comparison or check measured a difference (set by decide)
    unverified: list[str] = field(default_factory=list)  # what was not compared (set by decide)
    in_sync: bool = False  # only decide() sets it, from the evidence
    task: str = "classification"  # the training record's: "detection" compares detections box by box

    @property
    def reported_kind(self) -> str:
        """What the side reports after the postprocess, in the coverage lines."""
        return "detections" if self.task == "detection" else "reported top-k"

    def decide(self) -> None:
        """The verdict, from the rows and the coverage only (see the module docstring)."""
        self.drift = (
            any(c.status == "fail" for c in self.checks)
            or any(r.status in ("fail", "missing") for r in self.stages)
            or any(o.status == "fail" for o in self.outputs)
            or any(p.status == "fail" for p in self.postprocess)
        )
        gaps = self.coverage.gaps(self.runtime, self.reported_kind)
        if self.stage_source:
            gaps.append(f"the stage rows come from {self.stage_source}, not from {self.runtime}")
        if not self.stages:
            gaps.append("no stage was compared")
        if not self.outputs:
            gaps.append("no model output was compared")
        if not self.postprocess:
            gaps.append(
                "the detections were not compared"
                if self.task == "detection"
                else "the reported top-k was not compared"
            )
        gaps += [f"{c.name} skipped: {c.detail}" for c in self.checks if c.status == "skip" and c.required]
        self.unverified = list(dict.fromkeys(gaps))
        self.in_sync = self.error is None and not self.drift and not self.unverified

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return EXIT_ERROR
        if self.in_sync:
            return EXIT_IN_SYNC
        return EXIT_OUT_OF_SYNC if self.drift or not self.unverified else EXIT_NOT_VERIFIED

    @property
    def verdict(self) -> str:
        return {EXIT_ERROR: "error", EXIT_IN_SYNC: "in sync", EXIT_OUT_OF_SYNC: "NOT in sync"}.get(
            self.exit_code, "not verified"
        )

    def summary(self) -> str:
        if self.error:
            return f"parity error: {self.error}"
        if self.in_sync:
            c = self.coverage
            what = "detections box by box" if self.task == "detection" else "reported top-k"
            return (
                f"in sync: {self.runtime} ({self.model}) matches the training reference on all {c.items} "
                f"golden items (stages, outputs, {what})"
            )
        if self.exit_code == EXIT_NOT_VERIFIED:
            rt = next((d for d in self.diagnoses if d.step == "runtime"), None)
            return f"not verified: {rt.cause if rt else self.unverified[0]}"
        head = next((d for d in self.diagnoses if d.step != "runtime"), None) or (
            self.diagnoses[0] if self.diagnoses else None
        )
        return f"NOT in sync: {head.step}: {head.cause}" if head else "NOT in sync"

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        d = asdict(self)
        d.update(verdict=self.verdict, exit_code=self.exit_code, summary=self.summary())
        d["verified_items"] = self.coverage.items if self.in_sync else 0
        if self.detection is not None:  # the benchmark: C++ (the side) vs Python detections
            ds = self.detection
            d["detection_benchmark"] = {
                "items": ds.items, "count_agreement": ds.count_agreement, "worst_iou": ds.worst_iou,
                "worst_score_diff": ds.worst_score_diff, "excused_near_threshold": ds.excused_near_threshold,
                "matched": ds.matched, "decisive": ds.decisive, "status": ds.status,
            }  # fmt: skip
        return clean(d)

    def write_json(self, path: Path) -> None:
        atomic_write_json(Path(path), self.to_dict())

    def render(self, console: Console) -> None:
        col = {"pass": "green", "fail": "red", "missing": "red", "skip": "yellow", "warn": "yellow"}

        def st(s: str) -> str:
            return f"[{col.get(s, 'white')}]{s}[/]"

        def num(x: float | None) -> str:
            return "-" if x is None else ("inf" if x == float("inf") else f"{x:.3g}")

        t = Table(title=f"parity: {self.runtime} ({self.where}) vs training reference — model {self.model}")
        for c in ("step", "deployed", "tolerance", "max |d|", "items off", "status"):
            t.add_column(c)
        for r in self.stages:
            t.add_row(
                r.ref_stage,
                r.got_stage or "-",
                f"±{r.tolerance:g}",
                num(r.max_abs),
                f"{r.items_bad}/{r.items}",
                st(r.status),
            )
        if self.stages:
            console.print(t)
        if self.outputs:
            o = Table(title=f"outputs ({self.precision} tolerances)")
            for c in (
                "output",
                "vs",
                "max |d| (limit)",
                "min cosine (limit)",
                "top-1 (limit)",
                "top-k (limit)",
                "status",
            ):
                o.add_column(c)
            for orow in self.outputs:
                o.add_row(
                    orow.output,
                    orow.against,
                    f"{num(orow.max_abs)} (≤{orow.max_abs_limit:.3g})",
                    f"{orow.min_cosine:.6f} (≥{orow.min_cosine_limit:g})",
                    f"{orow.top1:.1%} (≥{orow.top1_limit:.0%})",
                    f"{orow.topk:.1%}@{orow.k} (≥{orow.topk_limit:.0%})",
                    st(orow.status),
                )
            console.print(o)
        if self.postprocess:
            pt = Table(title="postprocess (what the side reports: top-k, scores, labels)")
            for heading in ("aspect", "items off", "status"):
                pt.add_column(heading)
            pt.add_column("detail", overflow="fold")
            for prow in self.postprocess:
                pt.add_row(prow.aspect, f"{prow.items_bad}/{prow.items}", st(prow.status), prow.detail)
            console.print(pt)
        dets = [x for x in (self.detection, self.detection_vs_record) if x is not None]
        if dets:
            dt = Table(title="detections, box by box (one-to-one, same class, greedy by score)")
            for heading in (
                "vs",
                "items off",
                "count agreement",
                "worst IoU (limit)",
                "worst |d score| (limit)",
                "excused near threshold",
                "matched / expected / reported",
                "status",
            ):
                dt.add_column(heading)
            for ds in dets:
                dt.add_row(
                    ds.against,
                    f"{ds.items_bad}/{ds.items}",
                    f"{ds.count_agreement:.1%}",
                    f"{num(ds.worst_iou)} (≥{ds.min_iou:g})",
                    f"{num(ds.worst_score_diff)} (≤{ds.score_atol:.3g} + {ds.score_rtol:g}·|s|)",
                    f"{ds.excused_near_threshold} (±{ds.score_margin:g} of {ds.score_threshold:g})",
                    f"{ds.matched} / {ds.expected} / {ds.reported}",
                    st(ds.status),
                )
            console.print(dt)
        if self.checks:
            ct = Table(title="checks")
            ct.add_column("check")
            ct.add_column("status")
            ct.add_column("detail", overflow="fold")
            for ch in self.checks:
                ct.add_row(ch.name, st(ch.status), ch.detail)
            console.print(ct)
        for d in self.diagnoses:
            console.print(
                f"[red]✗ {d.step}:[/] {d.cause}" + (f"  [dim]({d.evidence})[/]" if d.evidence else ""),
                highlight=False,
            )
            if d.fix:
                console.print(f"  [dim]fix: {d.fix}[/]", highlight=False)
        for n in self.notes:
            console.print(f"[dim]note: {n}[/]", highlight=False)
        for u in self.unverified:
            console.print(f"[yellow]not compared: {u}[/]", highlight=False)
        cov = self.coverage
        console.print(
            f"compared on {self.runtime}: {cov.ran}/{cov.items} items ran, stages {cov.stages}, "
            f"outputs {cov.outputs}, {self.reported_kind} {cov.postprocess}",
            highlight=False,
        )
        color = "red" if not self.in_sync or self.error else "green"
        console.print(f"[bold {color}]{self.summary()}[/]", highlight=False)
