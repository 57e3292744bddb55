from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit import bundle as B
from edgekit.errors import BundleError


def test_tiny_bundle_loads_and_verifies(tiny_bundle_session: Path) -> None:
    b = B.load(tiny_bundle_session)
    assert b.manifest.default_model == "student_fp32"
    assert b.model_path().is_file() and len(b.labels()) == 10
    assert b.manifest.preprocess_sha256 == b.manifest.preprocess.sha256()


def test_corruption_and_missing_files_are_detected(tiny_bundle_copy: Path) -> None:
    model = tiny_bundle_copy / "models" / "student_fp32.onnx"
    data = bytearray(model.read_bytes())
    data[100] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match its sha256"):
        B.load(tiny_bundle_copy)
    model.unlink()
    with pytest.raises(BundleError, match="missing"):
        B.load(tiny_bundle_copy)


def test_newer_schema_and_bad_json(tiny_bundle_copy: Path) -> None:
    m = tiny_bundle_copy / B.MANIFEST
    raw = json.loads(m.read_text())
    raw["schema_version"] = 99
    m.write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="newer than this edgekit"):
        B.load(tiny_bundle_copy)
    m.write_text("{")
    with pytest.raises(BundleError, match="not valid JSON"):
        B.load(tiny_bundle_copy)
    with pytest.raises(BundleError, match="not a bundle"):
        B.load(tiny_bundle_copy / "models")


def test_manifest_input_shape_must_match_spec(tiny_bundle_copy: Path) -> None:
    m = tiny_bundle_copy / B.MANIFEST
    raw = json.loads(m.read_text())
    raw["input"]["shape"] = [-1, 1, 32, 32]
    m.write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="disagrees with the preprocessing output"):
        B.load(tiny_bundle_copy)


def _stub_bundle(root: Path, text: str) -> None:
    """The least a folder needs to be an edgekit bundle that staging may replace."""
    import json

    (root / "a.txt").write_text(text)
    files = {"a.txt": {"sha256": B.sha256_file(root / "a.txt"), "size": len(text)}}
    doc = {"format": "edgekit-bundle", "schema_version": 1, "files": files}
    (root / B.MANIFEST).write_text(json.dumps(doc))


def test_staging_keeps_old_bundle_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "b"
    with B.staging(out) as root:
        _stub_bundle(root, "old")
    with pytest.raises(RuntimeError), B.staging(out) as root:
        _stub_bundle(root, "new")
        raise RuntimeError("interrupted")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no staging leftovers
    with B.staging(out) as root:
        _stub_bundle(root, "new")
    assert (out / "a.txt").read_text() == "new"


def test_a_real_bundle_with_its_reports_may_be_replaced(tiny_bundle_copy: Path) -> None:
    (tiny_bundle_copy / "report.html").write_text("<html/>")
    (tiny_bundle_copy / "parity.json").write_text("{}")
    (tiny_bundle_copy / "trt").mkdir(exist_ok=True)
    (tiny_bundle_copy / "trt" / "student_fp32.fp16.engine").write_bytes(b"\0")
    B.check_replaceable(tiny_bundle_copy)  # no error


@pytest.mark.parametrize(
    "break_it",
    [
        lambda m: m.update(format="someone-else"),
        lambda m: m.update(schema_version="1"),
        lambda m: m.update(schema_version=99),
        lambda m: m.pop("files"),
    ],
    ids=["format", "version-string", "version-newer", "no-files"],
)
def test_only_our_manifest_makes_a_folder_replaceable(tiny_bundle_copy: Path, break_it) -> None:  # type: ignore[no-untyped-def]
    import json

    from edgekit.io import OutputPathError

    p = tiny_bundle_copy / B.MANIFEST
    m = json.loads(p.read_text())
    break_it(m)
    p.write_text(json.dumps(m))
    with pytest.raises(OutputPathError, match="not an edgekit bundle"):
        B.check_replaceable(tiny_bundle_copy)


def test_a_file_added_during_the_build_stops_the_swap(tmp_path: Path) -> None:
    from edgekit.io import OutputPathError

    out = tmp_path / "b"
    with B.staging(out) as root:
        _stub_bundle(root, "old")
    with pytest.raises(OutputPathError, match="notes.txt"), B.staging(out) as root:
        _stub_bundle(root, "new")
        (out / "notes.txt").write_text("the user's")  # written while the build ran
    assert (out / "a.txt").read_text() == "old" and (out / "notes.txt").read_text() == "the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    from edgekit.io import atomic_open, atomic_write_json

    p = atomic_write_json(tmp_path / "r.json", {"v": 1})
    with pytest.raises(RuntimeError), atomic_open(p) as fh:
        fh.write('{"v": 2, "half')
        raise RuntimeError("disk full")
    assert p.read_text() == '{\n  "v": 1\n}\n'
    assert [x.name for x in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind
