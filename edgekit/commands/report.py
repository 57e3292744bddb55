"""``edgekit report``: write report.html and report.md into a bundle from bench/estimate/parity results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from edgekit.errors import InputError


def _load(path: Path | None, what: str) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            f"cannot read the {what} JSON {path}: {exc}", f"pass the file `edgekit {what} --json FILE` wrote"
        ) from exc


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        bundle: Path = typer.Argument(..., help="bundle folder"),
        bench: Path = typer.Option(None, "--bench", help="JSON from `edgekit bench --json`"),
        parity: Path = typer.Option(None, "--parity", help="JSON from `edgekit parity --json`"),
        estimate: Path = typer.Option(None, "--estimate", help="JSON from `edgekit estimate --json`"),
        no_estimate: bool = typer.Option(False, "--no-estimate", help="do not compute the roofline estimate"),
    ) -> None:
        """Write the bundle's report.html (self-contained) and report.md; missing results read "not run"."""
        from edgekit import bundle as B
        from edgekit.bench.roofline import estimate_bundle
        from edgekit.io import check_output_file
        from edgekit.report import MARKDOWN, write_report

        b = B.load(bundle)
        check_output_file(b.root / MARKDOWN, "BUNDLE")  # the reports go into the bundle: fail before the work
        est = _load(estimate, "estimate")
        if est is None and not no_estimate:
            est = estimate_bundle(b)
        path = write_report(b.root, _load(bench, "bench"), est, _load(parity, "parity"))
        Console().print(f"wrote {path} and {path.with_name(MARKDOWN)}")
