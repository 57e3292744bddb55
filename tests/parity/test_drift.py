"""Drift injection: each edit a user could make to a copy of a clean bundle must be caught (verdict NOT in
sync, exit code 1) AND attributed to the right step and cause; the clean bundles must be in sync on every
golden item. The cases are data (tests/parity/drift_cases.py), so that test_comparison_matters.py can prove
each of them depends on the numeric comparison. Runs against ort and torch always, and against the C++
runtime when it is built."""

from __future__ import annotations

import pytest

from edgekit.parity import run_parity
from tests.parity.drift_cases import Case, binary_for, bundle_for, params


@pytest.mark.parametrize(("case", "runtime"), params())
def test_drift(case: Case, runtime: str, request: pytest.FixtureRequest) -> None:
    root = bundle_for(case, request)
    r = run_parity(root, runtime=runtime, model=case.model, binary=binary_for(case, request))
    case.expect(r)
