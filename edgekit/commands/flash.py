"""``edgekit flash``: deploy a bundle to a device over SSH, verify it there, switch to it, build the
runtime and run parity on the device; ``--rollback`` restores the previous bundle."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from edgekit.errors import InputError
from edgekit.flash.deploy import FlashOptions, FlashReport, flash, rollback
from edgekit.remote import SshTarget


def _table(rep: FlashReport, title: str) -> Table:
    t = Table(title=title)
    for col in ("step", "status", "detail", "s"):
        t.add_column(col)
    colour = {"ok": "green", "failed": "red", "absent": "yellow", "planned": "cyan"}
    if rep.lock:
        t.add_row("lock", "[green]ok[/]", rep.lock, "")
    for s in rep.steps:
        c = colour.get(s.status, "white")
        t.add_row(s.name, f"[{c}]{s.status}[/]", s.detail, f"{s.seconds:.2f}")
    return t


def register(app: typer.Typer) -> None:
    @app.command(name="flash")
    def flash_cmd(
        bundle: Path = typer.Argument(None, help="the bundle folder (not needed with --rollback)"),
        host: str = typer.Option(..., "--host", help="the device, user@host"),
        port: int = typer.Option(None, "--port", help="SSH port (default: ~/.ssh/config, 22)"),
        identity: Path = typer.Option(None, "--identity", help="SSH key (default: agent, ~/.ssh)"),
        remote_dir: str = typer.Option("edgekit", "--remote-dir", help="device folder (relative: home)"),
        known_hosts: Path = typer.Option(None, "--known-hosts", help="default: ~/.ssh/known_hosts"),
        trust_on_first_use: bool = typer.Option(
            False, "--trust-on-first-use", help="accept an UNKNOWN host key and record it (a changed key is "
            "always refused)"),
        do_rollback: bool = typer.Option(False, "--rollback", help="make the previous bundle active again"),
        dry_run: bool = typer.Option(False, "--dry-run", help="print every remote command, run none"),
        no_runtime: bool = typer.Option(False, "--no-runtime", help="skip the C++ runtime build"),
        no_engine: bool = typer.Option(False, "--no-engine", help="skip the TensorRT engine build"),
        no_parity: bool = typer.Option(False, "--no-parity", help="do not run parity on the device"),
        parity_out: Path = typer.Option(None, "--parity-out", help="where to write the parity report JSON"),
        break_lock: bool = typer.Option(
            False, "--break-lock",
            help="remove the device's flash lease first (only when its holder is dead)",
        ),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Copy BUNDLE to a device over SSH (resumable), verify every sha256 there, switch atomically
        (the old bundle is kept for --rollback), build the runtime/engine and run parity on the device."""
        from edgekit.io import check_output_file

        check_output_file(parity_out, "--parity-out")
        console = Console(stderr=as_json)
        target = SshTarget.parse(host, port=port, identity=identity, known_hosts=known_hosts,
                                 trust_on_first_use=trust_on_first_use)
        if do_rollback:
            if bundle is not None:
                raise InputError("--rollback takes no BUNDLE", "run `edgekit flash --rollback --host ...`")
            rep = rollback(target, remote_dir, dry_run=dry_run, break_lock=break_lock)
        else:
            if bundle is None:
                raise InputError("no BUNDLE given", "run `edgekit flash BUNDLE --host user@host`")
            progress = Progress(TextColumn("[bold]upload"), BarColumn(), DownloadColumn(),
                                TransferSpeedColumn(), console=console, transient=True, disable=dry_run)
            task = progress.add_task("upload", total=None)
            opts = FlashOptions(
                remote_dir=remote_dir, dry_run=dry_run, runtime=not no_runtime, engine=not no_engine,
                parity=not no_parity, parity_out=parity_out, break_lock=break_lock,
                on_total=lambda n: progress.update(task, total=n),
                on_bytes=lambda n: progress.advance(task, n),
                say=lambda s: console.print(f"[dim]{s}[/]"),
            )
            with progress:
                rep = flash(bundle, target, opts)
        for k in rep.accepted_host_keys:
            console.print(f"[yellow]trusted and recorded a new host key:[/] {k}")
        if as_json:
            print(json.dumps(rep.to_dict(), indent=2))
        else:
            if dry_run:
                console.print("[bold]remote commands (dry run, nothing was executed):[/]")
                for c in rep.commands:
                    console.print(c, highlight=False, markup=False, soft_wrap=True)
            console.print(_table(rep, f"edgekit flash {'--rollback ' if do_rollback else ''}→ {rep.host}"))
        if any(s.status == "failed" for s in rep.steps):
            raise typer.Exit(1)
