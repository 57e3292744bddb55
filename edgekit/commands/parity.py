"""``edgekit parity``: does the deployed side compute what training computed?"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgekit.errors import EdgekitError


def register(app: typer.Typer) -> None:
    @app.command()
    def parity(
        bundle: Path = typer.Argument(..., help="the bundle folder"),
        runtime: str = typer.Option(
            "cpp", "--runtime", help="side under test: cpp (edgekit-infer), ort or torch"
        ),
        model: str = typer.Option(None, "--model", help="model id (default: the manifest's default_model)"),
        host: str = typer.Option(None, "--host", help="user@host: run edgekit-infer on the device over SSH"),
        binary: Path = typer.Option(None, "--binary", help="edgekit-infer to use (default: the repo build)"),
        backend: str = typer.Option(None, "--backend", help="edgekit-infer backend: ort or trt (cpp only)"),
        precision: str = typer.Option(
            None, "--precision", help="output tolerances: fp32, fp16 or int8 (default: the model's precision)"
        ),
        port: int = typer.Option(None, "--port", help="SSH port (with --host)"),
        identity: Path = typer.Option(None, "--identity", help="SSH private key (with --host)"),
        known_hosts: Path = typer.Option(None, "--known-hosts", help="known_hosts file (with --host)"),
        remote_dir: str = typer.Option(None, "--remote-dir", help="edgekit folder on the device"),
        json_file: str = typer.Option(
            None, "--json", help="write the report as JSON to FILE ('-' for stdout)"
        ),
    ) -> None:
        """Run the golden set through the runtime under test and compare every preprocessing step and the
        outputs with the training-time reference. Exit 0 in sync, 1 NOT in sync (a difference was measured),
        2 on error, 3 not verified (something was not compared: the runtime failed on an item, zero items)."""
        from edgekit.io import atomic_write_json, check_output_file
        from edgekit.parity import run_parity

        check_output_file(json_file, "--json")
        to_stdout = json_file == "-"
        console = Console(stderr=to_stdout)
        try:
            with Progress(
                TextColumn("[bold]parity[/] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as prog:
                task = prog.add_task(f"{runtime}", total=None)

                def step(item: str) -> None:
                    prog.update(task, description=f"{runtime}: golden {item}", advance=1)

                opts = {"port": port, "identity": identity, "known_hosts": known_hosts}
                opts["remote_dir"] = remote_dir
                report = run_parity(bundle, runtime=runtime, model=model, host=host, binary=binary,
                                    progress=step, host_options=opts, precision=precision,
                                    infer_args=["--backend", backend] if backend else None)  # fmt: skip
        except EdgekitError as exc:
            if json_file:
                err = {
                    "verdict": "error",
                    "exit_code": exc.exit_code,
                    "error": str(exc),
                    "bundle": str(bundle),
                    "runtime": runtime,
                    "summary": f"parity error: {exc}",
                }
                if to_stdout:
                    print(json.dumps(err))
                else:
                    atomic_write_json(json_file, err)
            raise
        report.render(console)
        if to_stdout:
            print(json.dumps(report.to_dict()))
        elif json_file:
            report.write_json(Path(json_file))
        sys.stdout.flush()
        raise typer.Exit(report.exit_code)
