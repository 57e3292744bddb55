#include "edgekit/manifest.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "edgekit/contract.hpp"
#include "edgekit/error.hpp"

namespace edgekit {
using nlohmann::json;

namespace {
const char* kFix = "rebuild the bundle with `edgekit build`";

[[noreturn]] void invalid(const std::string& where, const std::string& at, const std::string& msg) {
  throw BundleError(where + " is invalid at '" + at + "': " + msg, kFix);
}

const json& need(const json& o, const char* key, const std::string& where, const std::string& at) {
  if (!o.is_object()) invalid(where, at, "expected an object");
  auto it = o.find(key);
  if (it == o.end()) invalid(where, at.empty() ? key : at + "." + key, "field required");
  return *it;
}

std::string str(const json& o, const char* key, const std::string& where, const std::string& at,
                const char* def = nullptr) {
  const std::string path = at.empty() ? key : at + "." + key;
  if (!o.contains(key) || (def && o.at(key).is_null())) {
    if (def) return def;
    invalid(where, path, "field required");
  }
  const json& v = o.at(key);
  if (!v.is_string()) invalid(where, path, "expected a string");
  return v.get<std::string>();
}

int64_t integer(const json& v, const std::string& where, const std::string& at) {
  if (!v.is_number_integer()) invalid(where, at, "expected an integer");
  return v.get<int64_t>();
}

double number(const json& v, const std::string& where, const std::string& at) {
  if (!v.is_number()) invalid(where, at, "expected a number");
  return v.get<double>();
}

template <class T>
void one_of(const T& v, std::initializer_list<T> allowed, const std::string& where, const std::string& at) {
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    std::string s;
    for (const auto& a : allowed) s += (s.empty() ? "" : ", ") + std::string(a);
    invalid(where, at, "'" + std::string(v) + "' is not one of " + s);
  }
}

std::vector<int64_t> shape_of(const json& v, const std::string& where, const std::string& at) {
  if (!v.is_array()) invalid(where, at, "expected a list of integers");
  std::vector<int64_t> s;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto d = integer(v[i], where, at + "." + std::to_string(i));
    if (d < -1 || d == 0) invalid(where, at + "." + std::to_string(i), "dimensions are positive or -1 (dynamic)");
    s.push_back(d);
  }
  return s;
}

TensorInfo tensor_of(const json& v, const std::string& where, const std::string& at, bool is_input) {
  TensorInfo t;
  t.name = str(v, "name", where, at);
  t.shape = shape_of(need(v, "shape", where, at), where, at + ".shape");
  t.dtype = str(v, "dtype", where, at, "float32");
  one_of<std::string>(t.dtype, {"float32", "float16", "uint8", "int8", "int64"}, where, at + ".dtype");
  if (is_input) {
    t.layout = str(v, "layout", where, at, "NCHW");
    one_of<std::string>(t.layout, {"NCHW", "NHWC"}, where, at + ".layout");
  }
  return t;
}

