// A validator for the subset of JSON Schema that pydantic emits for the edgekit models ($ref, type, enum, const,
// minimum/maximum/exclusive*, minItems/maxItems, minLength/maxLength, pattern, properties, required,
// additionalProperties, propertyNames, anyOf, discriminated oneOf), and the x-edgekit-rules rules, each written
// here once under the id Python uses. Error ids follow edgekit/contract/__init__.py's pydantic mapping.
#include "edgekit/contract.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

namespace edgekit::contract {
using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {
const char* kFix = "rebuild the bundle with `edgekit build`";

const ojson& schema() {
  static const ojson s = ojson::parse(schema_json());
  return s;
}

std::string join(const std::string& at, const std::string& key) { return at.empty() ? key : at + "." + key; }

class Validator;
using RuleFn = std::function<void(const json&, const std::string&, const Validator&)>;
const std::map<std::string, RuleFn>& rules();

class Validator {
 public:
  explicit Validator(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& rule, const std::string& at, const std::string& msg) const {
    throw ContractError(where_ + " is invalid at '" + (at.empty() ? "(top level)" : at) + "' [" + rule + "]: " + msg,
                        kFix, rule, at);
  }

  const ojson& resolve(const ojson& s) const {
    const ojson* p = &s;
    for (int hops = 0; p->is_object() && p->contains("$ref"); ++hops) {
      const std::string ref = (*p)["$ref"].get<std::string>();
      const std::string prefix = "#/$defs/";
      if (ref.rfind(prefix, 0) != 0 || hops > 16) throw std::logic_error("unsupported $ref " + ref);
      p = &schema()["$defs"].at(ref.substr(prefix.size()));
    }
    return *p;
  }

  void check(const json& v, const ojson& s_in, const std::string& at) const {
    const ojson& s = resolve(s_in);
    if (!s.is_object()) return;
    if (s.contains("anyOf")) {
      std::optional<ContractError> first;
      for (const auto& branch : s["anyOf"]) {
        try {
          check(v, branch, at);
          first.reset();
          break;
        } catch (const ContractError& e) {
          if (!first) first = e;
        }
      }
      if (first) throw *first;
      run_rules(v, s, at);
      return;
    }
    if (s.contains("oneOf") && s.contains("x-edgekit-tag")) {
      // A callable pydantic discriminator (edgekit/bundle.py _post_kind), declared by x-edgekit-tag: the branch
      // whose `property` const equals the value's; anything else is validated as the default branch.
      const std::string prop = s["x-edgekit-tag"].at("property").get<std::string>();
      const std::string def = s["x-edgekit-tag"].at("default").get<std::string>();
      auto tag_of = [&](const ojson& branch) {
        const ojson& b = resolve(branch);
        return b.contains("properties") && b["properties"].contains(prop) && b["properties"][prop].contains("const")
                   ? b["properties"][prop]["const"].get<std::string>()
                   : std::string();
      };
      std::string want = def;
      if (v.is_object() && v.contains(prop) && v[prop].is_string())
        for (const auto& branch : s["oneOf"])
          if (tag_of(branch) == v[prop].get<std::string>()) want = v[prop].get<std::string>();
      const ojson* chosen = nullptr;
      for (const auto& branch : s["oneOf"])
        if (tag_of(branch) == want) chosen = &branch;
      if (!chosen) throw std::logic_error("x-edgekit-tag default '" + def + "' names no oneOf branch");
      check(v, *chosen, at);
      run_rules(v, s, at);
      return;
    }
    if (s.contains("oneOf") && s.contains("discriminator")) {
      if (!v.is_object()) fail("schema.type", at, "expected an object");
      const std::string prop = s["discriminator"]["propertyName"].get<std::string>();
      auto it = v.find(prop);
      if (it == v.end()) fail("schema.required", join(at, prop), "field required (the step's '" + prop + "')");
      const auto& mapping = s["discriminator"]["mapping"];
      if (!it->is_string() || !mapping.contains(it->get<std::string>())) {
        std::string allowed;
        for (auto m = mapping.begin(); m != mapping.end(); ++m) allowed += (allowed.empty() ? "" : ", ") + m.key();
        fail("schema.enum", join(at, prop), "'" + (it->is_string() ? it->get<std::string>() : it->dump()) +
                                                "' is not one of " + allowed);
      }
      ojson ref = {{"$ref", mapping[it->get<std::string>()]}};
      check(v, ref, at);
      run_rules(v, s, at);
      return;
    }
    if (s.contains("const") && v.dump() != s["const"].dump())  // the schema's consts and enums are strings
      fail("schema.enum", at, v.dump() + " is not " + s["const"].dump());
    if (s.contains("enum")) {
      bool ok = false;
      std::string allowed;
      const std::string vs = v.dump();
      for (const auto& e : s["enum"]) {
        ok = ok || vs == e.dump();
        allowed += (allowed.empty() ? "" : ", ") + e.dump();
      }
      if (!ok) fail("schema.enum", at, v.dump() + " is not one of " + allowed);
    }
    if (s.contains("type")) check_type(v, s["type"].get<std::string>(), at);
    if (v.is_number()) check_number(v, s, at);
    if (v.is_string()) check_string(v.get<std::string>(), s, at);
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        fail("schema.bounds", at, "expected at least " + s["minItems"].dump() + " item(s), got " + std::to_string(v.size()));
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
        fail("schema.bounds", at, "expected at most " + s["maxItems"].dump() + " item(s), got " + std::to_string(v.size()));
      if (s.contains("items"))
        for (size_t i = 0; i < v.size(); ++i) check(v[i], s["items"], join(at, std::to_string(i)));
    }
    if (v.is_object()) check_object(v, s, at);
    run_rules(v, s, at);
  }

 private:
  void check_type(const json& v, const std::string& t, const std::string& at) const {
    bool ok = false;
    if (t == "integer") ok = v.is_number_integer();  // a float (1.0, 1e2, > 2^64) is not an integer; nor is a bool
    else if (t == "number") ok = v.is_number();
    else if (t == "string") ok = v.is_string();
    else if (t == "boolean") ok = v.is_boolean();
    else if (t == "array") ok = v.is_array();
    else if (t == "object") ok = v.is_object();
    else if (t == "null") ok = v.is_null();
    if (!ok) fail("schema.type", at, "expected " + t + ", got " + std::string(v.type_name()) + " " + v.dump());
  }

  void check_number(const json& v, const ojson& s, const std::string& at) const {
    if (v.is_number_float() && !std::isfinite(v.get<double>())) fail("schema.finite", at, "expected a finite number");
    auto below = [&](const ojson& bound, bool strict) {  // v < bound (or <=)
      if (v.is_number_unsigned() && bound.is_number_integer())
        return bound.get<int64_t>() < 0 ? false : (strict ? v.get<uint64_t>() <= bound.get<uint64_t>() : v.get<uint64_t>() < bound.get<uint64_t>());
      if (v.is_number_integer() && bound.is_number_integer())
        return strict ? v.get<int64_t>() <= bound.get<int64_t>() : v.get<int64_t>() < bound.get<int64_t>();
      return strict ? v.get<double>() <= bound.get<double>() : v.get<double>() < bound.get<double>();
    };
    auto above = [&](const ojson& bound, bool strict) {  // v > bound (or >=)
      if (v.is_number_unsigned() && bound.is_number_integer())
        return bound.get<int64_t>() < 0 ? true : (strict ? v.get<uint64_t>() >= bound.get<uint64_t>() : v.get<uint64_t>() > bound.get<uint64_t>());
      if (v.is_number_integer() && bound.is_number_integer())
        return strict ? v.get<int64_t>() >= bound.get<int64_t>() : v.get<int64_t>() > bound.get<int64_t>();
      return strict ? v.get<double>() >= bound.get<double>() : v.get<double>() > bound.get<double>();
    };
    if (s.contains("minimum") && below(s["minimum"], false)) fail("schema.bounds", at, v.dump() + " is below " + s["minimum"].dump());
    if (s.contains("maximum") && above(s["maximum"], false)) fail("schema.bounds", at, v.dump() + " is above " + s["maximum"].dump());
    if (s.contains("exclusiveMinimum") && below(s["exclusiveMinimum"], true))
      fail("schema.bounds", at, v.dump() + " must be greater than " + s["exclusiveMinimum"].dump());
    if (s.contains("exclusiveMaximum") && above(s["exclusiveMaximum"], true))
      fail("schema.bounds", at, v.dump() + " must be less than " + s["exclusiveMaximum"].dump());
  }

  void check_string(const std::string& v, const ojson& s, const std::string& at) const {
    if (s.contains("minLength") && v.size() < s["minLength"].get<size_t>()) fail("schema.bounds", at, "string too short");
    if (s.contains("maxLength") && v.size() > s["maxLength"].get<size_t>()) fail("schema.bounds", at, "string too long");
    if (s.contains("pattern")) {
      static std::mutex mu;
      static std::map<std::string, std::regex> cache;  // compiled once per pattern
      const std::string pat = s["pattern"].get<std::string>();
      const std::regex* re = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu);
        auto it = cache.find(pat);
        if (it == cache.end()) it = cache.emplace(pat, std::regex(pat, std::regex::ECMAScript)).first;
        re = &it->second;
      }
      if (!std::regex_search(v, *re)) fail("schema.pattern", at, "'" + v + "' does not match " + s["pattern"].get<std::string>());
    }
  }

  void check_object(const json& v, const ojson& s, const std::string& at) const {
    const ojson empty = ojson::object();
    const ojson& props = s.contains("properties") ? s["properties"] : empty;
    for (auto p = props.begin(); p != props.end(); ++p) {
      auto it = v.find(p.key());
      if (it != v.end()) check(*it, p.value(), join(at, p.key()));
    }
    if (s.contains("required"))
      for (const auto& r : s["required"])
        if (!v.contains(r.get<std::string>())) fail("schema.required", join(at, r.get<std::string>()), "field required");
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (s.contains("propertyNames")) check(json(it.key()), s["propertyNames"], join(at, it.key()));
      if (props.contains(it.key())) continue;
      if (s.contains("additionalProperties")) {
        const auto& ap = s["additionalProperties"];
        if (ap.is_boolean() && !ap.get<bool>()) fail("schema.extra", join(at, it.key()), "extra field not permitted");
        if (ap.is_object()) check(it.value(), ap, join(at, it.key()));
      }
    }
  }

  void run_rules(const json& v, const ojson& s, const std::string& at) const {
    if (!s.contains("x-edgekit-rules")) return;
    for (const auto& r : s["x-edgekit-rules"]) {
      const auto it = rules().find(r.get<std::string>());
      if (it == rules().end()) throw std::logic_error("rule " + r.get<std::string>() + " has no C++ implementation");
      it->second(v, at, *this);
    }
  }

  std::string where_;
};

