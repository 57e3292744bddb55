"""Build plans: the exact TensorRT builder settings per engine, and the equivalent ``trtexec`` lines.

Where TensorRT is absent (this host, CI) the build writes ``trt/plan.json`` and ``trt/build.sh`` into the
bundle; the engines are built on the device by ``sh trt/build.sh`` or ``edgekit engine build``. A plan never
claims an engine exists: ``built`` is always false here.

Conventions (contract for the build orchestrator):
- engines go to ``trt/<model_id>.<precision>[.dla<core>].engine``, metadata to ``<engine>.json``;
- a ``dla_implicit`` INT8 entry's file is the Q/DQ-free ONNX ``<stem>_noqdq.onnx`` with its cache
  ``<stem>_calib.cache`` and ``<stem>_layer_arg.txt`` beside it (what ``dla_int8.translate`` writes);
- ``ort_cpu`` entries are not TensorRT models and are skipped.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekit.bundle import InputInfo, ModelEntry
from edgekit.errors import ConfigError
from edgekit.io import atomic_write_text
from edgekit.profiles import DeviceProfile

PLAN_DIR = "trt"
TIMING_CACHE = "trt/timing.cache"


@dataclass
class EngineSpec:
    model_id: str
    onnx: str
    engine: str
    precision: str  # engine precision: fp32 | fp16 | int8
    int8_mode: str | None  # "explicit" (Q/DQ) | "implicit" (calibration cache) | None
    calib_cache: str | None
    fp16_layers: list[str]
    dla_core: int | None
    gpu_fallback: bool
    workspace_mib: int
    timing_cache: str
    input_name: str
    input_shape: list[int]  # fixed: min = opt = max
    trt_version: str
    explicit_batch_flag: bool  # NetworkDefinitionCreationFlag.EXPLICIT_BATCH (TensorRT 8.x only)
    memory_api: str  # "max_workspace_size" (< 8.4) | "set_memory_pool_limit"
    dynamic_input: bool = True  # the ONNX input has symbolic dims: fix them with a profile / --shapes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EngineSpec:
        return cls(**d)


def default_workspace_mib(profile: DeviceProfile) -> int:
    """The builder workspace limit for a profile: 1/8 of the device's memory (which the CPU, the GPU and
    the DLA share on a Jetson), at most 1024 MiB: 512 MiB on a 4 GB Nano, 1024 MiB from 8 GB up."""
    mem = getattr(profile, "memory", None)
    size_gb = float(getattr(mem, "size_gb", 0) or 0)
    return 1024 if size_gb <= 0 else max(256, min(1024, int(size_gb * 1024) // 8))


def engine_name(model_id: str, precision: str, dla_core: int | None) -> str:
    return (
        f"{PLAN_DIR}/{model_id}.{precision}" + (f".dla{dla_core}" if dla_core is not None else "") + ".engine"
    )


def _companion(onnx_rel: str, suffix: str) -> str:
    stem = onnx_rel[: -len(".onnx")] if onnx_rel.endswith(".onnx") else onnx_rel
    stem = stem[: -len("_noqdq")] if stem.endswith("_noqdq") else stem
    return stem + suffix


def _onnx_input(path: Path) -> tuple[str, list[int]]:
    """The first real graph input of an ONNX file: name and shape (-1 for symbolic dims)."""
    import onnx

    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ConfigError(f"cannot read {path} for its input shape", "pass input_info explicitly") from exc
    inits = {t.name for t in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name not in inits:
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]
            return vi.name, dims
    raise ConfigError(f"{path} has no graph input", "re-export the model")


def _check_cache(profile: DeviceProfile, root: Path, onnx_rel: str, cache_rel: str) -> None:
    """The cache must be for this profile's TensorRT and name only tensors of the model it goes with."""
    import onnx

    from edgekit.trt.calib_cache import check_tensors, read
    from edgekit.trt.dla_int8 import model_tensors

    assert profile.tensorrt is not None
    cache = read(root / cache_rel)  # refuses an unknown TensorRT tag
    if cache.tag != profile.tensorrt.cache_tag:
        raise ConfigError(
            f"calibration cache {cache_rel} is for TensorRT tag {cache.tag}, {profile.name} runs TensorRT "
            f"{profile.tensorrt.version} (tag {profile.tensorrt.cache_tag})",
            f"regenerate it: edgekit engine translate QDQ.onnx --device {profile.name}",
        )
    m = onnx.load(str(root / onnx_rel), load_external_data=False)
    check_tensors(cache, model_tensors(m), f"calibration cache {cache_rel}")


