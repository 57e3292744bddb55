"""The calibration set, the fit and the committed leave-one-out report agree with what the data gives."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from edgekit.bench import calibrate
from edgekit.bench.calibration import CALIBRATION, FEATURES, POINTS, zoo
from edgekit.bench.calibration.build import feature_key, point_features
from edgekit.bench.calibration.model import fit, predict
from edgekit.bench.calibration.points import load
from edgekit.errors import InputError


def _close(a: object, b: object, rel: float = 1e-9) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel) for k in a)
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=rel)
    return a == b


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(CALIBRATION.read_text())


@pytest.fixture(scope="module")
def data() -> tuple:
    ps = load()
    return ps, calibrate.load_features(ps)


def test_the_set_is_large_sourced_and_labelled(data: tuple) -> None:
    ps, _ = data
    assert len(ps.points) >= 30
    assert {p.unit for p in ps.points} == {"gpu", "dla"} and len({p.device for p in ps.points}) >= 5
    for p in ps.points:
        assert p.source.get("repo") and p.ms > 0 and p.conditions
        assert p.matched or p.mismatch  # unmatched conditions are labelled, never dropped


def test_committed_report_matches_a_refit(data: tuple, committed: dict) -> None:
    ps, feats = data
    assert committed["points_version"] == ps.version
    assert [r["id"] for r in committed["points"]] == [p.id for p in ps.points]
    cases = calibrate.cases_for(ps, feats)
    ms = [p.ms for p in ps.points]
    full = fit(cases, ms)
    for r, v in zip(committed["points"], predict(cases, full), strict=True):
        assert math.isclose(r["fit_ms"], v, rel_tol=2e-3), r["id"]
        assert math.isclose(
            r["before_ms"], calibrate.before_ms(cases[committed["points"].index(r)]), rel_tol=1e-9
        )
    # leave-one-out, recomputed for every fifth point (all of them: python -m edgekit.bench.calibrate)
    for i in range(0, len(cases), 5):
        rest = [c for j, c in enumerate(cases) if j != i]
        p = fit(rest, [m for j, m in enumerate(ms) if j != i], start=full)
        assert math.isclose(
            committed["points"][i]["loo_ms"], float(predict([cases[i]], p)[0]), rel_tol=5e-3
        ), i


def test_committed_summary_and_bands_follow_from_the_rows(committed: dict, data: tuple) -> None:
    ps, _ = data
    loo = [r["loo_ratio"] for r in committed["points"]]
    assert _close(
        committed["summary_loo"], calibrate._stats(loo) | {"goal_met": committed["summary_loo"]["goal_met"]}
    )
    assert _close(committed["bands"], calibrate.bands(ps.points, loo))
    s = committed["summary_loo"]
    assert s["goal_met"] == (s["within_1p5x"] == s["n"] and 0.8 <= s["median"] <= 1.25)
    for r in committed["points"]:
        assert math.isclose(r["loo_ratio"], r["loo_ms"] / r["published_ms"])


def test_a_drifted_report_is_caught(committed: dict, data: tuple) -> None:
    """Break the subject: a report whose band was edited no longer follows from the rows."""
    ps, _ = data
    bad = json.loads(json.dumps(committed))
    bad["points"][0]["loo_ratio"] *= 1.3
    assert not _close(committed["bands"], calibrate.bands(ps.points, [r["loo_ratio"] for r in bad["points"]]))


@pytest.mark.parametrize("pid", ["G10", "D3"])
def test_committed_features_are_what_the_rebuilt_models_give(pid: str, tmp_path: Path, data: tuple) -> None:
    ps, feats = data
    p = next(p for p in ps.points if p.id == pid)
    assert point_features(p, tmp_path).to_dict() == feats[feature_key(p)].to_dict()


def test_a_point_whose_model_cannot_be_rebuilt_is_an_error(tmp_path: Path) -> None:
    doc = yaml.safe_load(POINTS.read_text())
    doc["points"][0]["model"] = "efficientnet_b7"
    bad = tmp_path / "points.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match="efficientnet_b7.*cannot be rebuilt"):
        load(bad)
    with pytest.raises(InputError, match="cannot be rebuilt"):
        zoo.build("efficientnet_b7")


def test_missing_features_say_how_to_rebuild(tmp_path: Path, data: tuple) -> None:
    ps, _ = data
    doc = json.loads(FEATURES.read_text())
    doc["features"].pop(feature_key(ps.points[0]))
    f = tmp_path / "features.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="--rebuild"):
        calibrate.load_features(ps, f)


def test_estimate_shows_the_band_and_the_calibration_version(tmp_path: Path, committed: dict) -> None:
    from edgekit.bench.roofline import estimate
    from edgekit.profiles import get_profile

    onnx_path = zoo.export("tutorial_model_bn", tmp_path / "m.onnx", (1, 3, 32, 32))
    e = estimate(onnx_path, get_profile("jetson-orin"), "int8")
    for unit in ("gpu", "dla"):
        cal = e["targets"][unit]["calibrated"]
        assert cal["available"] and cal["calibration_version"] == committed["version"]
        assert _close(
            cal["band"],
            committed["bands"][f"jetson-orin/{unit}"] | {"own": True, "basis": cal["band"]["basis"]},
        )
        assert cal["total_ms"] > 0 and "median" in cal["band_text"]
    # a device without published points borrows the unit's band over all devices, and says so
    e2 = estimate(onnx_path, get_profile("jetson-orin-nano"), "int8")
    cal2 = e2["targets"]["gpu"]["calibrated"]
    assert not cal2["band"]["own"] and "all devices" in cal2["band_text"] and cal2["unfitted"]


def test_report_shows_the_band_and_the_version(jetson_bundle: Path, tmp_path: Path, committed: dict) -> None:
    import shutil

    from edgekit import bundle as B
    from edgekit.bench.roofline import estimate_bundle
    from edgekit.report import write_report

    root = tmp_path / "b"
    shutil.copytree(jetson_bundle, root)
    est = estimate_bundle(B.load(root))
    html = write_report(root, None, est, None).read_text()
    md = (root / "report.md").read_text()
    for text in (html, md):
        assert committed["version"] in text and "calibrated ms" in text and "error band" in text
    band = committed["bands"]["jetson-xavier/gpu"]
    assert f"x{band['min']:.2f}–{band['max']:.2f}" in md
