"""Training loss of edgekit's anchor-free detector head (the ``edgekit_ltrb`` encoding, /work/notes/DET.md).

Target assignment (FCOS-style, one stride ``s``): cell (i, j) has its centre at ((j + 0.5) s, (i + 0.5) s).
A cell is a positive of a ground-truth box when its centre lies inside the box AND within ``radius`` strides
of the box centre (FCOS centre sampling), and the cell that contains the box centre is always a positive of
it (so a box smaller than a cell still gets one). A cell claimed by several boxes takes the smallest one
(ties: the lower box index). A positive's targets: its box's class (one-hot) and the distances
(cx - x1, cy - y1, x2 - cx, y2 - cy) / s, clamped at 0 — exactly what the decoder inverts.

Loss = sigmoid focal loss (alpha 0.25, gamma 2) over every cell and class, divided by the number of positives
+ ``box_weight`` x GIoU loss of the decoded boxes of the positives (mean). Targets are the [N, max_boxes, 5]
rows (class_id, x1, y1, x2, y2) in network-input pixels, padded with class_id -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
RADIUS = 1.5
BOX_WEIGHT = 2.0


@dataclass
class Assignment:
    """Per image and cell (flattened p = i * W + j): the assigned box index (-1: background), its class and
    its ltrb targets in stride units."""

    box: torch.Tensor  # [N, P] int64, -1 = background
    cls: torch.Tensor  # [N, P] int64, -1 = background
    ltrb: torch.Tensor  # [N, P, 4] float32 (0 at background cells)
    boxes: torch.Tensor  # [N, P, 4] float32 the assigned box (x1, y1, x2, y2) in pixels

    @property
    def positive(self) -> torch.Tensor:
        return self.box >= 0


def cell_centres(h: int, w: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """[H * W, 2] (cx, cy) in pixels, p = i * W + j."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * stride
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([cx.reshape(-1), cy.reshape(-1)], dim=1)


def assign(target: torch.Tensor, h: int, w: int, stride: int, radius: float = RADIUS) -> Assignment:
    """The FCOS-style assignment of ``target`` [N, M, 5] to the H x W cells."""
    t = target.float()
    n, m = t.shape[0], t.shape[1]
    p = h * w
    dev = t.device
    if m == 0:
        z = torch.full((n, p), -1, dtype=torch.int64, device=dev)
        return Assignment(z, z.clone(), torch.zeros(n, p, 4, device=dev), torch.zeros(n, p, 4, device=dev))
    cls, x1, y1, x2, y2 = t.unbind(-1)  # [N, M]
    valid = (cls >= 0) & (x2 > x1) & (y2 > y1)
    c = cell_centres(h, w, stride, dev)  # [P, 2]
    cx = c[:, 0].view(1, 1, p)
    cy = c[:, 1].view(1, 1, p)
    bx1, by1, bx2, by2 = (v.unsqueeze(-1) for v in (x1, y1, x2, y2))  # [N, M, 1]
    inside = (cx > bx1) & (cx < bx2) & (cy > by1) & (cy < by2)
    bcx, bcy = (bx1 + bx2) / 2, (by1 + by2) / 2
    near = ((cx - bcx).abs() < radius * stride) & ((cy - bcy).abs() < radius * stride)
    ci = (bcy / stride).floor().clamp(0, h - 1)
    cj = (bcx / stride).floor().clamp(0, w - 1)
    centre_cell = torch.arange(p, device=dev).view(1, 1, p) == (ci * w + cj).long()
    pos = ((inside & near) | centre_cell) & valid.unsqueeze(-1)  # [N, M, P]
    area = ((x2 - x1) * (y2 - y1)).unsqueeze(-1).expand(n, m, p)
    cost = torch.where(pos, area, torch.full_like(area, float("inf")))
    best, idx = cost.min(dim=1)  # [N, P]; ties: the lower box index (torch.min returns the first)
    has = torch.isfinite(best)
    box_idx = torch.where(has, idx, torch.full_like(idx, -1))
    gathered = torch.gather(t, 1, idx.unsqueeze(-1).expand(n, p, 5))  # [N, P, 5]
    boxes = gathered[..., 1:5]
    px, py = c[:, 0].view(1, p), c[:, 1].view(1, p)
    ltrb = torch.stack([px - boxes[..., 0], py - boxes[..., 1], boxes[..., 2] - px, boxes[..., 3] - py], -1)
    ltrb = (ltrb / stride).clamp(min=0) * has.unsqueeze(-1)
    cls_idx = torch.where(has, gathered[..., 0].long(), torch.full_like(idx, -1))
    return Assignment(box_idx, cls_idx, ltrb, boxes * has.unsqueeze(-1))


