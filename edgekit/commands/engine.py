"""``edgekit engine``: QAT -> DLA INT8 translation, TensorRT build plans, and engine builds on the device."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

engine_app = typer.Typer(
    help="TensorRT engines: translate Q/DQ for the DLA, write build plans, build on the device.",
    no_args_is_help=True,
)


@engine_app.command("translate")
def translate_cmd(
    qdq: Path = typer.Argument(..., help="the Q/DQ (QAT) ONNX model"),
    device: str = typer.Option(
        ..., "--device", "-d", help="device profile (its TensorRT version tags the cache)"
    ),
    out: Path = typer.Option(
        Path("."), "--out", "-o", help="folder for the _noqdq.onnx, cache and precisions"
    ),
    verify_bundle: Path | None = typer.Option(
        None, "--verify-bundle", help="verify on this bundle's golden set"
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Q/DQ ONNX -> Q/DQ-free ONNX + TensorRT calibration cache + per-layer precisions (DLA implicit INT8)."""
    from edgekit.io import check_output_dir
    from edgekit.profiles import get_profile
    from edgekit.trt.dla_int8 import translate, verify_translation

    check_output_dir(out, "--out")
    prof = get_profile(device)
    tr = translate(qdq, out, prof)
    result = tr.to_dict()
    if verify_bundle is not None:
        from edgekit import bundle as B
        from edgekit.preprocess import run_batch

        b = B.load(verify_bundle)
        if not b.manifest.golden:
            from edgekit.errors import BundleError

            raise BundleError(
                f"bundle {verify_bundle} has no golden set", "pass a bundle built by edgekit build"
            )
        x = run_batch(b.manifest.preprocess, [b.path(g.input) for g in b.manifest.golden])
        result["verification"] = verify_translation(qdq, tr.noqdq_onnx, tr.cache, x)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        t = Table(title=f"DLA INT8 translation of {qdq.name} for {prof.name}")
        t.add_column("item")
        t.add_column("value", overflow="fold")
        for k in ("noqdq_onnx", "cache", "precision_json", "tensors_with_scales"):
            t.add_row(k, str(result[k]))
        t.add_row("int8 / fp16 layers", f"{len(tr.int8_layers)} / {len(tr.fp16_layers)}")
        if "verification" in result:
            v = result["verification"]
            t.add_row(
                "top-1 agreement",
                f"{v['top1_agreement']:.4f} on {v['n']} ({'pass' if v['passed'] else 'FAIL'})",
            )
        Console().print(t)
    if "verification" in result and not result["verification"]["passed"]:
        raise typer.Exit(1)


@engine_app.command("plan")
def plan_cmd(
    bundle: Path = typer.Argument(..., help="a bundle folder"),
    device: str | None = typer.Option(None, "--device", "-d", help="profile (default: the bundle's device)"),
    dla: bool | None = typer.Option(
        None, "--dla/--no-dla", help="DLA engines (default: when the device has one)"
    ),
    dla_core: int = typer.Option(0, "--dla-core", help="DLA core for DLA engines"),
    batch: int = typer.Option(1, "--batch", help="fixed batch size (min = opt = max)"),
    workspace_mib: int = typer.Option(
        None, "--workspace-mib", help="builder workspace limit (default: 1/8 of the device memory, <= 1024)"
    ),
) -> None:
    """Write trt/plan.json + trt/build.sh (trtexec) into a bundle and re-hash its manifest. Builds nothing."""
    from edgekit import bundle as B
    from edgekit.profiles import get_profile
    from edgekit.trt.plan import trtexec_command, write_plan

    b = B.load(bundle)
    prof = get_profile(device or b.manifest.device)
    res = write_plan(
        b.root, prof, list(b.manifest.models), b.manifest.input, dla, dla_core, batch, workspace_mib
    )
    b.manifest.extra["trt_plan"] = res.summary()
    B.write_manifest(b.root, b.manifest)
    console = Console()
    t = Table(title=f"TensorRT build plan for {prof.name} (not built: run trt/build.sh on the device)")
    for col in ("engine", "precision", "INT8", "DLA", "trtexec"):
        t.add_column(col, overflow="fold")
    for s in res.specs:
        t.add_row(
            s.engine,
            s.precision,
            s.int8_mode or "-",
            "-" if s.dla_core is None else str(s.dla_core),
            trtexec_command(s),
        )
    console.print(t)


@engine_app.command("build")
def build_cmd(
    bundle: Path = typer.Argument(..., help="a bundle folder with trt/plan.json"),
    only: str | None = typer.Option(None, "--engine", help="build only this model id"),
) -> None:
    """Build the plan's engines with TensorRT's Python API, on the device; a stored engine whose metadata
    does not match this device/TensorRT/ONNX is refused and rebuilt. Needs TensorRT (a Jetson)."""
    from rich.progress import Progress

    from edgekit import bundle as B
    from edgekit.profiles import get_profile
    from edgekit.trt import engine_builder as EB
    from edgekit.trt.engine_cache import load_or_rebuild
    from edgekit.trt.plan import read_plan

    b = B.load(bundle)
    prof = get_profile(b.manifest.device)
    specs = [s for s in read_plan(b.root) if only is None or s.model_id == only]
    env = EB.device_env(prof)  # raises BuildError (exit 1) where TensorRT is absent
    console = Console()
    rows = []
    with Progress(console=console) as progress:
        task = progress.add_task("building engines", total=len(specs))
        for s in specs:
            cache = (b.root / s.calib_cache).read_bytes() if s.calib_cache else None

            def build(s=s, cache=cache) -> bytes:  # type: ignore[no-untyped-def]
                return EB.build_engine(b.root / s.onnx, s, cache, b.root / s.timing_cache, console.log)

            data, rebuilt = load_or_rebuild(
                b.root / s.engine, b.root / s.onnx, env, s.precision, s.dla_core, build, console.log
            )
            rows.append((s.engine, "built" if rebuilt else "cached", f"{len(data) / 1e6:.1f} MB"))
            progress.advance(task)
    t = Table(title=f"engines for {prof.name} (TensorRT {env.trt_version})")
    for col in ("engine", "state", "size"):
        t.add_column(col)
    for r in rows:
        t.add_row(*r)
    console.print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(engine_app, name="engine")