// -- derived facts of a (schema-valid) preprocessing spec, as PreprocessSpec.output_channels/output_hw -------
std::string str_or(const json& o, const char* key, const char* def) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : def;
}

std::vector<std::string> ops_of(const json& spec) {
  std::vector<std::string> ops;
  for (const auto& st : spec.at("steps")) ops.push_back(st.at("op").get<std::string>());
  return ops;
}

// {1, c, h, w} / {1, h, w, c}, or empty when the geometry has no fixed output size.
std::vector<int64_t> spec_input_shape(const json& spec) {
  const auto& steps = spec.at("steps");
  int64_t c = str_or(steps.at(0), "color", "bgr") == "gray" ? 1 : 3;
  std::optional<std::pair<int64_t, int64_t>> hw;
  for (const auto& st : steps) {
    const std::string op = st.at("op").get<std::string>();
    if (op == "cvt_color") {
      const std::string code = st.at("code").get<std::string>();
      c = code.size() >= 4 && code.compare(code.size() - 4, 4, "GRAY") == 0 ? 1 : 3;
    } else if (op == "resize" && str_or(st, "mode", "stretch") != "shorter_side") {
      hw = std::make_pair(st.at("size").at(0).get<int64_t>(), st.at("size").at(1).get<int64_t>());
    } else if (op == "resize") {
      hw.reset();
    } else if (op == "center_crop") {
      hw = std::make_pair(st.at("size").at(0).get<int64_t>(), st.at("size").at(1).get<int64_t>());
    }
  }
  if (!hw) return {};
  if (str_or(steps.back(), "to", "NCHW") == "NCHW") return {1, c, hw->first, hw->second};
  return {1, hw->first, hw->second, c};
}

