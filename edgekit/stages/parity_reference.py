"""Stage `parity_reference`: the training-side golden record parity compares against (both tasks: the stage
tensors, the raw outputs and the postprocess result — top-k, or detections with the decoded image sizes)."""

from __future__ import annotations

from edgekit.stages.context import BuildContext
from edgekit.stages.results import _results


def parity_reference(ctx: BuildContext) -> BuildContext:
    from edgekit.parity.reference import write_reference

    assert ctx.manifest is not None
    write_reference(ctx.root, ctx.manifest, ctx.torch_models)
    _results(ctx)["parity_reference"] = "written"
    return ctx
