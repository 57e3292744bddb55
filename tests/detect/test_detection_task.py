"""The detection task (edgekit/project/task.py) and its loss (edgekit/train/detection_loss.py): target
assignment, the loss, distillation of the head maps, the COCO mAP by pycocotools, prune_ignore."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from edgekit.bundle import DetectionPostprocess
from edgekit.project.task import Detection, get_task
from edgekit.train import detection_loss as L
from tests.detect.det_fixture import digits_boxes

STRIDE = 8


def _target(rows: list[tuple[float, float, float, float, float]], m: int = 4) -> torch.Tensor:
    t = torch.full((1, m, 5), -1.0)
    for i, r in enumerate(rows):
        t[0, i] = torch.tensor(r)
    return t


def test_assignment_exact_cells_and_distances() -> None:
    # box (class 2) 10..30 x 10..22 on an 8x8 grid at stride 8: cell centres 12, 20, 28 in x, 12, 20 in y
    a = L.assign(_target([(2, 10, 10, 30, 22)]), 8, 8, STRIDE)
    pos = a.positive[0].view(8, 8)
    want = torch.zeros(8, 8, dtype=torch.bool)
    want[1:3, 1:4] = True
    assert torch.equal(pos, want)
    assert set(a.cls[0][a.positive[0]].tolist()) == {2}
    p = 1 * 8 + 1  # cell (1, 1), centre (12, 12)
    assert a.ltrb[0, p].tolist() == pytest.approx([2 / 8, 2 / 8, 18 / 8, 10 / 8])
    assert a.ltrb[0][~a.positive[0]].abs().sum() == 0


def test_assignment_box_smaller_than_a_cell_gets_its_centre_cell() -> None:
    a = L.assign(_target([(0, 33, 33, 36, 36)]), 8, 8, STRIDE)
    assert a.positive[0].nonzero().flatten().tolist() == [4 * 8 + 4]  # the cell holding (34.5, 34.5)
    assert a.ltrb[0, 36].tolist() == pytest.approx([3 / 8, 3 / 8, 0.0, 0.0])  # clamped at 0


def test_assignment_smallest_box_wins_and_padding_is_ignored() -> None:
    big, small = (1, 0, 0, 64, 64), (0, 16, 16, 32, 32)
    a = L.assign(_target([big, small, (-1, 0, 0, 10, 10)]), 8, 8, STRIDE)
    p = 2 * 8 + 2  # centre (20, 20): inside both
    assert a.box[0, p] == 1 and a.cls[0, p] == 0
    assert (a.box[0] != 2).all()  # the padding row (class -1) is never assigned


def _perfect_raw(target: torch.Tensor, h: int, w: int, n_cls: int) -> torch.Tensor:
    """The raw map a perfect head would give for ``target`` under the assignment."""
    a = L.assign(target, h, w, STRIDE)
    n = target.shape[0]
    logits = torch.full((n, h * w, n_cls), -9.0)
    pos = a.positive
    logits[pos, a.cls[pos]] = 9.0
    raw = torch.cat([a.ltrb, logits], -1)  # [N, P, 4 + C]
    return raw.transpose(1, 2).reshape(n, 4 + n_cls, h, w)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    ds = digits_boxes("val", n_val=24, size=64)
    assert ds is not None
    return torch.from_numpy(np.stack([ds[i][1] for i in range(len(ds))]))


def test_perfect_head_map_decodes_to_map_1_and_low_loss(batch: torch.Tensor) -> None:
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    raw = _perfect_raw(batch, 8, 8, 3)
    m = task.metrics(raw, batch)  # decoded by edgekit.detect.postprocess (the coordinator's decoder)
    assert m["map50"] == pytest.approx(1.0) and m["map50_95"] > 0.95, m
    assert task.metric(raw, batch) == m["map50_95"]
    good = float(task.loss(raw, batch))
    shifted = torch.roll(raw, shifts=1, dims=3)
    assert good < 0.05 and float(task.loss(shifted, batch)) > 5 * good


def test_a_wrong_assignment_is_caught_by_the_decoded_map(batch: torch.Tensor,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above breaks its subject: cell centres with x and y swapped (a transposed grid) give
    targets that no longer decode onto the boxes."""
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    real = L.cell_centres

    def transposed(h: int, w: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
        return real(h, w, stride, device).flip(1)

    monkeypatch.setattr(L, "cell_centres", transposed)
    raw = _perfect_raw(batch, 8, 8, 3)
    monkeypatch.undo()
    assert task.metrics(raw, batch)["map50"] < 0.5


def test_metric_counts_false_positives_and_refuses_zero_boxes(batch: torch.Tensor) -> None:
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    raw = _perfect_raw(batch, 8, 8, 3)
    wrong_class = raw.clone()
    wrong_class[:, 4:] = torch.roll(raw[:, 4:], 1, dims=1)  # every box reported as the next class
    assert task.metrics(wrong_class, batch)["map50"] == 0.0
    from edgekit.errors import EdgekitError

    with pytest.raises(EdgekitError, match="no ground-truth box"):
        task.metrics(raw, torch.full_like(batch, -1.0))


def test_training_on_the_loss_learns(batch: torch.Tensor) -> None:
    """A few hundred steps of the loss on a tiny conv net over fixed images: mAP@0.5 rises from ~0."""
    from edgekit.models.detector import detector

    ds = digits_boxes("train", n_train=48, size=64)
    assert ds is not None
    x = torch.from_numpy(np.stack([ds[i][0] for i in range(48)])).permute(0, 3, 1, 2).float() / 255.0
    y = torch.from_numpy(np.stack([ds[i][1] for i in range(48)]))
    torch.manual_seed(0)
    m = detector(3, width=0.35, head_channels=32)
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    m.eval()
    with torch.no_grad():
        before = task.metrics(m(x), y)["map50"]
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    m.train()
    for _ in range(30):
        for i in range(0, 48, 16):
            opt.zero_grad()
            task.loss(m(x[i : i + 16]), y[i : i + 16]).backward()
            opt.step()
    m.eval()
    with torch.no_grad():
        after = task.metrics(m(x), y)["map50"]
    assert before < 0.05 and after > 0.3, (before, after)


def test_kd_loss_pulls_the_student_towards_the_teacher(batch: torch.Tensor) -> None:
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    teacher = _perfect_raw(batch, 8, 8, 3)
    near = teacher + 0.1 * torch.randn_like(teacher)
    far = teacher + 2.0 * torch.randn_like(teacher)
    kd_near, kd_far = (float(task.kd_loss(s, teacher, batch, 2.0, 1.0)) for s in (near, far))
    assert kd_near < kd_far
    s = far.clone().requires_grad_(True)
    task.kd_loss(s, teacher, batch, 2.0, 0.5).backward()
    assert s.grad is not None and s.grad[:, :4].abs().sum() > 0 and s.grad[:, 4:].abs().sum() > 0


class _UserHead(nn.Module):
    """A user's detector without final_convs(): prune_ignore must find the output convs by tracing."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.b = nn.Conv2d(16, 4, 1)
        self.c = nn.Conv2d(16, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        return torch.cat([torch.relu(self.b(f)), self.c(f)], 1)


def test_prune_ignore_keeps_the_encoding_convs() -> None:
    from edgekit.models.detector import detector
    from edgekit.stages.prune import prune_model

    task = get_task("detection", post=DetectionPostprocess(stride=8), input_hw=(64, 64))
    m = detector(3, width=0.5, head_channels=32)
    assert task.prune_ignore(m) == [m.head.box, m.head.cls]
    u = _UserHead()
    assert {id(x) for x in task.prune_ignore(u)} == {id(u.b), id(u.c)}
    before = sum(p.numel() for p in m.parameters())
    prune_model(m, torch.zeros(1, 3, 64, 64), 0.5, 8, task.prune_ignore(m))
    assert sum(p.numel() for p in m.parameters()) < 0.6 * before
    assert m(torch.zeros(2, 3, 64, 64)).shape == (2, 7, 8, 8)
    assert task.check_output(m(torch.zeros(2, 3, 64, 64)), 2, 3) is None
    assert "grid" in (task.check_output(torch.zeros(2, 7, 4, 4), 2, 3) or "")
    assert "not [2, 7, H, W]" in (task.check_output(torch.zeros(2, 7, 64), 2, 3) or "")


def test_output_agreement_exempts_only_near_threshold_differences(batch: torch.Tensor) -> None:
    task = Detection(DetectionPostprocess(stride=STRIDE), input_hw=(64, 64))
    raw = _perfect_raw(batch, 8, 8, 3).numpy()
    agree, n = task.output_agreement(raw, raw, ["0", "1", "2"])
    assert agree == 1.0 and n >= int((batch[..., 0] >= 0).sum())
    noisy = raw.copy()
    noisy[0, 4, 0, 0] = -2.5  # one extra candidate at sigmoid 0.076: within the margin of 0.05, exempt
    assert task.output_agreement(raw, noisy, ["0", "1", "2"])[0] == 1.0
    moved = np.roll(raw, 2, axis=3)  # every box two cells off
    assert task.output_agreement(raw, moved, ["0", "1", "2"])[0] < 0.5
    empty = np.full_like(raw, -9.0)
    assert task.output_agreement(empty, empty, ["0", "1", "2"]) == (0.0, 0)  # nothing compared: not a pass
