"""`edgekit build`: the compression pipeline as an ordered list of stages over a BuildContext.

train/load teacher → distill → prune + fine-tune → FP32 ONNX → QAT/PTQ (TensorRT-flavour fake quant)
→ Q/DQ ONNX → ORT-CPU INT8 → [TensorRT check, DLA INT8, plan] → golden set → reference models →
manifest → [parity reference, bench estimate] → hashed manifest. Everything is written into
``bundle.staging(out)``: an interrupted or failed build leaves a previous bundle at ``out`` intact.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit import bundle as B
from edgekit.errors import ConfigError, EdgekitError
from edgekit.examples import get_example
from edgekit.examples.base import Recipe, check_plan
from edgekit.profiles import get_profile
from edgekit.project.project import Project
from edgekit.stages.context import BuildContext, Stage
from edgekit.stages.progress import Reporter


@dataclass
class BuildOptions:
    device: str
    example: str = "digits"  # a built-in project (edgekit/projects/<name>/), when ``project`` is None
    project: Path | None = None  # a user's edgekit.yaml (or its folder)
    out: Path | None = None
    teacher: Path | None = None
    fast: bool = False
    seed: int = 0
    recipe: Recipe | None = None  # None: the example's recipe for ``fast``
    extra_stages: Sequence[tuple[str, Stage]] = field(default_factory=tuple)  # run just before the manifest
    parity: bool = True  # a local parity check of the C++ runtime at the end, when the runtime is built
    report: bool = True  # report.html + report.md in the bundle
    resume: bool = False  # continue an interrupted build (refused when config, labels or spec changed)
    reuse: bool = True  # take unchanged training stages from the stage cache
    cache_dir: Path | None = None  # the stage cache (default: <out's folder>/.edgekit-cache/<project>)
    preflight: bool = True  # the model checks before any training (edgekit/project/preflight.py)


@dataclass
class BuildResult:
    out: Path
    manifest: B.Manifest
    stage_seconds: dict[str, float]
    seconds: float
    parity: dict[str, Any] | None = None  # the end-of-build parity report (or why it did not run)

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        b = m.build
        return {
            "bundle": str(self.out), "device": m.device, "project": b.project if b else None,
            "default_model": m.default_model, "seconds": round(self.seconds, 2),
            "models": [{"id": e.id, "file": e.file, "precision": e.precision, "int8_flavour": e.int8_flavour,
                        "opset": e.opset, **e.metrics} for e in m.models],
            "stages": [r.model_dump() for r in b.stages] if b else [], "stage_seconds": self.stage_seconds,
            "reused_stages": b.reused_stages if b else [], "resumed": b.resumed if b else False,
            "hooks": m.extra.get("hooks", {}),
            "parity": self.parity,
        }


def plan_stages(ctx: BuildContext, extra: Sequence[tuple[str, Stage]] = ()) -> list[tuple[str, Stage]]:
    from edgekit.stages.data import load_data
    from edgekit.stages.distill import distill_stage
    from edgekit.stages.export import export_fp32_stage, export_qdq_stage
    from edgekit.stages.golden import golden_stage
    from edgekit.stages.manifest import manifest_stage, write_manifest_stage
    from edgekit.stages.prune import prune_stage
    from edgekit.stages.qat import qat_stage
    from edgekit.stages.quantize_cpu import quantize_cpu_stage
    from edgekit.stages.reference import reference_stage

    plan = ctx.example.plan
    from edgekit.stages.bench_estimate import bench_estimate
    from edgekit.stages.dla_translate import dla_translate
    from edgekit.stages.dla_verify import dla_verify
    from edgekit.stages.parity_reference import parity_reference
    from edgekit.stages.trt_check import trt_check
    from edgekit.stages.trt_plan import trt_plan

    stages: list[tuple[str, Stage]] = [("data", load_data), ("teacher", teacher_stage_fn()),
                                       ("distill", distill_stage)]
    if "prune" in plan:
        stages.append(("prune", prune_stage))
    stages.append(("export_fp32", export_fp32_stage))
    if ctx.has_int8:
        stages += [("qat" if "qat" in plan else "ptq", qat_stage), ("export_qdq", export_qdq_stage)]
        if ctx.profile.int8_flavour == "ort_cpu":
            stages.append(("quantize_cpu", quantize_cpu_stage))
    stages += [("dla_translate", dla_translate), ("trt_check", trt_check),
               ("trt_plan", trt_plan), ("golden", golden_stage), ("dla_verify", dla_verify),
               ("reference", reference_stage)]
    stages += list(extra)
    stages += [("manifest", manifest_stage), ("parity_reference", parity_reference),
               ("bench_estimate", bench_estimate), ("write_manifest", write_manifest_stage)]
    return stages


def teacher_stage_fn() -> Stage:
    from edgekit.stages.train import teacher_stage

    return teacher_stage


def load_build_project(opts: BuildOptions) -> Project:
    """The project to build: the user's edgekit.yaml, or a built-in one by name (the same loader)."""
    from edgekit.project.project import load_project

    proj = load_project(opts.project) if opts.project is not None else get_example(opts.example)
    assert isinstance(proj, Project)
    return proj


