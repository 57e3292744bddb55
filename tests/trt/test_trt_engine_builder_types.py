"""engine_builder.py is type-checked (mypy --strict) against the installed tensorrt-stubs: a misspelt
TensorRT attribute fails. Proven by checking a deliberately misspelt copy, which must fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from trt_stubs import prepare

from edgekit.errors import EdgekitError
from edgekit.trt import engine_builder
from edgekit.trt.plan import EngineSpec

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "edgekit" / "trt" / "engine_builder.py"


@pytest.fixture(scope="module")
def mypy_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    d = tmp_path_factory.mktemp("trtstubs")
    cfg = prepare(d / "stubs")
    env = {**os.environ, "MYPYPATH": str(d / "stubs")}
    return cfg, env, d / "cache"


def _mypy(path: Path, mypy_env: tuple[Path, dict[str, str], Path]) -> subprocess.CompletedProcess[str]:
    cfg, env, cache = mypy_env
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(cache), str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def test_engine_builder_type_checks_against_tensorrt_stubs(mypy_env) -> None:  # type: ignore[no-untyped-def]
    res = _mypy(BUILDER, mypy_env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Success" in res.stdout


@pytest.mark.parametrize(
    ("good", "bad", "name"),
    [
        ("trt.BuilderFlag.GPU_FALLBACK", "trt.BuilderFlag.GPU_FALLBAK", "GPU_FALLBAK"),
        ("config.set_memory_pool_limit(", "config.set_memory_pool_limt(", "set_memory_pool_limt"),
        ("config.DLA_core = spec.dla_core", "config.DLA_cores = spec.dla_core", "DLA_cores"),
    ],
)
def test_misspelt_tensorrt_attribute_fails(mypy_env, tmp_path: Path, good: str, bad: str, name: str) -> None:  # type: ignore[no-untyped-def]
    text = BUILDER.read_text()
    assert good in text
    copy = tmp_path / "engine_builder_misspelt.py"
    copy.write_text(text.replace(good, bad))
    res = _mypy(copy, mypy_env)
    assert res.returncode == 1, res.stdout
    assert "attr-defined" in res.stdout and f'"{name}"' in res.stdout


def test_no_tensorrt_here_is_a_clear_error(tmp_path: Path) -> None:
    # tensorrt-stubs makes an empty `tensorrt` namespace importable: that must not count as TensorRT.
    assert engine_builder.tensorrt_available() is False
    spec = EngineSpec(
        "m",
        "m.onnx",
        "trt/m.fp16.engine",
        "fp16",
        None,
        None,
        [],
        None,
        False,
        64,
        "trt/timing.cache",
        "input",
        [1, 1, 28, 28],
        "8.5.2",
        True,
        "set_memory_pool_limit",
    )
    with pytest.raises(EdgekitError, match="TensorRT is not importable"):
        engine_builder.build_engine(tmp_path / "m.onnx", spec)
