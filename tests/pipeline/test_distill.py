import math

import pytest
import torch
import torch.nn.functional as F

from edgekit.stages.distill import kd_loss


def _manual(s, t, y, T, alpha):  # type: ignore[no-untyped-def]
    p_t = torch.softmax(t / T, 1)
    log_p_s = torch.log_softmax(s / T, 1)
    kl = (p_t * (torch.log(p_t) - log_p_s)).sum(1).mean()
    return alpha * kl * T * T + (1 - alpha) * F.cross_entropy(s, y)


@pytest.mark.parametrize("T,alpha", [(1.0, 0.5), (4.0, 0.7), (2.0, 1.0), (3.0, 0.0)])
def test_kd_loss_matches_the_formula(T: float, alpha: float) -> None:
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(8, 10, generator=g) * 3, torch.randn(8, 10, generator=g) * 3
    y = torch.randint(0, 10, (8,), generator=g)
    assert torch.allclose(kd_loss(s, t, y, T, alpha), _manual(s, t, y, T, alpha), atol=1e-5)


def test_kd_loss_is_cross_entropy_when_student_equals_teacher() -> None:
    s = torch.randn(4, 10)
    y = torch.tensor([1, 2, 3, 4])
    assert torch.allclose(kd_loss(s, s.clone(), y, 4.0, 0.7), 0.3 * F.cross_entropy(s, y), atol=1e-6)
    assert float(kd_loss(s, s.clone(), y, 4.0, 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_t_squared_keeps_the_soft_gradient_scale() -> None:
    # Without T^2 the soft-target gradient shrinks like 1/T^2; with it, it stays of the same order.
    s = torch.randn(16, 10, requires_grad=True)
    t = torch.randn(16, 10)
    y = torch.zeros(16, dtype=torch.long)
    norms = []
    for T in (2.0, 8.0):
        s.grad = None
        kd_loss(s, t, y, T, 1.0).backward()
        norms.append(float(s.grad.norm()))
    ratio = norms[0] / norms[1]
    assert 0.5 < ratio < 8.0 and not math.isclose(ratio, 16.0, rel_tol=0.3)