Step step_of(const json& v, const std::string& where, const std::string& at) {
  Step s;
  s.op = str(v, "op", where, at);
  one_of<std::string>(s.op, {"decode", "cvt_color", "resize", "center_crop", "to_float", "normalize", "layout"}, where,
                      at + ".op");
  auto ints = [&](const char* key) {
    std::vector<int> out;
    const json& a = need(v, key, where, at);
    if (!a.is_array()) invalid(where, at + "." + key, "expected a list of integers");
    for (size_t i = 0; i < a.size(); ++i)
      out.push_back(static_cast<int>(integer(a[i], where, at + "." + key + "." + std::to_string(i))));
    return out;
  };
  auto nums = [&](const char* key) {
    std::vector<double> out;
    const json& a = need(v, key, where, at);
    if (!a.is_array() || a.empty()) invalid(where, at + "." + key, "expected a non-empty list of numbers");
    for (size_t i = 0; i < a.size(); ++i) out.push_back(number(a[i], where, at + "." + key + "." + std::to_string(i)));
    return out;
  };
  if (s.op == "decode") {
    s.color = str(v, "color", where, at, "bgr");
    one_of<std::string>(s.color, {"bgr", "gray"}, where, at + ".color");
    // [issue 12, projects-data] EXIF orientation rule of the decode step (edgekit/preprocess/spec.py Decode.exif).
    s.exif = str(v, "exif", where, at, "apply");
    one_of<std::string>(s.exif, {"apply", "ignore"}, where, at + ".exif");
  } else if (s.op == "cvt_color") {
    s.code = str(v, "code", where, at);
    one_of<std::string>(s.code, {"BGR2RGB", "RGB2BGR", "BGR2GRAY", "RGB2GRAY", "GRAY2BGR", "GRAY2RGB"}, where,
                        at + ".code");
  } else if (s.op == "resize") {
    s.mode = str(v, "mode", where, at, "stretch");
    one_of<std::string>(s.mode, {"stretch", "shorter_side", "letterbox"}, where, at + ".mode");
    s.size = ints("size");
    s.interpolation = str(v, "interpolation", where, at, "linear");
    one_of<std::string>(s.interpolation, {"linear", "area", "nearest", "linear_exact"}, where, at + ".interpolation");
    if (v.contains("pad_value")) s.pad_value = static_cast<int>(integer(v.at("pad_value"), where, at + ".pad_value"));
    if (s.pad_value < 0 || s.pad_value > 255) invalid(where, at + ".pad_value", "must be 0..255");
    const size_t want = s.mode == "shorter_side" ? 1 : 2;
    if (s.size.size() != want)
      invalid(where, at, "resize mode '" + s.mode + "' takes size with " + std::to_string(want) + " element(s)");
    for (int d : s.size)
      if (d <= 0) invalid(where, at, "resize sizes must be positive");
  } else if (s.op == "center_crop") {
    s.size = ints("size");
    if (s.size.size() != 2) invalid(where, at + ".size", "center_crop takes [h, w]");
    for (int d : s.size)
      if (d <= 0) invalid(where, at, "crop sizes must be positive");
  } else if (s.op == "to_float") {
    if (v.contains("scale")) s.scale = number(v.at("scale"), where, at + ".scale");
  } else if (s.op == "normalize") {
    s.mean = nums("mean");
    s.std = nums("std");
    if (s.mean.size() != s.std.size()) invalid(where, at, "normalize needs as many std values as mean values");
    for (double d : s.std)
      if (d == 0) invalid(where, at, "normalize std must not be zero");
  } else if (s.op == "layout") {
    s.to = str(v, "to", where, at, "NCHW");
    one_of<std::string>(s.to, {"NCHW", "NHWC"}, where, at + ".to");
  }
  return s;
}
DetectionPostprocess detection_of(const json& p, const std::string& where) {
  DetectionPostprocess d;
  const std::string at = "postprocess";
  auto boolean = [&](const char* key, bool& out) {
    if (!p.contains(key)) return;
    if (!p[key].is_boolean()) invalid(where, at + "." + key, "expected true/false");
    out = p[key].get<bool>();
  };
  auto integer_in = [&](const char* key, int& out, int64_t lo, int64_t hi) {
    if (!p.contains(key)) return;
    const int64_t v = integer(p[key], where, at + "." + key);
    if (v < lo || v > hi) invalid(where, at + "." + key, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
    out = static_cast<int>(v);
  };
  auto number_in = [&](const char* key, double& out, double lo, double hi, bool lo_open) {
    if (!p.contains(key)) return;
    const double v = number(p[key], where, at + "." + key);
    if (!(lo_open ? v > lo : v >= lo) || !(v <= hi)) invalid(where, at + "." + key, "is out of range");
    out = v;
  };
  namespace c = contract;
  d.encoding = str(p, "encoding", where, at, "edgekit_ltrb");
  one_of<std::string>(d.encoding, {"edgekit_ltrb", "anchor_free_grid"}, where, at + ".encoding");
  integer_in("stride", d.stride, c::kDetectionPostprocess_StrideMin, c::kDetectionPostprocess_StrideMax);
  d.box_format = str(p, "box_format", where, at, "cxcywh");
  one_of<std::string>(d.box_format, {"cxcywh", "xyxy"}, where, at + ".box_format");
  d.score_activation = str(p, "score_activation", where, at, "sigmoid");
  one_of<std::string>(d.score_activation, {"sigmoid", "none"}, where, at + ".score_activation");
  number_in("score_threshold", d.score_threshold, c::kDetectionPostprocess_ScoreThresholdMin,
            c::kDetectionPostprocess_ScoreThresholdMax, false);
  number_in("nms_iou", d.nms_iou, c::kDetectionPostprocess_NmsIouGt, c::kDetectionPostprocess_NmsIouMax, true);
  integer_in("max_detections", d.max_detections, c::kDetectionPostprocess_MaxDetectionsMin,
             c::kDetectionPostprocess_MaxDetectionsMax);
  integer_in("pre_nms_top_k", d.pre_nms_top_k, c::kDetectionPostprocess_PreNmsTopKMin,
             c::kDetectionPostprocess_PreNmsTopKMax);
  boolean("class_agnostic", d.class_agnostic);
  boolean("background_class", d.background_class);
  d.coordinates = str(p, "coordinates", where, at, "original");
  one_of<std::string>(d.coordinates, {"original", "input"}, where, at + ".coordinates");
  number_in("score_margin", d.score_margin, c::kDetectionPostprocess_ScoreMarginMin,
            c::kDetectionPostprocess_ScoreMarginMax, false);
  return d;
}
}  // namespace

