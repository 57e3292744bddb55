"""Stage `parity_reference`: the training-side golden record parity compares against."""

from __future__ import annotations

from edgekit.stages.context import BuildContext
from edgekit.stages.results import _results


def parity_reference(ctx: BuildContext) -> BuildContext:
    from edgekit.errors import BundleError
    from edgekit.parity.reference import write_reference

    assert ctx.manifest is not None
    try:
        write_reference(ctx.root, ctx.manifest, ctx.torch_models)
    except BundleError as exc:
        if ctx.manifest.task == "classification":
            raise
        # INTERIM (det-parity writes the detection record): the golden record of a detection bundle is not
        # written yet, so `edgekit parity` on it fails closed (no reference), never passes
        why = (f"not written: the parity reference does not record {ctx.manifest.task} outputs yet "
               f"({exc.message})")
        _results(ctx)["parity_reference"] = why
        ctx.reporter.log(f"parity reference: {why}")
        return ctx
    _results(ctx)["parity_reference"] = "written"
    return ctx
