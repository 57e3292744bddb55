"""setuptools hooks (pyproject.toml [tool.setuptools.cmdclass]): ship the repository's top-level runtime files
inside the wheel, since a wheel has no top level.

The sdist carries them at their own paths; the wheel's build_py copies them into ``edgekit/_shipped/``
with the same relative paths, where edgekit.resources finds them. An editable install skips the copy: it
reads the checkout directly. What is shipped (SHIPPED): the device profiles, the C++ runtime sources (no
build folders), the script that builds them, and the ONNX Runtime headers when the set-up has unpacked
them (.deps, MIT).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("device_configs", "cpp_runtime", "tools/setup_cpp.sh", ".deps/onnxruntime/include")
HOOKS = "tools/build_hooks.py"


def _skip(rel: Path) -> bool:
    parts = rel.parts
    if parts[0] == "cpp_runtime" and any(p.startswith(("build", ".")) for p in parts[1:]):
        return True
    return any(p == "__pycache__" for p in parts) or rel.suffix in (".pyc", ".swp")


def shipped_files(root: Path = ROOT) -> Iterator[str]:
    """Relative POSIX paths of the files to ship, sorted; folders that do not exist are skipped."""
    for top in SHIPPED:
        p = root / top
        cands = [p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []
        for f in cands:
            rel = f.relative_to(root)
            if f.is_file() and not _skip(rel):
                yield rel.as_posix()


class BuildPy(_build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "edgekit" / "_shipped"
        if dest.exists():
            shutil.rmtree(dest)
        n = 0
        for rel in shipped_files():
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, out)
            n += 1
        if not (dest / "device_configs").is_dir() or not (dest / "cpp_runtime" / "CMakeLists.txt").is_file():
            raise RuntimeError(f"edgekit wheel: device_configs/ or cpp_runtime/ missing under {ROOT}")
        print(f"edgekit: shipped {n} runtime files into {dest}")


class Sdist(_sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        # setuptools builds the sdist's file list in egg_info, not here: add the extra files to the tree
        super().make_release_tree(base_dir, files)
        for rel in [*shipped_files(), HOOKS]:
            out = Path(base_dir) / rel
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, out)
