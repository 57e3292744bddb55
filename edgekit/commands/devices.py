"""``edgekit devices``: list the device profiles."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from edgekit.profiles import DeviceProfile, all_profiles, get_profile


def _value(prof: DeviceProfile, key: str) -> str:
    obj: object = prof
    for part in key.split("."):
        obj = getattr(obj, part)
    if hasattr(obj, "model_dump"):
        obj = ", ".join(f"{k}={v}" for k, v in obj.model_dump().items() if v is not None)  # type: ignore[attr-defined]
    return str(obj)


def source_table(prof: DeviceProfile) -> Table:
    """Every sourced value of ``prof`` with its source; ? = unconfirmed. Power modes with their own
    figures."""
    t = Table(title=f"{prof.name} — {prof.display_name}",
              caption="? = unconfirmed; DLA peaks are per core (an engine runs on one core)")
    for col in ("value", "", "source"):
        t.add_column(col, overflow="fold")
    for key in prof.sourced_keys():
        t.add_row(f"{key} = {_value(prof, key)}", "" if prof.is_confirmed(key) else "?", prof.sources[key])
    for mode, m in prof.modes.items():
        for k, v in m.peak.model_dump().items():
            if v is not None:
                t.add_row(f"[{mode}] peak.{k} = {v:g}", "", m.sources[k])
        t.add_row(f"[{mode}] memory.bandwidth_gbps = {m.bandwidth_gbps:g}", "", m.sources["bandwidth_gbps"])
    return t


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
                console.print(source_table(prof))
            return
        profiles = all_profiles()
        if as_json:
            print(json.dumps({k: p.model_dump() for k, p in profiles.items()}, indent=2))
            return
        t = Table(title="edgekit device profiles", caption="? = unconfirmed; `edgekit devices NAME` for all")
        for col in ("name", "GPU", "TRT", "opset", "DLA", "precisions", "INT8", "peak G/s", "GB/s"):
            t.add_column(col, no_wrap=True)
        for p in profiles.values():
            q = lambda key, p=p: "" if p.is_confirmed(key) else "?"  # noqa: E731
            gpu = f"sm_{p.gpu.sm}" if p.gpu else "-"
            trt = p.tensorrt.version if p.tensorrt else "-"
            dla = f"{p.dla.cores}×v{p.dla.generation}" if p.dla else "-"
            short = {"trt_qdq": "Q/DQ", "ort_cpu": "ORT", "none": "-", "dla_implicit": "DLA cache"}
            flav = short[p.int8_flavour]
            if p.dla_int8_flavour == "dla_implicit":
                flav += "+DLA"
            best_key, best = max(
                ((k, v) for k, v in (("peak.fp32_gflops", p.peak.fp32_gflops), ("peak.fp16_gflops",
                 p.peak.fp16_gflops), ("peak.int8_gops", p.peak.int8_gops)) if v),
                key=lambda kv: kv[1],
            )
            precs = " ".join(x.replace("fp", "f").replace("int", "i") for x in p.precisions)
            t.add_row(p.name, gpu, trt, str(p.onnx_opset_max), dla, precs, flav,
                      f"{best:g}{q(best_key)}", f"{p.memory.bandwidth_gbps:g}{q('memory.bandwidth_gbps')}")
        console.print(t)
