"""The bundle: a folder with ``manifest.json``, models, labels and a golden set.

The manifest is the one truth shared by Python and the C++ runtime (cpp_runtime/src/manifest.cpp
parses the same schema). Every file except the manifest is listed with its sha256 and size;
readers verify them before use. Bundles are written to a temporary sibling folder and renamed into
place, so an interrupted build never leaves a half-written bundle where a good one was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from edgekit import __version__
from edgekit import contract as C
from edgekit.build_record import BuildRecord
from edgekit.contract import BundlePath, ContractError, Dim, Int32, RuleViolation, model_rules
from edgekit.errors import BundleError
from edgekit.preprocess.spec import PreprocessSpec

SCHEMA_VERSION = C.SCHEMA_VERSION
MANIFEST = C.MANIFEST_FILE
_FIX = "rebuild the bundle with `edgekit build`"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TensorInfo(_M):
    name: str
    shape: list[Dim] = Field(max_length=8, description="-1 marks a dynamic axis (the batch)")
    dtype: Literal["float32", "float16", "uint8", "int8", "int64"] = "float32"


class InputInfo(TensorInfo):
    layout: Literal["NCHW", "NHWC"] = "NCHW"


class ModelEntry(_M):
    id: str = Field(description="e.g. teacher_fp32, student_fp32, student_int8_qdq, student_int8_cpu")
    file: BundlePath
    precision: Literal["fp32", "fp16", "int8"]
    role: Literal["teacher", "student"]
    int8_flavour: Literal["trt_qdq", "dla_implicit", "ort_cpu"] | None = None
    opset: int = Field(ge=1, le=1000)
    metrics: dict[str, float] = Field(default_factory=dict)


class PostprocessInfo(_M):
    type: Literal["classification"] = "classification"
    apply_softmax: bool = True
    top_k: int = Field(5, ge=1, le=C.INT32_MAX)
    labels_file: BundlePath = C.LABELS_FILE


class DetectionPostprocess(_M):
    """Detection postprocessing, interpreted by edgekit/detect/postprocess.py and cpp_runtime/src/detect.cpp.

    The model has one output: ``edgekit_ltrb`` [N, 4 + C, H, W] (ltrb distances in strides, then class logits)
    or ``anchor_free_grid`` [N, 4 + C, A] (the Ultralytics export layout: a box in ``box_format`` in input
    pixels, then class scores). Candidates at or above ``score_threshold`` are sorted by score (ties: lower
    candidate index p * C + c first), greedy NMS suppresses IoU > ``nms_iou``, the first ``max_detections``
    are kept and mapped back to the original image through the inverse of the spec's geometry."""

    type: Literal["detection"] = "detection"
    encoding: Literal["edgekit_ltrb", "anchor_free_grid"] = "edgekit_ltrb"
    stride: int = Field(8, ge=1, le=1024, description="edgekit_ltrb: input pixels per output cell")
    box_format: Literal["cxcywh", "xyxy"] = Field("cxcywh", description="anchor_free_grid: the box channels")
    score_activation: Literal["sigmoid", "none"] = "sigmoid"
    score_threshold: float = Field(0.3, ge=0.0, le=1.0)
    nms_iou: float = Field(0.5, gt=0.0, le=1.0)
    max_detections: int = Field(100, ge=1, le=10000)
    pre_nms_top_k: int = Field(1000, ge=1, le=100000)
    class_agnostic: bool = False
    background_class: bool = Field(False, description="class 0 is the background: never reported")
    coordinates: Literal["original", "input"] = "original"
    score_margin: float = Field(
        0.05, ge=0.0, le=0.5, description="parity: detections this close to the threshold may differ in count"
    )
    labels_file: BundlePath = C.LABELS_FILE


def _post_kind(v: Any) -> str:
    t = v.get("type", "classification") if isinstance(v, dict) else getattr(v, "type", "classification")
    return t if t in ("classification", "detection") else "classification"


Postprocess = Annotated[
    Annotated[PostprocessInfo, Tag("classification")] | Annotated[DetectionPostprocess, Tag("detection")],
    Discriminator(_post_kind),
]


class FileEntry(_M):
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    size: int = Field(ge=0, le=C.MAX_FILE_SIZE)


class GoldenItem(_M):
    name: str
    input: BundlePath = Field(description="the encoded image file, relative to the bundle")
    label: Int32 | None = None