// -- PreprocessSpec ---------------------------------------------------------------------------------
int PreprocessSpec::output_channels() const {
  int c = (!steps.empty() && steps[0].color == "gray") ? 1 : 3;
  for (const auto& s : steps)
    if (s.op == "cvt_color") c = (s.code.size() >= 4 && s.code.compare(s.code.size() - 4, 4, "GRAY") == 0) ? 1 : 3;
  return c;
}

std::optional<std::pair<int, int>> PreprocessSpec::output_hw() const {
  std::optional<std::pair<int, int>> hw;
  for (const auto& s : steps) {
    if (s.op == "resize" && s.mode != "shorter_side")
      hw = std::make_pair(s.size[0], s.size[1]);
    else if (s.op == "resize")
      hw.reset();
    else if (s.op == "center_crop")
      hw = std::make_pair(s.size[0], s.size[1]);
  }
  return hw;
}

std::vector<int64_t> PreprocessSpec::input_shape() const {
  const auto hw = output_hw();
  if (!hw)
    throw BundleError("the preprocessing spec has no fixed output size",
                      "end the geometry with a resize (stretch/letterbox) or a center_crop");
  const int64_t c = output_channels();
  if (steps.back().to == "NCHW") return {1, c, hw->first, hw->second};
  return {1, hw->first, hw->second, c};
}

std::vector<std::string> PreprocessSpec::step_names() const {
  std::vector<std::string> names;
  char buf[32];
  for (size_t i = 0; i < steps.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02zu_", i);
    names.push_back(buf + steps[i].op);
  }
  return names;
}

void validate_spec(const PreprocessSpec& spec, const std::string& where) {
  const std::string at = "preprocess.steps";
  const auto& st = spec.steps;
  if (st.size() < 2) invalid(where, at, "at least 2 steps are needed (decode ... layout)");
  auto count = [&](const char* op) { return std::count_if(st.begin(), st.end(), [&](const Step& s) { return s.op == op; }); };
  if (st.front().op != "decode" || count("decode") != 1)
    invalid(where, at, "the first step must be 'decode', and only the first");
  if (st.back().op != "layout" || count("layout") != 1)
    invalid(where, at, "the last step must be 'layout', and only the last");
  if (count("to_float") != 1) invalid(where, at, "exactly one 'to_float' step is needed");
  size_t i_float = 0;
  for (size_t i = 0; i < st.size(); ++i)
    if (st[i].op == "to_float") i_float = i;
  for (size_t i = 0; i < st.size(); ++i) {
    const auto& op = st[i].op;
    if ((op == "resize" || op == "center_crop" || op == "cvt_color") && i > i_float)
      invalid(where, at, "step " + std::to_string(i) + " '" + op + "' must come before 'to_float' (geometry stays in uint8)");
    if (op == "normalize" && i < i_float)
      invalid(where, at, "step " + std::to_string(i) + " 'normalize' must come after 'to_float'");
  }
}

