// The bundle manifest (manifest.json), the same schema as edgekit/bundle.py (schema_version 1).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgekit/contract_generated.hpp"

namespace edgekit {

constexpr int kSchemaVersion = contract::kSchemaVersion;

/// One preprocessing step; which fields matter depends on ``op`` (see edgekit/preprocess/spec.py).
struct Step {
  std::string op;                    ///< decode | cvt_color | resize | center_crop | to_float | normalize | layout
  std::string color = "bgr";         ///< decode: bgr | gray
  std::string exif = "apply";        ///< decode: apply | ignore (EXIF orientation; ignore = IMREAD_IGNORE_ORIENTATION)
  std::string code;                  ///< cvt_color: BGR2RGB, RGB2BGR, BGR2GRAY, RGB2GRAY, GRAY2BGR, GRAY2RGB
  std::string mode = "stretch";      ///< resize: stretch | shorter_side | letterbox
  std::vector<int> size;             ///< resize / center_crop
  std::string interpolation = "linear";  ///< resize: linear | area | nearest | linear_exact
  int pad_value = 0;                 ///< resize letterbox
  double scale = 1.0 / 255.0;        ///< to_float
  std::vector<double> mean, std;     ///< normalize
  std::string to = "NCHW";           ///< layout: NCHW | NHWC
};

struct PreprocessSpec {
  std::vector<Step> steps;
  int output_channels() const;
  /// {h, w} of the final image, or nullopt when it depends on the input.
  std::optional<std::pair<int, int>> output_hw() const;
  /// The tensor shape with batch 1, e.g. {1, 3, 224, 224}; throws BundleError without a fixed size.
  std::vector<int64_t> input_shape() const;
  std::vector<std::string> step_names() const;  ///< "{index:02d}_{op}"
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;  ///< -1 = dynamic axis (the batch)
  std::string dtype = "float32";
  std::string layout;          ///< inputs only: NCHW | NHWC
};

struct ModelEntry {
  std::string id, file, precision, role, int8_flavour;
  int opset = 0;
};

/// The postprocess block's common part: ``type`` (classification | detection) and the labels file; the
/// classification fields (apply_softmax, top_k) are meaningful when type == "classification".
struct PostprocessInfo {
  std::string type = "classification";
  bool apply_softmax = true;
  int top_k = 5;
  std::string labels_file = "labels.txt";
};

/// ``postprocess.type: detection`` (edgekit/bundle.py DetectionPostprocess; interpreted by detect.hpp).
struct DetectionPostprocess {
  std::string encoding = "edgekit_ltrb";     ///< edgekit_ltrb [N, 4 + C, H, W] | anchor_free_grid [N, 4 + C, A]
  int stride = 8;                            ///< edgekit_ltrb: input pixels per output cell
  std::string box_format = "cxcywh";         ///< anchor_free_grid: cxcywh | xyxy
  std::string score_activation = "sigmoid";  ///< sigmoid | none
  double score_threshold = 0.3;              ///< keep score >= threshold (compared in float32)
  double nms_iou = 0.5;                      ///< suppress IoU > nms_iou
  int max_detections = 100;
  int pre_nms_top_k = 1000;
  bool class_agnostic = false;
  bool background_class = false;             ///< class 0 is the background: never reported
  std::string coordinates = "original";      ///< original | input
  double score_margin = 0.05;                ///< parity: detections this close to the threshold may differ in count
  std::string labels_file = "labels.txt";
};

struct FileEntry {
  std::string sha256;
  int64_t size = 0;
};

struct GoldenItem {
  std::string name, input;
  std::optional<int> label;
};

/// A TensorRT engine recorded in manifest.extra["tensorrt"]["engines"][model id].
struct TrtEngineEntry {
  std::string file;       ///< the serialized engine, relative to the bundle
  std::string metadata;   ///< its metadata JSON (default: file + ".json")
  std::string precision;  ///< engine precision the bundle expects (default: the model entry's)
  std::string onnx;       ///< the ONNX it was built from (default: the model entry's file)
};

struct Manifest {
  int schema_version = kSchemaVersion;
  std::string name, device, task, created_by, created_at;
  TensorInfo input;
  std::vector<TensorInfo> outputs;
  PreprocessSpec preprocess;
  std::string preprocess_sha256;
  PostprocessInfo postprocess;                   ///< type and labels_file for every task
  std::optional<DetectionPostprocess> detection;  ///< set exactly when postprocess.type == "detection"
  std::vector<ModelEntry> models;
  std::string default_model;
  std::vector<GoldenItem> golden;
  std::map<std::string, FileEntry> files;
  std::map<std::string, TrtEngineEntry> trt_engines;  ///< from extra.tensorrt.engines
  std::string extra_json = "{}";                      ///< the whole ``extra`` object, serialized

  bool is_detection() const { return detection.has_value(); }
  /// The entry for ``id`` (empty = default_model); throws BundleError listing the valid ids.
  const ModelEntry& model(const std::string& id = "") const;
};

/// Parse and validate manifest text; ``where`` (the file path) is named in every error.
/// Validated against the schema generated from the pydantic models (contract_generated.hpp) and the named
/// rules (contract.hpp); throws ContractError (a BundleError) with the broken rule's id.
Manifest parse_manifest(const std::string& text, const std::string& where);
/// Parse a preprocessing spec object ({"steps": [...]}, as PreprocessSpec.to_json_obj() writes it) and validate it.
PreprocessSpec parse_spec(const std::string& text, const std::string& where);
/// Parse a detection postprocess object (``{"type": "detection", ...}``, as the manifest's postprocess block),
/// validated against the schema's DetectionPostprocess; throws ContractError.
DetectionPostprocess parse_detection_postprocess(const std::string& text, const std::string& where);
/// Validate a preprocessing spec's step order and parameters (the rules of spec.py).
void validate_spec(const PreprocessSpec& spec, const std::string& where);

}  // namespace edgekit
