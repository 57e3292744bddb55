"""The sides under test. Each runs the bundle's golden items as the deployed side would — from the bundle's
*current* manifest, labels and model files — and returns every stage tensor and the outputs.

- ``ort``: the Python preprocessing + ONNX Runtime in Python on the manifest's model file.
- ``torch``: the Python preprocessing + the bundle's PyTorch reference model (reference/<id>.pt2 or .ts).
- ``cpp``: ``edgekit-infer --dump-stages`` through an :class:`~edgekit.parity.executor.Executor`.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.bundle import Bundle
from edgekit.errors import EdgekitError
from edgekit.parity import ort_session
from edgekit.parity.executor import Executor
from edgekit.postprocess import TopK, classify
from edgekit.preprocess import run as run_preprocess

Progress = Callable[[str], None]


@dataclass
class ItemResult:
    stages: dict[str, np.ndarray] = field(default_factory=dict)  # "NN_op" -> tensor, in order
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # output name -> 1 x ...
    top: list[TopK] | None = None  # what the side reports for its first output: top-k classes, best first
    score_kind: str | None = None  # what the side says its scores are ("softmax" or "raw"), when it says
    error: str | None = None  # the side failed on this item: it was not compared


@dataclass
class SideResult:
    runtime: str
    where: str
    items: dict[str, ItemResult]
    labels: list[str]  # the label list the side uses


def torch_model_path(bundle: Bundle, model_id: str) -> Path | None:
    """``manifest.extra["references"][id]["file"]`` (written by the build), else reference/<id>.<ext>."""
    rec = bundle.manifest.extra.get("references", {})
    entry = rec.get(model_id) if isinstance(rec, dict) else None
    rel = entry.get("file") if isinstance(entry, dict) else None
    if rel and (bundle.root / rel).is_file():
        return bundle.root / rel
    ref = bundle.root / "reference"
    for suffix in (".pt2", ".ts", ".pt", ".torchscript", ".jit"):
        p = ref / f"{model_id}{suffix}"
        if p.is_file():
            return p
    return None


def load_torch_model(path: Path):  # type: ignore[no-untyped-def]
    """A torch.export program (.pt2) or a TorchScript module."""
    import torch

    try:
        if path.suffix == ".pt2":
            return torch.export.load(str(path)).module()
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise EdgekitError(
            f"cannot load the PyTorch reference model {path}: {str(exc).splitlines()[0]}",
            "rebuild the bundle (reference/<model>.pt2 via torch.export, or TorchScript)",
        ) from exc


def run_python_side(
    bundle: Bundle, model_id: str, backend: str, progress: Progress | None = None
) -> SideResult:
    """The ``ort`` or ``torch`` side: the deployed manifest interpreted in Python."""
    m = bundle.manifest
    entry = m.model(model_id)
    labels = bundle.labels()
    if backend == "torch":
        import torch

        tpath = torch_model_path(bundle, entry.id)
        if tpath is None:
            raise EdgekitError(
                f"the bundle has no PyTorch reference model for '{entry.id}' (reference/{entry.id}.pt2)",
                "use --runtime ort or cpp, or rebuild with the PyTorch reference models",
            )
        tmodel = load_torch_model(tpath)
        where = str(tpath.relative_to(bundle.root))

        def infer(x: np.ndarray) -> dict[str, np.ndarray]:
            with torch.no_grad():
                out = tmodel(torch.from_numpy(x))
            outs = list(out) if isinstance(out, tuple | list) else [out]
            return {
                o.name: t.detach().numpy().astype(np.float32) for o, t in zip(m.outputs, outs, strict=False)
            }
    else:
        sess = ort_session.session(bundle.model_path(entry.id))
        where = entry.file

        def infer(x: np.ndarray) -> dict[str, np.ndarray]:
            return ort_session.run(sess, x, m.input.name)

    items: dict[str, ItemResult] = {}
    for g in m.golden:
        if progress:
            progress(g.name)
        r = ItemResult()
        items[g.name] = r
        try:
            final, stages = run_preprocess(m.preprocess, bundle.root / g.input, collect=True)
            r.stages = {s.name: s.tensor for s in stages}
        except EdgekitError as exc:
            r.error = f"preprocessing failed: {exc.message}"
            continue
        try:
            r.outputs = infer(final)
        except Exception as exc:  # noqa: BLE001 - a drifted input shape makes the backend raise
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
            r.error = f"{backend} inference failed: {lines[0][:300]}"
            continue
        if not r.outputs:
            r.error = f"{backend} inference returned no outputs"
            continue
        first = r.outputs.get(m.outputs[0].name) if m.outputs else None
        first = next(iter(r.outputs.values())) if first is None else first
        try:  # the deployed manifest's postprocess, as the device applies it
            r.top = classify(first, m.classification(), labels)[0]
            r.score_kind = "softmax" if m.classification().apply_softmax else "raw"
        except ValueError as exc:
            r.error = f"postprocess failed: {exc}"
    return SideResult(runtime=backend, where=where, items=items, labels=labels)


def _load_dump(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    stages: dict[str, np.ndarray] = {}
    outputs: dict[str, np.ndarray] = {}
    if not folder.is_dir():
        return stages, outputs
    for p in sorted(folder.glob("*.npy")):
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"edgekit-infer wrote an unreadable {p.name}: {exc}") from exc
        if p.stem.startswith("output_"):
            outputs[p.stem[len("output_") :]] = arr
        else:
            stages[p.stem] = arr
    return stages, outputs


def _score(v: object) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")  # JSON null: NaN/Inf in C++


def _apply_json(res_stdout: str, by_stem: dict[str, ItemResult], model_id: str) -> set[str]:
    """Fill the reported top-k / NaN flags from ``--json`` lines; return the stems that got a usable line."""
    seen = set()
    for ln in res_stdout.splitlines():
        if not ln.strip().startswith("{"):
            continue
        try:
            rec = json.loads(ln)
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        stem = Path(posixpath.basename(str(rec.get("input", "")))).stem
        r = by_stem.get(stem)
        if r is None or rec.get("model", model_id) != model_id:  # another input's or another model's line
            continue
        tk = rec.get("top_k")
        try:
            if not isinstance(tk, list):
                raise TypeError("top_k is not a list")
            r.top = [TopK(int(t["index"]), str(t.get("label") or ""), _score(t.get("score"))) for t in tk]
        except (TypeError, KeyError, ValueError):
            r.error = f"edgekit-infer printed a result line without a usable top_k: {ln.strip()[:120]}"
            continue
        seen.add(stem)
        r.score_kind = str(rec["scores"]) if "scores" in rec else None
        if rec.get("nonfinite"):
            r.error = "edgekit-infer reported NaN/Inf outputs"
    return seen


def _fail_msg(rc: int, stderr: str) -> str:
    msg = (stderr.strip().splitlines() or [f"exit code {rc}"])[-1]
    return f"edgekit-infer failed (exit {rc}): {msg[:300]}"


def run_cpp_side(
    bundle: Bundle,
    model_id: str,
    executor: Executor,
    timeout: float = 300.0,
    progress: Progress | None = None,
    extra_args: list[str] | None = None,
) -> SideResult:
    """The ``cpp`` side: ``edgekit-infer --bundle B --input X --model ID --dump-stages D --json``, once per
    folder of golden images (one model load); per file when a folder run fails, to attribute the error.
    ``extra_args`` are appended (e.g. ``["--backend", "trt"]`` on a Jetson)."""
    m = bundle.manifest
    entry = m.model(model_id)
    rb = executor.bundle_path(bundle.root)
    binary = executor.binary()
    dump = executor.mkdtemp()
    items = {g.name: ItemResult() for g in m.golden}
    stems = {g.name: Path(g.input).stem for g in m.golden}
    folders: dict[str, list[str]] = {}
    for g in m.golden:
        folders.setdefault(posixpath.dirname(g.input), []).append(g.name)

    def argv(inp: str) -> list[str]:
        return [binary, "--bundle", rb, "--input", posixpath.join(rb, inp), "--model", entry.id,
                "--dump-stages", dump, "--json", *(extra_args or [])]  # fmt: skip

    try:
        for folder, names in folders.items():
            by_stem = {stems[n]: items[n] for n in names}
            if progress:
                progress(f"{folder}/ ({len(names)} images)")
            res = executor.run(argv(folder), timeout)
            seen = _apply_json(res.stdout, by_stem, entry.id)
            if res.returncode in (0, 3) and seen == set(by_stem):
                continue
            for n in names:  # the folder run failed: one call per file tells which ones and why
                g = next(x for x in m.golden if x.name == n)
                if progress:
                    progress(n)
                one = executor.run(argv(g.input), timeout)
                _apply_json(one.stdout, {stems[n]: items[n]}, entry.id)
                if one.returncode not in (0, 3):
                    items[n].error = _fail_msg(one.returncode, one.stderr)
                elif one.returncode == 3:
                    items[n].error = "edgekit-infer exit 3: NaN/Inf outputs"
        with tempfile.TemporaryDirectory(prefix="edgekit-parity-fetch-") as tmp:
            executor.fetch(dump, Path(tmp))
            for name, r in items.items():
                try:
                    r.stages, r.outputs = _load_dump(Path(tmp) / stems[name])
                except ValueError as exc:
                    r.error = str(exc)
                if r.error is None and not r.outputs:  # exit 0 is not a result: the files are
                    r.error = "edgekit-infer wrote no output tensors for it (--dump-stages)"
                elif r.error is None and not r.top:
                    r.error = "edgekit-infer printed no result line (--json top_k) for it"
    finally:
        executor.cleanup(dump)
    return SideResult(runtime="cpp", where=f"{executor.name}:{binary}", items=items, labels=bundle.labels())
