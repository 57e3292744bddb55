"""``train.device``: ``auto`` (CUDA when torch sees a GPU, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""

from __future__ import annotations

import re

import torch

from edgekit.errors import ConfigError


def select_device(name: str = "auto", key: str = "train.device") -> torch.device:
    """The torch device for ``name``; ConfigError naming the installed torch build when CUDA is asked for
    and cannot be used."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", name)
    if not m:
        raise ConfigError(f"{key}: '{name}' is not a device", "use auto, cpu, cuda or cuda:N")
    if torch.version.cuda is None:
        raise ConfigError(
            f"{key}: '{name}' asked for, but the installed torch {torch.__version__} is a CPU-only build",
            "set train.device: cpu (or auto), or install a CUDA build of torch",
        )
    if not torch.cuda.is_available():
        raise ConfigError(f"{key}: '{name}' asked for, but torch {torch.__version__} "
                          f"(CUDA {torch.version.cuda}) sees no GPU",
                          "set train.device: cpu (or auto), or check the driver / CUDA_VISIBLE_DEVICES")
    idx = int(m.group(1) or 0)
    if idx >= torch.cuda.device_count():
        raise ConfigError(f"{key}: '{name}' asked for, but only {torch.cuda.device_count()} "
                          "GPU(s) are visible",
                          f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    return torch.device("cuda", idx)