def _spec(
    profile: DeviceProfile,
    model_id: str,
    onnx_rel: str,
    prec: str,
    mode: str | None,
    core: int | None,
    name: str,
    shape: list[int],
    workspace_mib: int,
    bundle_root: Path | None,
    dynamic: bool = True,
) -> EngineSpec:
    assert profile.tensorrt is not None
    ver = profile.tensorrt.version_tuple
    cache, fp16_layers = None, []
    if mode == "implicit":
        cache = _companion(onnx_rel, "_calib.cache")
        arg = bundle_root / _companion(onnx_rel, "_layer_arg.txt") if bundle_root else None
        if arg is not None and arg.is_file() and arg.read_text().strip():
            fp16_layers = [x.rsplit(":", 1)[0] for x in arg.read_text().strip().split(",")]
        if bundle_root is not None and not (bundle_root / cache).is_file():
            raise ConfigError(
                f"model {model_id} needs its calibration cache {cache}",
                "run edgekit.trt.dla_int8.translate on the Q/DQ model first",
            )
        if bundle_root is not None:
            _check_cache(profile, bundle_root, onnx_rel, cache)
    return EngineSpec(
        model_id=model_id,
        onnx=onnx_rel,
        engine=engine_name(model_id, prec, core),
        precision=prec,
        int8_mode=mode,
        calib_cache=cache,
        fp16_layers=fp16_layers,
        dla_core=core,
        gpu_fallback=core is not None,
        workspace_mib=workspace_mib,
        timing_cache=TIMING_CACHE,
        input_name=name,
        input_shape=shape,
        trt_version=profile.tensorrt.version,
        explicit_batch_flag=ver[0] < 10,
        dynamic_input=dynamic,
        memory_api="max_workspace_size" if ver[:2] < (8, 4) else "set_memory_pool_limit",
    )


