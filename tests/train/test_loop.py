"""The training loop: checkpoint every epoch, a resumed run equals an uninterrupted one (CPU, fixed
seeds, with augmentation and DataLoader workers), a changed fingerprint refuses to resume, online
distillation, the device rule, streamed evaluation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgekit.data.config import AugmentConfig, DataConfig
from edgekit.data.engine import Splits, build_splits
from edgekit.errors import ConfigError, EdgekitError
from edgekit.train.device import select_device
from edgekit.train.loop import FitConfig, ResumeError, evaluate, fingerprint, fit
from tests.data.realimages import write_folder
from tests.data.test_sources import spec


class Interrupted(Exception):
    pass


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Dropout(0.2), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 3))


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> Splits:
    root = tmp_path_factory.mktemp("loop")
    write_folder(root / "d", ["a", "b", "c"], 12)
    aug = AugmentConfig.model_validate({"steps": [{"op": "random_resized_crop"}, {"op": "horizontal_flip"}]})
    data = DataConfig(source={"kind": "image_folder", "root": "d", "val_fraction": 0.25},  # type: ignore[arg-type]
                      golden={"split": "val", "count": 3}, calibration={"split": "train", "count": 4})
    return build_splits(data, root, spec(), augment=aug, seed=1)


CFG = FitConfig(epochs=3, lr=3e-3, batch_size=8, num_workers=2, seed=5)


def _fp(s: Splits, cfg: object = "cfg-v1") -> dict[str, str]:
    return fingerprint(cfg, s.labels, spec())


def test_resume_equals_uninterrupted(splits: Splits, tmp_path: Path) -> None:
    assert splits.train is not None
    ref = _net()
    r_ref = fit(ref, splits.train, CFG, F.cross_entropy, ckpt_dir=tmp_path / "ref", fingerprint=_fp(splits))
    assert r_ref.epochs_done == 3 and r_ref.resumed_from_epoch is None and r_ref.images == 3 * 27
    assert (tmp_path / "ref" / "last.pt").is_file()

    def stop(epoch: int, loss: float) -> None:
        if epoch == 2:
            raise Interrupted

    torch.manual_seed(123)  # whatever the RNG does between runs, the checkpoint restores it
    m = _net()
    with pytest.raises(Interrupted):
        fit(m, splits.train, CFG, F.cross_entropy, ckpt_dir=tmp_path / "ck", fingerprint=_fp(splits),
            on_epoch_end=stop)
    torch.manual_seed(999)
    m2 = _net()  # a fresh process would rebuild the model: the checkpoint supplies the weights
    r = fit(m2, splits.train, CFG, F.cross_entropy, ckpt_dir=tmp_path / "ck", resume=True,
            fingerprint=_fp(splits))
    assert r.resumed_from_epoch == 2 and r.epochs_done == 3 and len(r.losses) == 1
    for (k, a), b in zip(ref.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    # without the resume the same interrupted start differs (the test can fail)
    m3 = _net()
    fit(m3, splits.train, FitConfig(epochs=1, lr=3e-3, batch_size=8, seed=5), F.cross_entropy)
    assert not torch.equal(next(iter(m3.state_dict().values())), next(iter(ref.state_dict().values())))
    # a finished checkpoint returns at once
    r_done = fit(_net(), splits.train, CFG, F.cross_entropy, ckpt_dir=tmp_path / "ck", resume=True,
                 fingerprint=_fp(splits))
    assert r_done.resumed_from_epoch == 3 and r_done.images == 0


def test_resume_refused_when_fingerprint_changed(splits: Splits, tmp_path: Path) -> None:
    assert splits.train is not None
    one = FitConfig(epochs=1, lr=1e-3, batch_size=16, seed=1)
    fit(_net(), splits.train, one, F.cross_entropy, ckpt_dir=tmp_path, fingerprint=_fp(splits))
    with pytest.raises(ResumeError, match=r"cannot resume from .*last.pt: the config changed"):
        fit(_net(), splits.train, one, F.cross_entropy, ckpt_dir=tmp_path, resume=True,
            fingerprint=_fp(splits, "cfg-v2"))
    with pytest.raises(ResumeError, match=r"the labels changed"):
        fit(_net(), splits.train, one, F.cross_entropy, ckpt_dir=tmp_path, resume=True,
            fingerprint=fingerprint("cfg-v1", ["x", "y", "z"], spec()))
    with pytest.raises(ResumeError, match=r"the fit changed"):
        fit(_net(), splits.train, FitConfig(epochs=1, lr=2e-3, batch_size=16, seed=1), F.cross_entropy,
            ckpt_dir=tmp_path, resume=True, fingerprint=_fp(splits))
    (tmp_path / "last.pt").write_bytes(b"junk")
    with pytest.raises(ResumeError, match=r"is unreadable"):
        fit(_net(), splits.train, one, F.cross_entropy, ckpt_dir=tmp_path, resume=True,
            fingerprint=_fp(splits))


def test_online_distillation_runs_teacher_on_each_batch(splits: Splits) -> None:
    assert splits.train is not None
    teacher = _net().eval()
    seen: list[int] = []
    hook = teacher.register_forward_hook(lambda m, i, o: seen.append(int(i[0].shape[0])))

    def kd(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.kl_div(F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1), reduction="batchmean",
                        log_target=True) * 4 + F.cross_entropy(s, y)

    r = fit(_net(), splits.train, FitConfig(epochs=2, lr=1e-3, batch_size=8), F.cross_entropy,
            teacher=teacher, kd_loss=kd)
    hook.remove()
    assert sum(seen) == r.images == 2 * 27  # every augmented batch of both epochs went through the teacher


def test_evaluate_streams_and_refuses_zero_items(splits: Splits) -> None:
    res = evaluate(_net(), splits.eval, batch_size=4)
    assert res.n == 9 and 0.0 <= res.accuracy <= 1.0
    with pytest.raises(EdgekitError, match="has no items"):
        from edgekit.data.engine import StreamDataset

        evaluate(_net(), StreamDataset("empty", splits.eval.split.take([]), spec()))  # type: ignore[union-attr]


def test_device_rule() -> None:
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="is not a device"):
        select_device("tpu")
    if torch.version.cuda is None:
        with pytest.raises(ConfigError, match=re.escape(f"torch {torch.__version__} is a CPU-only build")):
            select_device("cuda:0")
