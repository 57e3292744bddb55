"""Proof that every drift test depends on the numeric comparison (issue 13, item 13).

For EVERY case of tests/parity/drift_cases.py: with the comparison core (``compare.diff``, ``compare.close``,
``compare.output_metrics``, ``compare.reported``, ``compare.detections``) made blind — every tensor, output,
reported top-k and reported detection list declared equal — the drift case's own assertions must fail (its
diagnosis disappears). For the clean cases (and the "not verified" ones) the comparison is made to see a
difference everywhere, and their assertions must fail. A case that still passes would be a test that cannot
fail."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from edgekit.detect.postprocess import Detection
from edgekit.parity import compare, run_parity
from tests.parity.drift_cases import CASES, Case, binary_for, bundle_for, params


@pytest.fixture()
def blind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_metrics = compare.output_metrics
    real_reported = compare.reported
    monkeypatch.setattr(compare, "diff", lambda ref, got, atol: compare.TensorDiff(True, 0.0, 0.0, True))
    monkeypatch.setattr(compare, "close", lambda ref, got, atol: True)
    monkeypatch.setattr(compare, "output_metrics", lambda ref, got, k, tol: real_metrics(ref, ref, k, tol))
    monkeypatch.setattr(compare, "reported", lambda exp, got, atol, rtol=0.0: real_reported(exp, exp, 0.0))
    real_det = compare.detections
    monkeypatch.setattr(compare, "detections", lambda exp, got, tol, thr, m: real_det(exp, exp, tol, thr, m))
    yield


@pytest.fixture()
def paranoid(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_metrics = compare.output_metrics
    real_reported = compare.reported
    monkeypatch.setattr(compare, "diff", lambda ref, got, atol: compare.TensorDiff(True, 1.0, 1.0, False))
    monkeypatch.setattr(compare, "close", lambda ref, got, atol: False)
    monkeypatch.setattr(
        compare, "output_metrics", lambda ref, got, k, tol: real_metrics(ref, -np.asarray(ref) - 1.0, k, tol)
    )
    monkeypatch.setattr(compare, "reported", lambda exp, got, atol, rtol=0.0: real_reported(exp, [], 0.0))
    real_det = compare.detections
    far = Detection((0.0, 0.0, 1.0, 1.0), 0.99, 99, "")  # an extra, confident detection of no class
    monkeypatch.setattr(
        compare, "detections", lambda exp, got, tol, thr, m: real_det(exp, [far], tol, thr, m)
    )
    yield


def _must_fail(case: Case, runtime: str, request: pytest.FixtureRequest) -> None:
    root = bundle_for(case, request)
    request.getfixturevalue("paranoid" if case.clean else "blind")
    r = run_parity(root, runtime=runtime, model=case.model, binary=binary_for(case, request))
    with pytest.raises(AssertionError):
        case.expect(r)


def _meta_params():  # type: ignore[no-untyped-def]
    """Every case, on ort where the case runs on ort (else on its own runtime), and on the C++ runtime."""
    out = []
    for c in CASES:
        first = "ort" if "ort" in c.runtimes else c.runtimes[0]
        out += [p for p in params(c.runtimes) if p.values[0] is c and p.values[1] in (first, "cpp")]
    return out


def test_every_case_has_a_meta_case() -> None:
    assert {p.values[0].id for p in _meta_params()} == {c.id for c in CASES}


@pytest.mark.parametrize(("case", "runtime"), _meta_params())
def test_case_fails_without_the_comparison(case: Case, runtime: str, request: pytest.FixtureRequest) -> None:
    _must_fail(case, runtime, request)
