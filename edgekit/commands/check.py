"""``edgekit check MODEL.onnx --device <profile>``: static TensorRT / DLA check, before any board build."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        model: Path = typer.Argument(..., help="the ONNX model to check"),
        device: str = typer.Option(..., "--device", "-d", help="device profile (see `edgekit devices`)"),
        precision: str = typer.Option(
            "auto",
            "--precision",
            "-p",
            help="auto | fp32 | fp16 | int8 (auto: int8 for Q/DQ models, else fp16)",
        ),
        dla: bool | None = typer.Option(
            None, "--dla/--no-dla", help="check DLA placement (default: when the device has a DLA)"
        ),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
        fold: bool = typer.Option(
            True, "--fold/--no-fold", help="fold constant/shape subgraphs first, as TensorRT does (default)"
        ),
    ) -> None:
        """Check an ONNX model against a device's TensorRT and DLA: opset, operators, INT64, Q/DQ form and,
        for DLA devices, where each layer runs. Exit 0: no errors; 1: errors found; 2: bad input."""
        from edgekit.trt.check import check_model

        report = check_model(model, device, None if precision == "auto" else precision, dla, fold_first=fold)
        if as_json:
            print(json.dumps(report.to_dict(), indent=2))
        else:
            Console().print(report.rich_table())
        if report.errors:
            raise typer.Exit(1)