std::string fmt_shape(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const std::map<std::string, RuleFn>& rules() {
  static const std::map<std::string, RuleFn> table = {
      {"path.relative",
       [](const json& v, const std::string& at, const Validator& V) {
         const std::string why = path_problem(v.get<std::string>());
         if (!why.empty()) V.fail("path.relative", at, "bundle path '" + v.get<std::string>() + "' " + why + ": paths stay inside the bundle");
       }},
      {"tensor.dim",
       [](const json& v, const std::string& at, const Validator& V) {
         const int64_t d = v.get<int64_t>();
         if (d == 0 || d < -1) V.fail("tensor.dim", at, "dimension " + std::to_string(d) + ": dimensions are positive or -1 (dynamic)");
       }},
      {"spec.std_magnitude",
       [](const json& v, const std::string& at, const Validator& V) {
         if (std::fabs(v.get<double>()) < kMinAbsStd)
           V.fail("spec.std_magnitude", at, "normalize std " + v.dump() + " is smaller than 1e-06 in magnitude");
       }},
      {"spec.resize_size_arity",
       [](const json& v, const std::string& at, const Validator& V) {
         const std::string mode = str_or(v, "mode", "stretch");
         const size_t want = mode == "shorter_side" ? 1 : 2;
         if (v.at("size").size() != want)
           V.fail("spec.resize_size_arity", at, "resize mode '" + mode + "' takes size with " + std::to_string(want) + " element(s)");
       }},
      {"spec.normalize_lengths",
       [](const json& v, const std::string& at, const Validator& V) {
         if (v.at("mean").size() != v.at("std").size())
           V.fail("spec.normalize_lengths", at, "normalize needs as many std values as mean values");
       }},
      {"spec.first_decode",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto ops = ops_of(v);
         if (ops.front() != "decode" || std::count(ops.begin(), ops.end(), "decode") != 1)
           V.fail("spec.first_decode", at, "the first step must be 'decode', and only the first");
       }},
      {"spec.last_layout",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto ops = ops_of(v);
         if (ops.back() != "layout" || std::count(ops.begin(), ops.end(), "layout") != 1)
           V.fail("spec.last_layout", at, "the last step must be 'layout', and only the last");
       }},
      {"spec.one_to_float",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto ops = ops_of(v);
         if (std::count(ops.begin(), ops.end(), "to_float") != 1) V.fail("spec.one_to_float", at, "exactly one 'to_float' step is needed");
       }},
      {"spec.geometry_before_float",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto ops = ops_of(v);
         const size_t i_float = static_cast<size_t>(std::find(ops.begin(), ops.end(), "to_float") - ops.begin());
         for (size_t i = i_float; i < ops.size(); ++i)
           if (ops[i] == "resize" || ops[i] == "center_crop" || ops[i] == "cvt_color")
             V.fail("spec.geometry_before_float", at, "step " + std::to_string(i) + " '" + ops[i] + "' must come before 'to_float' (geometry stays in uint8)");
       }},
      {"spec.normalize_after_float",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto ops = ops_of(v);
         const size_t i_float = static_cast<size_t>(std::find(ops.begin(), ops.end(), "to_float") - ops.begin());
         for (size_t i = 0; i < i_float; ++i)
           if (ops[i] == "normalize") V.fail("spec.normalize_after_float", at, "step " + std::to_string(i) + " 'normalize' must come after 'to_float'");
       }},
      {"manifest.model_ids_unique",
       [](const json& v, const std::string& at, const Validator& V) {
         std::set<std::string> ids;
         for (const auto& m : v.at("models"))
           if (!ids.insert(m.at("id").get<std::string>()).second)
             V.fail("manifest.model_ids_unique", at, "model ids must be unique ('" + m.at("id").get<std::string>() + "' repeats)");
       }},
      {"manifest.default_model_known",
       [](const json& v, const std::string& at, const Validator& V) {
         const std::string def = v.at("default_model").get<std::string>();
         for (const auto& m : v.at("models"))
           if (m.at("id") == def) return;
         V.fail("manifest.default_model_known", at, "default_model '" + def + "' is not one of the model ids");
       }},
      {"spec.fixed_output_size",
       [](const json& v, const std::string& at, const Validator& V) {
         if (spec_input_shape(v.at("preprocess")).empty())
           V.fail("spec.fixed_output_size", at, "the spec has no fixed output size: end geometry with a resize or crop");
       }},
      {"manifest.input_shape",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto want = spec_input_shape(v.at("preprocess"));
         std::vector<int64_t> shape, got;
         for (const auto& d : v.at("input").at("shape")) shape.push_back(d.get<int64_t>());
         for (auto d : shape) got.push_back(d == -1 ? 1 : d);
         if (got != want)
           V.fail("manifest.input_shape", at, "input shape " + fmt_shape(shape) + " disagrees with the preprocessing output " + fmt_shape(want));
       }},
      {"manifest.input_layout",
       [](const json& v, const std::string& at, const Validator& V) {
         const auto& steps = v.at("preprocess").at("steps");
         if (str_or(steps.back(), "to", "NCHW") != str_or(v.at("input"), "layout", "NCHW"))
           V.fail("manifest.input_layout", at, "input.layout disagrees with the preprocessing layout step");
       }},
      {"manifest.engine_paths",
       [](const json& v, const std::string& at, const Validator& V) {
         if (!v.contains("extra")) return;
         const auto& x = v["extra"];
         if (!x.contains("tensorrt") || !x["tensorrt"].is_object() || !x["tensorrt"].contains("engines")) return;
         const auto& en = x["tensorrt"]["engines"];
         const char* R = "manifest.engine_paths";
         if (!en.is_object()) V.fail(R, at, "extra.tensorrt.engines must be an object keyed by model id");
         for (auto it = en.begin(); it != en.end(); ++it) {
           const auto& e = it.value();
           if (!e.is_object() || !e.contains("file") || !e["file"].is_string())
             V.fail(R, at, "extra.tensorrt.engines." + it.key() + " needs a 'file' string");
           for (const char* key : {"file", "metadata", "precision", "onnx"}) {
             if (!e.contains(key) || e[key].is_null()) continue;
             if (!e[key].is_string()) V.fail(R, at, "extra.tensorrt.engines." + it.key() + "." + key + " must be a string");
             const std::string why = std::string(key) == "precision" ? "" : path_problem(e[key].get<std::string>());
             if (!why.empty())
               V.fail(R, at, "extra.tensorrt.engines." + it.key() + "." + key + " '" + e[key].get<std::string>() + "' " + why +
                                 ": paths stay inside the bundle");
           }
         }
       }},
      {"manifest.task_postprocess",
       [](const json& v, const std::string& at, const Validator& V) {
         const std::string task = str_or(v, "task", "classification");
         const std::string type = v.contains("postprocess") ? str_or(v["postprocess"], "type", "classification") : "classification";
         if (task != type)
           V.fail("manifest.task_postprocess", at, "task '" + task + "' disagrees with postprocess.type '" + type + "'");
       }},
      {"manifest.detection_output",
       [](const json& v, const std::string& at, const Validator& V) {
         if (!v.contains("postprocess") || str_or(v["postprocess"], "type", "classification") != "detection") return;
         const std::string enc = str_or(v["postprocess"], "encoding", "edgekit_ltrb");
         const size_t want_rank = enc == "edgekit_ltrb" ? 4 : 3;
         std::vector<int64_t> shape;
         for (const auto& d : v.at("outputs").at(0).at("shape")) shape.push_back(d.get<int64_t>());
         if (shape.size() != want_rank || (shape[1] != -1 && shape[1] < 5))
           V.fail("manifest.detection_output", at, "a " + enc + " detector's first output needs rank " + std::to_string(want_rank) +
                                                     " with 4 box channels + at least 1 class channel, not shape " + fmt_shape(shape));
       }},
  };
  return table;
}
}  // namespace

