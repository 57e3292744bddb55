"""``edgekit build``: train → distill → prune → QAT → ONNX → INT8 → bundle, for one device profile."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def _table(result) -> Table:  # type: ignore[no-untyped-def]
    m = result.manifest
    t = Table(title=f"edgekit build: {m.name} → {result.out}  ({result.seconds:.1f} s)",
              caption=f"default model: {m.default_model}; accuracy on "
                      f"{m.extra.get('data', {}).get('eval', '?')} "
                      "held-out images (ONNX rows: measured in ONNX Runtime)")
    for col in ("stage", "model", "accuracy", "params", "MACs", "ONNX", "seconds"):
        t.add_column(col, justify="left" if col in ("stage", "model") else "right")
    for r in m.extra.get("stages", []):
        acc = f"{r['accuracy'] * 100:.2f} %" if r["accuracy"] is not None else "-"
        size = f"{r['onnx_bytes'] / 1024:.1f} KiB" if r["onnx_bytes"] else "-"
        params = f"{r['params']:,}" if r["params"] is not None else "-"
        macs = f"{r['macs'] / 1e6:.2f} M" if r["macs"] is not None else "-"
        t.add_row(r["stage"], r["model_id"], acc, params, macs, size, f"{r['seconds']:.1f}")
    return t


def register(app: typer.Typer) -> None:
    @app.command()
    def build(
        device: str = typer.Option(None, "--device", "-d", help="device profile (see `edgekit devices`)"),
        example: str = typer.Option(None, "--example", "-e", help="digits | mobilenetv2-imagenet"),
        config: Path = typer.Option(None, "--config", "-c", help="edgekit.yaml (options here override it)"),
        out: Path = typer.Option(None, "--out", "-o", help="bundle folder (bundles/<example>-<device>)"),
        teacher: Path = typer.Option(None, "--teacher", help="teacher state dict: skip teacher training"),
        fast: bool = typer.Option(None, "--fast/--full", help="few epochs on a subset (well under a minute)"),
        seed: int = typer.Option(None, "--seed", help="random seed (builds are reproducible)"),
        parity: bool = typer.Option(True, "--parity/--no-parity",
                                    help="end with a local parity check of the C++ runtime (when built)"),
        as_json: bool = typer.Option(False, "--json", help="print a machine-readable summary on stdout"),
    ) -> None:
        """Train, distill, prune, quantize and export a model into a deployable bundle."""
        from edgekit.build import BuildOptions, run_build
        from edgekit.config import load_config
        from edgekit.errors import ConfigError
        from edgekit.examples import get_example
        from edgekit.stages.progress import Reporter

        cfg = load_config(config)
        dev = device or cfg.device
        if not dev:
            from edgekit.profiles import all_profiles

            raise ConfigError("no device given", f"pass --device (one of: {', '.join(all_profiles())})")
        ex_name = example or cfg.example
        is_fast = cfg.fast if fast is None else fast
        recipe = cfg.apply(get_example(ex_name).recipe(is_fast))
        opts = BuildOptions(device=dev, example=ex_name, out=out or cfg.out, teacher=teacher or cfg.teacher,
                            fast=is_fast, seed=cfg.seed if seed is None else seed, recipe=recipe,
                            parity=parity)
        err = Console(stderr=True)
        result = run_build(opts, Reporter(err))
        if as_json:
            print(json.dumps(result.summary(), indent=2))
        else:
            Console().print(_table(result))
            for note in result.manifest.extra.get("notes", []):
                Console().print(f"note: {note}", highlight=False)
            if result.parity is not None:
                msg = result.parity.get("summary") or f"skipped: {result.parity.get('skipped')}"
                Console().print(f"parity (C++ runtime vs training reference): {msg}", highlight=False)
        if result.parity is not None and result.parity.get("exit_code", 0) != 0:
            raise typer.Exit(int(result.parity["exit_code"]))  # the bundle is written, but it is not in sync
