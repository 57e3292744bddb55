"""The one contract between the Python side and the C++ runtime.

The pydantic models in :mod:`edgekit.bundle` and :mod:`edgekit.preprocess.spec` are the declaration.
From them ``python -m edgekit.contract.generate`` writes

* ``edgekit/contract/manifest.schema.json``: the published JSON Schema (for users' tools), and
* ``cpp_runtime/include/edgekit/contract_generated.hpp``: the same schema embedded for the C++ runtime's
  generic validator, plus the constants below (bounds, names, bundle layout, limits, exit codes, rule ids).

Both files are committed (no Python is needed on a device); tests/contract fails when either is stale.

Checks that a JSON Schema cannot express are *rules* with ids (``spec.std_magnitude``,
``bundle.label_count`` ...). Each rule is written once per language under the same id
(Python: here and in the models' validators; C++: cpp_runtime/src/contract.cpp) and the schema names which
node carries which rule (``x-edgekit-rules``), so the C++ validator runs exactly the rules Python runs.
Every violation carries its rule id; schema-level violations use the ``schema.*`` ids.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from edgekit.errors import BundleError

# -- declared once: names, bundle layout, bounds, limits, exit codes ------------------------------------
SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
LABELS_FILE = "labels.txt"
BUNDLE_FORMAT = "edgekit-bundle"

INT32_MAX = 2**31 - 1
MAX_SIDE = 1 << 16  # largest resize / crop side in pixels
MIN_ABS_STD = 1e-6  # normalize: |std| >= this (1e-45 makes every input infinite)
MAX_FILE_SIZE = 2**53  # files[].size (exact in a double, so both JSON parsers agree)

MAX_IMAGE_PIXELS_DEFAULT = 64_000_000  # 64 megapixels, checked on the header before decoding
MAX_IMAGE_PIXELS_ENV = "EDGEKIT_MAX_IMAGE_PIXELS"

EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "error": 2,  # any user-facing error (EdgekitError.exit_code, edgekit-infer)
    "nonfinite_output": 3,  # edgekit-infer: an output holds NaN/Inf
}

# -- rule ids -------------------------------------------------------------------------------------------
SCHEMA_RULES: dict[str, str] = {
    "json.syntax": "the text is not valid JSON (NaN/Infinity are not JSON)",
    "schema.type": "a value has the wrong JSON type (no bool-as-int, no string-as-int, no float-as-int)",
    "schema.required": "a required field is missing",
    "schema.extra": "a field that the schema does not declare",
    "schema.enum": "a value that is not one of the allowed ones",
    "schema.bounds": "a number or a list length outside its declared bounds",
    "schema.pattern": "a string that does not match its declared pattern",
    "schema.finite": "a number that is not finite",
}
RULES: dict[str, str] = {
    "manifest.schema_version": "schema_version is newer than this edgekit understands",
    "manifest.model_ids_unique": "model ids are unique",
    "manifest.default_model_known": "default_model is one of the model ids",
    "manifest.input_shape": "input.shape (batch -1 read as 1) equals the preprocessing output shape",
    "manifest.input_layout": "input.layout equals the preprocessing layout step",
    "manifest.engine_paths": "extra.tensorrt.engines paths stay inside the bundle",
    "manifest.task_postprocess": "task equals postprocess.type",
    "manifest.detection_output": "a detector's first output: rank 4 (edgekit_ltrb) or 3 (anchor_free_grid), "
    "shape[1] >= 5",
    "path.relative": "a bundle path is relative, without '..', backslashes or NUL, and not empty",
    "tensor.dim": "tensor dimensions are positive or -1 (dynamic)",
    "spec.first_decode": "the first step is 'decode', and only the first",
    "spec.last_layout": "the last step is 'layout', and only the last",
    "spec.one_to_float": "exactly one 'to_float' step",
    "spec.geometry_before_float": "resize, center_crop and cvt_color come before 'to_float'",
    "spec.normalize_after_float": "'normalize' comes after 'to_float'",
    "spec.fixed_output_size": "the geometry ends with a fixed size (stretch/letterbox resize or center_crop)",
    "spec.resize_size_arity": "resize shorter_side takes one size, stretch/letterbox two",
    "spec.normalize_lengths": "normalize has as many std values as mean values",
    "spec.std_magnitude": f"normalize std values satisfy |std| >= {MIN_ABS_STD:g}",
    "bundle.path_inside": "a bundle path, symlinks resolved, stays inside the bundle folder",
    "bundle.label_count": "the labels file has one line per class of the first output",
    "bundle.file_missing": "every file the manifest lists is present",
    "bundle.file_hash": "every listed file has the size and sha256 the manifest records",
    "npy.magic": "the file starts with the .npy magic",
    "npy.version": "the .npy format version is 1, 2 or 3",
    "npy.header": "the .npy header is a dict with descr, fortran_order and shape",
    "npy.dtype": "the dtype is a supported little-endian one",
    "npy.fortran": "the array is in C order",
    "npy.shape": "the shape is a tuple of non-negative integers",
    "npy.size": "the data holds exactly the bytes the header needs",
    "image.too_large": "the image's header declares more pixels than the limit",
}
ALL_RULES: dict[str, str] = {**SCHEMA_RULES, **RULES}

NPY_DTYPES: dict[str, int] = {  # descr -> item size: what parse_npy / check_npy accept
    "<f4": 4, "<i4": 4, "<u4": 4, "<f8": 8, "<i8": 8, "<u8": 8, "<f2": 2, "<i2": 2, "<u2": 2,
    "|u1": 1, "|i1": 1, "|b1": 1,
}  # fmt: skip


class RuleViolation(ValueError):
    """Raised inside a model validator: pydantic wraps it; :func:`rule_of` finds the id again."""

    def __init__(self, rule: str, message: str) -> None:
        assert rule in ALL_RULES, rule
        super().__init__(message)
        self.rule = rule


class ContractError(BundleError):
    """A manifest, spec or file that breaks the contract; ``rule`` is the id of the broken rule."""

    def __init__(self, message: str, fix: str | None, rule: str, where: str = "") -> None:
        super().__init__(message, fix)
        self.rule = rule
        self.where = where


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"number overflow parsing '{text}'")
    return v


def _json_int(text: str) -> int | float:
    v = int(text)
    # nlohmann::json (the C++ parser) stores integers outside [-2^63, 2^64) as doubles: do the same, so an
    # integer field given 2^70 is a schema.type error on both sides.
    return float(v) if v < -(2**63) or v >= 2**64 else v


def parse_json(text: str | bytes, where: str) -> Any:
    """Parse JSON as the C++ side (nlohmann::json) does: NaN/Infinity/1e400 are not JSON (json.syntax)."""
    import json

    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_json_int)
    except (ValueError, RecursionError) as exc:
        raise ContractError(
            f"{where} is not valid JSON: {exc}", "rebuild the bundle with `edgekit build`", "json.syntax"
        ) from exc


# pydantic error types -> schema rule ids (the C++ validator reports the same ids for the same keywords)
_PYDANTIC_TYPES: dict[str, str] = {
    "missing": "schema.required",
    "union_tag_not_found": "schema.required",
    "extra_forbidden": "schema.extra",
    "literal_error": "schema.enum",
    "union_tag_invalid": "schema.enum",
    "enum": "schema.enum",
    "greater_than": "schema.bounds",
    "greater_than_equal": "schema.bounds",
    "less_than": "schema.bounds",
    "less_than_equal": "schema.bounds",
    "too_short": "schema.bounds",
    "too_long": "schema.bounds",
    "string_too_short": "schema.bounds",
    "string_too_long": "schema.bounds",
    "string_pattern_mismatch": "schema.pattern",
    "finite_number": "schema.finite",
}


def rule_of(error: dict[str, Any]) -> str:
    """The rule id of one pydantic error (``ValidationError.errors()`` item)."""
    if error["type"] == "value_error":
        exc = error.get("ctx", {}).get("error")
        if isinstance(exc, RuleViolation):
            return exc.rule
        return "schema.type"
    return _PYDANTIC_TYPES.get(error["type"], "schema.type")


# -- node rules: declared on a type, enforced by pydantic here and named in the schema for C++ ---------
def node_rule(rule: str) -> Any:
    """``Field`` metadata that names ``rule`` in the JSON Schema (``x-edgekit-rules``)."""
    assert rule in RULES, rule
    return Field(json_schema_extra={"x-edgekit-rules": [rule]})


def path_problem(p: str) -> str | None:
    """Why ``p`` is not a confined, relative bundle path (None when it is). Mirrored in C++."""
    if not p:
        return "is empty"
    if "\\" in p or "\x00" in p:
        return "holds a backslash or NUL"
    if p.startswith("/"):
        return "is absolute"
    if len(p) >= 2 and p[1] == ":":
        return "has a drive letter"
    if ".." in p.split("/"):
        return "climbs out with '..'"
    return None


def _relative_path(p: str) -> str:
    why = path_problem(p)
    if why:
        raise RuleViolation("path.relative", f"bundle path '{p}' {why}: paths stay inside the bundle")
    return p


def _dim(d: int) -> int:
    if d == 0 or d < -1:
        raise RuleViolation("tensor.dim", f"dimension {d}: dimensions are positive or -1 (dynamic)")
    return d


def _std(s: float) -> float:
    if abs(s) < MIN_ABS_STD:
        raise RuleViolation(
            "spec.std_magnitude", f"normalize std {s!r} is smaller than {MIN_ABS_STD:g} in magnitude"
        )
    return s


BundlePath = Annotated[str, AfterValidator(_relative_path), node_rule("path.relative")]
Dim = Annotated[int, Field(ge=-INT32_MAX, le=INT32_MAX), AfterValidator(_dim), node_rule("tensor.dim")]
Int32 = Annotated[int, Field(ge=-INT32_MAX, le=INT32_MAX)]
Side = Annotated[int, Field(ge=1, le=MAX_SIDE)]
Std = Annotated[float, AfterValidator(_std), node_rule("spec.std_magnitude")]


def model_rules(*rules: str) -> dict[str, Any]:
    """``json_schema_extra`` naming the cross-field rules a model's validator runs."""
    for r in rules:
        assert r in RULES, r
    return {"x-edgekit-rules": list(rules)}
