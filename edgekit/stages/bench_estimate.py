"""Stage `bench_estimate`: the roofline latency estimate per layer and in total, for the GPU and the DLA."""

from __future__ import annotations

from edgekit.stages.context import BuildContext
from edgekit.stages.results import _jsonable, _results


def bench_estimate(ctx: BuildContext) -> BuildContext:
    from edgekit.bench.estimate import estimate

    assert ctx.manifest is not None
    _results(ctx)["bench_estimate"] = _jsonable(estimate(ctx.root, ctx.manifest, ctx.profile))
    return ctx
