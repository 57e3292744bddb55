"""``edgekit flash``: the whole deployment of one bundle to one device, and ``--rollback``.

Order: check the bundle here → connect → upload into staging/<id> (resumable) → sha256 of every file on
the device → rename into bundles/<id> → swap ``current`` (the old one becomes ``previous``) → prune →
C++ runtime (build when missing/outdated) → TensorRT engine (only where TensorRT exists) → parity on the
device, report fetched back. Any failure before the swap leaves the active bundle untouched.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit import bundle as B
from edgekit.errors import EdgekitError
from edgekit.flash import activate as A
from edgekit.flash.errors import FlashError, TransferCorrupt
from edgekit.flash.layout import RemoteLayout, bundle_id
from edgekit.flash.lock import DEFAULT_TTL_S, FlashLock
from edgekit.flash.transfer import TransferStats, bundle_files, upload, verify_remote
from edgekit.profiles import get_profile
from edgekit.remote import Remote, RemoteError, SshTarget, connect, remote_path

Say = Callable[[str], None]
OnBytes = Callable[[int], None]


@dataclass
class Step:
    name: str
    status: str  # ok, skipped, failed, planned, absent
    detail: str = ""
    seconds: float = 0.0


@dataclass
class FlashReport:
    host: str
    remote_dir: str
    bundle: str
    bundle_id: str
    device: str
    dry_run: bool
    steps: list[Step] = field(default_factory=list)
    transfer: dict[str, Any] = field(default_factory=dict)
    active: str | None = None
    previous: str | None = None
    pruned: list[str] = field(default_factory=list)
    parity: dict[str, Any] | None = None
    accepted_host_keys: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    lock: str = ""

    def step(self, name: str, status: str, detail: str = "", seconds: float = 0.0) -> Step:
        s = Step(name, status, detail, round(seconds, 3))
        self.steps.append(s)
        return s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FlashOptions:
    remote_dir: str = "edgekit"
    dry_run: bool = False
    runtime: bool = True
    engine: bool = True
    parity: bool = True
    keep: int = 2
    break_lock: bool = False
    parity_out: Path | None = None
    on_bytes: OnBytes | None = None
    on_total: Callable[[int], None] | None = None
    say: Say = lambda s: None


def _layout(remote_dir: str) -> RemoteLayout:
    rd = remote_path(remote_dir).rstrip("/") or "/"
    if rd.startswith("-"):
        rd = "./" + rd
    return RemoteLayout(rd)


def _check_space(remote: Remote, layout: RemoteLayout, need: int) -> None:
    res = remote.run(["df", "-Pk", "--", layout.root], check=False)
    rows = res.stdout.strip().splitlines()
    if remote.dry_run or not res.ok or len(rows) < 2:
        return
    try:
        avail_kib = int(rows[-1].split()[3])
    except (IndexError, ValueError):
        return
    if avail_kib * 1024 < need * 1.1:
        raise FlashError(f"{remote.display} has {avail_kib / 1024:.1f} MiB free under {layout.root}, "
                         f"the bundle needs {need / (1 << 20):.1f} MiB",
                         "free space on the device or pick another --remote-dir")


def _install(remote: Remote, layout: RemoteLayout, bundle: B.Bundle, bid: str, opts: FlashOptions,
             rep: FlashReport) -> None:
    """Make bundles/<bid> a complete, verified copy of ``bundle`` on the device."""
    files = bundle_files(bundle)
    total = sum(s for _, s in files.values())
    final, staging = layout.bundle_dir(bid), layout.staging_dir(bid)
    if remote.exists(final):
        t0 = time.perf_counter()
        try:
            n = verify_remote(remote, final, bundle, delete_bad=False)
            rep.step("transfer", "skipped", f"{bid} already on the device", 0.0)
            rep.step("verify", "ok", f"{n} files sha256-checked on the device", time.perf_counter() - t0)
            return
        except TransferCorrupt:
            opts.say(f"{final} on the device is damaged: sending it again")
            remote.run(["rm", "-rf", "--", staging])
            remote.run(["mv", "-T", "--", final, staging])
    _check_space(remote, layout, total)
    if opts.on_total:
        opts.on_total(total)
    stats: TransferStats = upload(remote, bundle, staging, opts.on_bytes)
    rep.transfer = stats.to_dict()
    detail = (f"{stats.files_sent} sent ({stats.bytes_sent} B, {stats.mib_per_s:.1f} MiB/s), "
              f"{stats.files_resumed} resumed, {stats.files_kept} already there")
    if remote.dry_run:
        detail = f"{stats.files_total} files, {stats.bytes_total} B"
    rep.step("transfer", "ok" if not remote.dry_run else "planned", detail, stats.seconds)
    t0 = time.perf_counter()
    n = verify_remote(remote, staging, bundle)  # raises TransferCorrupt: nothing activated
    rep.step("verify", "ok" if not remote.dry_run else "planned", f"{n} files sha256-checked on the device",
             time.perf_counter() - t0)
    remote.rename(staging, final)


def _check_schema(remote: Remote, layout: RemoteLayout, bundle: B.Bundle, opts: FlashOptions) -> None:
    """Refuse a bundle whose manifest schema is newer than the runtime that will read it on the device: the
    one this flash builds (from this edgekit's sources), or with --no-runtime the one already built there."""
    from edgekit.flash import runtime as R

    want = bundle.manifest.schema_version
    if opts.runtime:
        have, which = R.source_schema(), "the C++ runtime this edgekit builds"
    else:
        have, which = R.device_schema(remote, layout), f"the C++ runtime built on {remote.display}"
    if have is not None and want > have:
        raise FlashError(f"bundle schema_version {want} is newer than {which} understands ({have}); nothing "
                         "was sent",
                         "update the device's runtime: flash without --no-runtime from an edgekit "
                         f"that knows schema {want}")


def _preflight(remote: Remote, layout: RemoteLayout) -> None:
    """Before anything is sent: can the runtime build on this Jetson? (support matrix, compiler, CMake,
    nlohmann-json, TensorRT headers vs library), by cpp_runtime/tools/device_env.py with the device's
    python3."""
    from edgekit.flash import tensorrt as T

    tools = T.send_tools(remote, layout)
    res = remote.run(["python3", posixpath.join(tools, "device_env.py"), "--check", "--no-ort"], check=False)
    if remote.dry_run or res.ok:
        return
    if res.returncode == 127:
        raise FlashError(f"python3 is missing on {remote.display}",
                         "sudo apt-get install python3 on the device")
    err = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    msg, _, fix = (err[-1][7:] if err else f"device_env.py exit {res.returncode}").partition(" — fix: ")
    raise FlashError(f"{remote.display}: {msg}; nothing was sent",
                     fix or "see cpp_runtime/tools/device_env.py")


def flash(bundle_dir: Path, target: SshTarget, opts: FlashOptions) -> FlashReport:
    bundle = B.load(bundle_dir, verify=True)
    profile = get_profile(bundle.manifest.device)
    bid = bundle_id(bundle)
    layout = _layout(opts.remote_dir)
    rep = FlashReport(host=target.display, remote_dir=layout.root, bundle=str(bundle_dir), bundle_id=bid,
                      device=profile.name, dry_run=opts.dry_run)
    remote = connect(target, dry_run=opts.dry_run)
    lock = FlashLock(remote, layout, f"flash {bid}")
    try:
        rep.accepted_host_keys = list(getattr(remote, "accepted_keys", []))
        remote.run(["mkdir", "-p", "--", layout.root, layout.bundles, layout.staging])
        rep.lock = lock.acquire(opts.break_lock)  # before anything touches staging/ or the links
        _check_schema(remote, layout, bundle, opts)
        if opts.runtime and profile.kind == "jetson":
            _preflight(remote, layout)
        _install(remote, layout, bundle, bid, opts, rep)
        lock.renew(DEFAULT_TTL_S)
        prev, changed = A.activate(remote, layout, bid)
        rep.active, rep.previous = A.rel_bundle(bid), prev
        rep.step("activate", "ok" if not opts.dry_run else "planned",
                 ("current -> " + rep.active) + (f" (previous -> {prev})" if prev else "") if changed
                 else "already the active bundle")
        keep = {bid} | ({Path(prev).name} if prev else set())
        rep.pruned = A.prune(remote, layout, keep) if opts.keep >= 2 else []
        _post(remote, layout, bundle, bid, profile.backend, opts, rep, target, lock)
    finally:
        lock.release()
        rep.commands = list(getattr(remote, "commands", []))
        remote.close()
    return rep


def _post(remote: Remote, layout: RemoteLayout, bundle: B.Bundle, bid: str, backend: str, opts: FlashOptions,
          rep: FlashReport, target: SshTarget, lock: FlashLock) -> None:
    """Runtime, engine and parity: each reports its own status; none undoes the activation."""
    from edgekit.flash import runtime as R
    from edgekit.flash import tensorrt as T

    runtime_ok = False
    if opts.runtime:
        lock.renew(int(R.BUILD_TIMEOUT) + DEFAULT_TTL_S)
        t0 = time.perf_counter()
        try:
            st = R.ensure_runtime(remote, layout, opts.say)
            runtime_ok = st.state in ("current", "built")
            status = {"current": "ok", "built": "ok"}.get(st.state, st.state)
            rep.step("runtime", "planned" if opts.dry_run else status, st.detail, time.perf_counter() - t0)
        except (FlashError, RemoteError) as exc:
            rep.step("runtime", "failed", str(exc), time.perf_counter() - t0)
    else:
        rep.step("runtime", "skipped", "--no-runtime")
    if opts.engine:
        lock.renew(int(T.BUILD_TIMEOUT) + DEFAULT_TTL_S)
        t0 = time.perf_counter()
        try:
            ts = T.build_engine(remote, bundle, layout, layout.bundle_dir(bid), backend)
        except (FlashError, RemoteError) as exc:
            ts = T.TrtStatus("failed", str(exc))
        engine = ts if ts.state == "built" else None
        status = {"built": "ok", "not-required": "skipped"}.get(ts.state, ts.state)
        rep.step("engine", "planned" if opts.dry_run and ts.state != "not-required" else status, ts.detail,
                 time.perf_counter() - t0)
    else:
        rep.step("engine", "skipped", "--no-engine")
        engine = None
    if backend == "tensorrt" and engine is None and not opts.dry_run and runtime_ok:
        # the engine of an earlier flash of this bundle still counts: it is what the device runs
        found = T.device_engine(remote, layout.bundle_dir(bid), bundle, bundle.manifest.default_model)
        engine = T.TrtStatus("built", "", found[0], found[1]) if found else None
    if not opts.parity:
        rep.step("parity", "skipped", "--no-parity")
    elif not runtime_ok and not opts.dry_run:
        rep.step("parity", "skipped", "the C++ runtime is not built on the device")
    else:
        from edgekit.flash.parity_step import run_remote_parity

        lock.renew(DEFAULT_TTL_S * 3)
        t0 = time.perf_counter()
        try:
            trt_args = ["--backend", "trt"] if engine is not None else None
            rep.parity = run_remote_parity(remote, layout, bundle, target, opts, trt_args,
                                           engine.precision if engine is not None else None)
            ok = rep.parity.get("passed")
            what = (f"TensorRT engine {engine.engine}: " if engine is not None else
                    "ONNX Runtime (no TensorRT engine on the device): "
                    if backend == "tensorrt" and not opts.dry_run else "")
            rep.step("parity", "planned" if opts.dry_run else ("ok" if ok else "failed"),
                     what + str(rep.parity.get("summary", "")), time.perf_counter() - t0)
        except EdgekitError as exc:
            rep.step("parity", "failed", str(exc), time.perf_counter() - t0)


def rollback(target: SshTarget, remote_dir: str = "edgekit", dry_run: bool = False,
             verify: bool = True, break_lock: bool = False) -> FlashReport:
    """Make ``previous`` current again (after checking its files), and the old current previous."""
    layout = _layout(remote_dir)
    rep = FlashReport(host=target.display, remote_dir=layout.root, bundle="", bundle_id="", device="",
                      dry_run=dry_run)
    remote = connect(target, dry_run=dry_run)
    lock = FlashLock(remote, layout, "rollback")
    try:
        rep.accepted_host_keys = list(getattr(remote, "accepted_keys", []))
        if remote.dry_run or remote.exists(layout.root):
            rep.lock = lock.acquire(break_lock)
        cur, prev = A.rollback_targets(remote, layout)
        rep.bundle_id = Path(prev).name
        if verify and not dry_run:
            t0 = time.perf_counter()
            _verify_installed(remote, layout, prev)
            rep.step("verify", "ok", f"{prev} sha256-checked on the device", time.perf_counter() - t0)
        A.swap_back(remote, layout, cur, prev)
        rep.active, rep.previous = prev, cur
        detail = f"current -> {prev}" + (f", previous -> {cur}" if cur else "")
        rep.step("rollback", "planned" if dry_run else "ok", detail)
    finally:
        lock.release()
        rep.commands = list(getattr(remote, "commands", []))
        remote.close()
    return rep


def _verify_installed(remote: Remote, layout: RemoteLayout, rel: str) -> None:
    """Check a bundle already on the device against its own manifest (fetched here)."""
    import tempfile

    folder = layout.join(rel)
    with tempfile.TemporaryDirectory(prefix="edgekit-rollback-") as tmp:
        local = Path(tmp) / B.MANIFEST
        remote.get(f"{folder}/{B.MANIFEST}", local)
        manifest = B.load(Path(tmp), verify=False).manifest
        files = {r: (e.sha256, e.size) for r, e in manifest.files.items()}
        files[B.MANIFEST] = (B.sha256_file(local), local.stat().st_size)
    try:
        verify_remote(remote, folder, files, delete_bad=False)
    except TransferCorrupt as exc:
        raise FlashError(f"the previous bundle {rel} is damaged on {remote.display}; rollback refused "
                         f"({exc.message.split(':', 1)[1].split(';')[0].strip()})",
                         "flash a good bundle instead") from exc
