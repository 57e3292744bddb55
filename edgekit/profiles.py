"""Device profiles: one validated YAML file per target in ``device_configs/``."""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edgekit.errors import ConfigError

Precision = Literal["fp32", "fp16", "int8"]
Int8Flavour = Literal["trt_qdq", "dla_implicit", "ort_cpu", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuSpec(_Strict):
    arch: str
    sm: int = Field(description="compute capability as major*10+minor, e.g. 72 for 7.2")
    cuda_cores: int
    tensor_cores: int

    @property
    def compute_capability(self) -> str:
        return f"{self.sm // 10}.{self.sm % 10}"


class JetPackSpec(_Strict):
    version: str
    l4t: str


class TensorRTSpec(_Strict):
    version: str
    cuda: str
    cudnn: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split("."))

    @property
    def cache_tag(self) -> str:
        """The number TensorRT writes in calibration-cache headers, e.g. 8.5.2 -> 8502."""
        v = self.version_tuple + (0, 0)
        return f"{v[0]}{v[1]}{v[2]:02d}" if v[0] < 10 else f"{v[0]}{v[1]:02d}{v[2]:02d}"


class DlaSpec(_Strict):
    cores: int
    generation: int = Field(description="1 = Xavier (DLA v1), 2 = Orin (DLA v2)")
    sram_kib: int
    sram_shared: bool


class PeakSpec(_Strict):
    fp32_gflops: float
    fp16_gflops: float | None = None
    int8_gops: float | None = None
    dla_fp16_gflops: float | None = None
    dla_int8_gops: float | None = None

    def for_precision(self, precision: Precision, dla: bool = False) -> float | None:
        if dla:
            return {"fp16": self.dla_fp16_gflops, "int8": self.dla_int8_gops}.get(precision)
        return {"fp32": self.fp32_gflops, "fp16": self.fp16_gflops, "int8": self.int8_gops}[precision]


class MemorySpec(_Strict):
    size_gb: float
    bandwidth_gbps: float


class CameraSpec(_Strict):
    default_source: str
    csi_pipeline: str | None = None


class PowerModeSpec(_Strict):
    """A power mode whose figures differ from the profile's default mode (e.g. Orin Nano MAXN SUPER)."""

    description: str
    jetpack_min: str | None = None
    peak: PeakSpec
    bandwidth_gbps: float
    sources: dict[str, str]


# Values that must each carry a source (``sources: {key: text}`` in the YAML); peak.* only where set.
SOURCED_KEYS = ("gpu", "tensorrt", "jetpack", "dla", "memory.size_gb", "memory.bandwidth_gbps", "power_modes")


