"""The parity report: data for CI (``to_dict``) and a rich table for people (``render``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from edgekit.io import atomic_write_json

EXIT_IN_SYNC, EXIT_OUT_OF_SYNC, EXIT_ERROR = 0, 1, 2


@dataclass
class Check:
    """One static or numeric check: ``status`` is pass, fail, skip or warn."""

    name: str
    status: str
    detail: str = ""


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


@dataclass
class Diagnosis:
    step: str  # e.g. "01_cvt_color", "model", "labels", "manifest"
    cause: str
    items: int  # how many golden items show it
    evidence: str = ""


@dataclass
class ParityReport:
    bundle: str
    runtime: str
    where: str
    model: str
    precision: str
    in_sync: bool = True
    error: str | None = None
    first_divergence: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    stages: list[StageRow] = field(default_factory=list)
    outputs: list[OutputRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return EXIT_ERROR
        return EXIT_IN_SYNC if self.in_sync else EXIT_OUT_OF_SYNC

    @property
    def verdict(self) -> str:
        return "error" if self.error else ("in sync" if self.in_sync else "NOT in sync")

    def summary(self) -> str:
        if self.error:
            return f"parity error: {self.error}"
        if self.in_sync:
            return f"in sync: {self.runtime} ({self.model}) matches the training reference"
        head = self.diagnoses[0] if self.diagnoses else None
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
        for n in self.notes:
            console.print(f"[dim]note: {n}[/]", highlight=False)
        color = "red" if not self.in_sync or self.error else "green"
        console.print(f"[bold {color}]{self.summary()}[/]", highlight=False)