def engine_specs(
    profile: DeviceProfile,
    entries: list[ModelEntry],
    input_info: InputInfo | None = None,
    use_dla: bool | None = None,
    dla_core: int = 0,
    batch: int = 1,
    workspace_mib: int = 1024,
    fp16_from_fp32: bool = True,
    bundle_root: Path | None = None,
    include_teachers: bool = False,
) -> list[EngineSpec]:
    """One EngineSpec per TensorRT engine to build (not for ort_cpu models, nor for teachers unless
    ``include_teachers``). ``input_info`` None: read each ONNX's input (needs
    ``bundle_root``). On a DLA profile, a ``trt_qdq`` entry whose translation (``<stem>_noqdq.onnx`` +
    ``<stem>_calib.cache``) lies beside it also gets an implicit-INT8 DLA engine, id ``<id>_dla``."""
    if profile.tensorrt is None:
        raise ConfigError(f"device '{profile.name}' has no TensorRT", "plans are for Jetson profiles")
    dla = profile.has_dla if use_dla is None else use_dla
    if dla and not profile.has_dla:
        raise ConfigError(f"device '{profile.name}' has no DLA", "drop the DLA option")
    if dla and profile.dla is not None and not 0 <= dla_core < profile.dla.cores:
        raise ConfigError(
            f"DLA core {dla_core} does not exist on {profile.name}", f"use 0..{profile.dla.cores - 1}"
        )
    specs: list[EngineSpec] = []
    for e in entries:
        if e.int8_flavour == "ort_cpu" or (e.role == "teacher" and not include_teachers):
            continue  # ONNX Runtime models, and teachers (training-time only), get no engine
        if input_info is not None:
            name, dims = input_info.name, list(input_info.shape)
        elif bundle_root is not None:
            name, dims = _onnx_input(bundle_root / e.file)
        else:
            raise ConfigError("engine_specs needs input_info or bundle_root", "pass the bundle root")
        shape = [batch if (d == -1 or i == 0) else d for i, d in enumerate(dims)]
        prec = e.precision
        if prec == "fp32" and fp16_from_fp32 and "fp16" in profile.precisions:
            prec = "fp16"
        if prec not in profile.precisions:
            raise ConfigError(
                f"model {e.id} is {prec}, which {profile.name} does not support",
                f"use one of {', '.join(profile.precisions)}",
            )
        mode = None if prec != "int8" else ("implicit" if e.int8_flavour == "dla_implicit" else "explicit")
        # DLA: FP16/INT8 only, and never Q/DQ (explicit) INT8 through TensorRT 10.x.
        core = dla_core if dla and mode != "explicit" else None
        dyn = any(d == -1 for d in dims)
        specs.append(
            _spec(profile, e.id, e.file, prec, mode, core, name, shape, workspace_mib, bundle_root, dyn)
        )
        noqdq = _companion(e.file, "_noqdq.onnx")
        if (
            dla
            and mode == "explicit"
            and noqdq not in {x.file for x in entries}  # the translation is not already a bundle model
            and bundle_root is not None
            and (bundle_root / noqdq).is_file()
            and (bundle_root / _companion(e.file, "_calib.cache")).is_file()
        ):
            specs.append(
                _spec(
                    profile,
                    f"{e.id}_dla",
                    noqdq,
                    "int8",
                    "implicit",
                    dla_core,
                    name,
                    shape,
                    workspace_mib,
                    bundle_root,
                    dyn,
                )
            )
    return specs


def trtexec_args(spec: EngineSpec) -> list[str]:
    """The ``trtexec`` arguments (without the program) equivalent to the Python builder settings of
    ``spec``; paths are relative to the bundle root (run with the bundle as working directory)."""
    ver = tuple(int(x) for x in spec.trt_version.split("."))
    args = [f"--onnx={spec.onnx}", f"--saveEngine={spec.engine}"]
    shape = "x".join(str(d) for d in spec.input_shape)
    if spec.dynamic_input:  # trtexec rejects --shapes for a static model
        args.append(f"--shapes={spec.input_name}:{shape}")
    if spec.precision in ("fp16", "int8"):
        args.append("--fp16")
    if spec.precision == "int8":
        args.append("--int8")
    if spec.int8_mode == "implicit" and spec.calib_cache:
        args.append(f"--calib={spec.calib_cache}")
    if spec.fp16_layers:
        args += [
            "--precisionConstraints=prefer",
            "--layerPrecisions=" + ",".join(f"{n}:fp16" for n in spec.fp16_layers),
        ]
    if spec.dla_core is not None:
        args.append(f"--useDLACore={spec.dla_core}")
        if spec.gpu_fallback:
            args.append("--allowGPUFallback")
    if ver[:2] < (8, 4):
        args.append(f"--workspace={spec.workspace_mib}")
    else:
        args.append(f"--memPoolSize=workspace:{spec.workspace_mib}")
    args.append(f"--timingCacheFile={spec.timing_cache}")
    return args


def trtexec_command(spec: EngineSpec) -> str:
    """The shell line for ``spec`` (as written to trt/build.sh)."""
    return " ".join(shlex.quote(a) for a in ["trtexec", *trtexec_args(spec)])


