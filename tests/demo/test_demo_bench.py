"""The demo benchmark command runs and writes its JSON (a smoke run: few frames, Python runner)."""

from __future__ import annotations

import json
from pathlib import Path

from edgekit.demo import bench


def test_bench_writes_numbers(tiny_bundle_session: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert (
        bench.main(
            [
                str(tiny_bundle_session),
                "--frames",
                "12",
                "--repeat",
                "1",
                "--runners",
                "python",
                "--threads",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert (doc["width"], doc["height"]) == (640, 480)
    rows = doc["results"]
    assert {(r["runner"], r["mode"]) for r in rows} == {("python", "json"), ("python", "json+video")}
    assert doc["video"] == "bigbuckbunny.mp4"
    (mo,) = doc["model_only"]
    assert mo["iters"] == 12 and mo["threads"] == 1 and mo["fps"] > 0 and mo["ms_mean"] > 0
    for r in rows:
        assert r["frames"] == 12 and r["fps"] > 0 and r["threads"] == 1
        assert r["ms_mean"]["infer"] > 0 and r["ms_mean"]["preprocess"] > 0
        assert r["cpu_ms_mean"]["preprocess"] > 0 and r["cpu_ms_mean"]["infer"] > 0
        assert r["model_only_fps"] == mo["fps"] and r["ratio"] == round(r["fps"] / mo["fps"], 3)
        assert r["cpu_bound_ratio"] > 0
    video = next(r for r in rows if r["mode"] == "json+video")
    assert video["ms_mean"]["draw"] > next(r for r in rows if r["mode"] == "json")["ms_mean"]["draw"]
