"""edgekit-bench: the JSON contract and a sane measurement."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_bin

KEYS = {
    "model",
    "backend",
    "batch",
    "threads",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "throughput_ips",
    "preprocess_p50_ms",
    "preprocess_mean_ms",
    "peak_rss_mb",
}


def test_bench_json(tiny_bundle: Path, bench_bin: Path, tmp_path: Path) -> None:
    r = run_bin(
        bench_bin,
        "--bundle",
        tiny_bundle,
        "--model",
        "student_int8_cpu",
        "--warmup",
        "2",
        "--iters",
        "20",
        "--batch",
        "4",
        "--json",
        "--out",
        tmp_path / "b.json",
    )
    assert r.rc == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= KEYS
    assert doc["model"] == "student_int8_cpu" and doc["batch"] == 4 and doc["threads"] == 1
    assert doc["backend"] == "ort-cpu"
    assert 0 < doc["p50_ms"] <= doc["p90_ms"] <= doc["p99_ms"]
    assert doc["throughput_ips"] > 0 and doc["peak_rss_mb"] > 10 and doc["preprocess_p50_ms"] > 0
    assert json.loads((tmp_path / "b.json").read_text())["p50_ms"] == doc["p50_ms"]
    human = run_bin(bench_bin, "--bundle", tiny_bundle, "--iters", "5", "--warmup", "0")
    assert human.rc == 0 and "p50_ms" in human.stdout


def test_bench_errors(tiny_bundle: Path, bench_bin: Path) -> None:
    r = run_bin(bench_bin, "--bundle", tiny_bundle, "--model", "nope")
    assert r.rc == 2 and r.stderr.startswith("error: ") and "no model 'nope'" in r.stderr
    r = run_bin(bench_bin, "--bundle", tiny_bundle, "--iters", "0")
    assert r.rc == 2 and "--iters '0'" in r.stderr