class Provenance(_M):
    """Which software built the bundle, and a hash of the configuration it came from (edgekit.provenance)."""

    edgekit: str
    python: str
    torch: str | None = None
    onnx: str | None = None
    onnxruntime: str | None = None
    opencv: str | None = None
    config_sha256: str = Field(description="sha256 (canonical JSON) of example, profile, recipe, seed, fast")


class Manifest(_M):
    model_config = ConfigDict(
        json_schema_extra=model_rules(
            "manifest.model_ids_unique",
            "manifest.default_model_known",
            "spec.fixed_output_size",
            "manifest.input_shape",
            "manifest.input_layout",
            "manifest.engine_paths",
            "manifest.task_postprocess",
            "manifest.detection_output",
        )
    )
    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=C.INT32_MAX)
    format: Literal["edgekit-bundle"] = "edgekit-bundle"
    created_by: str = f"edgekit {__version__}"
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    name: str
    device: str
    task: Literal["classification", "detection"] = "classification"
    input: InputInfo
    outputs: list[TensorInfo] = Field(min_length=1)
    preprocess: PreprocessSpec
    preprocess_sha256: str = ""
    postprocess: Postprocess = PostprocessInfo()
    models: list[ModelEntry] = Field(min_length=1)
    default_model: str
    golden: list[GoldenItem] = Field(default_factory=list)
    files: dict[BundlePath, FileEntry] = Field(default_factory=dict)
    build: BuildRecord | None = Field(None, description="the typed record of `edgekit build`")
    extra: dict[str, Any] = Field(default_factory=dict, description="hooks, references, bench, parity")
    provenance: Provenance | None = None  # None only in bundles written before it existed

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        ids = [m.id for m in self.models]
        if len(set(ids)) != len(ids):
            raise RuleViolation("manifest.model_ids_unique", "model ids must be unique")
        if self.default_model not in ids:
            raise RuleViolation(
                "manifest.default_model_known", f"default_model '{self.default_model}' is not one of {ids}"
            )
        try:
            want = self.preprocess.input_shape()
        except ValueError as exc:
            raise RuleViolation("spec.fixed_output_size", str(exc)) from exc
        got = [d if d != -1 else 1 for d in self.input.shape]
        if got != want:
            raise RuleViolation(
                "manifest.input_shape",
                f"input shape {self.input.shape} disagrees with the preprocessing output {want}",
            )
        if self.preprocess.steps[-1].op == "layout" and self.preprocess.steps[-1].to != self.input.layout:  # type: ignore[union-attr]
            raise RuleViolation(
                "manifest.input_layout", "input.layout disagrees with the preprocessing layout step"
            )
        _check_engine_paths(self.extra)
        if self.task != self.postprocess.type:
            raise RuleViolation(
                "manifest.task_postprocess",
                f"task '{self.task}' disagrees with postprocess.type '{self.postprocess.type}'",
            )
        if isinstance(self.postprocess, DetectionPostprocess):
            want_rank = 4 if self.postprocess.encoding == "edgekit_ltrb" else 3
            shape = self.outputs[0].shape
            if len(shape) != want_rank or (shape[1] != -1 and shape[1] < 5):
                raise RuleViolation(
                    "manifest.detection_output",
                    f"a {self.postprocess.encoding} detector's first output needs rank {want_rank} with "
                    f"4 box channels + at least 1 class channel, not shape {shape}",
                )
        if not self.preprocess_sha256:
            self.preprocess_sha256 = self.preprocess.sha256()
        return self

    def classification(self) -> PostprocessInfo:
        """The classification postprocess block; a detection bundle is refused with a one-line error."""
        if not isinstance(self.postprocess, PostprocessInfo):
            raise BundleError(f"bundle '{self.name}' is a {self.task} bundle, not a classifier",
                              "use the detection path for it")
        return self.postprocess

    def model(self, model_id: str | None = None) -> ModelEntry:
        mid = model_id or self.default_model
        for m in self.models:
            if m.id == mid:
                return m
        raise BundleError(f"bundle has no model '{mid}'", f"use one of {[m.id for m in self.models]}")