json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e400
    throw ContractError(where + " is not valid JSON: " + e.what(), kFix, "json.syntax");
  }
}

void validate(const json& doc, const std::string& def, const std::string& where) {
  const Validator v(where);
  if (def.empty()) {
    v.check(doc, schema(), "");
  } else {
    v.check(doc, schema()["$defs"].at(def), "");
  }
}

std::string path_problem(const std::string& p) {
  if (p.empty()) return "is empty";
  if (p.find('\\') != std::string::npos || p.find('\0') != std::string::npos) return "holds a backslash or NUL";
  if (p[0] == '/') return "is absolute";
  if (p.size() >= 2 && p[1] == ':') return "has a drive letter";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = std::min(p.find('/', start), p.size());
    if (p.compare(start, end - start, "..") == 0 && end - start == 2) return "climbs out with '..'";
    start = end + 1;
  }
  return "";
}

std::vector<std::string> implemented_rules() {
  std::vector<std::string> ids;
  for (const auto& kv : rules()) ids.push_back(kv.first);
  return ids;
}

std::vector<std::string> schema_rules() {
  std::set<std::string> ids;
  std::function<void(const ojson&)> walk = [&](const ojson& n) {
    if (n.is_object()) {
      if (n.contains("x-edgekit-rules"))
        for (const auto& r : n["x-edgekit-rules"]) ids.insert(r.get<std::string>());
      for (const auto& kv : n.items()) walk(kv.value());
    } else if (n.is_array()) {
      for (const auto& e : n) walk(e);
    }
  };
  walk(schema());
  return {ids.begin(), ids.end()};
}

}  // namespace edgekit::contract
