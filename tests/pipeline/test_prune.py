import copy

import numpy as np
import pytest
import torch
import torch.nn as nn

from edgekit.stages.common import accuracy, stats
from edgekit.stages.onnx_utils import export_onnx, ort_logits
from edgekit.stages.prune import prune_model


@pytest.mark.parametrize("round_to", [4, 8])
def test_pruning_removes_channels_rounded_and_consistent(trained_cnn, digits, tmp_path, round_to) -> None:  # type: ignore[no-untyped-def]
    model = copy.deepcopy(trained_cnn)
    x = torch.zeros(1, 1, 28, 28)
    params0, macs0 = stats(model, x)
    cls = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    prune_model(model, x, 0.5, round_to, [cls])
    params1, macs1 = stats(model, x)
    assert params1 < 0.6 * params0 and macs1 < 0.6 * macs0
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 16]
    assert all(c.out_channels % round_to == 0 for c in convs)
    for a, b in zip(convs, convs[1:], strict=False):  # physically smaller, shapes chained
        assert b.in_channels == a.out_channels and b.weight.shape[1] == a.out_channels
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [b.num_features for b in bns] == [8, 16, 16]
    assert cls.out_features == 10 and cls.in_features == 16 * 7 * 7
    _, _, xe, ye = digits
    assert model(xe[:5]).shape == (5, 10)
    path = tmp_path / "pruned.onnx"
    export_onnx(model, path, x, 17)
    got = ort_logits(path, xe[:64].numpy())
    np.testing.assert_allclose(got, model(xe[:64]).detach().numpy(), atol=1e-4)
    assert accuracy(model, xe, ye) >= 0.0  # runs; accuracy recovers with fine-tuning (end-to-end test)


@pytest.mark.parametrize("round_to", [4, 8])
def test_round_to_rounds_odd_widths(round_to: int) -> None:
    from edgekit.examples.digits import cnn

    torch.manual_seed(0)
    model = cnn((24, 40, 40)).eval()  # half of these (12, 20, 20) is not a multiple of 8
    x = torch.zeros(1, 1, 28, 28)
    cls = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    prune_model(model, x, 0.5, round_to, [cls])
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(w % round_to == 0 for w in widths), widths
    assert all(w < o for w, o in zip(widths, (24, 40, 40), strict=True)), widths
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