def _check_engine_paths(extra: dict[str, Any]) -> None:
    """Rule manifest.engine_paths (C++: contract.cpp): extra.tensorrt.engines, when present, is an object of
    {file, metadata?, precision?, onnx?} string entries whose paths stay inside the bundle."""
    R = "manifest.engine_paths"
    trt = extra.get("tensorrt")
    if not isinstance(trt, dict) or "engines" not in trt:
        return
    engines = trt["engines"]
    if not isinstance(engines, dict):
        raise RuleViolation(R, "extra.tensorrt.engines must be an object keyed by model id")
    for mid, e in engines.items():
        if not isinstance(e, dict) or not isinstance(e.get("file"), str):
            raise RuleViolation(R, f"extra.tensorrt.engines.{mid} needs a 'file' string")
        for key in ("file", "metadata", "precision", "onnx"):
            v = e.get(key)
            if v is not None and not isinstance(v, str):
                raise RuleViolation(R, f"extra.tensorrt.engines.{mid}.{key} must be a string")
            why = C.path_problem(v) if key != "precision" and v is not None else None
            if why:
                raise RuleViolation(
                    R, f"extra.tensorrt.engines.{mid}.{key} '{v}' {why}: paths stay inside the bundle"
                )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_labels(path: Path) -> list[str]:
    """One label per line; a final newline ends the last line; CRLF is accepted (as C++ Bundle::labels)."""
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


class Bundle:
    """A bundle folder on disk with its parsed manifest."""

    def __init__(self, root: Path, manifest: Manifest) -> None:
        self.root = root
        self.manifest = manifest

    def path(self, rel: str) -> Path:
        """``root/rel``, refused unless it stays inside the bundle with every symlink resolved
        (rules path.relative and bundle.path_inside; C++: Bundle::path)."""
        why = C.path_problem(rel)
        if why:
            raise ContractError(
                f"bundle path '{rel}' {why}: paths stay inside the bundle", _FIX, "path.relative", rel
            )
        p = self.root / rel
        root_real = self.root.resolve()
        real = p.resolve()
        if real != root_real and root_real not in real.parents:
            raise ContractError(
                f"bundle path '{rel}' in {self.root} resolves to {real}, outside the bundle "
                "(a symlink points out)",
                "copy the file into the bundle instead of linking to it",
                "bundle.path_inside",
                rel,
            )
        return p

    def model_path(self, model_id: str | None = None) -> Path:
        return self.path(self.manifest.model(model_id).file)

    def labels(self) -> list[str]:
        p = self.path(self.manifest.postprocess.labels_file)
        return read_labels(p) if p.exists() else []

    def check_labels(self) -> None:
        """Rule bundle.label_count: a labels file, when present, has one line per class of output 0."""
        labels = self.labels()
        shape = self.manifest.outputs[0].shape
        n = shape[-1] if shape else -1
        if isinstance(self.manifest.postprocess, DetectionPostprocess):  # [N, 4 + C, ...]: C class channels
            n = shape[1] - 4 if len(shape) > 1 and shape[1] != -1 else -1
        if labels and n > 0 and len(labels) != n:
            raise ContractError(
                f"{self.manifest.postprocess.labels_file} in {self.root} has {len(labels)} labels, "
                f"the model's output '{self.manifest.outputs[0].name}' has {n} classes",
                "write one label per class, one per line",
                "bundle.label_count",
                self.manifest.postprocess.labels_file,
            )

    def verify(self) -> None:
        """Check every listed file's presence, size and sha256."""
        for rel, entry in self.manifest.files.items():
            p = self.path(rel)
            if not p.is_file():
                raise ContractError(
                    f"bundle file {rel} is missing from {self.root}",
                    "rebuild or re-flash the bundle",
                    "bundle.file_missing",
                    rel,
                )
            if p.stat().st_size != entry.size or sha256_file(p) != entry.sha256:
                raise ContractError(
                    f"bundle file {rel} does not match its sha256 in the manifest (corrupt or replaced)",
                    "rebuild or re-flash the bundle",
                    "bundle.file_hash",
                    rel,
                )


def _contract_error(exc: ValidationError, where: str) -> ContractError:
    first = exc.errors()[0]
    rule = C.rule_of(dict(first))
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    return ContractError(f"{where} is invalid at '{loc}' [{rule}]: {msg}", _FIX, rule, loc)


