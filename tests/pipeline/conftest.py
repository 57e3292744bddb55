"""Shared fixtures for the pipeline tests: real digits data through the spec, a briefly trained CNN."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch

from edgekit.data.cache import preprocess_cached
from edgekit.examples import get_example
from edgekit.examples.digits import cnn


@pytest.fixture(scope="session")
def digits():  # type: ignore[no-untyped-def]
    """(x_train, y_train, x_eval, y_eval) as torch tensors: 1,000 training and 500 held-out digits."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    ex = get_example("digits")
    d = ex.load_data(fast=False)  # the whole 4,000/1,000 split (fast draws 256)
    xt = torch.from_numpy(preprocess_cached(ex.spec, d.train_images[:1000]))
    yt = torch.as_tensor(np.asarray(d.train_labels[:1000]))
    xe = torch.from_numpy(preprocess_cached(ex.spec, d.eval_images[:500]))
    ye = torch.as_tensor(np.asarray(d.eval_labels[:500]))
    return xt, yt, xe, ye


@pytest.fixture(scope="session")
def trained_cnn(digits):  # type: ignore[no-untyped-def]
    """The digits student architecture trained for two epochs on 1,000 digits (a few seconds)."""
    xt, yt, _, _ = digits
    torch.manual_seed(0)
    m = cnn((16, 32, 32))
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    m.train()
    for _ in range(2):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(xt[idx]), yt[idx]).backward()
            opt.step()
    return m.eval()
