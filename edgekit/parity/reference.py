"""The golden reference record, written by the training side at build time.

It must not come from the manifest being checked later, so it stores everything parity compares against:
the training-time preprocessing spec, every Python stage tensor for every golden item, the reference outputs
per model (ONNX Runtime in Python, and PyTorch where a model is given), the label list and the model hashes.

Layout inside the bundle (all hashed by ``write_manifest`` like any other file)::

    golden/reference/training.json              the facts (spec, labels, input, outputs, models, items)
    golden/reference/stages/<item>.npz          one array per stage, keyed ``NN_op``
    golden/reference/outputs/<model>.ort.npz    one array per output name, stacked over items (N x ...)
    golden/reference/outputs/<model>.torch.npz  same, from the PyTorch model (fake-quant for INT8)
    golden/reference/outputs/<model>.ort_exact.npz  Q/DQ models only: ONNX Runtime with graph
        optimizations off, i.e. the Q/DQ graph's own float semantics (no fusion into integer kernels);
        the INT8 check compares fake-quant torch with it
    golden/reference/outputs/<model>.post.npz   the training postprocess of the ORT outputs (what training
        reports): ``index`` and ``score``, N x k, best first; labels are the record's label list

Version 2 adds ``postprocess`` (the training-time manifest block) and the ``.post.npz`` files; a version 1
record's postprocessed outputs are derived from its recorded outputs and declaration when loaded.
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.bundle import Manifest, PostprocessInfo, sha256_file
from edgekit.errors import BundleError
from edgekit.io import atomic_write_json, atomic_write_with
from edgekit.parity import ort_session
from edgekit.postprocess import TopK, classify
from edgekit.preprocess import PreprocessSpec
from edgekit.preprocess import run as run_preprocess

if TYPE_CHECKING:
    import torch

REF_DIR = "golden/reference"
RECORD = f"{REF_DIR}/training.json"
FORMAT = "edgekit-parity-reference"
VERSION = 2


@dataclass
class Reference:
    """The loaded record."""

    root: Path
    spec: PreprocessSpec
    labels: list[str]
    input: dict[str, Any]
    outputs: list[dict[str, Any]]
    models: dict[str, dict[str, Any]]
    items: list[dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)

    @property
    def postprocess(self) -> PostprocessInfo:
        """The training-time postprocess declaration (the record's, never the bundle's current manifest)."""
        block = self.raw.get("postprocess")
        if isinstance(block, dict):
            return PostprocessInfo.model_validate(block)
        return PostprocessInfo(apply_softmax=bool(self.raw["apply_softmax"]), top_k=int(self.raw["top_k"]))

    @property
    def recorded_on(self) -> str:
        """Where the reference outputs were computed (CPU, ISA flags, ORT version); "" in older records."""
        return str(self.raw.get("recorded_on") or "")

    def stages(self, item: str) -> dict[str, np.ndarray]:
        p = self.root / REF_DIR / "stages" / f"{item}.npz"
        try:
            with np.load(p, allow_pickle=False) as z:
                out = {k: z[k] for k in sorted(z.files)}
        except (OSError, ValueError) as exc:
            raise BundleError(
                f"the parity reference's stage file {p} is missing or unreadable: {exc}",
                "rebuild the bundle (edgekit build) to record the reference again",
            ) from exc
        if not out:
            raise BundleError(f"the parity reference's stage file {p} holds no stage", "rebuild the bundle")
        return out

    def model_outputs(self, model_id: str, side: str) -> dict[str, np.ndarray] | None:
        """Outputs stacked over items; ``side`` is 'ort', 'ort_exact', 'torch' or 'post'. None if not
        recorded; a file whose arrays do not hold one row per golden item is an error."""
        p = self.root / REF_DIR / "outputs" / f"{model_id}.{side}.npz"
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                out = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise BundleError(f"the parity reference {p} is unreadable: {exc}", "rebuild the bundle") from exc
        bad = [k for k, v in out.items() if v.ndim == 0 or v.shape[0] != len(self.items)]
        if bad or not out:
            raise BundleError(
                f"the parity reference {p} does not hold one row per golden item ({len(self.items)})",
                "rebuild the bundle (edgekit build) to record the reference again",
            )
        return out

    def model_post(self, model_id: str) -> list[list[TopK]] | None:
        """What training reports for each golden item (top-k, best first): the recorded ``.post.npz``, or for
        a version 1 record the training postprocess applied to the recorded ORT outputs. None if neither."""
        rec = self.model_outputs(model_id, "post")
        labels = self.labels
        if rec is not None and "index" in rec and "score" in rec:
            return [
                [TopK(int(i), labels[int(i)] if 0 <= int(i) < len(labels) else "", float(sc))
                 for i, sc in zip(idx, score, strict=True)]
                for idx, score in zip(rec["index"], rec["score"], strict=True)
            ]  # fmt: skip
        ort = self.model_outputs(model_id, "ort")
        if ort is None or self.raw.get("version", 1) >= 2:
            return None
        names = [o["name"] for o in self.outputs if o["name"] in ort]
        first = names[0] if names else next(iter(ort))
        return [classify(row[None], self.postprocess, labels)[0] for row in ort[first]]


KERNEL_FLAGS = (
    ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")  # x86: MLAS kernel selection
    + ("asimd", "asimddp", "i8mm", "sve")  # ARM
)


def host_signature() -> str:
    """This host as far as ONNX Runtime's kernel choice goes: CPU architecture, the instruction-set flags that
    select MLAS kernels, and the ONNX Runtime version. Recorded with the reference (``recorded_on``)."""
    flags: set[str] = set()
    try:
        for ln in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, val = ln.partition(":")
            if key.strip() in ("flags", "Features"):
                flags.update(val.split())
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        ort = f"onnxruntime {version('onnxruntime')}"
    except Exception:  # noqa: BLE001 - not installed under that name
        ort = "onnxruntime ?"
    isa = [f for f in KERNEL_FLAGS if f in flags]
    return f"{platform.machine() or '?'} ({', '.join(isa) or 'no listed ISA flags'}), {ort}"


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write_with(path, lambda tmp: np.savez_compressed(tmp, **arrays), ".npz")  # type: ignore[arg-type]


def _torch_outputs(model: torch.nn.Module, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(x))
    outs = list(out) if isinstance(out, tuple | list) else [out]
    return {n: o.detach().cpu().numpy().astype(np.float32) for n, o in zip(names, outs, strict=False)}


def write_reference(
    root: Path, manifest: Manifest, torch_models: dict[str, torch.nn.Module] | None = None
) -> Path:
    """Write the golden reference record into the bundle folder ``root`` (call before ``write_manifest``).

    ``manifest`` is the training-time manifest; its golden items, models and labels file must already be in
    ``root``. ``torch_models`` maps model ids to the PyTorch modules they came from (fake-quant for INT8);
    models without one get only ONNX Runtime reference outputs. Returns the record's path."""
    root = Path(root)
    if not manifest.golden:
        raise BundleError(
            "the manifest lists no golden items, so there is nothing to record",
            "add golden images before writing the parity reference",
        )
    shutil.rmtree(root / REF_DIR, ignore_errors=True)  # never mix with an older record
    spec = manifest.preprocess
    labels_path = root / manifest.postprocess.labels_file
    labels = labels_path.read_text().splitlines() if labels_path.is_file() else []
    items: list[dict[str, Any]] = []
    finals: list[np.ndarray] = []
    for g in manifest.golden:
        src = root / g.input
        final, stages = run_preprocess(spec, src, collect=True)
        _save_npz(root / REF_DIR / "stages" / f"{g.name}.npz", {s.name: s.tensor for s in stages})
        finals.append(final)
        items.append({"name": g.name, "input": g.input, "input_sha256": sha256_file(src), "label": g.label})
    out_names = [o.name for o in manifest.outputs]
    models: dict[str, dict[str, Any]] = {}
    for m in manifest.models:
        mpath = root / m.file
        entry: dict[str, Any] = {
            "file": m.file,
            "precision": m.precision,
            "role": m.role,
            "int8_flavour": m.int8_flavour,
            "sha256": None,
            "torch": False,
        }
        if mpath.is_file() and mpath.suffix == ".onnx":
            entry["sha256"] = sha256_file(mpath)
            try:
                sess = ort_session.session(mpath)
            except BundleError as exc:  # e.g. TensorRT-only ops: parity then has no ORT outputs for it
                entry["ort_error"] = exc.message
                models[m.id] = entry
                continue
            per: dict[str, list[np.ndarray]] = {}
            for x in finals:
                for k, v in ort_session.run(sess, x).items():
                    per.setdefault(k, []).append(v)
            _save_npz(
                root / REF_DIR / "outputs" / f"{m.id}.ort.npz",
                {k: np.concatenate(v, axis=0) for k, v in per.items()},
            )
            entry["output_names"] = list(per)
            first = out_names[0] if out_names and out_names[0] in per else next(iter(per))
            tops = [classify(v, manifest.classification(), labels)[0] for v in per[first]]
            _save_npz(
                root / REF_DIR / "outputs" / f"{m.id}.post.npz",
                {
                    "index": np.asarray([[t.index for t in row] for row in tops], dtype=np.int64),
                    "score": np.asarray([[t.score for t in row] for row in tops], dtype=np.float32),
                },
            )
            if m.int8_flavour == "trt_qdq":
                exact = ort_session.session(mpath, optimize=False)
                eper: dict[str, list[np.ndarray]] = {}
                for x in finals:
                    for k, v in ort_session.run(exact, x).items():
                        eper.setdefault(k, []).append(v)
                _save_npz(
                    root / REF_DIR / "outputs" / f"{m.id}.ort_exact.npz",
                    {k: np.concatenate(v, axis=0) for k, v in eper.items()},
                )
                entry["ort_exact"] = True
        tm = (torch_models or {}).get(m.id)
        if tm is not None:
            tm.eval()
            tper: dict[str, list[np.ndarray]] = {}
            for x in finals:
                for k, v in _torch_outputs(tm, x, entry.get("output_names") or out_names).items():
                    tper.setdefault(k, []).append(v)
            _save_npz(
                root / REF_DIR / "outputs" / f"{m.id}.torch.npz",
                {k: np.concatenate(v, axis=0) for k, v in tper.items()},
            )
            entry["torch"] = True
        models[m.id] = entry
    record = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "recorded_on": host_signature(),  # the ORT kernels of this host computed the reference outputs
        "preprocess": spec.to_json_obj(),
        "preprocess_sha256": spec.sha256(),
        "stage_names": spec.step_names(),
        "input": manifest.input.model_dump(),
        "outputs": [o.model_dump() for o in manifest.outputs],
        "labels": labels,
        "top_k": manifest.classification().top_k,
        "apply_softmax": manifest.classification().apply_softmax,
        "postprocess": manifest.postprocess.model_dump(),
        "models": models,
        "items": items,
    }
    path = root / RECORD
    atomic_write_json(path, record)
    return path


def load_reference(root: Path) -> Reference:
    root = Path(root)
    p = root / RECORD
    if not p.is_file():
        raise BundleError(
            f"{root} has no parity reference ({RECORD} is missing), so drift cannot be measured",
            "rebuild the bundle with an edgekit that writes the golden reference (edgekit build)",
        )
    try:
        raw = json.loads(p.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"format is {raw.get('format')!r}")
        if not isinstance(raw.get("version"), int) or not 1 <= raw["version"] <= VERSION:
            raise ValueError(f"version {raw.get('version')!r} is not one this edgekit reads (1..{VERSION})")
        if not raw.get("items"):  # a comparison over zero items proves nothing
            raise ValueError("it lists zero golden items, so nothing could be compared")
        if not raw.get("stage_names"):
            raise ValueError("it lists zero preprocessing stages")
        spec = PreprocessSpec.model_validate(raw["preprocess"])
        return Reference(
            root=root,
            spec=spec,
            labels=list(raw["labels"]),
            input=raw["input"],
            outputs=raw["outputs"],
            models=raw["models"],
            items=raw["items"],
            raw=raw,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{p} is not a valid parity reference: {exc}", "rebuild the bundle") from exc
