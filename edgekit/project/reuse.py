"""Stage reuse: a training stage whose inputs did not change is taken from a cache keyed by the hash of its
config and its upstream stage's key, so editing the QAT settings does not retrain the teacher, and
`edgekit build --resume` after an interruption continues at the first stage that did not finish.

Keys chain: teacher <- distill <- prune(+fine-tune). QAT/PTQ is never cached (it is the last training step).
Entries are torch files written to a temporary name then renamed; a corrupt entry is ignored (recomputed)."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from edgekit.stages.context import BuildContext


class ResumeError(EdgekitError):
    """`--resume` of a build whose config, labels or spec changed since its checkpoint."""


def sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _factory_source(ctx: BuildContext, which: str) -> dict[str, Any]:
    """What defines a model: its config entry plus the bytes of the factory's source file and weights."""
    proj = ctx.example
    ref = getattr(getattr(proj, "cfg", None), "model", None)
    r = getattr(ref, which, None) if ref is not None else None
    if r is None:
        return {}
    out: dict[str, Any] = r.model_dump(mode="json")
    from edgekit.project import factory

    try:
        fn = factory.resolve(r.factory, proj.base, f"model.{which}.factory")  # type: ignore[attr-defined]
        src = inspect.getsourcefile(fn)
        out["source_sha256"] = file_sha(Path(src)) if src else ""
    except (TypeError, OSError):
        out["source_sha256"] = ""
    if r.weights:
        w = Path(r.weights)
        out["weights_sha256"] = file_sha(w if w.is_absolute() else proj.base / w)  # type: ignore[attr-defined]
    return out


def files_key(ctx: BuildContext) -> str:
    """The training files as they are now: relative paths, labels, sizes and modification times (adding,
    removing, relabelling or editing an image changes it). A factory split is covered by its config entry
    and the factory's source file."""
    from edgekit.data.sources import FileSplit

    if ctx.splits is None or ctx.splits.train is None:
        return ""
    h = hashlib.sha256()
    for ds in (ctx.splits.train, ctx.splits.eval):
        sp = ds.split
        if isinstance(sp, FileSplit):
            for i in range(len(ds)):
                j = ds.source_index(i)
                p = sp.path(j)
                try:
                    st = os.stat(p)
                    h.update(f"{p}\0{int(sp.labels[j])}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                except OSError:
                    h.update(f"{p}\0missing\n".encode())
        elif hasattr(sp, "fingerprint"):  # a detection split: its images and boxes (data/detection.py)
            h.update(sp.fingerprint(ds.source_index(i) for i in range(len(ds))).encode())
        else:
            fn = getattr(sp, "factory_source", None)
            h.update(str(fn).encode())
    return h.hexdigest()


def inputs_key(ctx: BuildContext) -> str:
    """Data (config and files) + labels + spec + seed: what every training stage depends on."""
    proj = ctx.example
    cfg = getattr(proj, "cfg", None)
    data_src = ""
    if cfg is not None and getattr(cfg.data.source, "factory", None):
        from edgekit.project import factory

        try:
            src = inspect.getsourcefile(factory.resolve(cfg.data.source.factory, proj.base, "data.source"))  # type: ignore[attr-defined]
            data_src = file_sha(Path(src)) if src else ""
        except Exception:  # noqa: BLE001 - the data stage reports factory problems itself
            data_src = ""
    return sha(
        {
            "files": files_key(ctx),
            "data_source": data_src,
            "data": cfg.data.model_dump(mode="json") if cfg is not None else proj.name,
            "augment": cfg.augment.model_dump(mode="json") if cfg is not None else None,
            "labels": proj.labels,
            "spec": proj.spec.sha256(),
            "seed": ctx.seed,
            "max_train": ctx.recipe.max_train,
        }
    )


def stage_key(ctx: BuildContext, stage: str, upstream: str | None) -> str:
    r = ctx.recipe
    train = {
        "batch_size": r.batch_size,
        "optimizer": r.optimizer,
        "schedule": r.schedule,
        "weight_decay": r.weight_decay,
        "lr": r.lr,
    }
    parts: dict[str, Any] = {"stage": stage, "upstream": upstream, "plan": list(ctx.example.plan)}
    if stage == "teacher":
        parts.update(
            inputs=inputs_key(ctx),
            model=_factory_source(ctx, "teacher"),
            epochs=r.teacher_epochs,
            train=train,
            ckpt=file_sha(ctx.teacher_ckpt) if ctx.teacher_ckpt else None,
        )
    elif stage == "distill":
        parts.update(
            model=_factory_source(ctx, "student"),
            epochs=r.distill_epochs,
            train=train,
            kd=[r.temperature, r.alpha],
        )
    elif stage == "prune":
        cfg = getattr(ctx.example, "cfg", None)
        parts.update(
            prune=cfg.prune.model_dump(mode="json") if cfg is not None else None,
            ratio=r.prune_ratio,
            target_ms=r.prune_target_ms,
            round_to=ctx.profile.channel_round,
            epochs=r.finetune_epochs,
            train=train,
            kd=[r.temperature, r.alpha],
        )
    return sha(parts)


class StageCache:
    """``<dir>/<stage>-<key16>.pt``: {"state": ..., "record": {...}, "meta": {...}}."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, stage: str, key: str) -> Path:
        return self.root / f"{stage}-{key[:16]}.pt"

    def ckpt_dir(self, stage: str, key: str) -> Path:
        """The per-epoch checkpoint folder of a training step (the training loop's resume)."""
        return self.root / f"{stage}-{key[:16]}.ckpt"

    def load(self, stage: str, key: str) -> dict[str, Any] | None:
        p = self._path(stage, key)
        if not p.is_file():
            return None
        try:
            obj = torch.load(p, map_location="cpu", weights_only=False)
        except Exception:  # a torn or foreign file: recompute
            return None
        return obj if isinstance(obj, dict) and obj.get("key") == key else None

    def save(self, stage: str, key: str, obj: dict[str, Any]) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        p = self._path(stage, key)
        fd, tmp = tempfile.mkstemp(prefix=p.name, suffix=".tmp", dir=self.root)
        os.close(fd)
        try:
            torch.save({**obj, "key": key}, tmp)
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return p


STATE_FILE = "build-state.json"


def fingerprint(ctx: BuildContext) -> dict[str, str]:
    proj = ctx.example
    cfg = getattr(proj, "cfg", None)
    return {
        "config": getattr(proj, "config_hash", lambda: sha(proj.name))()
        if cfg is not None
        else sha(proj.name),
        "labels": sha(proj.labels),
        "spec": proj.spec.sha256(),
        "device": ctx.profile.name,
        "fast": str(ctx.fast),
        "seed": str(ctx.seed),
    }


def check_resume(state_dir: Path, fp: dict[str, str], resume: bool) -> bool:
    """Write the build's fingerprint; with ``resume``, first refuse when it changed. Returns whether a
    previous state was found (a resume that continues)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    p = state_dir / STATE_FILE
    found = False
    if resume and p.is_file():
        try:
            old = json.loads(p.read_text())
        except (OSError, ValueError):
            old = {}
        changed = [
            k for k in ("config", "labels", "spec", "device", "fast", "seed") if old.get(k) != fp.get(k)
        ]
        if changed:
            raise ResumeError(
                f"cannot resume: the {', '.join(changed)} changed since the interrupted build ({p})",
                "run without --resume to build afresh (reused stages are kept)",
            )
        found = True
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(fp, indent=1))
    os.replace(tmp, p)
    return found