def run_build(opts: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Run the whole pipeline; raises EdgekitError subclasses for bad input."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from edgekit.project.reuse import StageCache, check_resume, fingerprint

    profile = get_profile(opts.device)
    example = load_build_project(opts)
    try:
        check_plan(example.plan)
    except ValueError as exc:
        raise ConfigError(f"project '{example.name}' has a bad plan: {exc}",
                          "fix recipe.steps in its edgekit.yaml") from exc
    if opts.teacher is not None:  # fail before any work: missing, corrupt or mismatched checkpoint
        from edgekit.stages.train import load_checkpoint

        load_checkpoint(example.teacher(profile), opts.teacher)
    out = opts.out or example.default_out(profile.name)
    B.check_replaceable(out)  # before any work: only a new/empty folder or an edgekit bundle is replaced
    recipe = opts.recipe or example.recipe(opts.fast)
    reporter = reporter or Reporter()

    from edgekit.stages.common import seed_all, set_threads

    set_threads()
    train_device = example.train_device()
    checks: list[str] = []
    if opts.preflight:
        from edgekit.project.preflight import preflight

        opset = min(profile.onnx_opset_max, 17)
        checks = preflight(example, opset, profile.channel_round, recipe.prune_ratio).checks
        reporter.log(f"preflight: {len(checks)} checks passed")
    seed_all(opts.seed)
    cache_root = opts.cache_dir or (out.resolve().parent / ".edgekit-cache" / example.name)
    cache = StageCache(cache_root) if opts.reuse or opts.resume else None
    t_all = time.perf_counter()
    seconds: dict[str, float] = {}
    with (tempfile.TemporaryDirectory(prefix="edgekit-build-") as work, B.staging(out) as root,
          reporter.session()):
        root.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be copied and read
        ctx = BuildContext(example=example, profile=profile, recipe=recipe, root=root, reporter=reporter,
                           fast=opts.fast, seed=opts.seed, teacher_ckpt=opts.teacher, work=Path(work),
                           cache=cache, resume=opts.resume)
        ctx.build.resumed = check_resume(cache_root / "state" / out.resolve().name, fingerprint(ctx),
                                         opts.resume)
        ctx.build.preflight = checks
        ctx.train_device = train_device
        ctx.num_workers = example.cfg.train.num_workers
        ctx.amp = example.cfg.train.amp
        ctx.build.train_device = str(train_device)
        stages = plan_stages(ctx, opts.extra_stages)
        overall = reporter.task(f"build {example.name} for {profile.name}", len(stages))
        for name, stage in stages:
            t0 = time.perf_counter()
            ctx = stage(ctx)
            seconds[name] = round(time.perf_counter() - t0, 3)
            ctx.build.stage_seconds = seconds
            reporter.advance(overall, info=name)
        assert ctx.manifest is not None
        manifest = ctx.manifest
    result = BuildResult(out=out.resolve(), manifest=manifest, stage_seconds=seconds,
                         seconds=time.perf_counter() - t_all)
    if opts.parity:
        result.parity = local_parity(result.out, reporter)
    if opts.report:
        from edgekit.report import write_report

        parity = result.parity if result.parity and "exit_code" in result.parity else None
        html = write_report(result.out, None, None, parity)
        reporter.log(f"report: {html} (latency sections fill in after `edgekit bench {result.out} --report`)")
    return result


PARITY_FILE = "parity.json"


def local_parity(out: Path, reporter: Reporter) -> dict[str, Any]:
    """The C++ runtime on this host against the training-side golden record (``edgekit parity``), written
    to ``<bundle>/parity.json`` (outside the hashed file list: a result about the bundle, not part of it)."""
    from edgekit import runtime_cpp
    from edgekit.parity.check import run_parity

    hooks = B.load(out, verify=False).manifest.extra.get("hooks", {})
    ref = hooks.get("parity_reference")
    if isinstance(ref, str) and ref.startswith("not written"):  # no training record: parity cannot run
        why = f"the build wrote no parity reference ({ref.removeprefix('not written: ')})"
        reporter.log(f"parity: skipped — {why}")
        return {"skipped": why}
    if not runtime_cpp.is_built():
        why = ("C++ runtime not built (`edgekit runtime build` or tools/setup.sh builds it); "
               "run `edgekit parity` once it is")
        reporter.log(f"parity: skipped — {why}")
        return {"skipped": why}
    try:
        rep = run_parity(out, runtime="cpp")
    except EdgekitError as exc:  # the gate fails closed: an error is recorded as one, never as a pass
        err = {"verdict": "error", "exit_code": exc.exit_code, "in_sync": False, "error": str(exc),
               "runtime": "cpp", "summary": f"parity error: {exc}"}  # fmt: skip
        reporter.log(f"parity: {err['summary']}")
        return err
    rep.write_json(out / PARITY_FILE)
    reporter.log(f"parity: {rep.summary()}")
    return rep.to_dict()
