"""The build report: ``report.html`` (self-contained) and ``report.md`` (pull-request summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.bundle import MANIFEST, Manifest
from edgekit.errors import BundleError
from edgekit.io import atomic_write_text

HTML = "report.html"
MARKDOWN = "report.md"


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def write_report(
    bundle_root: str | Path,
    bench: dict[str, Any] | None,
    estimate: dict[str, Any] | None,
    parity: dict[str, Any] | list[dict[str, Any]] | None,
    manifest: Manifest | None = None,
) -> Path:
    """Write ``report.html`` and ``report.md`` into ``bundle_root``; return the HTML path.

    ``bench`` is an ``edgekit-bench/1`` document, ``estimate`` an ``edgekit-estimate/1`` document
    (``edgekit.bench.roofline.estimate_bundle``), ``parity`` a ParityReport.to_dict() (or a list of them).
    A ``None`` falls back to manifest.extra["bench"|"estimate"|"parity"] or bench.json / estimate.json /
    parity.json in the bundle, else that section reads "not run". Pass ``manifest`` when the build calls
    this before manifest.json is written (the staging folder)."""
    from edgekit.report.content import gather
    from edgekit.report.html import render_html
    from edgekit.report.markdown import render_markdown

    root = Path(bundle_root)
    if manifest is None:
        from edgekit.bundle import load

        if not (root / MANIFEST).is_file():
            raise BundleError(
                f"{root} has no {MANIFEST}", "pass manifest= when reporting on a staging folder"
            )
        manifest = load(root, verify=False).manifest
    content = gather(root, manifest, bench, estimate, parity)
    html_path = root / HTML
    _write(html_path, render_html(content))
    _write(root / MARKDOWN, render_markdown(content))
    _refresh_listed(root, (HTML, MARKDOWN))
    return html_path


def _refresh_listed(root: Path, names: tuple[str, ...]) -> None:
    """If manifest.json already lists these files (a report written during the build), update their
    sha256/size there, so rewriting the report never makes the bundle fail verification."""
    import json

    from edgekit.bundle import sha256_file

    mpath = root / MANIFEST
    if not mpath.is_file():
        return
    try:
        raw = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError):
        return
    files = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(files, dict) or not any(n in files for n in names):
        return
    for n in names:
        if n in files:
            files[n] = {"sha256": sha256_file(root / n), "size": (root / n).stat().st_size}
    _write(mpath, json.dumps(raw, indent=2) + "\n")


__all__ = ["HTML", "MARKDOWN", "write_report"]
