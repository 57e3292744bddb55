"""``edgekit bench``: latency, throughput and peak memory of every model in a bundle, one process each.

Every (model, batch) measurement runs in a fresh child process (``python -m edgekit.bench.worker`` for
ONNX Runtime and PyTorch, the ``edgekit-bench`` binary for the C++ runtime); its peak memory is the
child's ``ru_maxrss`` from ``wait4``. The result document (schema ``edgekit-bench/1``) also carries, per
measurement, the roofline estimate on the ``cpu`` profile (this host) and estimate / measured, and the
achieved fraction of the host's peak compute.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgekit import __version__
from edgekit.bench.macs import count_model
from edgekit.bench.roofline import estimate
from edgekit.bundle import Bundle, ModelEntry
from edgekit.errors import EdgekitError, InputError
from edgekit.io import atomic_write_json
from edgekit.profiles import get_profile

SCHEMA = "edgekit-bench/1"
RUNTIMES = ("ort", "torch", "cpp")
REFERENCE_SUFFIXES = (".pt2", ".pt", ".ts")
MAX_SAMPLES_KEPT = 2000


class RuntimeMissingError(EdgekitError):
    """The runtime asked for is not there (C++ binary not built, no PyTorch reference model)."""


class BenchFailedError(EdgekitError):
    """A measurement process failed."""


class UnsupportedBatchError(BenchFailedError):
    """The model cannot run at this batch size (e.g. a static-batch reference): recorded as skipped."""


@dataclass
class BenchConfig:
    runtime: str = "ort"
    batches: Sequence[int] = (1,)
    threads: int = 1
    warmup: int = 10
    iters: int = 100
    models: Sequence[str] | None = None
    timeout_s: float = 600.0
    rounds: int = 1
    refresh_peaks: bool = False  # re-measure this host's peaks (edgekit.bench.host_peaks), not the cache

    @property
    def runtimes(self) -> list[str]:
        """``runtime`` may be a comma list (e.g. "ort,cpp,torch"): their measurements are interleaved."""
        return [r.strip() for r in self.runtime.split(",") if r.strip()]

    def validate(self) -> None:
        bad = [r for r in self.runtimes if r not in RUNTIMES] or ([] if self.runtimes else [self.runtime])
        if bad:
            raise InputError(
                f"unknown runtime '{bad[0]}'", f"use one of {', '.join(RUNTIMES)} (or a comma list)"
            )
        if self.rounds < 1:
            raise InputError(f"--rounds {self.rounds} must be >= 1", "e.g. --rounds 3")
        if not self.batches or any(b < 1 for b in self.batches):
            raise InputError(f"batch sizes must be >= 1, got {list(self.batches)}", "e.g. --batch 1,8,32")
        if self.threads < 1 or self.iters < 1 or self.warmup < 0:
            raise InputError("threads and iters must be >= 1 and warmup >= 0", "e.g. --threads 1 --iters 100")


@dataclass
class Job:
    model: ModelEntry
    batch: int
    runtime: str
    path: Path
    argv: list[str] = field(default_factory=list)


def reference_model(bundle: Bundle, model_id: str) -> Path | None:
    """The PyTorch reference of ``model_id``: manifest.extra["references"][id]["file"] when the build
    recorded it, else reference/<id>.pt2 (torch.export) or .pt/.ts (TorchScript)."""
    refs = bundle.manifest.extra.get("references")
    if isinstance(refs, dict) and isinstance(refs.get(model_id), dict) and refs[model_id].get("file"):
        p = bundle.path(str(refs[model_id]["file"]))
        if p.is_file():
            return p
    for suf in REFERENCE_SUFFIXES:
        p = bundle.root / "reference" / f"{model_id}{suf}"
        if p.is_file():
            return p
    return None


def cpp_binary() -> Path:
    """The built ``edgekit-bench`` binary (edgekit.runtime_cpp.find_binary, which honours
    EDGEKIT_CPP_BIN_DIR), or RuntimeMissingError with the fix."""
    from edgekit.runtime_cpp import find_binary

    try:
        return find_binary("edgekit-bench")
    except EdgekitError as exc:
        raise RuntimeMissingError(exc.message, exc.fix or "build the C++ runtime: tools/setup.sh") from exc


def plan(bundle: Bundle, cfg: BenchConfig) -> tuple[list[Job], list[dict[str, str]]]:
    """The measurements to run and the models skipped (with why). Fails clearly if nothing can run."""
    cfg.validate()
    entries = list(bundle.manifest.models)
    if cfg.models:
        known = {m.id for m in entries}
        bad = [m for m in cfg.models if m not in known]
        if bad:
            raise InputError(f"bundle has no model {bad[0]}", f"use one of {', '.join(sorted(known))}")
        entries = [m for m in entries if m.id in cfg.models]
    skipped: list[dict[str, str]] = []
    jobs: list[Job] = []
    for runtime in cfg.runtimes:
        binary = cpp_binary() if runtime == "cpp" else None
        rt_jobs = 0
        for m in entries:
            if runtime == "torch":
                ref = reference_model(bundle, m.id)
                if ref is None:
                    why = f"no reference/{m.id}.pt2 (or .pt) in the bundle"
                    skipped.append({"model_id": m.id, "runtime": runtime, "why": why})
                    continue
                path = ref
            else:
                path = bundle.path(m.file)
            for b in cfg.batches:
                job = Job(m, b, runtime, path)
                if binary is not None:
                    job.argv = [str(binary), "--bundle", str(bundle.root), "--model", m.id, "--batch", str(b),
                                "--iters", str(cfg.iters), "--warmup", str(cfg.warmup), "--threads",
                                str(cfg.threads), "--json"]  # fmt: skip
                jobs.append(job)
                rt_jobs += 1
        if rt_jobs == 0 and runtime == "torch":
            raise RuntimeMissingError(
                f"bundle {bundle.root} has no PyTorch reference model for {[m.id for m in entries]}",
                "rebuild with `edgekit build` (it writes reference/<model_id>.pt2) or use --runtime ort",
            )
    if not jobs:
        raise InputError("nothing to benchmark", "check --models")
    return jobs, skipped


def _spawn(argv: list[str], timeout_s: float, what: str) -> tuple[str, str, dict[str, int | None]]:
    """Run ``argv``; return (stdout, stderr, memory) where memory has the child's ``ru_maxrss`` (KiB, from
    wait4) and ``vm_hwm`` (KiB, the last VmHWM read from /proc while it ran).

    On Linux a child's ru_maxrss starts at its parent's high-water mark (fork + exec keep it), so for a
    child smaller than this process it reads the parent's size; VmHWM belongs to the exec'd image only."""
    hwm: list[int | None] = [None]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        )
        done = threading.Event()

        def watch() -> None:
            from edgekit.bench.worker import vm_hwm_kb

            while not done.wait(0.005):
                v = vm_hwm_kb(proc.pid)
                if v is not None:
                    hwm[0] = max(v, hwm[0] or 0)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            out = proc.stdout.read().decode(errors="replace")
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            done.set()
            watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        err_text = err.read().decode(errors="replace")
    for line in err_text.splitlines():
        if line.startswith("EDGEKIT_BENCH_ERROR "):
            info = json.loads(line[len("EDGEKIT_BENCH_ERROR ") :])
            raise UnsupportedBatchError(f"{what}: {info['message']}", info["fix"])
    if proc.returncode != 0:
        last = (err_text.strip().splitlines() or ["(no output)"])[-1]
        killed = " (killed after the time limit)" if proc.returncode < 0 else ""
        raise BenchFailedError(
            f"{what} failed with exit {proc.returncode}{killed}: {last}",
            "run it alone with fewer --iters, or check the model with `edgekit parity`",
        )
    return out, err_text, {"ru_maxrss": int(ru.ru_maxrss), "vm_hwm": hwm[0]}


def _pick(d: dict[str, Any], *names: str) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return None


def _stats(samples: Sequence[float]) -> dict[str, float]:
    a = np.asarray(samples, dtype=np.float64)
    return {
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def run_job(bundle: Bundle, job: Job, cfg: BenchConfig) -> dict[str, Any]:
    """One measurement in a child process; returns its result row (without the estimate fields)."""
    what = f"{job.runtime} bench of {job.model.id} at batch {job.batch}"
    samples: list[float] = []
    pre_ms = None
    load_ms = None
    version = None
    input_kind = None
    if job.runtime == "cpp":
        out, _, mem = _spawn(job.argv, cfg.timeout_s, what)
        doc = _last_json(out, what)
        # edgekit-bench reports its getrusage ru_maxrss, which inherits this process's high-water mark:
        # kept as reported, but the sampled VmHWM of the child is preferred below
        reported = _pick(doc, "peak_rss_kb")
        if reported is None and _pick(doc, "peak_rss_mb") is not None:
            reported = float(doc["peak_rss_mb"]) * 1024
        mem["reported"] = int(reported) if reported is not None else None
        lat = {
            "p50": _pick(doc, "p50_ms", "p50"),
            "p90": _pick(doc, "p90_ms", "p90"),
            "p99": _pick(doc, "p99_ms", "p99"),
            "mean": _pick(doc, "mean_ms", "mean"),
            "min": _pick(doc, "min_ms", "min"),
            "max": _pick(doc, "max_ms", "max"),
        }
        samples = list(_pick(doc, "samples_ms", "latencies_ms") or [])
        if samples:
            lat = {**_stats(samples), **{k: v for k, v in lat.items() if v is not None}}
        if lat["p50"] is None:
            raise BenchFailedError(f"{what}: edgekit-bench printed no p50", "rebuild the C++ runtime")
        pre_ms = _pick(doc, "preprocess_p50_ms", "preprocess_ms", "preprocess_mean_ms")
        ver = _pick(doc, "ort_version", "version")
        version = f"edgekit-bench {_pick(doc, 'backend') or ''} onnxruntime {ver}".replace("  ", " ")
        input_kind = _pick(doc, "input")
    else:
        shape = [d for d in bundle.manifest.input.shape[1:]]
        golden = [str(bundle.path(g.input)) for g in bundle.manifest.golden[:16]]
        payload = {
            "runtime": job.runtime,
            "model_path": str(job.path),
            "batch": job.batch,
            "sample_shape": shape,
            "threads": cfg.threads,
            "warmup": cfg.warmup,
            "iters": cfg.iters,
            "golden": golden,
            "spec": bundle.manifest.preprocess.model_dump(mode="json"),
        }
        out, _, mem = _spawn(
            [sys.executable, "-m", "edgekit.bench.worker", json.dumps(payload)], cfg.timeout_s, what
        )
        doc = _last_json(out, what, prefix="EDGEKIT_BENCH ")
        mem["own"] = doc.get("vm_hwm_kb")
        samples = doc["samples_ms"]
        lat = _stats(samples)
        pre_ms, load_ms, version, input_kind = (
            doc.get("preprocess_ms"),
            doc.get("load_ms"),
            doc.get("runtime_version"),
            doc.get("input"),
        )
    p50 = float(lat["p50"])
    if mem.get("own"):
        rss_kb, rss_src = mem["own"], "child's own peak (VmHWM at exit)"
    elif mem.get("vm_hwm"):
        rss_kb, rss_src = mem["vm_hwm"], "child's VmHWM sampled every 5 ms"
    elif mem.get("reported"):
        rss_kb, rss_src = mem["reported"], "as reported by the binary (its ru_maxrss)"
    else:
        rss_kb, rss_src = mem["ru_maxrss"], "wait4 ru_maxrss (includes this process's high-water mark)"
    row: dict[str, Any] = {
        "model_id": job.model.id,
        "role": job.model.role,
        "precision": job.model.precision,
        "int8_flavour": job.model.int8_flavour,
        "runtime": job.runtime,
        "runtime_version": version,
        "batch": job.batch,
        "threads": cfg.threads,
        "warmup": cfg.warmup,
        "iters": cfg.iters,
        "rounds": 1,
        "input": input_kind,
        "latency_ms": {k: (float(v) if v is not None else None) for k, v in lat.items()},
        "throughput_ips": job.batch / (float(lat["mean"] or p50) / 1e3),
        "peak_rss_mb": float(rss_kb or 0) / 1024.0,
        "peak_rss_source": rss_src,
        "ru_maxrss_mb": float(mem["ru_maxrss"] or 0) / 1024.0,
        "preprocess_ms": pre_ms,
        "load_ms": load_ms,
        "samples_ms": [round(s, 4) for s in samples[:MAX_SAMPLES_KEPT]],
    }
    return row


def _last_json(out: str, what: str, prefix: str = "") -> dict[str, Any]:
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if prefix and line.startswith(prefix):
            line = line[len(prefix) :]
        elif prefix:
            continue
        if line.startswith("{"):
            try:
                return dict(json.loads(line))
            except json.JSONDecodeError:
                continue
    if not prefix and out.strip().startswith("{"):
        try:
            return dict(json.loads(out))
        except json.JSONDecodeError:
            pass
    raise BenchFailedError(f"{what} printed no JSON result", "run it by hand to see its output")


def _add_estimate(
    bundle: Bundle,
    row: dict[str, Any],
    host_peak: dict[str, float | None],
    host: dict[str, Any] | None = None,
) -> None:
    """Roofline estimate on the ``cpu`` profile calibrated with this host's measured peaks (host_info),
    estimate / measured, and fraction of peak (never above 1: PeakExceededError is reported instead)."""
    from edgekit.bench.host_peaks import PeakExceededError, fraction_of_peak
    entry = bundle.manifest.model(row["model_id"])
    onnx_path = bundle.path(entry.file)
    row["macs_per_image"] = None
    row.update(
        estimate_ms=None,
        estimate_over_measured=None,
        estimate_over_min=None,
        achieved_gops=None,
        fraction_of_peak=None,
    )
    try:
        cost = count_model(onnx_path, batch=row["batch"], precision=entry.precision)
    except EdgekitError as exc:
        row["estimate_error"] = str(exc)
        return
    row["macs_per_image"] = cost.macs // row["batch"]
    p50_s = row["latency_ms"]["p50"] / 1e3
    row["achieved_gops"] = 2.0 * cost.macs / p50_s / 1e9
    peak = host_peak.get(entry.precision)
    if peak:
        try:
            row["fraction_of_peak"] = fraction_of_peak(row["achieved_gops"], peak)
        except PeakExceededError as exc:
            row["fraction_of_peak_error"] = str(exc)
    if entry.precision in ("fp32", "int8"):
        prof, source = get_profile("cpu"), None
        if host is not None:
            prof = prof.model_copy(update={
                "peak": prof.peak.model_copy(update={"fp32_gflops": host["peak"]["fp32_gflops"],
                                                     "int8_gops": host["peak"]["int8_gops"]}),
                "memory": prof.memory.model_copy(update={"bandwidth_gbps": host["peak"]["bandwidth_gbps"]}),
                "unconfirmed": []})
            source = host["peak"]["source"]
        est = estimate(onnx_path, prof, entry.precision, row["batch"], cost=cost, peaks_source=source)
        cpu = est["targets"]["cpu"]
        if cpu.get("available"):
            row["estimate_ms"] = cpu["total_ms"]
            row["estimate_over_measured"] = cpu["total_ms"] / row["latency_ms"]["p50"]
            # the fastest run is the least disturbed by other processes on a shared host
            if row["latency_ms"].get("min"):
                row["estimate_over_min"] = cpu["total_ms"] / row["latency_ms"]["min"]


def merge_rounds(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One row from the rounds of one measurement: samples pooled (or, for a runtime that reports only
    percentiles, the median of each percentile), min of mins, max of peak RSS."""
    if len(rows) == 1:
        return dict(rows[0])
    out = dict(rows[0])
    samples = [s for r in rows for s in r["samples_ms"]]
    lat: dict[str, float | None]
    if all(r["samples_ms"] for r in rows):
        lat = dict(_stats(samples))
    else:
        lat = {}
        for key in ("p50", "p90", "p99", "mean"):
            vals = [r["latency_ms"][key] for r in rows if r["latency_ms"].get(key) is not None]
            lat[key] = float(np.median(vals)) if vals else None
        mins = [r["latency_ms"]["min"] for r in rows if r["latency_ms"].get("min") is not None]
        maxs = [r["latency_ms"]["max"] for r in rows if r["latency_ms"].get("max") is not None]
        lat["min"], lat["max"] = (min(mins) if mins else None), (max(maxs) if maxs else None)
    out["latency_ms"] = lat
    out["iters"] = sum(r["iters"] for r in rows)
    out["rounds"] = len(rows)
    out["samples_ms"] = samples[:MAX_SAMPLES_KEPT]
    per_batch = lat["mean"] or lat["p50"]
    out["throughput_ips"] = out["batch"] / (per_batch / 1e3) if per_batch else None
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rows)
    pre = [r["preprocess_ms"] for r in rows if r.get("preprocess_ms") is not None]
    out["preprocess_ms"] = float(np.median(pre)) if pre else None
    return out