def decode_ltrb(ltrb: torch.Tensor, h: int, w: int, stride: int) -> torch.Tensor:
    """[N, P, 4] distances in stride units -> [N, P, 4] (x1, y1, x2, y2) pixels (DET.md's decoding)."""
    c = cell_centres(h, w, stride, ltrb.device).unsqueeze(0)
    d = ltrb.clamp(min=0) * stride
    return torch.stack([c[..., 0] - d[..., 0], c[..., 1] - d[..., 1], c[..., 0] + d[..., 2],
                        c[..., 1] + d[..., 3]], -1)


def giou_loss(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """1 - GIoU of matching rows of [K, 4] xyxy boxes."""
    ix1, iy1 = torch.maximum(a[:, 0], b[:, 0]), torch.maximum(a[:, 1], b[:, 1])
    ix2, iy2 = torch.minimum(a[:, 2], b[:, 2]), torch.minimum(a[:, 3], b[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    union = area_a + area_b - inter
    iou = inter / (union + eps)
    cx1, cy1 = torch.minimum(a[:, 0], b[:, 0]), torch.minimum(a[:, 1], b[:, 1])
    cx2, cy2 = torch.maximum(a[:, 2], b[:, 2]), torch.maximum(a[:, 3], b[:, 3])
    hull = (cx2 - cx1).clamp(min=0) * (cy2 - cy1).clamp(min=0)
    return 1.0 - (iou - (hull - union) / (hull + eps))


def focal_loss(logits: torch.Tensor, onehot: torch.Tensor, alpha: float = FOCAL_ALPHA,
               gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """Sigmoid focal loss (Lin et al. 2017), summed."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
    p_t = p * onehot + (1 - p) * (1 - onehot)
    a_t = alpha * onehot + (1 - alpha) * (1 - onehot)
    return (a_t * ce * (1 - p_t) ** gamma).sum()


def split_raw(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, 4 + C, H, W] -> ltrb [N, P, 4], class logits [N, P, C] (p = i * W + j)."""
    n, ch, h, w = raw.shape
    flat = raw.reshape(n, ch, h * w).transpose(1, 2)
    return flat[..., :4], flat[..., 4:]


def detection_loss(raw: torch.Tensor, target: torch.Tensor, stride: int, *,
                   background_class: bool = False, box_weight: float = BOX_WEIGHT) -> torch.Tensor:
    """The training loss of ``raw`` [N, 4 + C, H, W] against ``target`` [N, M, 5]."""
    n, ch, h, w = raw.shape
    c = ch - 4
    a = assign(target.to(raw.device), h, w, stride)
    ltrb, logits = split_raw(raw.float())
    pos = a.positive
    onehot = torch.zeros_like(logits)
    if pos.any():
        onehot[pos] = F.one_hot(a.cls[pos].clamp(0, c - 1), c).to(onehot.dtype)
    if background_class:  # channel 0 is the background: never a positive, never reported; not trained
        logits, onehot = logits[..., 1:], onehot[..., 1:]
    num_pos = max(1.0, float(pos.sum()))
    loss = focal_loss(logits, onehot) / num_pos
    if pos.any():
        pred = decode_ltrb(ltrb, h, w, stride)[pos]
        loss = loss + box_weight * giou_loss(pred, a.boxes[pos]).mean()
    return loss


def kd_detection_loss(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor, stride: int,
                      temperature: float, alpha: float, *, background_class: bool = False) -> torch.Tensor:
    """Distillation of the raw head maps: alpha x (soft + box) + (1 - alpha) x the task loss against the
    ground truth, where

    * soft: BCE of the student's class logits / T against the teacher's sigmoid(logits / T), weighted by
      |sigmoid(s / T) - sigmoid(t / T)|^2 (quality-focal style, so the many easy background cells do not
      swamp the few objects), summed and divided by the teacher's object count (sum over cells of its best
      class probability, at least 1), x T^2;
    * box: L1 of the ltrb distances, weighted per cell by the teacher's best class probability."""
    s_box, s_cls = split_raw(student.float())
    t_box, t_cls = split_raw(teacher.float())
    t = temperature
    p_t = torch.sigmoid(t_cls / t)
    w = (torch.sigmoid(s_cls / t) - p_t).abs().pow(2).detach()
    wgt = torch.sigmoid(t_cls).amax(-1, keepdim=True)  # [N, P, 1]: where the teacher sees an object
    objects = wgt.sum().clamp(min=1.0)
    bce = F.binary_cross_entropy_with_logits(s_cls / t, p_t, reduction="none")
    soft = (bce * w).sum() / objects * (t * t)
    box = ((s_box - t_box).abs() * wgt).sum() / objects / 4
    hard = detection_loss(student, target, stride, background_class=background_class)
    return alpha * (soft + box) + (1.0 - alpha) * hard
