"""The contract corpus on the Python side: every case reaches its expected verdict and rule id.

cpp_runtime/tests/test_contract.cpp runs the same cases.json through the C++ runtime; both must be 100 %.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from edgekit import bundle as B
from edgekit.contract import ALL_RULES, ContractError
from edgekit.contract.npy import check_npy

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = json.loads((CORPUS / "cases.json").read_text())["cases"]


def verdict(case: dict[str, str]) -> tuple[str, str]:
    p = CORPUS / case["path"]
    try:
        if case["kind"] == "manifest":
            B.parse_manifest(p.read_bytes(), str(p))
        elif case["kind"] == "spec":
            B.parse_spec(p.read_bytes(), str(p))
        elif case["kind"] == "npy":
            check_npy(p.read_bytes(), str(p))
        elif case["kind"] == "bundle":
            B.load(p, verify=True)
        else:
            raise AssertionError(case["kind"])
    except ContractError as exc:
        assert "\n" not in str(exc), "one line"
        return "invalid", exc.rule
    return "valid", ""


def test_the_corpus_is_big_and_covers_every_rule() -> None:
    kinds = Counter(c["kind"] for c in CASES)
    assert (
        kinds["manifest"] >= 100 and kinds["spec"] >= 20 and kinds["npy"] >= 20 and kinds["bundle"] >= 10
    ), kinds
    broken = {c["rule"] for c in CASES if c["verdict"] == "invalid"}
    missing = (
        set(ALL_RULES) - broken - {"schema.finite", "image.too_large"}
    )  # not reachable from JSON / tested below
    assert not missing, f"rules without a corpus case: {sorted(missing)}"
    assert all(c["rule"] in ALL_RULES for c in CASES if c["verdict"] == "invalid")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}/{c['name']}" for c in CASES])
def test_case(case: dict[str, str]) -> None:
    assert verdict(case) == (case["verdict"], case["rule"])


def test_agreement_summary(capsys: pytest.CaptureFixture[str]) -> None:
    got = Counter()
    for c in CASES:
        ok = verdict(c) == (c["verdict"], c["rule"])
        got[(c["kind"], c["verdict"], ok)] += 1
    with capsys.disabled():
        print("\ncontract corpus (Python):")
        for (kind, v, ok), n in sorted(got.items()):
            print(f"  {kind:9s} {v:8s} {'agree' if ok else 'DISAGREE'} {n}")
    assert all(ok for (_, _, ok) in got)