def runtime_comparison(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, batch) measured by more than one runtime: p50 and min per runtime."""
    by: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["model_id"], r["batch"]), {})[r["runtime"]] = r
    out = []
    for (mid, batch), per in by.items():
        if len(per) > 1:
            out.append({
                "model_id": mid, "batch": batch,
                "p50_ms": {rt: r["latency_ms"]["p50"] for rt, r in per.items()},
                "min_ms": {rt: r["latency_ms"].get("min") for rt, r in per.items()},
            })  # fmt: skip
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def speedups(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """INT8 vs the FP32 model of the same role, and student vs teacher, per batch (p50 ratios)."""
    out = []
    by = {(r["model_id"], r["batch"], r.get("runtime")): r for r in rows}
    for r in rows:
        for base in rows:
            if base["batch"] != r["batch"] or base is r or base.get("runtime") != r.get("runtime"):
                continue
            int8_vs_fp32 = (
                r["precision"] == "int8" and base["precision"] == "fp32" and base["role"] == r["role"]
            )
            student_vs_teacher = (
                r["role"] == "student"
                and base["role"] == "teacher"
                and r["precision"] == base["precision"] == "fp32"
            )
            if int8_vs_fp32 or student_vs_teacher:
                out.append(
                    {
                        "model_id": r["model_id"],
                        "baseline": base["model_id"],
                        "runtime": r.get("runtime"),
                        "batch": r["batch"],
                        "kind": "int8_vs_fp32" if int8_vs_fp32 else "student_vs_teacher",
                        "speedup": by[(base["model_id"], r["batch"], r.get("runtime"))]["latency_ms"]["p50"]
                        / r["latency_ms"]["p50"],
                        "speedup_min": _ratio(
                            by[(base["model_id"], r["batch"], r.get("runtime"))]["latency_ms"].get("min"),
                            r["latency_ms"].get("min"),
                        ),
                    }
                )
    return out


def _power_state() -> dict[str, Any]:
    """nvpmodel mode, jetson_clocks and a tegrastats line on a Jetson ({"jetson": false} elsewhere), from the
    doctor's stdlib core (cpp_runtime/tools/doctor.py): bench records them beside its figures."""
    try:
        from edgekit.doctor import load_core

        return dict(load_core().power_state("/"))
    except Exception as exc:  # noqa: BLE001 - the figures stand without it; say why it is missing
        return {"error": str(exc)}


