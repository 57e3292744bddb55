"""``edgekit demo BUNDLE --source URI``: live classification demo on a camera, stream, video or image folder.

Runs the C++ app ``edgekit-camera`` when it is built (cpp_runtime/build/bin, $EDGEKIT_CAMERA_BIN or
PATH), otherwise the Python runner (edgekit/demo/runner.py); both take the same flags and write the same
JSON lines. ``--runner`` forces one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from edgekit.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent.parent


def find_camera_app() -> Path | None:
    env = os.environ.get("EDGEKIT_CAMERA_BIN")
    if env:
        p = Path(env)
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise ConfigError(
                f"EDGEKIT_CAMERA_BIN={env} is not an executable file", "unset it or fix the path"
            )
        return p
    for b in ("build", "build-release"):
        for sub in ("bin", "apps/camera"):
            p = REPO / "cpp_runtime" / b / sub / "edgekit-camera"
            if p.is_file() and os.access(p, os.X_OK):
                return p
    from edgekit.runtime_cpp import search_dirs  # + `edgekit runtime build`'s prefix (wheel installs)

    for d in search_dirs():
        p = d / "edgekit-camera"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    w = shutil.which("edgekit-camera")
    return Path(w) if w else None


def cpp_args(
    app: Path,
    bundle: Path,
    source: str,
    output: Path | None,
    headless: bool,
    frames: int,
    json_path: Path | None,
    realtime: bool,
    model: str | None,
    csi_pipeline: str | None,
    queue: int,
    retries: int,
    backoff: float,
    threads: int,
    fourcc: str | None,
) -> list[str]:
    a = [
        str(app),
        str(bundle),
        "--source",
        source,
        "--frames",
        str(frames),
        "--queue",
        str(queue),
        "--retries",
        str(retries),
        "--backoff",
        str(backoff),
        "--threads",
        str(threads),
    ]
    if output:
        a += ["--output", str(output)]
    if headless:
        a.append("--headless")
    if json_path:
        a += ["--json", str(json_path)]
    if realtime:
        a.append("--realtime")
    if model:
        a += ["--model", model]
    if csi_pipeline:
        a += ["--csi-pipeline", csi_pipeline]
    if fourcc:
        a += ["--fourcc", fourcc]
    return a


def summary_table(s: dict) -> Table:
    t = Table(title=f"edgekit demo ({s['runner']} runner)", caption=s.get("ended"))
    short = {"capture": "cap", "preprocess": "pre", "infer": "inf", "draw": "draw", "total": "total"}
    short["latency"] = "lat"
    for col in ("frames", "drop", "reconn", "FPS", *(f"{short.get(k, k)} ms" for k in s["ms_mean"]), "stop"):
        t.add_column(col, justify="right")
    t.add_row(
        str(s["frames"]),
        str(s["dropped"]),
        str(s["reconnects"]),
        f"{s['fps']:.1f}",
        *(f"{v:.2f}" for v in s["ms_mean"].values()),
        s["stopped"],
    )
    return t


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        bundle: Path = typer.Argument(..., help="bundle folder (edgekit build --out)"),
        source: str = typer.Option(
            ...,
            "--source",
            "-s",
            help="csi://0, v4l2:///dev/video0, rtsp://..., "
            "file://clip.avi, a video path or a folder of images",
        ),
        output: Path = typer.Option(
            None, "--output", "-o", help="write the annotated video (.avi MJPG, .mkv FFV1, .mp4)"
        ),
        headless: bool = typer.Option(
            False, "--headless", help="no window; one JSON line per frame on stdout"
        ),
        frames: int = typer.Option(
            0, "--frames", "-n", help="stop after N frames (0: until the source ends)"
        ),
        json_path: Path = typer.Option(None, "--json", help="write the JSON lines to FILE"),
        realtime: bool = typer.Option(
            False, "--realtime", help="play files at their frame rate, dropping stale frames"
        ),
        model: str = typer.Option(None, "--model", help="model id in the bundle (default: the manifest's)"),
        device: str = typer.Option(
            None, "--device", help="device profile for csi:// (default: the bundle's)"
        ),
        runner: str = typer.Option("auto", "--runner", help="auto (C++ when built), cpp or python"),
        queue: int = typer.Option(2, "--queue", help="capture queue length for live sources"),
        retries: int = typer.Option(5, "--retries", help="reconnect attempts for a lost live source"),
        backoff: float = typer.Option(0.5, "--backoff", help="first reconnect delay in seconds (doubles)"),
        threads: int = typer.Option(0, "--threads", help="inference threads (0: every CPU)"),
        fourcc: str = typer.Option(None, "--fourcc", help="override the output codec, e.g. MJPG"),
    ) -> None:
        """Classify frames from a camera, stream, video or image folder, with an overlay and JSON lines."""
        from edgekit.demo.runner import DemoOptions, run_demo
        from edgekit.io import check_output_file

        check_output_file(output, "--output", "demo.avi")
        check_output_file(json_path, "--json")
        err = Console(stderr=True)
        if runner not in ("auto", "cpp", "python"):
            raise ConfigError(f"--runner '{runner}' is not a runner", "use auto, cpp or python")
        if fourcc is not None and len(fourcc) != 4:
            raise ConfigError(f"--fourcc '{fourcc}' is not 4 characters", "e.g. MJPG, FFV1, mp4v")
        if queue < 1 or retries < 0 or backoff < 0 or frames < 0 or threads < 0:
            raise ConfigError(
                "--queue must be >= 1 and --retries/--backoff/--frames/--threads >= 0",
                "fix the option values",
            )
        cam = find_camera_app() if runner != "python" else None
        if runner == "cpp" and cam is None:
            raise ConfigError(
                "the C++ app edgekit-camera is not built",
                "run tools/setup.sh (builds cpp_runtime/build) or use --runner python",
            )
        if cam is not None:
            from edgekit import bundle as B
            from edgekit.demo.runner import resolve_source

            opts = DemoOptions(bundle=bundle, source=source, device=device)
            manifest = B.load(bundle, verify=False).manifest
            src = resolve_source(opts, manifest)  # the same URI errors as the Python runner
            pipeline = None
            if src.kind == "csi":  # the profile's pipeline, {sensor_id} left for the app to fill in
                from edgekit.profiles import get_profile

                pipeline = get_profile(device or manifest.device).camera.csi_pipeline
            args = cpp_args(
                cam,
                bundle,
                source,
                output,
                headless,
                frames,
                json_path,
                realtime,
                model,
                pipeline,
                queue,
                retries,
                backoff,
                threads,
                fourcc,
            )
            proc = subprocess.Popen(args)
            # SIGINT/SIGTERM are passed to the app, which stops cleanly; this process waits for it instead
            # of dying first, and passes its exit code on.
            def forward(signum: int, _frame: object) -> None:
                proc.send_signal(signum)

            old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                rc = proc.wait()
            finally:
                for s, h in old.items():
                    signal.signal(s, h)
            if rc != 0:
                raise typer.Exit(rc)
            return
        opts = DemoOptions(
            bundle=bundle,
            source=source,
            output=output,
            headless=headless,
            frames=frames,
            json_path=json_path,
            realtime=realtime,
            model=model,
            device=device,
            queue_size=queue,
            retries=retries,
            backoff_s=backoff,
            threads=threads,
            fourcc=fourcc,
        )
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]demo[/] {task.fields[fps]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as prog:
            task = prog.add_task("demo", total=frames or None, fps="")
            summary = run_demo(
                opts,
                warn=lambda m: err.print(f"[yellow]warning:[/] {m}", highlight=False),
                progress=lambda n, fps: prog.update(task, completed=n, fps=f"{fps:.1f} FPS"),
            )
        err.print(summary_table(summary))
        sys.stderr.flush()
