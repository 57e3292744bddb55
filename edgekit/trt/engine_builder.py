"""Build a TensorRT engine from a plan entry with TensorRT's Python API (8.2-8.6 and 10.x).

The only module that imports ``tensorrt``. It runs where TensorRT really is (the Jetson, or a host with a
dGPU). Type-checked against ``tensorrt-stubs`` (10.13) by tests/trt/test_engine_builder_types.py; the
8.x-only attributes missing from those stubs are set through ``_set_legacy`` by name. UNVERIFIED here: no
TensorRT on the development host, so no engine has been built by this code in CI.

Version differences handled:
- workspace: ``config.max_workspace_size`` (< 8.4) vs ``config.set_memory_pool_limit(WORKSPACE, ...)``;
- network flags: ``EXPLICIT_BATCH`` (8.x) vs 0 (10.x: always explicit batch);
- INT8: explicit (Q/DQ in the ONNX: INT8 flag only) vs implicit (calibrator serving a cache);
- DLA: default_device_type = DLA, DLA_core, GPU_FALLBACK; per-layer FP16 with PREFER_PRECISION_CONSTRAINTS;
- timing cache: create_timing_cache / set_timing_cache, saved back after the build.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgekit.errors import EdgekitError
from edgekit.io import atomic_write_bytes
from edgekit.profiles import DeviceProfile
from edgekit.trt.engine_cache import DeviceEnv
from edgekit.trt.plan import EngineSpec

if TYPE_CHECKING:
    import tensorrt as trt


class BuildError(EdgekitError):
    exit_code = 1


def tensorrt_available() -> bool:
    """True only for a real TensorRT: the ``tensorrt-stubs`` package makes an empty ``tensorrt`` namespace
    importable, so importing is not enough."""
    try:
        import tensorrt
    except ImportError:
        return False
    return hasattr(tensorrt, "Builder")


def _require_trt() -> None:
    if not tensorrt_available():
        raise BuildError(
            "TensorRT is not importable on this machine",
            "build on the Jetson (JetPack ships TensorRT) or use trt/build.sh with trtexec",
        )


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:3] if p.isdigit())


def _set_legacy(obj: object, name: str, value: object) -> None:
    """Set an attribute that exists in TensorRT 8.x but not in the 10.x stubs (e.g. max_workspace_size)."""
    setattr(obj, name, value)


def make_calibrator(cache: bytes) -> trt.IInt8EntropyCalibrator2:
    """An IInt8EntropyCalibrator2 that only serves ``cache`` (no calibration data: implicit INT8 from QAT)."""
    import tensorrt as trt

    class CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self._cache = cache

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: list[str]) -> list[int] | None:  # type: ignore[override]  # samples return None
            return None  # never called when the cache is accepted; None ends calibration otherwise

        def read_calibration_cache(self) -> bytes:
            return self._cache

        def write_calibration_cache(self, cache: Any) -> None:
            return None

    calib: trt.IInt8EntropyCalibrator2 = CacheCalibrator()
    return calib


def configure(
    builder: trt.Builder,
    network: trt.INetworkDefinition,
    spec: EngineSpec,
    major_minor: tuple[int, int],
    calib_cache: bytes | None,
    timing_cache: bytes,
) -> tuple[trt.IBuilderConfig, trt.ITimingCache]:
    import tensorrt as trt

    config: trt.IBuilderConfig = builder.create_builder_config()
    workspace = spec.workspace_mib << 20
    if major_minor < (8, 4):
        _set_legacy(config, "max_workspace_size", workspace)
    else:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    if spec.precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if spec.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if spec.int8_mode == "implicit":
            if calib_cache is None:
                raise BuildError(
                    f"{spec.model_id}: implicit INT8 needs its calibration cache {spec.calib_cache}",
                    "run edgekit.trt.dla_int8.translate",
                )
            config.int8_calibrator = make_calibrator(calib_cache)
    if spec.fp16_layers:
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        wanted = set(spec.fp16_layers)
        for i in range(network.num_layers):
            layer: trt.ILayer = network.get_layer(i)
            if layer.name in wanted:
                layer.precision = trt.DataType.HALF
    if spec.dla_core is not None:
        if builder.num_DLA_cores <= spec.dla_core:
            raise BuildError(
                f"DLA core {spec.dla_core} requested, this device has {builder.num_DLA_cores}",
                "build on the Jetson with DLA cores, or drop the DLA option",
            )
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = spec.dla_core
        if spec.gpu_fallback:
            config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    tc: trt.ITimingCache = config.create_timing_cache(timing_cache)
    config.set_timing_cache(tc, False)
    if spec.dynamic_input:  # fix symbolic dims: min = opt = max (the DLA needs static shapes)
        profile: trt.IOptimizationProfile = builder.create_optimization_profile()
        shape = trt.Dims(spec.input_shape)
        profile.set_shape(spec.input_name, shape, shape, shape)
        config.add_optimization_profile(profile)
    return config, tc


def build_engine(
    onnx_path: str | Path,
    spec: EngineSpec,
    calib_cache: bytes | None = None,
    timing_cache_path: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> bytes:
    """Parse ``onnx_path`` and build the serialized engine described by ``spec``.

    Device-only; unverified here (no TensorRT on the development host)."""
    _require_trt()
    import tensorrt as trt

    ver = version_tuple(str(trt.__version__))
    if ver[0] < 8 or (ver[0] == 8 and ver[1] < 2):
        raise BuildError(f"TensorRT {trt.__version__} is older than 8.2", "use JetPack 4.6.1 or newer")
    logger: trt.ILogger = trt.Logger(trt.Logger.WARNING)
    builder: trt.Builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH) if ver[0] < 10 else 0
    network: trt.INetworkDefinition = builder.create_network(flags)
    parser: trt.OnnxParser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errs = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise BuildError(
            f"TensorRT could not parse {onnx_path}: {'; '.join(errs)[:500]}",
            "run edgekit check MODEL --device <profile> for the rule that fails",
        )
    tc_path = Path(timing_cache_path) if timing_cache_path else None
    tc_bytes = tc_path.read_bytes() if tc_path and tc_path.is_file() else b""
    config, tc = configure(builder, network, spec, (ver[0], ver[1]), calib_cache, tc_bytes)
    log(
        f"building {spec.engine} ({spec.precision}"
        f"{', DLA ' + str(spec.dla_core) if spec.dla_core is not None else ''})"
    )
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BuildError(f"TensorRT failed to build {spec.engine}", "see the TensorRT log above")
    if tc_path is not None:
        data = bytes(memoryview(config.get_timing_cache().serialize()))
        atomic_write_bytes(tc_path, data)
    del tc
    return bytes(memoryview(serialized))


def device_env(profile: DeviceProfile) -> DeviceEnv:
    """This machine's TensorRT version (from the library), compute capability (from the device profile the
    bundle targets: a Jetson's GPU is fixed per module) and platform. Device-only."""
    _require_trt()
    import tensorrt as trt

    cc = profile.gpu.compute_capability if profile.gpu else ""
    return DeviceEnv(str(trt.__version__), cc, f"{platform.system().lower()}-{platform.machine()}")
