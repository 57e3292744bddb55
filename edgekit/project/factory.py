"""Model factories named in ``edgekit.yaml``: ``package.module:callable``, ``path/to/file.py:callable``
(relative to the config) or ``torchvision:NAME``; and strict loading of a weights file.

Every failure is a ConfigError naming the config key (``model.teacher.factory`` ...) and the fix."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from edgekit.errors import ConfigError

TORCHVISION_PIP = "pip install --no-deps torchvision==0.28.0 (the release built for torch 2.13)"


def _last_frame(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    f = tb[-1]
    return f" ({Path(f.filename).name}:{f.lineno})"


def _import_file(path: Path, key: str) -> Any:
    name = "edgekit_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{key}: cannot import {path}", "name a Python file ending in .py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(
            f"{key}: importing {path} failed: {type(exc).__name__}: {exc}{_last_frame(exc)}",
            f"fix {path.name} so that `python {path}` runs",
        ) from exc
    return mod


def resolve(ref: str, base: Path, key: str) -> Callable[..., Any]:
    """The callable named by ``ref``; ``key`` is the config key reported in errors."""
    target, _, attr = ref.rpartition(":")
    if target == "torchvision":
        try:
            models = importlib.import_module("torchvision.models")
        except ImportError as exc:
            raise ConfigError(
                f"{key}: '{ref}' needs torchvision, which is not installed", TORCHVISION_PIP
            ) from exc
        except Exception as exc:  # e.g. a CUDA-built torchvision beside the CPU torch: its ops do not load
            raise ConfigError(
                f"{key}: torchvision is installed but does not load beside torch {torch.__version__} "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                "install the torchvision build made for this torch, or wrap the model in your own model.py",
            ) from exc
        fn = getattr(models, attr, None)
        if fn is None or not callable(fn):
            raise ConfigError(
                f"{key}: torchvision.models has no model '{attr}'",
                "use a name from torchvision.models.list_models()",
            )

        build: Callable[..., Any] = fn

        def tv(**kwargs: Any) -> Any:
            kwargs.setdefault("weights", None)  # weights are downloads: give model.*.weights instead
            return build(**kwargs)

        return tv
    if target == "timm":
        raise ConfigError(
            f"{key}: timm factories are not supported in this build",
            "wrap the model in your own model.py:callable (timm needs a matching torchvision "
            "and downloads its weights)",
        )
    if target.endswith(".py"):
        path = Path(target)
        path = path if path.is_absolute() else (base / path)
        if not path.is_file():
            raise ConfigError(
                f"{key}: the model file {path} does not exist",
                "give a path relative to edgekit.yaml, e.g. model.py:build",
            )
        mod = _import_file(path.resolve(), key)
    else:
        try:
            mod = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(
                f"{key}: module '{target}' does not import: {exc}",
                "install it, or use path/to/file.py:callable",
            ) from exc
        except Exception as exc:
            raise ConfigError(
                f"{key}: importing '{target}' failed: {type(exc).__name__}: {exc}{_last_frame(exc)}",
                f"fix module '{target}'",
            ) from exc
    fn = getattr(mod, attr, None)
    if fn is None:
        names = sorted(n for n in vars(mod) if not n.startswith("_") and callable(getattr(mod, n)))
        raise ConfigError(
            f"{key}: '{target}' has no attribute '{attr}'",
            f"use one of: {', '.join(names[:8]) or '(no callables)'}",
        )
    if not callable(fn):
        raise ConfigError(
            f"{key}: '{ref}' is a {type(fn).__name__}, not a callable", "name a function or class"
        )
    return fn  # type: ignore[no-any-return]


def build_module(ref: str, kwargs: dict[str, Any], base: Path, key: str, *args: Any) -> nn.Module:
    """Call the factory with ``kwargs``; the result must be an nn.Module."""
    fn = resolve(ref, base, f"{key}.factory")
    try:
        model = fn(*args, **kwargs)
    except Exception as exc:
        raise ConfigError(
            f"{key}: {ref}(**{key}.kwargs) raised {type(exc).__name__}: {exc}{_last_frame(exc)}",
            f"fix {key}.kwargs or the factory",
        ) from exc
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"{key}: {ref} returned a {type(model).__name__}, not a torch.nn.Module",
            "make the factory return the model (an nn.Module)",
        )
    return model


def read_state_dict(path: Path, key: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConfigError(
            f"{key}: the weights file {path} does not exist",
            "give a path relative to edgekit.yaml, or remove the key",
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile, Exception) as exc:
        raise ConfigError(
            f"{key}: {path} is not a torch state dict ({type(exc).__name__})",
            "save it with torch.save(model.state_dict(), PATH)",
        ) from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError(f"{key}: {path} holds no state dict", "save model.state_dict(), not the model")
    return obj


def _first(names: list[str], n: int = 3) -> str:
    more = f" (+{len(names) - n} more)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def load_weights(model: nn.Module, path: Path, key: str) -> None:
    """Load strictly; a mismatch names the first missing, unexpected and wrong-shape keys."""
    sd = read_state_dict(path, key)
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k} {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected {_first(unexpected)}")
        if shapes:
            parts.append(f"wrong shape {_first(shapes, 2)}")
        raise ConfigError(
            f"{key}: {path.name} does not fit the model: {'; '.join(parts)}",
            "give weights saved from this factory with these kwargs",
        )
    model.load_state_dict(sd, strict=True)
