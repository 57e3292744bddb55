"""The ``edgekit`` command. Each sub-command lives in ``edgekit/commands/<name>.py`` and exposes
``register(app)``; this module only assembles them and turns EdgekitError into one clear line."""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console
from typer.exceptions import TyperException

from edgekit.errors import EdgekitError

# OpenMP spin-waiting makes torch 3-8x slower on 2 vCPUs: passive waiting unless the user chose.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

COMMAND_MODULES = [
    "edgekit.commands.devices",
    "edgekit.commands.check",
    "edgekit.commands.engine",
    "edgekit.commands.bench",
    "edgekit.commands.report",
    "edgekit.commands.build",
    "edgekit.commands.parity",
    "edgekit.commands.demo",
    "edgekit.commands.flash",
    "edgekit.commands.init",
    "edgekit.commands.runtime",
    "edgekit.commands.doctor",
]

app = typer.Typer(
    name="edgekit",
    help="Edge deployment SDK: build, check, flash, verify parity and benchmark vision models "
    "for Jetson and CPUs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from edgekit.provenance import version_text

        print(version_text())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="print the versions of edgekit, torch, onnx, ONNX Runtime, OpenCV"),
) -> None:
    """Edge deployment SDK: build, check, flash, verify parity and benchmark vision models."""


for _mod in COMMAND_MODULES:
    importlib.import_module(_mod).register(app)

err_console = Console(stderr=True)


def main() -> None:
    try:
        rv = app(standalone_mode=False)  # typer.Exit(n) comes back as n here, not as an exception
        if isinstance(rv, int) and rv != 0:
            sys.exit(rv)
    except EdgekitError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]aborted[/]")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except TyperException as exc:  # usage errors: typer >= 0.29 vendors click as typer._click
        err_console.print(f"[bold red]error:[/] {usage_line(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


def usage_line(exc: TyperException) -> str:
    """A click usage error (missing argument, unknown option, bad value) as one line naming the fix."""
    msg = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "edgekit"
    if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already on stdout
        return f"{path}: no command given — fix: run `{path} COMMAND` (commands: `{path} --help`)"
    return f"{path}: {msg} — fix: see `{path} --help`"

if __name__ == "__main__":
    main()