// -- Manifest ---------------------------------------------------------------------------------------
const ModelEntry& Manifest::model(const std::string& id) const {
  const std::string want = id.empty() ? default_model : id;
  for (const auto& m : models)
    if (m.id == want) return m;
  std::string ids;
  for (const auto& m : models) ids += (ids.empty() ? "" : ", ") + m.id;
  throw BundleError("bundle has no model '" + want + "'", "use one of: " + ids);
}

PreprocessSpec parse_spec(const std::string& text, const std::string& where) {
  const json j = contract::parse_json(text, where);
  contract::validate(j, "PreprocessSpec", where);  // the generated schema + the spec.* rules
  const json& steps = need(j, "steps", where, "preprocess");
  if (!steps.is_array()) invalid(where, "preprocess.steps", "expected a list");
  PreprocessSpec spec;
  for (size_t i = 0; i < steps.size(); ++i)
    spec.steps.push_back(step_of(steps[i], where, "preprocess.steps." + std::to_string(i)));
  validate_spec(spec, where);
  return spec;
}

DetectionPostprocess parse_detection_postprocess(const std::string& text, const std::string& where) {
  const json j = contract::parse_json(text, where);
  contract::validate(j, "DetectionPostprocess", where);
  DetectionPostprocess d = detection_of(j, where);
  d.labels_file = str(j, "labels_file", where, "postprocess", "labels.txt");
  return d;
}

