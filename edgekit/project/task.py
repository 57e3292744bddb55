"""The task seam: what the pipeline asks of a task (loss, metric, output names and shapes, the postprocessing
written into the manifest). Stages only call these methods; a new task (detection) registers here and the
stages stay as they are."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgekit.bundle import DetectionPostprocess, PostprocessInfo
from edgekit.errors import ConfigError


class Task(Protocol):
    name: str
    min_classes: int  # a classifier needs two classes, a detector one

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def kd_loss(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        target: torch.Tensor,
        temperature: float,
        alpha: float,
    ) -> torch.Tensor: ...

    def metric(self, outputs: torch.Tensor, target: torch.Tensor) -> float: ...

    def metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """Every figure of the task's metric; ``metrics(...)[metric_name()] == metric(...)``."""

    def metric_name(self) -> str: ...

    def output_names(self) -> list[str]: ...

    def output_shapes(self, n_classes: int) -> list[list[int]]: ...

    def postprocess(self, labels: list[str]) -> PostprocessInfo | DetectionPostprocess: ...

    def check_output(self, out: Any, batch: int, n_classes: int) -> str | None:
        """None when a forward's result fits the task, else what is wrong."""

    def prune_ignore(self, model: nn.Module) -> list[nn.Module]:
        """Modules pruning keeps whole because the task fixes their output channels (beyond prune.ignore)."""

    def output_agreement(self, ref: np.ndarray, got: np.ndarray, labels: list[str]) -> tuple[float, int]:
        """How far two models' outputs on the same batch agree, for translation checks (e.g. the DLA INT8
        model vs the Q/DQ model): (agreement in [0, 1], number of items compared)."""