class DeviceProfile(_Strict):
    name: str
    display_name: str
    kind: Literal["cpu", "jetson"]
    backend: Literal["onnxruntime", "tensorrt"]
    gpu: GpuSpec | None
    jetpack: JetPackSpec | None
    tensorrt: TensorRTSpec | None
    onnx_opset_max: int = Field(ge=7, le=25)
    dla: DlaSpec | None
    precisions: list[Precision]
    int8_flavour: Int8Flavour
    dla_int8_flavour: Int8Flavour | None = None
    channel_round: int = Field(ge=1, le=64)
    peak: PeakSpec
    memory: MemorySpec
    power_modes: list[str]
    camera: CameraSpec
    unconfirmed: list[str] = Field(default_factory=list)
    default_power_mode: str | None = None
    modes: dict[str, PowerModeSpec] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    def sourced_keys(self) -> list[str]:
        """Every value that needs a source: the set peaks, memory, power modes, and the set sections."""
        keys = [f"peak.{k}" for k, v in self.peak.model_dump().items() if v is not None]
        for k in SOURCED_KEYS:
            top = k.split(".")[0]
            if getattr(self, top) is not None:
                keys.append(k)
        return keys

    def in_mode(self, mode: str | None) -> DeviceProfile:
        """This profile with the peaks and bandwidth of power mode ``mode`` (None / the default: itself)."""
        if mode is None or mode == self.default_power_mode:
            return self
        if mode not in self.modes:
            raise ConfigError(
                f"device '{self.name}' has no power mode '{mode}' with its own figures",
                f"use one of: {', '.join([self.default_power_mode or '(default)', *self.modes])}",
            )
        m = self.modes[mode]
        srcs = dict(self.sources)
        srcs.update({f"peak.{k}": v for k, v in m.sources.items() if k != "bandwidth_gbps"})
        if "bandwidth_gbps" in m.sources:
            srcs["memory.bandwidth_gbps"] = m.sources["bandwidth_gbps"]
        return self.model_copy(update={
            "peak": m.peak, "memory": self.memory.model_copy(update={"bandwidth_gbps": m.bandwidth_gbps}),
            "default_power_mode": mode, "sources": srcs,
        })

    @model_validator(mode="after")
    def _consistent(self) -> DeviceProfile:
        missing = [k for k in self.sourced_keys() if not self.sources.get(k, "").strip()]
        if missing:
            raise ValueError(f"values without a source: {', '.join(missing)} (add them under 'sources')")
        for key in self.sources:
            if key not in self.sourced_keys() and not hasattr(self, key.split(".")[0]):
                raise ValueError(f"sources names '{key}', which is not a field of the profile")
        for name, m in self.modes.items():
            if name not in self.power_modes:
                raise ValueError(f"modes names '{name}', which is not one of power_modes")
            need = [f"{k}" for k, v in m.peak.model_dump().items() if v is not None] + ["bandwidth_gbps"]
            lack = [k for k in need if not m.sources.get(k, "").strip()]
            if lack:
                raise ValueError(f"power mode '{name}' has values without a source: {', '.join(lack)}")
        if self.default_power_mode is not None and self.default_power_mode not in self.power_modes:
            raise ValueError(f"default_power_mode '{self.default_power_mode}' is not one of power_modes")
        if self.kind == "jetson" and (self.gpu is None or self.tensorrt is None or self.jetpack is None):
            raise ValueError("a jetson profile needs gpu, jetpack and tensorrt sections")
        if self.kind == "cpu" and self.backend != "onnxruntime":
            raise ValueError("the cpu profile runs on onnxruntime")
        if ("int8" in self.precisions) != (self.int8_flavour != "none"):
            raise ValueError("int8_flavour must be 'none' exactly when int8 is not in precisions")
        if self.dla is not None and self.dla_int8_flavour is None:
            raise ValueError("a profile with DLA cores needs dla_int8_flavour")
        for key in self.unconfirmed:
            obj: object = self
            for part in key.split("."):
                if not hasattr(obj, part):
                    raise ValueError(f"unconfirmed names '{key}', which is not a field of the profile")
                obj = getattr(obj, part)
        return self

    @property
    def has_dla(self) -> bool:
        return self.dla is not None and self.dla.cores > 0

    def is_confirmed(self, key: str) -> bool:
        return key not in self.unconfirmed


def configs_dir() -> Path:
    """``$EDGEKIT_DEVICE_CONFIGS``, the checkout's ``device_configs/``, or the wheel's copy (resources)."""
    from edgekit.resources import device_configs_dir

    return device_configs_dir()


def load_profile_file(path: Path) -> DeviceProfile:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read device profile {path}: {exc}", "fix the YAML syntax") from exc
    try:
        prof = DeviceProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(
            f"device profile {path.name} is invalid at '{where}': {first['msg']}",
            "correct that field (see device_configs/cpu.yaml for the layout)",
        ) from exc
    if prof.name != path.stem:
        raise ConfigError(
            f"device profile {path.name} declares name '{prof.name}'", f"rename it to '{path.stem}'"
        )
    return prof


@lru_cache(maxsize=4)
def _all_profiles(directory: str) -> dict[str, DeviceProfile]:
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(f"device profile folder {d} does not exist", "set EDGEKIT_DEVICE_CONFIGS")
    return {p.stem: load_profile_file(p) for p in sorted(d.glob("*.yaml"))}


def all_profiles() -> dict[str, DeviceProfile]:
    return _all_profiles(str(configs_dir()))


def get_profile(name: str) -> DeviceProfile:
    profiles = all_profiles()
    if name in profiles:
        return profiles[name]
    close = difflib.get_close_matches(name, list(profiles), n=1, cutoff=0.4)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ConfigError(
        f"unknown device '{name}'",
        f"{hint}valid devices: {', '.join(profiles)}",
    )
