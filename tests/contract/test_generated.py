"""The generated contract files are what the pydantic models say (a stale file fails here), and the generator
is generic: a field added to a model flows into the schema and the header without touching the generator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edgekit import contract as C
from edgekit.contract import generate


def test_committed_schema_and_header_are_not_stale() -> None:
    stale = generate.stale()
    assert not stale, f"stale: {stale} — fix: python -m edgekit.contract.generate"


def test_check_mode_fails_on_a_stale_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "contract_generated.hpp"
    fake.write_text("// old\n")
    monkeypatch.setattr(generate, "HEADER_PATH", fake)
    monkeypatch.setattr(generate, "ROOT", tmp_path)
    monkeypatch.setattr(generate, "SCHEMA_PATH", tmp_path / "manifest.schema.json")
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0


def _nodes(n: Any) -> Any:
    if isinstance(n, dict):
        yield n
        for v in n.values():
            yield from _nodes(v)
    elif isinstance(n, list):
        for v in n:
            yield from _nodes(v)


def test_every_integer_is_bounded_and_every_rule_is_declared() -> None:
    s = generate.schema()
    for n in _nodes(s):
        if n.get("type") == "integer":
            assert "minimum" in n and "maximum" in n, f"an integer without bounds: {n}"
        for r in n.get("x-edgekit-rules", []):
            assert r in C.RULES, r
    header = generate.header_text()
    for rid in C.ALL_RULES:
        assert json.dumps(rid) in header
    assert "constexpr double kMinAbsStd = 1e-06;" in header
    assert "constexpr int64_t kMaxImagePixelsDefault = 64000000;" in header
    assert "constexpr int64_t kPostprocessInfo_TopKMax = 2147483647;" in header


def test_a_new_field_flows_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import Field

    from edgekit import bundle as B

    class Provenance(B._M):
        source: str
        level: int = Field(1, ge=0, le=9)

    class Manifest2(B.Manifest):
        provenance: Provenance | None = None

    monkeypatch.setattr(B, "Manifest", Manifest2)
    s = generate.schema()
    assert "provenance" in s["properties"] and "Provenance" in s["$defs"]
    h = generate.header_text()
    assert "constexpr int64_t kProvenance_LevelMax = 9;" in h
    assert '\\"provenance\\"' in h or '"provenance"' in h