Manifest parse_manifest(const std::string& text, const std::string& where) {
  const json j = contract::parse_json(text, where);
  // Rule manifest.schema_version first (a newer manifest may not match this schema), as edgekit.bundle does.
  if (j.is_object() && j.contains("schema_version") && j["schema_version"].is_number_integer() &&
      (j["schema_version"].is_number_unsigned() ? j["schema_version"].get<uint64_t>() > static_cast<uint64_t>(kSchemaVersion)
                                                : j["schema_version"].get<int64_t>() > kSchemaVersion))
    throw ContractError(where + " has schema_version " + j["schema_version"].dump() +
                            ", newer than this edgekit runtime understands (" + std::to_string(kSchemaVersion) + ")",
                        "upgrade the edgekit runtime (rebuild cpp_runtime from a newer edgekit)",
                        contract::rule::kManifestSchemaVersion, "schema_version");
  contract::validate(j, "", where);  // the generated schema + every x-edgekit-rules rule
  Manifest m;
  if (j.contains("schema_version")) m.schema_version = static_cast<int>(integer(j["schema_version"], where, "schema_version"));
  const std::string format = str(j, "format", where, "", "edgekit-bundle");
  if (format != "edgekit-bundle") invalid(where, "format", "'" + format + "' is not 'edgekit-bundle'");
  m.name = str(j, "name", where, "");
  m.device = str(j, "device", where, "");
  m.task = str(j, "task", where, "", "classification");
  one_of<std::string>(m.task, {"classification", "detection"}, where, "task");
  m.created_by = str(j, "created_by", where, "", "");
  m.created_at = str(j, "created_at", where, "", "");
  m.input = tensor_of(need(j, "input", where, ""), where, "input", true);
  const json& outs = need(j, "outputs", where, "");
  if (!outs.is_array() || outs.empty()) invalid(where, "outputs", "expected a non-empty list");
  for (size_t i = 0; i < outs.size(); ++i) m.outputs.push_back(tensor_of(outs[i], where, "outputs." + std::to_string(i), false));

  const json& pre = need(j, "preprocess", where, "");
  const json& steps = need(pre, "steps", where, "preprocess");
  if (!steps.is_array()) invalid(where, "preprocess.steps", "expected a list");
  for (size_t i = 0; i < steps.size(); ++i)
    m.preprocess.steps.push_back(step_of(steps[i], where, "preprocess.steps." + std::to_string(i)));
  validate_spec(m.preprocess, where);
  m.preprocess_sha256 = str(j, "preprocess_sha256", where, "", "");

  if (j.contains("postprocess")) {
    const json& p = j["postprocess"];
    if (!p.is_object()) invalid(where, "postprocess", "expected an object");
    m.postprocess.type = str(p, "type", where, "postprocess", "classification");
    one_of<std::string>(m.postprocess.type, {"classification", "detection"}, where, "postprocess.type");
    if (m.postprocess.type == "detection") m.detection = detection_of(p, where);
  }
  if (j.contains("postprocess") && !m.detection) {
    const json& p = j["postprocess"];
    if (p.contains("apply_softmax")) {
      if (!p["apply_softmax"].is_boolean()) invalid(where, "postprocess.apply_softmax", "expected true/false");
      m.postprocess.apply_softmax = p["apply_softmax"].get<bool>();
    }
    if (p.contains("top_k")) m.postprocess.top_k = static_cast<int>(integer(p["top_k"], where, "postprocess.top_k"));
    if (m.postprocess.top_k < 1) invalid(where, "postprocess.top_k", "must be >= 1");
  }
  if (j.contains("postprocess"))
    m.postprocess.labels_file = str(j["postprocess"], "labels_file", where, "postprocess", "labels.txt");
  if (m.detection) m.detection->labels_file = m.postprocess.labels_file;
  if (m.task != m.postprocess.type) invalid(where, "task", "task '" + m.task + "' disagrees with postprocess.type");

  const json& models = need(j, "models", where, "");
  if (!models.is_array() || models.empty()) invalid(where, "models", "expected a non-empty list");
  std::set<std::string> ids;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string at = "models." + std::to_string(i);
    ModelEntry e;
    e.id = str(models[i], "id", where, at);
    e.file = str(models[i], "file", where, at);
    e.precision = str(models[i], "precision", where, at);
    one_of<std::string>(e.precision, {"fp32", "fp16", "int8"}, where, at + ".precision");
    e.role = str(models[i], "role", where, at);
    e.int8_flavour = str(models[i], "int8_flavour", where, at, "");
    e.opset = static_cast<int>(integer(need(models[i], "opset", where, at), where, at + ".opset"));
    if (!ids.insert(e.id).second) invalid(where, "models", "model ids must be unique ('" + e.id + "' repeats)");
    m.models.push_back(e);
  }
  m.default_model = str(j, "default_model", where, "");
  if (!ids.count(m.default_model)) invalid(where, "default_model", "'" + m.default_model + "' is not one of the model ids");

  if (j.contains("golden")) {
    const json& g = j["golden"];
    if (!g.is_array()) invalid(where, "golden", "expected a list");
    for (size_t i = 0; i < g.size(); ++i) {
      const std::string at = "golden." + std::to_string(i);
      GoldenItem it;
      it.name = str(g[i], "name", where, at);
      it.input = str(g[i], "input", where, at);
      if (g[i].contains("label") && !g[i]["label"].is_null())
        it.label = static_cast<int>(integer(g[i]["label"], where, at + ".label"));
      m.golden.push_back(it);
    }
  }
  if (j.contains("files")) {
    const json& f = j["files"];
    if (!f.is_object()) invalid(where, "files", "expected an object");
    for (auto it = f.begin(); it != f.end(); ++it) {
      const std::string at = "files." + it.key();
      FileEntry e;
      e.sha256 = str(it.value(), "sha256", where, at);
      e.size = integer(need(it.value(), "size", where, at), where, at + ".size");
      if (e.sha256.size() != 64) invalid(where, at + ".sha256", "expected 64 hex digits");
      m.files[it.key()] = e;
    }
  }
  if (j.contains("extra")) {
    const json& x = j["extra"];
    if (!x.is_object()) invalid(where, "extra", "expected an object");
    m.extra_json = x.dump();
    if (x.contains("tensorrt") && x["tensorrt"].is_object() && x["tensorrt"].contains("engines")) {
      const json& en = x["tensorrt"]["engines"];
      if (!en.is_object()) invalid(where, "extra.tensorrt.engines", "expected an object keyed by model id");
      for (auto it = en.begin(); it != en.end(); ++it) {
        const std::string at = "extra.tensorrt.engines." + it.key();
        TrtEngineEntry e;
        e.file = str(it.value(), "file", where, at);
        e.metadata = str(it.value(), "metadata", where, at, "");
        if (e.metadata.empty()) e.metadata = e.file + ".json";
        e.precision = str(it.value(), "precision", where, at, "");
        e.onnx = str(it.value(), "onnx", where, at, "");
        m.trt_engines[it.key()] = e;
      }
    }
  }

  return m;
}

}  // namespace edgekit
