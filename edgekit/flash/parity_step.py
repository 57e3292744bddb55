"""Parity on the device after a flash: ``edgekit.parity.run_parity`` with the SSH executor.

The C++ side runs on the device (``edgekit-infer`` on the flashed bundle, stage dumps fetched back over
SFTP); the reference comparison runs here. The report is written here (``--parity-out``, default
``<bundle>.parity.json`` beside the bundle) and a copy is put on the device in ``<remote-dir>/reports/``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgekit.bundle import Bundle
from edgekit.flash.layout import RemoteLayout, bundle_id
from edgekit.remote.base import Remote
from edgekit.remote.executor import SshExecutor
from edgekit.remote.target import SshTarget

if TYPE_CHECKING:
    from edgekit.flash.deploy import FlashOptions


def default_report_path(bundle: Bundle, target: SshTarget) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in target.host)
    return bundle.root.parent / f"{bundle.root.name}.parity-{safe}.json"


def run_remote_parity(
    remote: Remote, layout: RemoteLayout, bundle: Bundle, target: SshTarget, opts: FlashOptions,
    infer_args: list[str] | None = None, precision: str | None = None,
) -> dict[str, Any]:
    """``infer_args``: ``["--backend", "trt"]`` when the device has the engine (``precision``: its)."""
    from edgekit.parity import run_parity

    ex = SshExecutor(remote, layout.root)
    if remote.dry_run:  # record the commands parity would run, for the first golden item
        rb = ex.bundle_path(bundle.root)
        g = bundle.manifest.golden[0] if bundle.manifest.golden else None
        if g is not None:
            tmp = ex.mkdtemp()
            ex.run([ex.binary(), "--bundle", rb, "--input", posixpath.join(rb, g.input), "--model",
                    bundle.manifest.default_model, "--dump-stages", tmp, "--json", *(infer_args or [])], 120)
            ex.fetch(tmp, Path("<local tmp>"))
            ex.cleanup(tmp)
        return {"passed": None, "summary": f"edgekit-infer per golden item ({len(bundle.manifest.golden)})"}
    report = run_parity(bundle.root, runtime="cpp", executor=ex, infer_args=infer_args, precision=precision)
    out = opts.parity_out or default_report_path(bundle, target)
    report.write_json(out)
    remote.run(["mkdir", "-p", "--", layout.reports])
    remote.put(out, posixpath.join(layout.reports, f"{bundle_id(bundle)}.parity.json"))
    return {"passed": report.exit_code == 0, "summary": report.summary(), "verdict": report.verdict,
            "report": str(out), "exit_code": report.exit_code}
