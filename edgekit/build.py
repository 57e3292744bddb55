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
from edgekit.errors import ConfigError
from edgekit.examples import get_example
from edgekit.examples.base import Recipe, check_plan
from edgekit.profiles import get_profile
from edgekit.stages import hooks
from edgekit.stages.context import BuildContext, Stage
from edgekit.stages.progress import Reporter


@dataclass
class BuildOptions:
    device: str
    example: str = "digits"
    out: Path | None = None
    teacher: Path | None = None
    fast: bool = False
    seed: int = 0
    recipe: Recipe | None = None  # None: the example's recipe for ``fast``
    extra_stages: Sequence[tuple[str, Stage]] = field(default_factory=tuple)  # run just before the manifest
    parity: bool = True  # a local parity check of the C++ runtime at the end, when the runtime is built
    report: bool = True  # report.html + report.md in the bundle


@dataclass
class BuildResult:
    out: Path
    manifest: B.Manifest
    stage_seconds: dict[str, float]
    seconds: float
    parity: dict[str, Any] | None = None  # the end-of-build parity report (or why it did not run)

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "bundle": str(self.out), "device": m.device, "example": m.extra.get("example"),
            "default_model": m.default_model, "seconds": round(self.seconds, 2),
            "models": [{"id": e.id, "file": e.file, "precision": e.precision, "int8_flavour": e.int8_flavour,
                        "opset": e.opset, **e.metrics} for e in m.models],
            "stages": m.extra.get("stages", []), "stage_seconds": self.stage_seconds,
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
    stages: list[tuple[str, Stage]] = [("data", load_data), ("teacher", teacher_stage_fn()),
                                       ("distill", distill_stage)]
    if "prune" in plan:
        stages.append(("prune", prune_stage))
    stages.append(("export_fp32", export_fp32_stage))
    if ctx.has_int8:
        stages += [("qat" if "qat" in plan else "ptq", qat_stage), ("export_qdq", export_qdq_stage)]
        if ctx.profile.int8_flavour == "ort_cpu":
            stages.append(("quantize_cpu", quantize_cpu_stage))
    stages += [("dla_translate", hooks.dla_translate), ("trt_check", hooks.trt_check),
               ("trt_plan", hooks.trt_plan), ("golden", golden_stage), ("dla_verify", hooks.dla_verify),
               ("reference", reference_stage)]
    stages += list(extra)
    stages += [("manifest", manifest_stage), ("parity_reference", hooks.parity_reference),
               ("bench_estimate", hooks.bench_estimate), ("write_manifest", write_manifest_stage)]
    return stages


def teacher_stage_fn() -> Stage:
    from edgekit.stages.train import teacher_stage

    return teacher_stage


def run_build(opts: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Run the whole pipeline; raises EdgekitError subclasses for bad input."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    profile = get_profile(opts.device)
    example = get_example(opts.example)
    try:
        check_plan(example.plan)
    except ValueError as exc:
        raise ConfigError(f"example '{example.name}' has a bad plan: {exc}",
                          "fix the example's plan") from exc
    if opts.teacher is not None:  # fail before any work: missing, corrupt or mismatched checkpoint
        from edgekit.stages.train import load_checkpoint

        load_checkpoint(example.teacher(profile), opts.teacher)
    out = opts.out or Path("bundles") / f"{example.name}-{profile.name}"
    if out.exists() and not (out / B.MANIFEST).is_file() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not a bundle", "pick another --out (it would be replaced)")
    recipe = opts.recipe or example.recipe(opts.fast)
    reporter = reporter or Reporter()

    from edgekit.stages.common import seed_all, set_threads

    set_threads()
    seed_all(opts.seed)
    t_all = time.perf_counter()
    seconds: dict[str, float] = {}
    with (tempfile.TemporaryDirectory(prefix="edgekit-build-") as work, B.staging(out) as root,
          reporter.session()):
        root.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be copied and read
        ctx = BuildContext(example=example, profile=profile, recipe=recipe, root=root, reporter=reporter,
                           fast=opts.fast, seed=opts.seed, teacher_ckpt=opts.teacher, work=Path(work))
        stages = plan_stages(ctx, opts.extra_stages)
        overall = reporter.task(f"build {example.name} for {profile.name}", len(stages))
        for name, stage in stages:
            t0 = time.perf_counter()
            ctx = stage(ctx)
            seconds[name] = round(time.perf_counter() - t0, 3)
            ctx.extra["stage_seconds"] = seconds
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

    if not runtime_cpp.is_built():
        why = ("C++ runtime not built (`edgekit runtime build` or tools/setup.sh builds it); "
               "run `edgekit parity` once it is")
        reporter.log(f"parity: skipped — {why}")
        return {"skipped": why}
    rep = run_parity(out, runtime="cpp")
    rep.write_json(out / PARITY_FILE)
    reporter.log(f"parity: {rep.summary()}")
    return rep.to_dict()
