"""Fixtures of the bad-input corpus: the session's tiny bundle (pristine, checked byte for byte after every
case), a good 12-frame MJPG clip, and the tools' paths."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with its sha256 (folders: "dir"), to prove nothing changed."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def tool_path(tool: str) -> str | None:
    if tool == "edgekit":
        return shutil.which("edgekit")
    p = REPO / "cpp_runtime" / "build" / "bin" / tool
    return str(p) if p.is_file() and os.access(p, os.X_OK) else None


@pytest.fixture(scope="session")
def corpus_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.badinput.media import write_clip

    p = write_clip(tmp_path_factory.mktemp("corpus-media") / "clip.avi")
    os.environ["EDGEKIT_CORPUS_VIDEO"] = str(p)
    return p
