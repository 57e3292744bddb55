"""``edgekit devices``: list the device profiles."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from edgekit.profiles import all_profiles, get_profile


def register(app: typer.Typer) -> None:
    @app.command()
    def devices(
        name: str = typer.Argument(None, help="show one profile in full"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """List the device profiles (device_configs/*.yaml). Values marked ? are unconfirmed."""
        console = Console()
        if name:
            prof = get_profile(name)
            if as_json:
                print(json.dumps(prof.model_dump(), indent=2))
            else:
                console.print_json(json.dumps(prof.model_dump()))
            return
        profiles = all_profiles()
        if as_json:
            print(json.dumps({k: p.model_dump() for k, p in profiles.items()}, indent=2))
            return
        t = Table(title="edgekit device profiles", caption="? = unconfirmed value")
        for col in (
            "name",
            "module",
            "GPU",
            "TensorRT",
            "opset",
            "DLA",
            "precisions",
            "INT8 flavour",
            "peak",
            "BW GB/s",
        ):
            t.add_column(col)
        for p in profiles.values():
            q = lambda key, p=p: "" if p.is_confirmed(key) else "?"  # noqa: E731
            gpu = f"{p.gpu.arch} sm_{p.gpu.sm}" if p.gpu else "-"
            trt = p.tensorrt.version if p.tensorrt else "-"
            dla = f"{p.dla.cores}x v{p.dla.generation}" if p.dla else "-"
            flav = p.int8_flavour + (f" / DLA {p.dla_int8_flavour}" if p.dla_int8_flavour else "")
            best = max(v for v in (p.peak.fp32_gflops, p.peak.fp16_gflops, p.peak.int8_gops) if v)
            t.add_row(
                p.name,
                p.display_name,
                gpu,
                trt,
                str(p.onnx_opset_max),
                dla,
                ",".join(p.precisions),
                flav,
                f"{best:g} G{q('peak.int8_gops') or q('peak.fp16_gflops')}",
                f"{p.memory.bandwidth_gbps:g}{q('memory.bandwidth_gbps')}",
            )
        console.print(t)