def default_spec(specs: list[EngineSpec]) -> EngineSpec:
    """The engine a single-engine consumer (edgekit flash) builds: the DLA INT8 one, else any INT8, else
    the first."""
    for want in (lambda s: s.precision == "int8" and s.dla_core is not None, lambda s: s.precision == "int8"):
        for s in specs:
            if want(s):
                return s
    return specs[0]


@dataclass
class PlanResult:
    plan_json: Path
    build_sh: Path
    specs: list[EngineSpec]

    def summary(self) -> dict[str, Any]:
        """For ``manifest.extra['trt_plan']``."""
        return {
            "plan": f"{PLAN_DIR}/plan.json",
            "script": f"{PLAN_DIR}/build.sh",
            "built": False,
            "engines": [s.engine for s in self.specs],
        }

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """For manifest.extra (the build's hooks serialise results through model_dump)."""
        return self.summary()


def _atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    atomic_write_text(path, text, perm=mode)


def write_plan(
    bundle_root: str | Path,
    profile: DeviceProfile,
    model_entries: list[ModelEntry],
    input_info: InputInfo | None = None,
    use_dla: bool | None = None,
    dla_core: int = 0,
    batch: int = 1,
    workspace_mib: int | None = None,
    fp16_from_fp32: bool = True,
    reason: str = "",
) -> PlanResult:
    """Write ``trt/plan.json`` and ``trt/build.sh`` into ``bundle_root``. Builds nothing.

    plan.json: ``engines`` (every EngineSpec field + ``trtexec_args``), ``default_engine`` and ``trtexec``
    (the default engine's argument list, run from the bundle root), ``built`` (always false)."""
    root = Path(bundle_root)
    if workspace_mib is None:
        workspace_mib = default_workspace_mib(profile)
    specs = engine_specs(
        profile,
        model_entries,
        input_info,
        use_dla,
        dla_core,
        batch,
        workspace_mib,
        fp16_from_fp32,
        bundle_root=root,
    )
    if not specs:
        raise ConfigError(
            "no model in the bundle is a TensorRT model", "add an fp32/fp16 or trt_qdq/dla_implicit entry"
        )
    d = root / PLAN_DIR
    d.mkdir(parents=True, exist_ok=True)
    assert profile.tensorrt is not None
    plan = {
        "format": "edgekit-trt-plan",
        "version": 1,
        "device": profile.name,
        "tensorrt": profile.tensorrt.version,
        "built": False,
        "note": reason
        or "No engine was built: TensorRT is not importable on the build host. Build on the "
        "device with `sh trt/build.sh` (trtexec) or `edgekit engine build BUNDLE`.",
        "default_engine": default_spec(specs).engine,
        "trtexec": trtexec_args(default_spec(specs)),
        "engines": [{**s.to_dict(), "trtexec_args": trtexec_args(s)} for s in specs],
    }
    _atomic_write(d / "plan.json", json.dumps(plan, indent=2) + "\n")
    lines = [
        "#!/bin/sh",
        f"# edgekit TensorRT build plan for {profile.display_name} "
        f"(TensorRT {profile.tensorrt.version}). Run on the device, from anywhere.",
        "# Engines are not portable: build them on the Jetson that runs them.",
        "set -eu",
        'cd "$(dirname "$0")/.."',
        "",
    ]
    lines += [trtexec_command(s) for s in specs]
    _atomic_write(d / "build.sh", "\n".join(lines) + "\n", 0o755)
    return PlanResult(d / "plan.json", d / "build.sh", specs)


def read_plan(bundle_root: str | Path) -> list[EngineSpec]:
    p = Path(bundle_root) / PLAN_DIR / "plan.json"
    if not p.is_file():
        raise ConfigError(f"{p} does not exist", "run edgekit build for a Jetson device first")
    try:
        data = json.loads(p.read_text())
        fields = set(EngineSpec.__dataclass_fields__)
        return [EngineSpec.from_dict({k: v for k, v in e.items() if k in fields}) for e in data["engines"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{p} is not a valid plan ({exc})", "rebuild the bundle") from exc
