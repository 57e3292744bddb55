"""Make the installed ``tensorrt-stubs`` (10.13) usable by mypy.

The package ships ``tensorrt/__init__.pyi`` without a ``py.typed`` marker (mypy skips it as untyped) and
its pybind11-generated ``tensorrt_bindings/tensorrt.pyi`` has syntax errors (a parameter named ``in``,
a non-default parameter after defaults, an ``import tensorrt_libs`` of a module that is not installed).
``prepare`` copies the stubs into a folder for MYPYPATH with exactly those three things repaired; the API
surface (classes, attributes, signatures) is left as shipped.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

_DEF = re.compile(r"^(\s*def \w+\()(.*)(\) -> .*)$")
_PARAM_SPLIT = re.compile(r", (?![^\[]*\])")


def _fix_def(line: str) -> str:
    line = re.sub(r"([(,] ?)in:", r"\1in_:", line)
    m = _DEF.match(line)
    if not m:
        return line
    seen_default, params = False, []
    for p in _PARAM_SPLIT.split(m.group(2)):
        if "=" in p:
            seen_default = True
        elif seen_default and p and not p.startswith("*"):
            p += " = ..."
        params.append(p)
    return m.group(1) + ", ".join(params) + m.group(3)


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def prepare(out: Path) -> Path:
    src = site_packages()
    if not (src / "tensorrt_bindings" / "tensorrt.pyi").is_file():
        raise FileNotFoundError("tensorrt-stubs is not installed (pip install tensorrt-stubs)")
    for pkg in ("tensorrt", "tensorrt_bindings"):
        (out / pkg).mkdir(parents=True, exist_ok=True)
        for f in (src / pkg).glob("*.pyi"):
            lines = [
                _fix_def(ln) if ln.lstrip().startswith("def ") else ln
                for ln in f.read_text().splitlines()
                if not ln.strip().startswith("import tensorrt_libs")
            ]
            (out / pkg / f.name).write_text("\n".join(lines) + "\n")
    cfg = out / "mypy.ini"
    cfg.write_text(
        "[mypy]\nstrict = True\nwarn_unused_ignores = False\n"
        "[mypy-tensorrt.*]\nignore_errors = True\n[mypy-tensorrt_bindings.*]\nignore_errors = True\n"
        "[mypy-edgekit.*]\nfollow_imports = silent\n"
    )
    return cfg