def host_info(refresh_peaks: bool = False) -> dict[str, Any]:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    from edgekit.bench.host_peaks import host_peaks

    hp = host_peaks(refresh=refresh_peaks)  # this host's, cached per CPU model + flags (issue 14 item 9)
    return {
        "cpu": name,
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "peak": {
            "fp32_gflops": hp.fp32_gflops,
            "int8_gops": hp.int8_gops,
            "bandwidth_gbps": hp.bandwidth_gbps,
            "threads": 1,
            "cpu_flags": hp.flags,
            "source": hp.source,
        },
        "power": _power_state(),
    }


def bench_bundle(
    bundle: Bundle, cfg: BenchConfig, on_step: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Run every measurement and return the ``edgekit-bench/1`` document."""
    jobs, skipped = plan(bundle, cfg)
    host = host_info(cfg.refresh_peaks)
    # single-thread peaks; a run with N threads can reach N times that (at most the logical CPUs)
    scale = max(1, min(cfg.threads, os.cpu_count() or 1))
    host_peak = {"fp32": host["peak"]["fp32_gflops"] * scale, "int8": host["peak"]["int8_gops"] * scale}
    per_job: dict[int, list[dict[str, Any]]] = {}
    dead: set[int] = set()
    total = len(jobs) * cfg.rounds
    step = 0
    for rnd in range(cfg.rounds):  # round-robin: every runtime/model sees the same background load
        for k, job in enumerate(jobs):
            if k in dead:
                step += 1
                continue
            if on_step:
                tag = f" round {rnd + 1}/{cfg.rounds}" if cfg.rounds > 1 else ""
                on_step(f"{job.runtime} {job.model.id} batch {job.batch}{tag}", step, total)
            step += 1
            try:
                per_job.setdefault(k, []).append(run_job(bundle, job, cfg))
            except UnsupportedBatchError as exc:
                dead.add(k)
                skipped.append({"model_id": job.model.id, "runtime": job.runtime, "batch": str(job.batch),
                                "why": exc.message, "fix": exc.fix or ""})  # fmt: skip
    rows = []
    for k in sorted(per_job):
        if k in dead:
            continue
        row = merge_rounds(per_job[k])
        _add_estimate(bundle, row, host_peak, host)
        rows.append(row)
    if on_step:
        on_step("done", total, total)
    if not rows:
        last = skipped[-1]
        raise BenchFailedError(
            f"nothing could be measured: {last['why']}", last.get("fix") or "check --models"
        )
    return {
        "schema": SCHEMA,
        "edgekit": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "bundle": str(bundle.root),
        "bundle_name": bundle.manifest.name,
        "device": bundle.manifest.device,
        "runtime": cfg.runtime,
        "runtimes": cfg.runtimes,
        "rounds": cfg.rounds,
        "batches": list(cfg.batches),
        "threads": cfg.threads,
        "warmup": cfg.warmup,
        "iters": cfg.iters,
        "host": host,
        "results": rows,
        "skipped": skipped,
        "speedups": speedups(rows),
        "runtime_comparison": runtime_comparison(rows),
        "notes": [
            "measured on this host, one process per measurement; peak_rss_mb is the child's own peak RSS "
            "(VmHWM; its ru_maxrss would include this parent's high-water mark, kept as ru_maxrss_mb)",
            "estimate_ms is the roofline on the cpu profile (this host), estimate_over_measured its error",
            "speedup is the p50 ratio; speedup_min and estimate_over_min use the fastest run (the one least "
            "disturbed by other load on a shared host)",
        ],
    }


def write_json(doc: dict[str, Any], path: Path) -> None:
    """Write atomically (temp file + rename)."""
    atomic_write_json(path, doc)
