"""``edgekit runtime build [--prefix]`` (build + install the C++ runtime with CMake) and ``edgekit runtime
where`` (the binaries' search order and what it finds)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    rt = typer.Typer(
        help="Build and locate the C++ runtime (edgekit-infer, edgekit-bench).", no_args_is_help=True
    )
    app.add_typer(rt, name="runtime")

    @rt.command("build")
    def build(
        prefix: Path = typer.Option(
            None,
            "--prefix",
            help="install prefix (default: the active virtual "
            "environment, else ~/.local/share/edgekit/runtime; $EDGEKIT_RUNTIME_PREFIX)",
        ),
        jobs: int = typer.Option(2, "--jobs", "-j", help="parallel compile jobs"),
        as_json: bool = typer.Option(False, "--json", help="print a machine-readable summary on stdout"),
    ) -> None:
        """Build the C++ runtime from the sources edgekit carries and install it into a prefix."""
        from edgekit.runtime_build import build_runtime

        err = Console(stderr=True)
        with err.status("building the C++ runtime") as status:
            res = build_runtime(prefix, jobs, say=lambda s: status.update(f"C++ runtime: {s}"))
        if as_json:
            print(json.dumps(res.to_dict(), indent=2))
            return
        t = Table(title=f"edgekit runtime build → {res.prefix}  ({res.seconds:.0f} s)")
        t.add_column("item")
        t.add_column("value", overflow="fold")
        for s, sec in res.steps:
            t.add_row(s, f"{sec:.1f} s")
        for b, p in res.binaries.items():
            t.add_row(b, p)
        t.add_row("ONNX Runtime", res.ort_library)
        Console().print(t)

    @rt.command("where")
    def where(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
        """Where edgekit looks for the runtime binaries, in order, and what it finds."""
        from edgekit.runtime_cpp import search_dirs, which_runtime

        info = which_runtime()
        if as_json:
            print(json.dumps({**info, "searched": [str(d) for d in search_dirs()]}, indent=2))
            return
        for i, d in enumerate(search_dirs()[:3], 1):
            print(f"{i}. {d}")
        print(f"{len(search_dirs()[:3]) + 1}. PATH")
        for b, p in info["binaries"].items():
            print(f"{b}: {p or 'not found — ' + info['fix']}")
        if not all(info["binaries"].values()):
            raise typer.Exit(1)