def parse_manifest(text: str | bytes, where: str) -> Manifest:
    """Parse and validate manifest text (strict: no bool/string/float as int; NaN/Infinity are not JSON).
    Raises ContractError with the broken rule's id (C++: parse_manifest, the same ids on the same input)."""
    raw = C.parse_json(text, where)
    ver = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(ver, int) and not isinstance(ver, bool) and ver > SCHEMA_VERSION:
        raise ContractError(
            f"{where} has schema_version {ver}, newer than this edgekit understands ({SCHEMA_VERSION})",
            "upgrade edgekit",
            "manifest.schema_version",
            "schema_version",
        )
    try:
        return Manifest.model_validate(raw, strict=True)
    except ValidationError as exc:
        raise _contract_error(exc, where) from exc


def parse_spec(text: str | bytes, where: str) -> PreprocessSpec:
    """Parse and validate a preprocessing spec ({"steps": [...]}); C++: parse_spec."""
    raw = C.parse_json(text, where)
    try:
        return PreprocessSpec.model_validate(raw, strict=True)
    except ValidationError as exc:
        raise _contract_error(exc, where) from exc


def load(root: str | Path, verify: bool = True) -> Bundle:
    root = Path(root)
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise BundleError(
            f"{root} is not a bundle: {MANIFEST} is missing", "pass the folder `edgekit build` wrote"
        )
    b = Bundle(root, parse_manifest(mpath.read_bytes(), str(mpath)))
    b.check_labels()
    if verify:
        b.verify()
    return b


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Hash every file under ``root`` (except the manifest) into ``manifest.files``; write it atomically."""
    files: dict[str, FileEntry] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = p.relative_to(root).as_posix()
            files[rel] = FileEntry(sha256=sha256_file(p), size=p.stat().st_size)
    manifest.files = files
    from edgekit.io import atomic_write_text

    atomic_write_text(root / MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")


# Files edgekit itself writes into a finished bundle, outside its hashed file list (reports, the build's
# parity result, TensorRT engines built on the device and their metadata, temporaries of atomic writes).
RESULT_FILES = (MANIFEST, "report.html", "report.md", "parity.json", "estimate.json")


def _is_result_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    if name.startswith(".") and name.endswith(".tmp"):
        return True
    engine = rel.startswith("trt/") and name.endswith((".engine", ".engine.json"))
    return engine or rel == "trt/timing.cache"


def check_replaceable(out: Path, option: str = "--out") -> None:
    """``out`` may be created or replaced by a build: it does not exist, is an empty folder, or is an
    edgekit bundle (a ``manifest.json`` with our ``format`` and a schema we read, and no file in the folder
    that the manifest does not list). Anything else is refused, before any work, and nothing is touched."""
    from edgekit.io import OutputPathError, check_output_dir

    check_output_dir(out, option)
    if not out.exists():
        return
    if out.is_symlink():
        raise OutputPathError(
            f"{option} {out} is a symbolic link; edgekit replaces only bundle folders it wrote",
            "pass the real folder or a new path",
        )
    entries = list(out.iterdir())
    if not entries:
        return
    fix = f"pass a new or empty folder to {option}, or move {out}'s files away first"
    mpath = out / MANIFEST
    try:
        raw = json.loads(mpath.read_text()) if mpath.is_file() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raw = None
    ver = raw.get("schema_version") if isinstance(raw, dict) else None
    listed = raw.get("files") if isinstance(raw, dict) else None
    if (
        not isinstance(raw, dict)
        or raw.get("format") != "edgekit-bundle"
        or not isinstance(ver, int)
        or isinstance(ver, bool)
        or not 1 <= ver <= SCHEMA_VERSION
        or not isinstance(listed, dict)
    ):
        raise OutputPathError(
            f"{option} {out} is not empty and is not an edgekit bundle: not replacing it", fix
        )
    ours = set(RESULT_FILES) | {str(k) for k in listed}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_symlink() or (not p.is_dir() and rel not in ours and not _is_result_file(rel)):
            raise OutputPathError(
                f"{option} {out} holds {rel}, which its edgekit manifest does not list: not replacing it", fix
            )


@contextlib.contextmanager
def staging(out: Path, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary folder next to ``out``; on success replace ``out`` with it; nothing is half-done.

    ``out`` must be new, empty or an edgekit bundle (``check_replaceable``, checked before the work and
    again before the swap). An existing bundle at ``out`` is moved aside first and deleted only after the
    rename succeeded. On any exception the staging folder is removed and ``out`` is untouched.
    """
    out = Path(os.path.abspath(out))
    check_replaceable(out, option)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        yield tmp
        check_replaceable(out, option)  # it may have changed during a long build
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
