"""Stage `golden`: the held-out golden set (encoded images + labels) and labels.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgekit.bundle import GoldenItem
from edgekit.errors import ConfigError
from edgekit.stages.context import BuildContext


def golden_stage(ctx: BuildContext) -> BuildContext:
    gdir = ctx.root / "golden"
    gdir.mkdir(exist_ok=True)
    if not ctx.golden_samples:
        raise ConfigError("the build has no golden images", "give data.golden a split with images")
    for g in ctx.golden_samples:
        if isinstance(g.source, Path):
            if not g.source.is_file():
                raise ConfigError(f"golden image {g.source} does not exist", "fix the example's golden list")
            fname = g.name + g.source.suffix.lower()
            shutil.copyfile(g.source, gdir / fname)
        else:
            fname = g.name + g.suffix
            (gdir / fname).write_bytes(g.source)
        ctx.golden.append(GoldenItem(name=g.name, input=f"golden/{fname}", label=g.label))
    (ctx.root / "labels.txt").write_text("\n".join(ctx.example.labels) + "\n")
    return ctx
