"""``edgekit doctor [--device NAME] [--json]``: one table of what this machine has, with the fix for each
missing piece (edgekit/doctor.py; its device core is cpp_runtime/tools/doctor.py). Exit 0 when everything
needed is present, 1 otherwise."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

STYLE = {"ok": "green", "missing": "bold red", "warn": "yellow", "info": "dim"}


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        device: str = typer.Option(None, "--device", "-d", help="check what this device profile needs"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable rows on stdout"),
    ) -> None:
        """Check Python, torch, ONNX Runtime, the C++ runtime, TensorRT, JetPack, camera and disk."""
        from edgekit.doctor import run

        rows, code, _ = run(device)
        if as_json:
            print(
                json.dumps({"ok": code == 0, "device": device, "rows": [r.as_dict() for r in rows]}, indent=2)
            )
        else:
            t = Table(
                title="edgekit doctor" + (f" --device {device}" if device else ""),
                caption="MISSING = needed and absent (exit 1); warn / - = optional here",
            )
            for col in ("group", "item", "status", "value", "fix"):
                t.add_column(col, overflow="fold")
            for r in rows:
                label = "MISSING" if r.failed() else {"info": "-"}.get(r.status, r.status)
                t.add_row(
                    r.group,
                    r.item,
                    f"[{STYLE[r.status]}]{label}[/]",
                    r.value,
                    r.fix if r.status != "ok" else "",
                )
            Console().print(t)
        raise typer.Exit(code)