class Classification:
    name = "classification"
    min_classes = 2

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    def kd_loss(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        target: torch.Tensor,
        temperature: float,
        alpha: float,
    ) -> torch.Tensor:
        """Hinton et al.: alpha * KL(softmax(t/T) || softmax(s/T)) * T^2 + (1 - alpha) * CE(s, y)."""
        t = temperature
        soft = F.kl_div(
            F.log_softmax(student / t, dim=1),
            F.log_softmax(teacher / t, dim=1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)
        return alpha * soft + (1.0 - alpha) * F.cross_entropy(student, target)

    def metric(self, outputs: torch.Tensor, target: torch.Tensor) -> float:
        if len(target) == 0:
            return float("nan")
        return round(float((outputs.argmax(1) == target).float().mean()), 6)

    def metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return {"top1": self.metric(outputs, target)}

    def metric_name(self) -> str:
        return "top1"

    def output_names(self) -> list[str]:
        return ["logits"]

    def output_shapes(self, n_classes: int) -> list[list[int]]:
        return [[-1, n_classes]]

    def postprocess(self, labels: list[str]) -> PostprocessInfo:
        return PostprocessInfo(type="classification", apply_softmax=True, top_k=min(5, len(labels)))

    def check_output(self, out: Any, batch: int, n_classes: int) -> str | None:
        if not isinstance(out, torch.Tensor):
            return f"returns a {type(out).__name__}, not one tensor of logits"
        if list(out.shape) != [batch, n_classes]:
            return f"gives shape {list(out.shape)}, not [{batch}, {n_classes}] ([N, classes])"
        return None

    def prune_ignore(self, model: nn.Module) -> list[nn.Module]:
        return []  # the classifier is kept by the project (prune.keep_classifier / prune.classifier)

    def output_agreement(self, ref: np.ndarray, got: np.ndarray, labels: list[str]) -> tuple[float, int]:
        """Top-1 agreement."""
        return float((ref.argmax(-1) == got.argmax(-1)).mean()), int(len(ref))


# the mAP is measured like COCO's evaluation: on every detection down to a low score, not only on those at the
# deployed threshold (which would cut the precision-recall curve short)
EVAL_SCORE_THRESHOLD = 0.05
EVAL_PRE_NMS_TOP_K = 300


class Detection:
    """Object detection with edgekit's anchor-free head (or any model with the same one output): output
    ``raw`` [N, 4 + C, H, W] (``edgekit_ltrb``), targets [N, max_boxes, 5] (class_id, x1, y1, x2, y2 in
    network-input pixels, padded with class_id -1), metric COCO mAP@0.5:0.95 by pycocotools."""

    name = "detection"
    min_classes = 1

    def __init__(self, post: DetectionPostprocess | None = None,
                 input_hw: tuple[int, int] | None = None) -> None:
        self.post = post or DetectionPostprocess()
        # anchor_free_grid (an external detector's layout) is deployed, evaluated and quantized (PTQ), but
        # never trained: the loss is edgekit_ltrb's (the project refuses training steps, project.py)
        self.trainable = self.post.encoding == "edgekit_ltrb"
        self.input_hw = input_hw

    @property
    def stride(self) -> int:
        return int(self.post.stride)

    # -- training ------------------------------------------------------------------------------------
    def _refuse_training(self) -> None:
        if not self.trainable:
            raise ConfigError(f"postprocess.encoding {self.post.encoding} cannot be trained by edgekit (its "
                              "loss is edgekit_ltrb's)", "deploy the detector as model.teacher.pretrained: "
                              "true, with no recipe step or only ptq")

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        from edgekit.train.detection_loss import detection_loss

        self._refuse_training()

        return detection_loss(logits, target, self.stride, background_class=self.post.background_class)

    def kd_loss(self, student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor,
                temperature: float, alpha: float) -> torch.Tensor:
        from edgekit.train.detection_loss import kd_detection_loss

        self._refuse_training()

        return kd_detection_loss(student, teacher, target, self.stride, temperature, alpha,
                                 background_class=self.post.background_class)

    # -- evaluation ----------------------------------------------------------------------------------
    def eval_post(self) -> DetectionPostprocess:
        """The declared postprocess in network-input pixels, down to the evaluation score threshold."""
        return self.post.model_copy(update={
            "coordinates": "input", "score_threshold": min(self.post.score_threshold, EVAL_SCORE_THRESHOLD),
            "pre_nms_top_k": min(self.post.pre_nms_top_k, EVAL_PRE_NMS_TOP_K)})

    def metrics(self, outputs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        from edgekit.detect.coco_map import coco_map
        from edgekit.detect.postprocess import detect

        out = outputs.detach().float().cpu().numpy()
        n_cls = out.shape[1] - 4
        dets = detect(out, self.eval_post(), [str(c) for c in range(n_cls)])
        hw = self.input_hw or (out.shape[2] * self.stride, out.shape[3] * self.stride)
        return coco_map(dets, target.detach().cpu().numpy(), n_cls, hw, self.post.background_class)

    def metric(self, outputs: torch.Tensor, target: torch.Tensor) -> float:
        return self.metrics(outputs, target)["map50_95"]

    def metric_name(self) -> str:
        return "map50_95"

    # -- the bundle ----------------------------------------------------------------------------------
    def output_names(self) -> list[str]:
        return ["raw"]

    def output_shapes(self, n_classes: int) -> list[list[int]]:
        if self.post.encoding == "anchor_free_grid":
            return [[-1, 4 + n_classes, -1]]  # the anchor count is the model's
        if self.input_hw is None:
            return [[-1, 4 + n_classes, -1, -1]]
        h, w = self.input_hw
        return [[-1, 4 + n_classes, math.ceil(h / self.stride), math.ceil(w / self.stride)]]

    def postprocess(self, labels: list[str]) -> DetectionPostprocess:
        return self.post

    def check_output(self, out: Any, batch: int, n_classes: int) -> str | None:
        if not isinstance(out, torch.Tensor):
            return f"returns a {type(out).__name__}, not one tensor ([N, 4 + C, H, W])"
        want = [batch, 4 + n_classes]
        if self.post.encoding == "anchor_free_grid":
            if out.ndim != 3 or list(out.shape[:2]) != want:
                return (f"gives shape {list(out.shape)}, not [{batch}, {4 + n_classes}, A] "
                        "(postprocess.encoding anchor_free_grid)")
            return None
        if out.ndim != 4 or list(out.shape[:2]) != want:
            return f"gives shape {list(out.shape)}, not [{batch}, {4 + n_classes}, H, W]"
        if self.input_hw is not None:
            cells = [math.ceil(v / self.stride) for v in self.input_hw]
            if list(out.shape[2:]) != cells:
                return (f"gives a {out.shape[2]}x{out.shape[3]} grid, not {cells[0]}x{cells[1]} (input "
                        f"{self.input_hw[0]}x{self.input_hw[1]} / postprocess.stride {self.stride})")
        return None

    def prune_ignore(self, model: nn.Module) -> list[nn.Module]:
        """The convolutions whose outputs are the encoding (box and class channels): the model's
        ``final_convs()`` when it has one, else the convs that reach the output through parameter-free ops
        only (found by torch.fx), else the last two convolutions."""
        fn = getattr(model, "final_convs", None)
        if callable(fn):
            return list(fn())
        return _output_convs(model)

    def output_agreement(self, ref: np.ndarray, got: np.ndarray, labels: list[str]) -> tuple[float, int]:
        """Detections of ``ref`` and ``got`` (at the evaluation threshold, in input pixels) matched one to one
        by class and IoU >= 0.5, best score first. An unmatched detection whose score lies within
        ``score_margin`` of the threshold is exempt (near the threshold the two may differ in count, as in
        parity); agreement = matched / (matched + the other unmatched ones), pooled over the batch. The count
        is the number of detections compared (matched + counted unmatched)."""
        from edgekit.detect.postprocess import detect, iou

        post = self.eval_post()
        near = post.score_threshold + self.post.score_margin
        a = detect(ref, post, labels)
        b = detect(got, post, labels)
        matched = unmatched = 0
        for da, db in zip(a, b, strict=True):
            used: set[int] = set()
            for d in da:
                hit = next((j for j, e in enumerate(db) if j not in used and e.class_id == d.class_id
                            and iou(d.box, e.box) >= 0.5), None)
                if hit is not None:
                    used.add(hit)
                    matched += 1
                elif d.score >= near:
                    unmatched += 1
            unmatched += sum(1 for j, e in enumerate(db) if j not in used and e.score >= near)
        total = matched + unmatched
        return (matched / total if total else 0.0), total


def _output_convs(model: nn.Module) -> list[nn.Module]:
    mods = dict(model.named_modules())
    try:
        import torch.fx as fx

        gm = fx.symbolic_trace(model)
    except Exception:
        convs: list[nn.Module] = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        return convs[-2:]
    found: list[nn.Module] = []
    out = next(n for n in gm.graph.nodes if n.op == "output")
    stack = list(out.all_input_nodes)
    seen: set[str] = set()
    while stack:
        n = stack.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        if n.op == "call_module":
            m = mods.get(str(n.target))
            if isinstance(m, nn.Conv2d | nn.Linear):
                found.append(m)
                continue
            if m is not None and any(True for _ in m.parameters()):
                continue  # e.g. a BatchNorm after the conv: its channels follow the conv's, which is kept
        stack.extend(n.all_input_nodes)
    return found


TASKS: dict[str, type] = {"classification": Classification, "detection": Detection}


def get_task(name: str, **options: Any) -> Task:
    """The task registered as ``name``; ``options`` go to its constructor (detection: post, input_hw)."""
    if name not in TASKS:
        raise ConfigError(f"task '{name}' is not known", f"use one of: {', '.join(TASKS)}")
    task: Task = TASKS[name](**options)
    return task
