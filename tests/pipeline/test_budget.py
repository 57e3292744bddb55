"""Compress to a latency budget: the searched ratio meets the budget with the least pruning; an unreachable
budget names the lowest reachable figure; the user's model is never modified."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from edgekit.bench.macs import count_model
from edgekit.profiles import get_profile
from edgekit.stages.budget import search
from edgekit.stages.prune import prune_model


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    ).eval()


def _prune(m: nn.Module, ratio: float) -> nn.Module:
    return prune_model(m, torch.zeros(1, 1, 16, 16), ratio, 8, [m[-1]])


def _mmacs(p: Path) -> float:  # a deterministic "estimate": 1 ms per 10 MMACs
    return count_model(p).macs / 1e7


X = torch.zeros(1, 1, 16, 16)


def test_the_search_meets_the_budget_with_the_least_pruning() -> None:
    m = _net()
    before = [p.detach().clone() for p in m.parameters()]
    full = (
        search(m, X, get_profile("cpu"), 1e9, _prune, estimator=_mmacs, measure=False)[0].steps[0].estimate_ms
    )
    budget = full * 0.5
    res, pruned = search(
        m, X, get_profile("cpu"), budget, _prune, lambda _m: 0.5, estimator=_mmacs, measure=False
    )
    assert res.met and res.ratio is not None and 0 < res.ratio < 0.75
    chosen = next(s for s in res.steps if s.ratio == res.ratio)
    assert chosen.estimate_ms <= budget and chosen.accuracy == 0.5
    assert all(not s.meets for s in res.steps if s.ratio < res.ratio)  # nothing less pruned was within budget
    assert len(res.steps) >= 3 and all(s.round_to == get_profile("cpu").channel_round for s in res.steps)
    assert _mmacs_of(pruned) == chosen.macs  # the returned model is the chosen step's
    assert all(
        torch.equal(a, b) for a, b in zip(before, m.parameters(), strict=True)
    )  # user's model untouched


def _mmacs_of(m: nn.Module) -> float:
    from edgekit.stages.common import stats

    return float(stats(m, X)[1])


def test_an_unreachable_budget_names_the_lowest_figure() -> None:
    res, _ = search(_net(), X, get_profile("cpu"), 1e-6, _prune, estimator=_mmacs, measure=False)
    assert not res.met and res.ratio is None
    assert res.lowest_ms == min(s.estimate_ms for s in res.steps)
    assert "not reachable" in res.message and f"{res.lowest_ms:.3f}" in res.message


def test_a_budget_the_unpruned_model_meets_prunes_nothing() -> None:
    res, _ = search(_net(), X, get_profile("cpu"), 1e9, _prune, estimator=_mmacs, measure=False)
    assert res.met and res.ratio == 0.0 and len(res.steps) == 1


def test_on_a_jetson_the_calibrated_estimate_is_used() -> None:
    res, _ = search(
        _net(), X, get_profile("jetson-orin"), 1e-3, _prune, precision="fp16", max_ratio=0.5, iterations=1
    )
    assert "calibrated" in res.estimator and res.unit == "gpu" and res.steps[0].measured_ms is None
    assert all(s.round_to == 8 for s in res.steps)
