"""What each TensorRT version's ONNX parser accepts: opset ceiling and operators it cannot parse.

Sources: onnx-tensorrt ``docs/operators.md`` per release branch (the "N" rows; 8.2-era snapshot read
directly), device_configs/README.md (8.5 / 8.6 / 10.x deltas). The 10.x list keeps only operators
that no 10.x operators.md marks supported; it is a floor, not a complete list (see UNCONFIRMED).
"""

from __future__ import annotations

SOURCE = "onnx-tensorrt docs/operators.md per release branch; shared/reference/jetson.md"

# (first TensorRT version, highest ONNX opset its parser supports)
OPSET_CEILING: list[tuple[tuple[int, int], int]] = [
    ((8, 0), 13),
    ((8, 4), 17),
    ((9, 0), 19),
    ((10, 0), 20),
    ((10, 15), 24),
    ((11, 0), 25),
]

_NEVER = frozenset(
    {
        "ConvInteger",
        "MatMulInteger",
        "QLinearConv",
        "QLinearMatMul",
        "Unique",
        "StringNormalizer",
        "TfIdfVectorizer",
        "SoftmaxCrossEntropyLoss",
        "NegativeLogLikelihoodLoss",
        "Multinomial",
        "BitShift",
        "SequenceAt",
        "SequenceConstruct",
        "SequenceEmpty",
        "SequenceErase",
        "SequenceInsert",
        "SequenceLength",
        "SplitToSequence",
        "ConcatFromSequence",
        "Optional",
        "OptionalGetElement",
        "OptionalHasElement",
        "STFT",
    }
)
# onnx-tensorrt operators.md, TensorRT 8.2/8.4 branch: every "N" row.
_TRT82 = _NEVER | {
    "Compress",
    "Det",
    "DynamicQuantizeLinear",
    "Hardmax",
    "IsInf",
    "MaxRoiPool",
    "MaxUnpool",
    "MeanVarianceNormalization",
    "Mod",
    "NonZero",
    "OneHot",
    "RandomNormal",
    "RandomNormalLike",
    "Reciprocal",
    "RoiAlign",
    "Shrink",
    "LayerNormalization",
    "DFT",
}
# 8.5 added Mod, NonZero, OneHot, RoiAlign, Reciprocal, IsInf (jetson.md: "TRT 8.2 also lacks ...").
_TRT85 = _TRT82 - {"Mod", "NonZero", "OneHot", "RoiAlign", "Reciprocal", "IsInf"}
_TRT86 = _TRT85 - {"LayerNormalization"}
_TRT10 = _NEVER

UNSUPPORTED: list[tuple[tuple[int, int], frozenset[str]]] = [
    ((8, 0), frozenset(_TRT82)),
    ((8, 5), frozenset(_TRT85)),
    ((8, 6), frozenset(_TRT86)),
    ((9, 0), frozenset(_TRT10)),
    ((10, 0), frozenset(_TRT10)),
]
UNCONFIRMED = ["10.x unsupported list is a floor (operators never supported), not exhaustive"]

# Data types TensorRT 8.x cannot hold natively (cast down with clamping, jetson.md / operators.md note).
INT64 = 7
DOUBLE = 11


def _lookup(table: list[tuple[tuple[int, int], object]], version: tuple[int, ...]) -> object:
    chosen = table[0][1]
    for first, value in table:
        if version[:2] >= first:
            chosen = value
    return chosen


def opset_ceiling(version: tuple[int, ...]) -> int:
    v = _lookup(OPSET_CEILING, version)  # type: ignore[arg-type]
    assert isinstance(v, int)
    return v


def unsupported_ops(version: tuple[int, ...]) -> frozenset[str]:
    v = _lookup(UNSUPPORTED, version)  # type: ignore[arg-type]
    assert isinstance(v, frozenset)
    return v
