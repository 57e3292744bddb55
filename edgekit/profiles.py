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

    @model_validator(mode="after")
    def _consistent(self) -> DeviceProfile:
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
