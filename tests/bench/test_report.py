"""report.html / report.md: every section present for a cpu and a jetson-xavier bundle; "not run" (and no
invented number) where a result is missing; self-contained (no external assets).

SYNTHESIZED DATA: the tiny bundle has no build stages and no parity run, so ``STAGES`` and ``PARITY`` below
are made-up records in the shape the pipeline (manifest.extra["stages"]) and ``edgekit parity``
(ParityReport.to_dict) write. The bench and the estimate are real (ONNX Runtime run, roofline)."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from edgekit import bundle as B
from edgekit.bench.roofline import estimate_bundle
from edgekit.report import write_report

# --- synthesized: not measured ---------------------------------------------------------------------
STAGES = [
    {
        "stage": "teacher",
        "model_id": "teacher_fp32",
        "accuracy": 0.9911,
        "params": 1_200_000,
        "macs": 9_000_000,
        "onnx_bytes": 4_800_000,
        "seconds": 41.0,
    },
    {
        "stage": "distill",
        "model_id": "student_fp32",
        "accuracy": 0.9876,
        "params": 8_170,
        "macs": 290_080,
        "onnx_bytes": 34_000,
        "seconds": 12.5,
    },
    {
        "stage": "int8",
        "model_id": "student_int8_cpu",
        "accuracy": 0.9871,
        "params": 8_170,
        "macs": 290_080,
        "onnx_bytes": 14_000,
        "seconds": 3.0,
    },
]
PARITY = {
    "bundle": "x",
    "runtime": "cpp",
    "where": "local",
    "model": "student_fp32",
    "precision": "fp32",
    "in_sync": True,
    "error": None,
    "verdict": "in sync",
    "exit_code": 0,
    "first_divergence": None,
    "summary": "in sync: cpp (student_fp32) matches the training reference",
    "diagnoses": [],
    "stages": [
        {
            "ref_stage": "00_decode",
            "got_stage": "00_decode",
            "tolerance": 0.0,
            "max_abs": 0.0,
            "items_bad": 0,
            "items": 16,
            "status": "pass",
        }
    ],
    "outputs": [
        {
            "output": "logits",
            "against": "ort",
            "precision": "fp32",
            "max_abs": 1.2e-6,
            "max_abs_limit": 1e-4,
            "min_cosine": 0.99999,
            "min_cosine_limit": 0.9999,
            "top1": 1.0,
            "top1_limit": 1.0,
            "topk": 1.0,
            "topk_limit": 1.0,
            "k": 5,
            "status": "pass",
        }
    ],
    "checks": [],
    "notes": [],
}
SECTIONS = ("verification", "models", "stages", "bench", "estimate", "parity")


def _with_extra(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    b = B.load(dst)
    b.manifest.extra["stages"] = STAGES
    b.manifest.extra["parity"] = PARITY
    B.write_manifest(dst, b.manifest)
    return dst


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def _assert_self_contained(html: str) -> None:
    assert "<style>" in html
    assert not re.search(r'(src|href)="(?!data:)', html), "external asset referenced"
    assert "http://" not in html and "https://" not in html
    for b64 in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("device", ["cpu", "jetson-xavier"])
def test_full_report(
    device: str, tiny_bundle: Path, jetson_bundle: Path, bench_doc: dict[str, Any], tmp_path: Path
) -> None:
    src = tiny_bundle if device == "cpu" else jetson_bundle
    root = _with_extra(src, tmp_path / device)
    b = B.load(root)
    est = estimate_bundle(b)
    path = write_report(root, bench_doc, est, None)  # parity comes from manifest.extra
    html = path.read_text()
    _assert_self_contained(html)
    for sid in SECTIONS:
        assert "not run" not in _section(html, sid), sid
    # figures: stages plot, latency histogram, placement chart
    assert html.count("data:image/png;base64,") == 3
    assert "98.76 %" in _section(html, "stages")  # the synthesized distill accuracy, as given
    bench = _section(html, "bench")
    p50 = bench_doc["results"][0]["latency_ms"]["p50"]
    assert f"{p50:.3f}" in bench
    estimate = _section(html, "estimate")
    if device == "jetson-xavier":
        assert ">DLA<" in estimate and ">GPU<" in estimate and "placement source" in estimate
        assert "unverified here" in html
    else:
        assert ">CPU<" in estimate and ">DLA<" not in estimate
    assert "in sync" in _section(html, "parity")
    md = (root / "report.md").read_text()
    assert "### Parity" in md and "not run" not in md and "unverified here" in md


def test_missing_sections_say_not_run(tiny_bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "bare"
    shutil.copytree(tiny_bundle, root)
    html = write_report(root, None, None, None).read_text()
    _assert_self_contained(html)
    for sid in ("stages", "bench", "estimate", "parity"):
        sec = _section(html, sid)
        assert "not run" in sec, sid
        assert "<table" not in sec and "data:image" not in sec, sid  # nothing invented
    assert "data:image" not in html
    md = (root / "report.md").read_text()
    assert md.count("not run") >= 4
    assert re.search(r"Python vs C\+\+ parity \| \*\*not run\*\*", md)


def test_report_from_files_and_atomic(tiny_bundle: Path, bench_doc: dict[str, Any], tmp_path: Path) -> None:
    """bench.json / parity.json in the bundle are picked up; nothing half-written is left behind."""
    import json

    root = tmp_path / "files"
    shutil.copytree(tiny_bundle, root)
    (root / "bench.json").write_text(json.dumps(bench_doc))
    (root / "parity.json").write_text(json.dumps(PARITY))
    html = write_report(root, None, None, None).read_text()
    assert "not run" not in _section(html, "bench") and "not run" not in _section(html, "parity")
    assert "bench.json" in _section(html, "bench")
    assert not list(root.glob(".report*"))


def test_report_needs_a_manifest(tmp_path: Path) -> None:
    from edgekit.errors import BundleError

    with pytest.raises(BundleError, match="manifest"):
        write_report(tmp_path, None, None, None)


def test_build_hook_then_report_keeps_the_bundle_verifiable(jetson_bundle: Path, tmp_path: Path) -> None:
    """The build calls edgekit.bench.estimate.estimate(root, manifest, profile) and write_report before the
    manifest is hashed; a later `edgekit report` rewrite must keep the sha256 list right."""
    from edgekit.bench.estimate import ESTIMATE_FILE, estimate
    from edgekit.profiles import get_profile

    root = tmp_path / "built"
    shutil.copytree(jetson_bundle, root)
    m = B.load(root).manifest
    summary = estimate(root, m, get_profile("jetson-xavier"))
    assert summary["file"] == ESTIMATE_FILE and (root / ESTIMATE_FILE).is_file()
    assert set(summary["total_ms"]["student_fp32"]) == {"gpu", "dla"}
    write_report(root, None, None, None, manifest=m)
    B.write_manifest(root, m)  # the build hashes everything, report included
    assert "report.html" in B.load(root).manifest.files
    html = write_report(root, None, None, PARITY).read_text()  # rewritten later with a parity result
    B.load(root, verify=True)  # still verifies
    assert "not run" not in _section(html, "estimate")  # estimate.json picked up
    assert "estimate.json" in _section(html, "estimate")
