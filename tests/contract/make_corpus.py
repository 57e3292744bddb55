# ruff: noqa: E501  (a table of cases)
"""Write the contract corpus: tests/contract/corpus/{manifest,spec,npy,bundle}/ and cases.json.

    python -m tests.contract.make_corpus

Each case is one file (a bundle case: one folder) with its expected verdict and, when invalid, the id of the
one rule it breaks. pytest (tests/contract/test_corpus.py) and GoogleTest (cpp_runtime/tests/test_contract.cpp)
both run every case and must reach that verdict and rule id. The corpus is committed; this script is how it
was made (deterministic: re-running rewrites the same bytes).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"

SHA = "0" * 64
MNIST_STEPS: list[dict[str, Any]] = [
    {"op": "decode", "color": "gray"},
    {"op": "resize", "mode": "stretch", "size": [28, 28], "interpolation": "area", "pad_value": 0},
    {"op": "to_float", "scale": 1.0 / 255.0},
    {"op": "normalize", "mean": [0.1307], "std": [0.3081]},
    {"op": "layout", "to": "NCHW"},
]
IMAGENET_STEPS: list[dict[str, Any]] = [
    {"op": "decode", "color": "bgr"},
    {"op": "cvt_color", "code": "BGR2RGB"},
    {"op": "resize", "mode": "shorter_side", "size": [256], "interpolation": "linear"},
    {"op": "center_crop", "size": [224, 224]},
    {"op": "to_float", "scale": 0.00392156862745098},
    {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    {"op": "layout", "to": "NCHW"},
]


def base_manifest() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "format": "edgekit-bundle",
        "created_by": "edgekit corpus",
        "created_at": "2026-12-01T00:00:00+00:00",
        "name": "corpus",
        "device": "cpu",
        "task": "classification",
        "input": {"name": "input", "shape": [-1, 1, 28, 28], "dtype": "float32", "layout": "NCHW"},
        "outputs": [{"name": "logits", "shape": [-1, 10], "dtype": "float32"}],
        "preprocess": {"steps": copy.deepcopy(MNIST_STEPS)},
        "preprocess_sha256": "",
        "postprocess": {"type": "classification", "apply_softmax": True, "top_k": 5, "labels_file": "labels.txt"},
        "models": [
            {"id": "tiny_fp32", "file": "models/tiny.onnx", "precision": "fp32", "role": "student",
             "int8_flavour": None, "opset": 17, "metrics": {"acc": 0.9}},
        ],
        "default_model": "tiny_fp32",
        "golden": [{"name": "g0", "input": "golden/0.png", "label": 3}],
        "files": {"models/tiny.onnx": {"sha256": SHA, "size": 10}},
        "extra": {"note": "anything", "tensorrt": {"engines": {"tiny_fp32": {"file": "trt/tiny.engine"}}}},
    }  # fmt: skip


Mut = Callable[[dict[str, Any]], Any]


def _set(path: str | list[str], value: Any) -> Mut:
    def f(m: dict[str, Any]) -> None:
        keys = path.split(".") if isinstance(path, str) else path
        o: Any = m
        for k in keys[:-1]:
            o = o[int(k)] if isinstance(o, list) else o[k]
        last = keys[-1]
        if isinstance(o, list):
            o[int(last)] = value
        else:
            o[last] = value

    return f


def _del(path: str | list[str]) -> Mut:
    def f(m: dict[str, Any]) -> None:
        keys = path.split(".") if isinstance(path, str) else path
        o: Any = m
        for k in keys[:-1]:
            o = o[int(k)] if isinstance(o, list) else o[k]
        if isinstance(o, list):
            del o[int(keys[-1])]
        else:
            del o[keys[-1]]

    return f


def _steps(steps: list[dict[str, Any]]) -> Mut:
    return _set("preprocess.steps", steps)


def _swap(i: int, j: int) -> Mut:
    def f(m: dict[str, Any]) -> None:
        s = m["preprocess"]["steps"]
        s[i], s[j] = s[j], s[i]

    return f


def _all(*fs: Mut) -> Mut:
    def f(m: dict[str, Any]) -> None:
        for g in fs:
            g(m)

    return f


def _replace(m: dict[str, Any]) -> Any:
    return m


V, X = "valid", "invalid"
# (name, mutation of the base manifest, verdict, rule)
MANIFEST_CASES: list[tuple[str, Mut, str, str]] = [
    ("valid_base", lambda m: None, V, ""),
    (
        "valid_defaults_only",
        lambda m: [
            m.pop(k)
            for k in (
                "schema_version",
                "format",
                "created_by",
                "created_at",
                "task",
                "preprocess_sha256",
                "postprocess",
                "golden",
                "files",
                "extra",
            )
        ],
        V,
        "",
    ),
    (
        "valid_nhwc",
        _all(
            _set("input.shape", [-1, 28, 28, 1]),
            _set("input.layout", "NHWC"),
            _set("preprocess.steps.4.to", "NHWC"),
        ),
        V,
        "",
    ),
    (
        "valid_imagenet",
        _all(_steps(copy.deepcopy(IMAGENET_STEPS)), _set("input.shape", [-1, 3, 224, 224])),
        V,
        "",
    ),
    (
        "valid_letterbox",
        _set("preprocess.steps.1", {"op": "resize", "mode": "letterbox", "size": [28, 28], "pad_value": 114}),
        V,
        "",
    ),
    ("valid_negative_std", _set("preprocess.steps.3.std", [-0.5]), V, ""),
    ("valid_std_at_bound", _set("preprocess.steps.3.std", [1e-6]), V, ""),
    ("valid_top_k_int32_max", _set("postprocess.top_k", 2147483647), V, ""),
    ("valid_label_null", _set("golden.0.label", None), V, ""),
    ("valid_int8_flavour", _set("models.0.int8_flavour", "ort_cpu"), V, ""),
    ("valid_unicode_name", _set("name", "ñandú 模型"), V, ""),
    ("valid_size_zero", _set(["files", "models/tiny.onnx", "size"], 0), V, ""),
    ("valid_int_for_float", _set("preprocess.steps.3.mean", [0]), V, ""),
    ("valid_dot_segment_path", _set("models.0.file", "./models/tiny.onnx"), V, ""),
    ("valid_extra_anything", _set("extra", {"x": [1, {"y": None}], "tensorrt": {"other": 1}}), V, ""),
    # json.syntax: written as text below
    # schema.type
    ("type_schema_version_string", _set("schema_version", "1"), X, "schema.type"),
    ("type_schema_version_bool", _set("schema_version", True), X, "schema.type"),
    ("type_schema_version_float", _set("schema_version", 1.0), X, "schema.type"),
    ("type_top_k_string", _set("postprocess.top_k", "5"), X, "schema.type"),
    ("type_top_k_bool", _set("postprocess.top_k", True), X, "schema.type"),
    ("type_opset_float", _set("models.0.opset", 17.0), X, "schema.type"),
    ("type_shape_dim_string", _set("input.shape.2", "28"), X, "schema.type"),
    ("type_name_number", _set("name", 5), X, "schema.type"),
    ("type_apply_softmax_int", _set("postprocess.apply_softmax", 1), X, "schema.type"),
    ("type_outputs_object", _set("outputs", {"name": "logits"}), X, "schema.type"),
    ("type_label_string", _set("golden.0.label", "3"), X, "schema.type"),
    ("type_size_beyond_uint64", _set(["files", "models/tiny.onnx", "size"], 2**70), X, "schema.type"),
    ("type_pad_value_float", _set("preprocess.steps.1.pad_value", 1.5), X, "schema.type"),
    ("type_mean_string", _set("preprocess.steps.3.mean", ["0.1"]), X, "schema.type"),
    ("type_std_bool", _set("preprocess.steps.3.std", [True]), X, "schema.type"),
    ("type_steps_object", _set("preprocess.steps", {"0": {"op": "decode"}}), X, "schema.type"),
    ("type_step_not_object", _set("preprocess.steps.2", 7), X, "schema.type"),
    ("type_extra_list", _set("extra", []), X, "schema.type"),
    ("type_metrics_string", _set("models.0.metrics", {"acc": "high"}), X, "schema.type"),
    # schema.bounds
    ("bounds_top_k_zero", _set("postprocess.top_k", 0), X, "schema.bounds"),
    ("bounds_top_k_2pow32", _set("postprocess.top_k", 2**32 + 5), X, "schema.bounds"),
    ("bounds_opset_2pow40", _set("models.0.opset", 2**40), X, "schema.bounds"),
    ("bounds_shape_dim_2pow31", _set("input.shape.2", 2**31), X, "schema.bounds"),
    ("bounds_shape_dim_uint64", _set("outputs.0.shape.1", 2**63 + 1), X, "schema.bounds"),
    ("bounds_resize_zero", _set("preprocess.steps.1.size", [0, 28]), X, "schema.bounds"),
    ("bounds_resize_huge", _set("preprocess.steps.1.size", [28, 70000]), X, "schema.bounds"),
    ("bounds_pad_value_256", _set("preprocess.steps.1.pad_value", 256), X, "schema.bounds"),
    ("bounds_one_step", _steps([{"op": "decode"}]), X, "schema.bounds"),
    ("bounds_outputs_empty", _set("outputs", []), X, "schema.bounds"),
    ("bounds_models_empty", _set("models", []), X, "schema.bounds"),
    ("bounds_size_negative", _set(["files", "models/tiny.onnx", "size"], -1), X, "schema.bounds"),
    ("bounds_size_2pow53_plus1", _set(["files", "models/tiny.onnx", "size"], 2**53 + 1), X, "schema.bounds"),
    ("bounds_mean_five", _set("preprocess.steps.3.mean", [0.1] * 5), X, "schema.bounds"),
    ("bounds_shape_nine_dims", _set("outputs.0.shape", [1] * 9), X, "schema.bounds"),
    ("bounds_schema_version_zero", _set("schema_version", 0), X, "schema.bounds"),
    ("bounds_scale_zero", _set("preprocess.steps.2.scale", 0), X, "schema.bounds"),
    ("bounds_scale_negative", _set("preprocess.steps.2.scale", -1.0), X, "schema.bounds"),
    ("bounds_label_2pow31", _set("golden.0.label", 2**31), X, "schema.bounds"),
    ("bounds_mean_empty", _set("preprocess.steps.3.mean", []), X, "schema.bounds"),
    # schema.required
    ("required_name", _del("name"), X, "schema.required"),
    ("required_input", _del("input"), X, "schema.required"),
    ("required_model_file", _del("models.0.file"), X, "schema.required"),
    ("required_step_op", _del("preprocess.steps.2.op"), X, "schema.required"),
    ("required_normalize_std", _del("preprocess.steps.3.std"), X, "schema.required"),
    ("required_resize_size", _del("preprocess.steps.1.size"), X, "schema.required"),
    ("required_file_sha", _del(["files", "models/tiny.onnx", "sha256"]), X, "schema.required"),
    ("required_default_model", _del("default_model"), X, "schema.required"),
    # schema.extra
    ("extra_top_level", _set("bogus_field", 1), X, "schema.extra"),
    ("extra_in_step", _set("preprocess.steps.0.gamma", 2.2), X, "schema.extra"),
    ("extra_in_postprocess", _set("postprocess.threshold", 0.5), X, "schema.extra"),
    ("extra_in_model", _set("models.0.path", "x"), X, "schema.extra"),
    # schema.enum
    ("enum_dtype", _set("input.dtype", "float64"), X, "schema.enum"),
    ("enum_layout", _set("input.layout", "CHW"), X, "schema.enum"),
    ("enum_op", _set("preprocess.steps.1.op", "blur"), X, "schema.enum"),
    ("enum_op_number", _set("preprocess.steps.1.op", 5), X, "schema.enum"),
    ("enum_precision", _set("models.0.precision", "int4"), X, "schema.enum"),
    ("enum_format", _set("format", "other-bundle"), X, "schema.enum"),
    ("enum_task", _set("task", "segmentation"), X, "schema.enum"),
    ("enum_interpolation", _set("preprocess.steps.1.interpolation", "cubic"), X, "schema.enum"),
    ("enum_int8_flavour", _set("models.0.int8_flavour", "fast"), X, "schema.enum"),
    ("enum_int8_flavour_number", _set("models.0.int8_flavour", 5), X, "schema.enum"),
    ("enum_role", _set("models.0.role", "mentor"), X, "schema.enum"),
    ("enum_postprocess_type", _set("postprocess.type", "segmentation"), X, "schema.enum"),
    ("enum_postprocess_type_number", _set("postprocess.type", 5), X, "schema.enum"),
    ("type_postprocess_list", _set("postprocess", []), X, "schema.type"),
    ("type_postprocess_string", _set("postprocess", "detection"), X, "schema.type"),
    ("extra_detection_type_with_top_k", _set("postprocess.type", "detection"), X, "schema.extra"),
    ("enum_decode_color", _set("preprocess.steps.0.color", "rgb"), X, "schema.enum"),
    # schema.pattern
    ("pattern_sha_upper", _set(["files", "models/tiny.onnx", "sha256"], "A" * 64), X, "schema.pattern"),
    ("pattern_sha_short", _set(["files", "models/tiny.onnx", "sha256"], "ab12"), X, "schema.pattern"),
    # tensor.dim
    ("dim_zero", _set("outputs.0.shape.1", 0), X, "tensor.dim"),
    ("dim_minus_two", _set("input.shape.0", -2), X, "tensor.dim"),
    # path.relative
    ("path_model_dotdot", _set("models.0.file", "../outside.onnx"), X, "path.relative"),
    ("path_model_absolute", _set("models.0.file", "/etc/passwd"), X, "path.relative"),
    ("path_model_inner_dotdot", _set("models.0.file", "models/../../x.onnx"), X, "path.relative"),
    ("path_labels_dotdot", _set("postprocess.labels_file", "../../labels.txt"), X, "path.relative"),
    ("path_golden_absolute", _set("golden.0.input", "/tmp/x.png"), X, "path.relative"),
    ("path_files_key_dotdot", _set("files", {"../evil": {"sha256": SHA, "size": 1}}), X, "path.relative"),
    ("path_backslash", _set("models.0.file", "models\\tiny.onnx"), X, "path.relative"),
    ("path_empty", _set("models.0.file", ""), X, "path.relative"),
    ("path_drive_letter", _set("models.0.file", "C:/models/tiny.onnx"), X, "path.relative"),
    ("path_nul", _set("models.0.file", "models/tiny.onnx\x00.txt"), X, "path.relative"),
    # manifest.engine_paths
    (
        "engine_file_dotdot",
        _set("extra.tensorrt.engines.tiny_fp32.file", "../x.engine"),
        X,
        "manifest.engine_paths",
    ),
    (
        "engine_metadata_absolute",
        _set("extra.tensorrt.engines.tiny_fp32.metadata", "/x.json"),
        X,
        "manifest.engine_paths",
    ),
    ("engine_engines_list", _set("extra.tensorrt.engines", []), X, "manifest.engine_paths"),
    (
        "engine_file_missing",
        _set("extra.tensorrt.engines.tiny_fp32", {"precision": "fp16"}),
        X,
        "manifest.engine_paths",
    ),
    # manifest.* and spec.* rules
    ("rule_schema_version_2", _set("schema_version", 2), X, "manifest.schema_version"),
    ("rule_schema_version_2pow40", _set("schema_version", 2**40), X, "manifest.schema_version"),
    (
        "rule_model_ids_unique",
        lambda m: m["models"].append(copy.deepcopy(m["models"][0])),
        X,
        "manifest.model_ids_unique",
    ),
    ("rule_default_model_unknown", _set("default_model", "ghost"), X, "manifest.default_model_known"),
    ("rule_input_shape", _set("input.shape", [-1, 3, 28, 28]), X, "manifest.input_shape"),
    ("rule_input_layout", _set("input.layout", "NHWC"), X, "manifest.input_layout"),
    (
        "rule_fixed_output_size",
        _set("preprocess.steps.1", {"op": "resize", "mode": "shorter_side", "size": [28]}),
        X,
        "spec.fixed_output_size",
    ),
    ("rule_first_decode", _swap(0, 1), X, "spec.first_decode"),
    (
        "rule_two_decodes",
        lambda m: m["preprocess"]["steps"].insert(1, {"op": "decode"}),
        X,
        "spec.first_decode",
    ),
    ("rule_last_layout", _swap(3, 4), X, "spec.last_layout"),
    ("rule_no_to_float", _del("preprocess.steps.2"), X, "spec.one_to_float"),
    ("rule_geometry_after_float", _swap(1, 2), X, "spec.geometry_before_float"),
    ("rule_normalize_before_float", _swap(2, 3), X, "spec.normalize_after_float"),
    ("rule_resize_arity", _set("preprocess.steps.1.size", [28]), X, "spec.resize_size_arity"),
    ("rule_normalize_lengths", _set("preprocess.steps.3.std", [0.3, 0.3]), X, "spec.normalize_lengths"),
    ("rule_std_1e-45", _set("preprocess.steps.3.std", [1e-45]), X, "spec.std_magnitude"),
    ("rule_std_zero", _set("preprocess.steps.3.std", [0.0]), X, "spec.std_magnitude"),
    ("rule_std_tiny_negative", _set("preprocess.steps.3.std", [-9e-7]), X, "spec.std_magnitude"),
    # manifest.task_postprocess (classification side)
    ("rule_task_detection_classification_post", _set("task", "detection"), X, "manifest.task_postprocess"),
    (
        "rule_task_detection_post_default",
        _all(_set("task", "detection"), _del("postprocess")),
        X,
        "manifest.task_postprocess",
    ),
]

# -- detection manifests (postprocess.type: detection; edgekit/bundle.py DetectionPostprocess) ----------------
DET_POST_FULL: dict[str, Any] = {
    "type": "detection", "encoding": "edgekit_ltrb", "stride": 8, "box_format": "cxcywh",
    "score_activation": "sigmoid", "score_threshold": 0.3, "nms_iou": 0.5, "max_detections": 100,
    "pre_nms_top_k": 1000, "class_agnostic": False, "background_class": False, "coordinates": "original",
    "score_margin": 0.05, "labels_file": "labels.txt",
}  # fmt: skip


def _det(m: dict[str, Any]) -> None:
    """The base manifest as a detector: letterbox 32x32, one edgekit_ltrb output [N, 4 + 10, 4, 4]."""
    m["task"] = "detection"
    m["input"]["shape"] = [-1, 1, 32, 32]
    m["preprocess"]["steps"][1] = {"op": "resize", "mode": "letterbox", "size": [32, 32], "pad_value": 114}
    m["outputs"] = [{"name": "raw", "shape": [-1, 14, 4, 4], "dtype": "float32"}]
    m["postprocess"] = copy.deepcopy(DET_POST_FULL)


def _afg(m: dict[str, Any]) -> None:
    """An anchor_free_grid detector (the Ultralytics layout [N, 4 + C, A])."""
    _det(m)
    m["outputs"][0]["shape"] = [-1, 14, 336]
    m["postprocess"]["encoding"] = "anchor_free_grid"


def _d(*fs: Mut) -> Mut:
    return _all(_det, *fs)


P = "postprocess."
DET_CASES: list[tuple[str, Mut, str, str]] = [
    ("det_valid_full", _det, V, ""),
    ("det_valid_type_only", _d(_set("postprocess", {"type": "detection"})), V, ""),
    ("det_valid_anchor_free_grid", _afg, V, ""),
    ("det_valid_anchor_free_xyxy_none", _all(_afg, _set(P + "box_format", "xyxy"), _set(P + "score_activation", "none")), V, ""),
    ("det_valid_ultralytics_84x8400", _all(_afg, _set("outputs.0.shape", [1, 84, 8400])), V, ""),
    ("det_valid_lower_bounds", _d(_set(P + "stride", 1), _set(P + "score_threshold", 0.0), _set(P + "nms_iou", 1e-300),
                                  _set(P + "max_detections", 1), _set(P + "pre_nms_top_k", 1), _set(P + "score_margin", 0.0)), V, ""),
    ("det_valid_upper_bounds", _d(_set(P + "stride", 1024), _set(P + "score_threshold", 1.0), _set(P + "nms_iou", 1.0),
                                  _set(P + "max_detections", 10000), _set(P + "pre_nms_top_k", 100000),
                                  _set(P + "score_margin", 0.5)), V, ""),
    ("det_valid_int_for_float", _d(_set(P + "score_threshold", 0), _set(P + "nms_iou", 1), _set(P + "score_margin", 0)), V, ""),
    ("det_valid_flags", _d(_set(P + "class_agnostic", True), _set(P + "background_class", True),
                           _set(P + "coordinates", "input")), V, ""),
    ("det_valid_five_channels", _d(_set("outputs.0.shape", [-1, 5, 4, 4])), V, ""),
    ("det_valid_dynamic_channels", _d(_set("outputs.0.shape", [-1, -1, -1, -1])), V, ""),
    ("det_valid_labels_file", _d(_set(P + "labels_file", "meta/classes.txt")), V, ""),
    ("det_valid_two_outputs", _d(lambda m: m["outputs"].append({"name": "aux", "shape": [-1, 3]})), V, ""),
    # schema.bounds
    ("det_bounds_stride_zero", _d(_set(P + "stride", 0)), X, "schema.bounds"),
    ("det_bounds_stride_1025", _d(_set(P + "stride", 1025)), X, "schema.bounds"),
    ("det_bounds_stride_2pow40", _d(_set(P + "stride", 2**40)), X, "schema.bounds"),
    ("det_bounds_stride_2pow63", _d(_set(P + "stride", 2**63 + 1)), X, "schema.bounds"),
    ("det_bounds_threshold_negative", _d(_set(P + "score_threshold", -0.01)), X, "schema.bounds"),
    ("det_bounds_threshold_above_one", _d(_set(P + "score_threshold", 1.01)), X, "schema.bounds"),
    ("det_bounds_nms_iou_zero", _d(_set(P + "nms_iou", 0.0)), X, "schema.bounds"),
    ("det_bounds_nms_iou_int_zero", _d(_set(P + "nms_iou", 0)), X, "schema.bounds"),
    ("det_bounds_nms_iou_above_one", _d(_set(P + "nms_iou", 1.0000001)), X, "schema.bounds"),
    ("det_bounds_max_detections_zero", _d(_set(P + "max_detections", 0)), X, "schema.bounds"),
    ("det_bounds_max_detections_10001", _d(_set(P + "max_detections", 10001)), X, "schema.bounds"),
    ("det_bounds_pre_nms_zero", _d(_set(P + "pre_nms_top_k", 0)), X, "schema.bounds"),
    ("det_bounds_pre_nms_100001", _d(_set(P + "pre_nms_top_k", 100001)), X, "schema.bounds"),
    ("det_bounds_margin_negative", _d(_set(P + "score_margin", -0.1)), X, "schema.bounds"),
    ("det_bounds_margin_above_half", _d(_set(P + "score_margin", 0.51)), X, "schema.bounds"),
    # schema.type
    ("det_type_stride_string", _d(_set(P + "stride", "8")), X, "schema.type"),
    ("det_type_stride_float", _d(_set(P + "stride", 8.0)), X, "schema.type"),
    ("det_type_stride_bool", _d(_set(P + "stride", True)), X, "schema.type"),
    ("det_type_stride_null", _d(_set(P + "stride", None)), X, "schema.type"),
    ("det_type_stride_beyond_uint64", _d(_set(P + "stride", 2**70)), X, "schema.type"),
    ("det_type_threshold_string", _d(_set(P + "score_threshold", "0.3")), X, "schema.type"),
    ("det_type_threshold_bool", _d(_set(P + "score_threshold", True)), X, "schema.type"),
    ("det_type_nms_iou_list", _d(_set(P + "nms_iou", [0.5])), X, "schema.type"),
    ("det_type_max_detections_float", _d(_set(P + "max_detections", 100.0)), X, "schema.type"),
    ("det_type_pre_nms_string", _d(_set(P + "pre_nms_top_k", "1000")), X, "schema.type"),
    ("det_type_class_agnostic_int", _d(_set(P + "class_agnostic", 1)), X, "schema.type"),
    ("det_type_background_string", _d(_set(P + "background_class", "false")), X, "schema.type"),
    ("det_type_margin_string", _d(_set(P + "score_margin", "0.05")), X, "schema.type"),
    ("det_type_labels_file_number", _d(_set(P + "labels_file", 3)), X, "schema.type"),
    # schema.enum
    ("det_enum_encoding", _d(_set(P + "encoding", "yolo")), X, "schema.enum"),
    ("det_enum_encoding_number", _d(_set(P + "encoding", 5)), X, "schema.enum"),
    ("det_enum_box_format", _d(_set(P + "box_format", "xywh")), X, "schema.enum"),
    ("det_enum_score_activation", _d(_set(P + "score_activation", "softmax")), X, "schema.enum"),
    ("det_enum_coordinates", _d(_set(P + "coordinates", "pixels")), X, "schema.enum"),
    ("det_enum_type_case", _d(_set(P + "type", "Detection")), X, "schema.enum"),
    ("det_enum_task", _d(_set("task", "Detection")), X, "schema.enum"),
    # schema.extra
    ("det_extra_top_k", _d(_set(P + "top_k", 5)), X, "schema.extra"),
    ("det_extra_apply_softmax", _d(_set(P + "apply_softmax", True)), X, "schema.extra"),
    ("det_extra_unknown", _d(_set(P + "iou_threshold", 0.5)), X, "schema.extra"),
    # path.relative
    ("det_path_labels_dotdot", _d(_set(P + "labels_file", "../labels.txt")), X, "path.relative"),
    ("det_path_labels_absolute", _d(_set(P + "labels_file", "/labels.txt")), X, "path.relative"),
    # manifest.task_postprocess
    ("det_rule_task_classification", _d(_set("task", "classification")), X, "manifest.task_postprocess"),
    ("det_rule_task_default", _d(_del("task")), X, "manifest.task_postprocess"),
    # manifest.detection_output
    ("det_rule_output_rank3_ltrb", _d(_set("outputs.0.shape", [-1, 14, 16])), X, "manifest.detection_output"),
    ("det_rule_output_rank2", _d(_set("outputs.0.shape", [-1, 14])), X, "manifest.detection_output"),
    ("det_rule_output_rank1", _d(_set("outputs.0.shape", [14])), X, "manifest.detection_output"),
    ("det_rule_output_rank0", _d(_set("outputs.0.shape", [])), X, "manifest.detection_output"),
    ("det_rule_output_rank5", _d(_set("outputs.0.shape", [-1, 14, 4, 4, 1])), X, "manifest.detection_output"),
    ("det_rule_output_four_channels", _d(_set("outputs.0.shape", [-1, 4, 4, 4])), X, "manifest.detection_output"),
    ("det_rule_output_one_channel", _d(_set("outputs.0.shape", [1, 1, 4, 4])), X, "manifest.detection_output"),
    ("det_rule_output_rank4_anchor_free", _all(_afg, _set("outputs.0.shape", [-1, 14, 4, 4])), X,
     "manifest.detection_output"),
    ("det_rule_output_anchor_free_four", _all(_afg, _set("outputs.0.shape", [-1, 4, 336])), X,
     "manifest.detection_output"),
    ("det_rule_output_first_is_the_detector", _d(lambda m: m["outputs"].insert(0, {"name": "aux", "shape": [-1, 3]})), X,
     "manifest.detection_output"),
]  # fmt: skip
MANIFEST_CASES += DET_CASES

# Raw-text manifest cases: (name, text, verdict, rule)
_BASE_TEXT = json.dumps(base_manifest())
MANIFEST_TEXT_CASES: list[tuple[str, bytes, str, str]] = [
    ("syntax_truncated", _BASE_TEXT[: len(_BASE_TEXT) // 2].encode(), X, "json.syntax"),
    ("syntax_nan", _BASE_TEXT.replace('"std": [0.3081]', '"std": [NaN]').encode(), X, "json.syntax"),
    (
        "syntax_infinity",
        _BASE_TEXT.replace('"std": [0.3081]', '"std": [Infinity]').encode(),
        X,
        "json.syntax",
    ),
    ("syntax_1e400", _BASE_TEXT.replace('"std": [0.3081]', '"std": [1e400]').encode(), X, "json.syntax"),
    ("syntax_trailing_comma", _BASE_TEXT[:-1].encode() + b",}", X, "json.syntax"),
    ("syntax_empty", b"", X, "json.syntax"),
    (
        "syntax_bad_utf8",
        _BASE_TEXT.replace('"corpus"', '"c\udcffrpus"').encode("utf-8", "surrogateescape"),
        X,
        "json.syntax",
    ),
    ("syntax_single_quotes", b"{'name': 'x'}", X, "json.syntax"),
    ("type_top_level_array", b"[1, 2]", X, "schema.type"),
    ("type_top_level_null", b"null", X, "schema.type"),
    (
        "valid_duplicate_key_last_wins",
        _BASE_TEXT.replace('"name": "corpus"', '"name": 5, "name": "corpus"').encode(),
        V,
        "",
    ),
    (
        "valid_1e-400_underflows_mean",
        _BASE_TEXT.replace('"mean": [0.1307]', '"mean": [1e-400]').encode(),
        V,
        "",
    ),
]

SPEC_CASES: list[tuple[str, Any, str, str]] = [
    ("valid_mnist", {"steps": MNIST_STEPS}, V, ""),
    ("valid_imagenet", {"steps": IMAGENET_STEPS}, V, ""),
    ("valid_minimal", {"steps": [{"op": "decode"}, {"op": "to_float"}, {"op": "layout"}]}, V, ""),
    ("valid_gray_to_rgb", {"steps": [{"op": "decode", "color": "gray"}, {"op": "cvt_color", "code": "GRAY2RGB"},
                                     {"op": "to_float"}, {"op": "layout", "to": "NHWC"}]}, V, ""),
    ("valid_shorter_side_only", {"steps": [{"op": "decode"}, {"op": "resize", "mode": "shorter_side", "size": [64]},
                                           {"op": "to_float"}, {"op": "layout"}]}, V, ""),
    ("type_not_object", [1, 2], X, "schema.type"),
    ("type_size_string", {"steps": [{"op": "decode"}, {"op": "center_crop", "size": ["8", 8]}, {"op": "to_float"},
                                    {"op": "layout"}]}, X, "schema.type"),
    ("required_steps", {}, X, "schema.required"),
    ("required_cvt_code", {"steps": [{"op": "decode"}, {"op": "cvt_color"}, {"op": "to_float"}, {"op": "layout"}]},
     X, "schema.required"),
    ("extra_top_level", {"steps": MNIST_STEPS, "version": 2}, X, "schema.extra"),
    ("enum_cvt_code", {"steps": [{"op": "decode"}, {"op": "cvt_color", "code": "BGR2HSV"}, {"op": "to_float"},
                                 {"op": "layout"}]}, X, "schema.enum"),
    ("enum_layout_to", {"steps": [{"op": "decode"}, {"op": "to_float"}, {"op": "layout", "to": "CHW"}]}, X,
     "schema.enum"),
    ("bounds_crop_one_dim", {"steps": [{"op": "decode"}, {"op": "center_crop", "size": [8]}, {"op": "to_float"},
                                       {"op": "layout"}]}, X, "schema.bounds"),
    ("bounds_crop_zero", {"steps": [{"op": "decode"}, {"op": "center_crop", "size": [0, 8]}, {"op": "to_float"},
                                    {"op": "layout"}]}, X, "schema.bounds"),
    ("bounds_crop_int32_overflow", {"steps": [{"op": "decode"}, {"op": "center_crop", "size": [2**32 + 8, 8]},
                                              {"op": "to_float"}, {"op": "layout"}]}, X, "schema.bounds"),
    ("bounds_too_many_steps", {"steps": [{"op": "decode"}] + [{"op": "to_float"}] * 64 + [{"op": "layout"}]}, X,
     "schema.bounds"),
    ("rule_first_decode", {"steps": [{"op": "to_float"}, {"op": "decode"}, {"op": "layout"}]}, X,
     "spec.first_decode"),
    ("rule_last_layout", {"steps": [{"op": "decode"}, {"op": "layout"}, {"op": "to_float"}]}, X, "spec.last_layout"),
    ("rule_two_to_float", {"steps": [{"op": "decode"}, {"op": "to_float"}, {"op": "to_float"}, {"op": "layout"}]}, X,
     "spec.one_to_float"),
    ("rule_crop_after_float", {"steps": [{"op": "decode"}, {"op": "to_float"}, {"op": "center_crop", "size": [8, 8]},
                                         {"op": "layout"}]}, X, "spec.geometry_before_float"),
    ("rule_normalize_before_float", {"steps": [{"op": "decode"}, {"op": "normalize", "mean": [0], "std": [1]},
                                               {"op": "to_float"}, {"op": "layout"}]}, X, "spec.normalize_after_float"),
    ("rule_std_1e-45", {"steps": [{"op": "decode"}, {"op": "to_float"},
                                  {"op": "normalize", "mean": [0.5], "std": [1e-45]}, {"op": "layout"}]}, X,
     "spec.std_magnitude"),
    ("rule_letterbox_one_size", {"steps": [{"op": "decode"}, {"op": "resize", "mode": "letterbox", "size": [8]},
                                           {"op": "to_float"}, {"op": "layout"}]}, X, "spec.resize_size_arity"),
    ("rule_normalize_lengths", {"steps": [{"op": "decode"}, {"op": "to_float"},
                                          {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.2]},
                                          {"op": "layout"}]}, X, "spec.normalize_lengths"),
]  # fmt: skip


def npy_bytes(descr: str, shape: str, data: bytes, version: int = 1, fortran: str = "False") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    return npy_raw(header, data, version)


def npy_raw(header: str, data: bytes, version: int = 1) -> bytes:
    pre = 10 if version == 1 else 12
    h = header.encode("latin-1")
    h = h + b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    if version == 1:
        return b"\x93NUMPY" + bytes([1, 0]) + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(h)) + h + data


NPY_CASES: list[tuple[str, bytes, str, str]] = [
    ("valid_f4_2x3", npy_bytes("<f4", "(2, 3)", struct.pack("<6f", *range(6))), V, ""),
    ("valid_u1_hwc", npy_bytes("|u1", "(2, 2, 3)", bytes(range(12))), V, ""),
    ("valid_i8_scalar", npy_bytes("<i8", "()", struct.pack("<q", 7)), V, ""),
    ("valid_empty", npy_bytes("<f4", "(0,)", b""), V, ""),
    ("valid_v2_header", npy_bytes("<f2", "(4,)", b"\x00" * 8, version=2), V, ""),
    ("valid_b1_as_lt", npy_bytes("<b1", "(3,)", b"\x01\x00\x01"), V, ""),
    ("valid_long_suffix", npy_bytes("<f4", "(2L, 1L)", b"\x00" * 8), V, ""),
    ("magic_bad", b"\x93NUMPX" + npy_bytes("<f4", "(1,)", b"\x00" * 4)[6:], X, "npy.magic"),
    ("magic_short_file", b"\x93NUMPY\x01", X, "npy.magic"),
    ("version_4", b"\x93NUMPY\x04" + npy_bytes("<f4", "(1,)", b"\x00" * 4)[7:], X, "npy.version"),
    ("header_truncated", npy_bytes("<f4", "(1,)", b"")[:40], X, "npy.header"),
    ("header_no_shape", npy_raw("{'descr': '<f4', 'fortran_order': False, }", b"\x00" * 4), X, "npy.header"),
    ("header_fortran_maybe", npy_bytes("<f4", "(1,)", b"\x00" * 4, fortran="Maybe"), X, "npy.header"),
    ("fortran_true", npy_bytes("<f4", "(2, 2)", b"\x00" * 16, fortran="True"), X, "npy.fortran"),
    ("dtype_big_endian", npy_bytes(">f4", "(1,)", b"\x00" * 4), X, "npy.dtype"),
    ("dtype_object", npy_bytes("|O", "(1,)", b"\x00" * 8), X, "npy.dtype"),
    ("dtype_structured", npy_raw("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", b"\x00" * 4),
     X, "npy.dtype"),
    ("shape_not_tuple", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", b"\x00" * 12), X,
     "npy.shape"),
    ("shape_negative", npy_bytes("<f4", "(-1, 2)", b"\x00" * 8), X, "npy.shape"),
    ("shape_word", npy_bytes("<f4", "(two,)", b"\x00" * 8), X, "npy.shape"),
    ("shape_beyond_int64", npy_bytes("<f4", "(99999999999999999999,)", b""), X, "npy.shape"),
    ("size_short", npy_bytes("<f4", "(2, 3)", b"\x00" * 20), X, "npy.size"),
    ("size_long", npy_bytes("<f4", "(2, 3)", b"\x00" * 28), X, "npy.size"),
    ("size_count_overflows_int64", npy_bytes("<f4", "(4611686018427387904, 4)", b""), X, "npy.size"),
    ("size_overflow_then_zero", npy_bytes("<f4", "(4611686018427387904, 4, 0)", b""), X, "npy.size"),
    ("size_bytes_overflow", npy_bytes("<f8", "(4611686018427387904,)", b""), X, "npy.size"),
]  # fmt: skip


def _sha(b: bytes) -> tuple[str, int]:
    return hashlib.sha256(b).hexdigest(), len(b)


MODEL = b"not really onnx: load() does not parse the model\n"
LABELS10 = "".join(f"digit {i}\n" for i in range(10)).encode()
OUTSIDE = b"a file outside every bundle\n"


def _bundle(root: Path, labels: bytes | None = LABELS10, mutate: Mut | None = None,
            links: dict[str, str] | None = None, files: dict[str, bytes] | None = None) -> None:  # fmt: skip
    root.mkdir(parents=True)
    content = {"models/tiny.onnx": MODEL, **(files or {})}
    if labels is not None:
        content["labels.txt"] = labels
    for rel, b in content.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b)
    for rel, target in (links or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if (root / rel).is_dir():
            shutil.rmtree(root / rel)
        elif (root / rel).exists():
            (root / rel).unlink()
        os.symlink(target, root / rel)
    m = base_manifest()
    m["files"] = {}
    for rel in sorted(content):
        sha, size = _sha(content[rel])
        m["files"][rel] = {"sha256": sha, "size": size}
    if mutate:
        mutate(m)
    (root / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")


BUNDLE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("valid_bundle", {}, V, ""),
    ("valid_no_labels", {"labels": None}, V, ""),
    ("valid_crlf_labels", {"labels": LABELS10.replace(b"\n", b"\r\n")}, V, ""),
    ("valid_symlink_inside", {"files": {"models/real.onnx": MODEL}, "links": {"models/tiny.onnx": "real.onnx"}}, V,
     ""),
    ("label_count_nine", {"labels": b"".join(f"digit {i}\n".encode() for i in range(9))}, X, "bundle.label_count"),
    ("label_count_eleven", {"labels": LABELS10 + b"extra\n"}, X, "bundle.label_count"),
    ("symlink_labels_out", {"links": {"labels.txt": "../outside.txt"}}, X, "bundle.path_inside"),
    ("symlink_model_out", {"labels": None, "links": {"models/tiny.onnx": "../../outside.txt"}}, X,
     "bundle.path_inside"),
    ("symlink_dir_out", {"labels": None, "files": {"extra/data.bin": b"x"}, "links": {"extra": "../outside_dir"}}, X,
     "bundle.path_inside"),
    ("file_missing", {"mutate": _set(["files", "golden/0.png"], {"sha256": SHA, "size": 1})}, X, "bundle.file_missing"),
    ("file_hash", {"mutate": _set(["files", "models/tiny.onnx", "sha256"], "f" * 64)}, X, "bundle.file_hash"),
    ("file_size", {"mutate": _set(["files", "models/tiny.onnx", "size"], 1)}, X, "bundle.file_hash"),
    # detection: the labels are the C = shape[1] - 4 class channels, not the last axis
    ("valid_detection_bundle", {"mutate": _det}, V, ""),
    ("valid_detection_dynamic_channels", {"mutate": _d(_set("outputs.0.shape", [-1, -1, 4, 4]))}, V, ""),
    ("valid_detection_anchor_free", {"mutate": _afg}, V, ""),
    ("detection_label_count_last_axis", {"labels": b"".join(f"d{i}\n".encode() for i in range(4)), "mutate": _det},
     X, "bundle.label_count"),
    ("detection_label_count_channels", {"labels": b"".join(f"d{i}\n".encode() for i in range(14)), "mutate": _det},
     X, "bundle.label_count"),
]  # fmt: skip


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    cases: list[dict[str, str]] = []

    def add(kind: str, name: str, rel: str, verdict: str, rule: str) -> None:
        cases.append({"kind": kind, "name": name, "path": rel, "verdict": verdict, "rule": rule})

    d = CORPUS / "manifest"
    d.mkdir(parents=True)
    for name, mut, verdict, rule in MANIFEST_CASES:
        m = base_manifest()
        mut(m)
        (d / f"{name}.json").write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n")
        add("manifest", name, f"manifest/{name}.json", verdict, rule)
    for name, text, verdict, rule in MANIFEST_TEXT_CASES:
        (d / f"{name}.json").write_bytes(text)
        add("manifest", name, f"manifest/{name}.json", verdict, rule)
    d = CORPUS / "spec"
    d.mkdir()
    for name, obj, verdict, rule in SPEC_CASES:
        (d / f"{name}.json").write_text(json.dumps(obj, indent=2) + "\n")
        add("spec", name, f"spec/{name}.json", verdict, rule)
    d = CORPUS / "npy"
    d.mkdir()
    for name, b, verdict, rule in NPY_CASES:
        (d / f"{name}.npy").write_bytes(b)
        add("npy", name, f"npy/{name}.npy", verdict, rule)
    d = CORPUS / "bundle"
    d.mkdir()
    (d / "outside.txt").write_bytes(OUTSIDE)
    (d / "outside_dir").mkdir()
    (d / "outside_dir" / "data.bin").write_bytes(b"x")
    for name, kw, verdict, rule in BUNDLE_CASES:
        _bundle(d / name, **kw)
        add("bundle", name, f"bundle/{name}", verdict, rule)
    names = [c["kind"] + "/" + c["name"] for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    (CORPUS / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {CORPUS}")


if __name__ == "__main__":
    main()
