"""``load_project(path)``: an ``edgekit.yaml`` validated into a ``Project``, the one thing `edgekit build`
builds. Built-in examples are projects too (edgekit/projects/<name>/edgekit.yaml): same loader, same stages.

A Project implements the stage protocol of edgekit/examples/base.py (spec, labels, load_data, teacher,
student,
recipe, classifier), so no stage can tell a built-in example from a user's project."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch.nn as nn
from pydantic import ValidationError

from edgekit.errors import ConfigError
from edgekit.examples.base import Example, ExampleData, Recipe, check_plan
from edgekit.preprocess.spec import PreprocessSpec
from edgekit.project import factory
from edgekit.project.schema import ModelRef, ProjectConfig, RecipeFields
from edgekit.project.task import Task, get_task
from edgekit.project.yamlsrc import YamlDoc, load_yaml

if TYPE_CHECKING:
    from edgekit.profiles import DeviceProfile

CONFIG_NAME = "edgekit.yaml"
BUILTIN_ROOT = Path(__file__).resolve().parent.parent / "projects"


def _msg(exc: ValidationError) -> tuple[Any, str]:
    first = exc.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    return first["loc"], msg


class Project(Example):
    """A validated project: its config, its folder, and the models and data it names."""

    def __init__(self, cfg: ProjectConfig, path: Path, doc: YamlDoc | None = None) -> None:
        self.cfg = cfg
        self.path = path.resolve()
        self.base = self.path.parent
        self.doc = doc
        self.name = cfg.name
        self.description = cfg.description
        teacher_step = "pretrained_teacher" if cfg.model.teacher.pretrained else "train_teacher"
        self.plan = (teacher_step, *(cfg.recipe.steps if cfg.recipe.steps is not None else ()))
        self.notes = tuple(cfg.notes)
        try:
            self.task: Task = get_task(cfg.task, **_task_options(cfg))
        except ConfigError as exc:
            raise self.error("postprocess.encoding" if cfg.postprocess is not None else "task", exc.message,
                             exc.fix or "fix the task or its postprocess block") from exc
        if not getattr(self.task, "trainable", True):
            self._check_untrainable(cfg)

    def _check_untrainable(self, cfg: ProjectConfig) -> None:
        """A task edgekit cannot train (a detector in an external output layout, postprocess.encoding
        anchor_free_grid) is deployed as it is: a pretrained teacher, no student, no step that trains
        (distill, prune's fine-tuning, qat); ptq (calibration only) is allowed."""
        enc = cfg.postprocess.encoding if cfg.postprocess is not None else "?"
        why = f"postprocess.encoding {enc} is deployed, not trained (edgekit's loss is edgekit_ltrb's)"
        if not cfg.model.teacher.pretrained:
            raise self.error("model.teacher.pretrained", f"{why}: the teacher cannot be trained",
                             "set model.teacher.pretrained: true (and weights: FILE, or a factory that "
                             "loads its own)")
        if cfg.model.student is not None:
            raise self.error("model.student", f"{why}: a student cannot be distilled",
                             "remove model.student (the teacher is deployed)")
        for key, steps in (("recipe.steps", cfg.recipe.steps), ("recipe.fast.steps", cfg.recipe.fast.steps)):
            bad = [s for s in steps or () if s != "ptq"]
            if bad:
                raise self.error(key, f"{why}: steps {bad} need training",
                                 "remove them: keep no step, or only ptq (INT8 by calibration, where the "
                                 "device has INT8)")

    # -- errors that point into the file ---------------------------------------------------------
    def line(self, dotted: str) -> str:
        """``edgekit.yaml:LINE`` for a dotted key (or the file alone when the key is not written)."""
        if self.doc is None:
            return str(self.path)
        n = self.doc.lines.get(tuple(dotted.split(".")))
        return f"{self.path}:{n}" if n else str(self.path)

    def error(self, dotted: str, msg: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.line(dotted)}: {dotted}: {msg}", fix)

    # -- the stage protocol ------------------------------------------------------------------------
    @property
    def spec(self) -> PreprocessSpec:
        return self.cfg.preprocess

    @cached_property
    def labels(self) -> list[str]:  # type: ignore[override]
        from edgekit.data.sources import resolve_labels

        return resolve_labels(self.cfg.data, self.base)

    def load_data(self, fast: bool) -> ExampleData:
        from edgekit.data.sources import load_example_data  # INTERIM: the in-memory stages

        return load_example_data(self.cfg.data, self.base, self.spec, fast)

    def _build(self, which: str, ref: ModelRef, *args: Any) -> nn.Module:
        key = f"model.{which}"
        model = factory.build_module(ref.factory, ref.kwargs, self.base, f"{self.line(key)}: {key}", *args)
        if ref.weights:
            w = Path(ref.weights)
            factory.load_weights(
                model,
                w if w.is_absolute() else self.base / w,
                f"{self.line(key + '.weights')}: {key}.weights",
            )
        return model

    def teacher(self, profile: DeviceProfile | None = None) -> nn.Module:
        return self._build("teacher", self.cfg.model.teacher)

    def student(
        self, profile: DeviceProfile | None = None, teacher: nn.Module | None = None
    ) -> nn.Module | None:
        ref = self.cfg.model.student
        return None if ref is None else self._build("student", ref)

    def recipe(self, fast: bool) -> Recipe:
        r = Recipe()
        r = _apply(r, self.cfg.recipe)
        if fast:
            r = _apply(r, self.cfg.recipe.fast)
        return r

    def classifier(self, model: nn.Module) -> nn.Module | None:
        name = self.cfg.prune.classifier
        if name is None:
            return super().classifier(model)
        mods = dict(model.named_modules())
        if name not in mods:
            raise self.error(
                "prune.classifier",
                f"the model has no module '{name}'",
                f"name one of: {', '.join(list(mods)[1:6])} ...",
            )
        return mods[name]

    def prune_ignored(self, model: nn.Module) -> list[nn.Module]:
        """The modules kept whole by pruning: the classifier (unless keep_classifier: false), prune.ignore."""
        mods = dict(model.named_modules())
        out: list[nn.Module] = []
        if self.cfg.prune.keep_classifier:
            cls = self.classifier(model)
            if cls is not None:
                out.append(cls)
        out += [m for m in self.task.prune_ignore(model) if all(m is not o for o in out)]
        for i, name in enumerate(self.cfg.prune.ignore):
            if name not in mods:
                raise self.error(
                    f"prune.ignore.{i}",
                    f"the model has no module '{name}'",
                    "use a name from model.named_modules()",
                )
            out.append(mods[name])
        return out

    def train_device(self, override: str | None = None) -> Any:
        """The torch device for training (``train.device``; auto = CUDA when torch sees a GPU)."""
        from edgekit.train.device import select_device

        return select_device(override or self.cfg.train.device)

    def default_out(self, device: str) -> Path:
        if self.cfg.out:
            p = Path(self.cfg.out)
            return p if p.is_absolute() else self.base / p
        return Path("bundles") / f"{self.name}-{device}"

    def config_hash(self) -> str:
        """Everything that changes what is built; ``train`` (device, workers, AMP) changes only how fast."""
        blob = json.dumps(self.cfg.model_dump(mode="json", exclude={"train"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _task_options(cfg: ProjectConfig) -> dict[str, Any]:
    """The task's constructor options from the config (detection: the postprocess and the input size)."""
    if cfg.task != "detection":
        return {}
    from edgekit.bundle import DetectionPostprocess

    shape = cfg.preprocess.input_shape()
    hw = (shape[2], shape[3]) if cfg.preprocess.steps[-1].to == "NCHW" else (shape[1], shape[2])  # type: ignore[union-attr]
    block = cfg.postprocess.model_dump() if cfg.postprocess is not None else {}
    return {"post": DetectionPostprocess(**block), "input_hw": (int(hw[0]), int(hw[1]))}


_EPOCHS = {
    "teacher": "teacher_epochs",
    "distill": "distill_epochs",
    "finetune": "finetune_epochs",
    "qat": "qat_epochs",
}


def _apply(r: Recipe, f: RecipeFields) -> Recipe:
    ch: dict[str, Any] = {}
    for name in (
        "batch_size",
        "optimizer",
        "lr",
        "qat_lr",
        "schedule",
        "weight_decay",
        "prune_ratio",
        "prune_target_ms",
        "max_train",
        "calib_images",
    ):
        v = getattr(f, name)
        if v is not None:
            ch[name] = v
    if f.epochs is not None:
        for k in f.epochs.model_fields_set:
            ch[_EPOCHS[k]] = getattr(f.epochs, k)
    if f.kd is not None:
        ch.update({k: getattr(f.kd, k) for k in f.kd.model_fields_set})
    return dataclasses.replace(r, **ch)


def validate(doc: YamlDoc) -> ProjectConfig:
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{doc.path}:1: the config must be a mapping of keys to values",
            "start from `edgekit init DIR --data FOLDER`",
        )
    try:
        cfg = ProjectConfig.model_validate(doc.data)
    except ValidationError as exc:
        loc, msg = _msg(exc)
        key, line = doc.where(loc)
        at = f"{doc.path}:{line}" if line else str(doc.path)
        raise ConfigError(
            f"{at}: {key}: {msg}", "correct that key (the config reference: edgekit/project/schema.py)"
        ) from exc
    return cfg


def load_project(path: Path) -> Project:
    """Read, validate and check an ``edgekit.yaml`` (a folder means its edgekit.yaml)."""
    path = path / CONFIG_NAME if path.is_dir() else path
    doc = load_yaml(path)
    cfg = validate(doc)
    proj = Project(cfg, path, doc)
    try:
        check_plan(proj.plan)
    except ValueError as exc:
        raise proj.error("recipe.steps", str(exc), "order: distill, prune, qat|ptq") from exc
    steps = cfg.recipe.steps or []
    if "distill" in steps and cfg.model.student is None:
        raise proj.error(
            "recipe.steps",
            "has 'distill' but model.student is not set",
            "add model.student, or drop 'distill'",
        )
    if (
        cfg.model.teacher.pretrained
        and "qat" not in steps
        and cfg.recipe.epochs
        and cfg.recipe.epochs.teacher
    ):
        pass  # teacher epochs are ignored for a pretrained teacher
    return proj


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_ROOT.iterdir() if (p / CONFIG_NAME).is_file())


def builtin_path(name: str) -> Path:
    return BUILTIN_ROOT / name / CONFIG_NAME
