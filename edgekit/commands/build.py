"""``edgekit build``: train → distill → prune → QAT → ONNX → INT8 → bundle, for one device profile.

``--config DIR/edgekit.yaml`` builds a user's project; without it, ``--example NAME`` (default digits)
builds a
built-in project (edgekit/projects/NAME/edgekit.yaml) through the same loader and stages."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def _table(result) -> Table:  # type: ignore[no-untyped-def]
    m = result.manifest
    b = m.build
    reused = f"; reused: {', '.join(b.reused_stages)}" if b and b.reused_stages else ""
    t = Table(
        title=f"edgekit build: {m.name} → {result.out}  ({result.seconds:.1f} s)",
        caption=f"default model: {m.default_model}; accuracy on "
        f"{b.data.eval if b else '?'} "
        f"held-out images (ONNX rows: measured in ONNX Runtime){reused}",
    )
    for col in ("stage", "model", "accuracy", "params", "MACs", "ONNX", "seconds"):
        t.add_column(col, justify="left" if col in ("stage", "model") else "right")
    for r in b.stages if b else []:
        acc = f"{r.accuracy * 100:.2f} %" if r.accuracy is not None else "-"
        size = f"{r.onnx_bytes / 1024:.1f} KiB" if r.onnx_bytes else "-"
        params = f"{r.params:,}" if r.params is not None else "-"
        macs = f"{r.macs / 1e6:.2f} M" if r.macs is not None else "-"
        secs = "reused" if r.reused else f"{r.seconds:.1f}"
        t.add_row(r.stage, r.model_id, acc, params, macs, size, secs)
    return t


def register(app: typer.Typer) -> None:
    @app.command()
    def build(
        device: str = typer.Option(None, "--device", "-d", help="device profile (see `edgekit devices`)"),
        example: str = typer.Option(
            None, "--example", "-e",
            help="a built-in project: digits | digits-detection | mobilenetv2-imagenet",
        ),
        config: Path = typer.Option(
            None, "--config", "-c", help="your project's edgekit.yaml (`edgekit init`)"
        ),
        out: Path = typer.Option(None, "--out", "-o", help="bundle folder (bundles/<project>-<device>)"),
        teacher: Path = typer.Option(None, "--teacher", help="teacher state dict: skip teacher training"),
        fast: bool = typer.Option(False, "--fast/--full", help="a short smoke build (recipe.fast overrides)"),
        seed: int = typer.Option(0, "--seed", help="random seed (builds are reproducible)"),
        resume: bool = typer.Option(False, "--resume", help="continue an interrupted build (same config)"),
        reuse: bool = typer.Option(
            True, "--reuse/--no-reuse", help="reuse training stages whose inputs did not change"
        ),
        parity: bool = typer.Option(
            True, "--parity/--no-parity", help="end with a local parity check of the C++ runtime (when built)"
        ),
        as_json: bool = typer.Option(False, "--json", help="print a machine-readable summary on stdout"),
    ) -> None:
        """Train, distill, prune, quantize and export a model into a deployable bundle."""
        from edgekit.build import BuildOptions, load_build_project, run_build
        from edgekit.errors import ConfigError
        from edgekit.stages.progress import Reporter

        if config is not None and example is not None:
            raise ConfigError(
                "--config and --example both given", "build either your project or a built-in one"
            )
        opts = BuildOptions(
            device="",
            example=example or "digits",
            project=config,
            out=out,
            teacher=teacher,
            fast=fast,
            seed=seed,
            parity=parity,
            resume=resume,
            reuse=reuse,
        )
        proj = load_build_project(opts)
        dev = device or proj.cfg.device
        if not dev:
            from edgekit.profiles import all_profiles

            raise ConfigError("no device given", f"pass --device (one of: {', '.join(all_profiles())})")
        opts.device = dev
        opts.project = proj.path if config is not None else None
        err = Console(stderr=True)
        result = run_build(opts, Reporter(err))
        if as_json:
            print(json.dumps(result.summary(), indent=2))
        else:
            Console().print(_table(result))
            for note in result.manifest.build.notes if result.manifest.build else []:
                Console().print(f"note: {note}", highlight=False)
            if result.parity is not None:
                msg = result.parity.get("summary") or f"skipped: {result.parity.get('skipped')}"
                Console().print(f"parity (C++ runtime vs training reference): {msg}", highlight=False)
        if result.parity is not None and result.parity.get("exit_code", 0) != 0:
            raise typer.Exit(int(result.parity["exit_code"]))  # the bundle is written, but it is not in sync
