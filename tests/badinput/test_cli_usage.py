"""Usage errors of EVERY `edgekit` sub-command (found from the app, so a new command is covered the day it
is added): an unknown option, and a missing argument where one is required, through the real `edgekit`
entry point. Each: exit 2, one line on stderr naming the command and `--help`, no traceback (issue 13
item 3: the error handler imported `click`, which typer >= 0.29 no longer installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "COLUMNS": "200", "PYTHONPATH": str(REPO)}


def _commands() -> list[tuple[list[str], bool]]:
    """(command path, whether it has a required argument) for every leaf command of the app."""
    import typer.main

    from edgekit.cli import app

    out: list[tuple[list[str], bool]] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, [*path, name])
            return
        out.append((path, any(getattr(p, "required", False) and p.param_type_name == "argument"
                              for p in cmd.params)))

    walk(typer.main.get_command(app), [])
    return out


COMMANDS = _commands()


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    exe = shutil.which("edgekit")
    assert exe, "the edgekit entry point is not installed (pip install -e .)"
    return subprocess.run([exe, *argv], capture_output=True, text=True, env=ENV, timeout=120, cwd=REPO,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess]:
    jobs = {" ".join(p) + " --no-such-option": [*p, "--no-such-option"] for p, _ in COMMANDS}
    jobs.update({" ".join(p) + " (no argument)": p for p, req in COMMANDS if req})
    with ThreadPoolExecutor(4) as ex:
        futs = {k: ex.submit(_run, v) for k, v in jobs.items()}
        return {k: f.result() for k, f in futs.items()}


def test_every_command_is_found() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"build", "parity", "bench", "estimate", "check", "report", "demo", "flash", "devices",
            "engine translate", "engine plan", "engine build"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_unknown_option_is_one_line_exit_2(path: list[str], results) -> None:  # type: ignore[no-untyped-def]
    r = results[" ".join(path) + " --no-such-option"]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "--no-such-option" in lines[0] and f"edgekit {' '.join(path)} --help" in lines[0], lines[0]


REQ = [p for p, req in COMMANDS if req]


@pytest.mark.parametrize("path", REQ, ids=[" ".join(p) for p in REQ])
def test_missing_argument_is_one_line_exit_2(path: list[str], results) -> None:  # type: ignore[no-untyped-def]
    r = results[" ".join(path) + " (no argument)"]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and "Missing argument" in lines[0] and "--help" in lines[0], r.stderr


def test_the_handler_imports_only_what_is_installed() -> None:
    """The exception cli.py catches comes from typer, which pyproject.toml declares with a range that the
    installed typer satisfies (typer < 0.29 did not vendor click; click itself is not a dependency)."""
    import importlib.metadata as md

    import tomllib
    from packaging.requirements import Requirement

    import edgekit.cli as cli

    assert cli.TyperException.__module__.split(".")[0] == "typer"
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    reqs = {Requirement(d).name: Requirement(d) for d in deps}
    assert "click" not in reqs or md.version("click")
    assert md.version("typer") in reqs["typer"].specifier, (reqs["typer"], md.version("typer"))
    assert md.version("rich") in reqs["rich"].specifier
