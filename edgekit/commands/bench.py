"""``edgekit bench`` (measure on this host) and ``edgekit estimate`` (roofline latency without the device)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgekit.errors import InputError


def _batches(text: str) -> list[int]:
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise InputError(
            f"--batch '{text}' is not a comma-separated list of integers", "e.g. --batch 1,8,32"
        ) from exc
    if not out or any(b < 1 for b in out):
        raise InputError(f"--batch '{text}' needs positive sizes", "e.g. --batch 1,8,32")
    return out


def _fmt(v: Any, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def bench_table(doc: dict[str, Any]) -> Table:
    t = Table(
        title=f"edgekit bench — {doc['bundle_name']} ({doc['runtime']}, {doc['threads']} thread(s))",
        caption="ms per batch (p90 in the JSON); est/meas = cpu-profile roofline / measured p50",
    )
    for col in (
        "model",
        "prec",
        "batch",
        "p50 ms",
        "p99 ms",
        "img/s",
        "RSS MB",
        "est/meas",
        "% peak",
    ):
        t.add_column(col, justify="left" if col in ("model", "prec") else "right", overflow="fold")
    multi = len({r["runtime"] for r in doc["results"]}) > 1
    for r in doc["results"]:
        lat = r["latency_ms"]
        frac = r.get("fraction_of_peak")
        t.add_row(
            r["model_id"] + (f" [{r['runtime']}]" if multi else ""),
            r["precision"],
            str(r["batch"]),
            _fmt(lat["p50"]),
            _fmt(lat["p99"]),
            _fmt(r["throughput_ips"], ".0f"),
            _fmt(r["peak_rss_mb"], ".0f"),
            _fmt(r.get("estimate_over_measured"), ".2f"),
            f"{100 * frac:.1f}" if frac is not None
            else ("peak wrong" if r.get("fraction_of_peak_error") else "-"),
        )
    return t


def estimate_table(est: dict[str, Any]) -> Table:
    versions = {tg["calibrated"].get("calibration_version") for e in est["models"].values()
                for tg in e.get("targets", {}).values() if tg.get("calibrated", {}).get("available")}
    t = Table(title=f"edgekit estimate — {est['device']} batch {est['batch']} (a model, not a measurement)",
              caption=("calibrated on published Jetson figures, set "
                       + ", ".join(sorted(v for v in versions if v))
                       + "; band = leave-one-out estimate/published for this device and unit") if versions
              else None)
    for col in ("model", "prec", "MMACs", "MB moved", "unit", "roofline ms", "calibrated ms", "error band",
                "layers on GPU", "placement"):
        t.add_column(col)
    for mid, e in est["models"].items():
        if "error" in e:
            t.add_row(mid, "-", "-", "-", "-", e["error"], "-", "-", "-", "-")
            continue
        for unit, tg in e["targets"].items():
            if not tg.get("available"):
                t.add_row(mid, e["precision"], "-", "-", unit, f"n/a: {tg['why']}", "-", "-", "-", "-")
                continue
            cal = tg.get("calibrated") or {}
            t.add_row(
                mid,
                tg["precision"],
                f"{e['macs'] / 1e6:.2f}",
                f"{e['bytes'] / 1e6:.2f}",
                unit,
                f"{tg['total_ms']:.4f}",
                f"{cal['total_ms']:.3f}" if cal.get("available") else "-",
                cal.get("band_text", "-") if cal.get("available") else cal.get("why", "-"),
                _fmt(tg.get("layers_on_gpu"), "d"),
                (e.get("placement_source") or "-") if unit == "dla" else "-",
            )
    return t


def _emit(doc: dict[str, Any], json_out: str | None) -> None:
    from edgekit.bench.measure import write_json

    if json_out == "-":
        print(json.dumps(doc, indent=2))
    elif json_out:
        write_json(doc, Path(json_out))


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        bundle: Path = typer.Argument(..., help="bundle folder"),
        runtime: str = typer.Option("ort", "--runtime", help="cpp | ort | torch, or a comma list to compare"),
        rounds: int = typer.Option(1, "--rounds", help="repeat every measurement round-robin (shared hosts)"),
        batch: str = typer.Option("1", "--batch", help="comma-separated batch sizes, e.g. 1,8,32"),
        threads: int = typer.Option(1, "--threads", help="intra-op threads"),
        warmup: int = typer.Option(10, "--warmup", help="untimed runs first"),
        iters: int = typer.Option(100, "--iters", help="timed runs per measurement"),
        models: str = typer.Option(None, "--models", help="comma-separated model ids (default: all)"),
        json_out: str = typer.Option(None, "--json", help="write the result JSON here ('-' for stdout)"),
        report: bool = typer.Option(False, "--report", help="also write report.html/report.md in the bundle"),
        refresh_peaks: bool = typer.Option(False, "--refresh-peaks",
                                           help="re-measure this host's CPU peaks (cached per CPU)"),
    ) -> None:
        """Measure p50/p90/p99 latency, throughput and peak memory of every model, one process each."""
        from edgekit import bundle as B
        from edgekit.bench.measure import BenchConfig, bench_bundle
        from edgekit.io import check_output_file

        check_output_file(json_out, "--json")

        cfg = BenchConfig(
            runtime=runtime,
            batches=_batches(batch),
            threads=threads,
            warmup=warmup,
            iters=iters,
            models=[m for m in models.split(",") if m] if models else None,
            rounds=rounds,
            refresh_peaks=refresh_peaks,
        )
        cfg.validate()
        b = B.load(bundle)
        if report:  # report.html/report.md go into the bundle: fail before the measurements
            check_output_file(b.root / "report.md", "--report")
        console = Console(stderr=json_out == "-")
        with Progress(
            TextColumn("[bold]bench[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as prog:
            task = prog.add_task("planning", total=None)

            def step(what: str, i: int, n: int) -> None:
                prog.update(task, description=what, completed=i, total=n)

            doc = bench_bundle(b, cfg, step)
        console.print(bench_table(doc))
        for c in doc.get("runtime_comparison", []):
            p50 = ", ".join(f"{rt} {v:.3f}" for rt, v in c["p50_ms"].items())
            console.print(f"{c['model_id']} batch {c['batch']} p50 ms: {p50}")
        for s in doc["speedups"]:
            console.print(
                f"{s.get('runtime') or ''} {s['model_id']} vs {s['baseline']} at batch {s['batch']}: "
                f"{s['speedup']:.2f}x p50"
                + (f", {s['speedup_min']:.2f}x fastest run" if s.get("speedup_min") else "")
                + f" ({s['kind']})"
            )
        for s in doc["skipped"]:
            where = f" [{s['runtime']}]" if s.get("runtime") else ""
            console.print(f"[yellow]skipped[/] {s['model_id']}{where}: {s['why']}")
        _emit(doc, json_out)
        if report:
            from edgekit.bench.roofline import estimate_bundle
            from edgekit.report import write_report

            path = write_report(b.root, doc, estimate_bundle(b), None)
            console.print(f"report: {path}")

    @app.command()
    def estimate(
        target: Path = typer.Argument(..., help="a bundle folder or an .onnx file"),
        device: str = typer.Option(None, "--device", help="device profile (default: the bundle's)"),
        precision: str = typer.Option(None, "--precision", help="for an .onnx file: fp32 | fp16 | int8"),
        batch: int = typer.Option(1, "--batch"),
        placement: Path = typer.Option(None, "--placement", help="JSON {onnx node name: DLA|GPU}"),
        layers: bool = typer.Option(False, "--layers", help="print the per-layer table"),
        json_out: str = typer.Option(None, "--json", help="write the estimate JSON here ('-' for stdout)"),
        power_mode: str = typer.Option(
            None, "--power-mode",
            help="for an .onnx file: a power mode with its own figures (e.g. 'MAXN SUPER')",
        ),
    ) -> None:
        """Roofline latency estimate from the ONNX graph and the device profile (GPU and DLA)."""
        from edgekit import bundle as B
        from edgekit.bench.roofline import estimate as est_one
        from edgekit.bench.roofline import estimate_bundle, normalize_placement
        from edgekit.io import check_output_file
        from edgekit.profiles import get_profile

        check_output_file(json_out, "--json")
        place = None
        if placement is not None:
            try:
                place = normalize_placement(json.loads(placement.read_text()))
            except (OSError, json.JSONDecodeError) as exc:
                raise InputError(
                    f"cannot read placement {placement}: {exc}", 'write JSON like {"/0/Conv": "DLA"}'
                ) from exc
        if batch < 1:
            raise InputError(f"--batch {batch} must be >= 1", "e.g. --batch 1")
        if target.is_file() and target.suffix == ".onnx":
            if not device:
                raise InputError("estimating an .onnx file needs --device", "e.g. --device jetson-xavier")
            prof = get_profile(device).in_mode(power_mode)
            prec = precision or "fp32"
            doc: dict[str, Any] = {
                "schema": "edgekit-estimate/1",
                "device": prof.name,
                "batch": batch,
                "models": {target.stem: est_one(target, prof, prec, batch, place)},
            }
        else:
            doc = estimate_bundle(B.load(target), device, batch, place)
        console = Console(stderr=json_out == "-")
        console.print(estimate_table(doc))
        if layers:
            for mid, e in doc["models"].items():
                for unit, tg in e.get("targets", {}).items():
                    if not tg.get("available"):
                        continue
                    t = Table(title=f"{mid} on {unit}")
                    for col in (
                        "layer",
                        "op",
                        "unit",
                        "MMACs",
                        "KB",
                        "compute ms",
                        "memory ms",
                        "ms",
                        "bound",
                    ):
                        t.add_column(col)
                    for r in tg["layers"]:
                        t.add_row(
                            r["name"],
                            r["op"] + "".join(f"+{f}" for f in r["fused"]),
                            r["unit"],
                            f"{r['macs'] / 1e6:.3f}",
                            f"{r['bytes'] / 1e3:.1f}",
                            f"{r['compute_ms']:.4f}",
                            f"{r['memory_ms']:.4f}",
                            f"{r['ms']:.4f}",
                            r["bound"],
                        )
                    console.print(t)
        first = next((e for e in doc["models"].values() if "assumptions" in e), None)
        if first:
            console.print("[dim]assumptions: " + "; ".join(first["assumptions"]) + "[/]")
        _emit(doc, json_out)
