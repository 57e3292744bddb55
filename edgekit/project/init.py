"""`edgekit init DIR --data FOLDER`: a commented edgekit.yaml and a model.py template for an ImageFolder.

Classes come from FOLDER's sub-folders (natural order) through the data engine's own resolver, so a folder
that would not build (missing, empty, one class, a class with no images, train/val class sets that differ)
is refused here already. The images decide colour or gray: a sample that is all gray gives
``decode: gray``."""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgekit.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent / "templates"
SAMPLE = 24


@dataclass
class InitResult:
    config: Path
    model: Path
    labels: list[str]
    gray: bool
    size: int


def _is_gray(paths: list[Path]) -> bool:
    seen = 0
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if img is None:
            continue
        seen += 1
        if img.ndim == 3 and img.shape[2] >= 3:
            b, g, r = (img[..., i].astype(np.int16) for i in range(3))
            if np.abs(b - g).max() > 2 or np.abs(g - r).max() > 2:
                return False
    if seen == 0:
        raise ConfigError("--data: none of the sampled images decodes", "give a folder of png/jpg images")
    return True


def _rel(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive
        return target.resolve().as_posix()


def _write_new(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", "pick another DIR, or pass --force to overwrite it")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def init_project(
    folder: Path, data: Path, size: int = 64, name: str | None = None, force: bool = False
) -> InitResult:
    from edgekit.data.config import DataConfig
    from edgekit.data.sources import IMAGE_EXTS, resolve_source

    if size < 8 or size > 1024:
        raise ConfigError(f"--size {size} is out of range", "give a size between 8 and 1024 pixels")
    data = data.expanduser()
    split = (data / "train").is_dir() and (data / "val").is_dir()
    src = {"kind": "image_folder", "root": str(data.resolve())}
    if not split:
        src["val_fraction"] = 0.2  # type: ignore[assignment]
    res = resolve_source(DataConfig.model_validate({"source": src}), Path.cwd())  # refuses bad folders
    labels = res.labels
    top = data / "train" if (data / "train").is_dir() else data
    sample: list[Path] = []
    for c in labels:
        files = sorted(p for p in (top / c).rglob("*") if p.suffix.lower() in IMAGE_EXTS)
        sample += files[: max(1, SAMPLE // len(labels))]
    gray = _is_gray(sample)
    cfg_path, model_path = project_paths(folder, force)
    subs = common_subs(folder, name, cfg_path, data, labels, gray, size)
    subs["DATA_REL"] = _rel(data, folder)
    subs["VAL_FRACTION"] = "" if split else ", val_fraction: 0.2, seed: 0"
    write_project(subs, "edgekit.yaml.tmpl", "model.py.tmpl", name, cfg_path, model_path, force)
    return InitResult(cfg_path, model_path, labels, gray, size)


def project_paths(folder: Path, force: bool) -> tuple[Path, Path]:
    """DIR/edgekit.yaml and DIR/model.py, refused when they exist (unless ``force``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg_path, model_path = folder / "edgekit.yaml", folder / "model.py"
    for p in (cfg_path, model_path):
        if p.exists() and not force:
            raise ConfigError(f"{p} already exists", "pick another DIR, or pass --force to overwrite it")
    return cfg_path, model_path


def common_subs(folder: Path, name: str | None, cfg_path: Path, data: Path, labels: list[str], gray: bool,
                size: int) -> dict[str, str]:
    """The template fields both tasks' templates share (name, classes, colour, size, normalisation)."""
    shown = ", ".join(labels[:8]) + (f" ... (+{len(labels) - 8})" if len(labels) > 8 else "")
    return {
        "NAME": name or (folder.resolve().name or "project").replace(" ", "-"),
        "CONFIG": str(cfg_path),
        "CLASSES": str(len(labels)),
        "CHANNELS": "1" if gray else "3",
        "DATA": str(data),
        "LABELS": shown.replace("\n", " "),
        "DECODE": "gray" if gray else "bgr",
        "CVT": "" if gray else "    - {op: cvt_color, code: BGR2RGB}\n",
        "COLOR_JITTER": "    - {op: color_jitter, brightness: 0.2, contrast: 0.2, p: 0.5}\n"
        if not gray
        else "    - {op: color_jitter, brightness: 0.2, contrast: 0.2, saturation: 0, p: 0.5}\n",
        "SIZE": str(size),
        "MEAN": "[0.5]" if gray else "[0.485, 0.456, 0.406]",
        "STD": "[0.25]" if gray else "[0.229, 0.224, 0.225]",
    }


def write_project(subs: dict[str, str], config_template: str, model_template: str, name: str | None,
                  cfg_path: Path, model_path: Path, force: bool) -> None:
    """Fill the config template, write both files (temp + rename) and validate what was written."""
    text = string.Template((TEMPLATES / config_template).read_text()).substitute(subs)
    if not name and not subs["NAME"][0].isalnum():
        text = text.replace(f"name: {subs['NAME']}", "name: project", 1)
    _write_new(model_path, (TEMPLATES / model_template).read_text(), force)
    _write_new(cfg_path, text, force)
    from edgekit.project.project import load_project

    load_project(cfg_path)  # what we wrote validates
