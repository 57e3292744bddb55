#include "edgekit/bundle.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgekit/contract.hpp"
#include "edgekit/error.hpp"
#include "edgekit/sha256.hpp"

namespace fs = std::filesystem;

namespace edgekit {
namespace {
const char* kReflash = "rebuild or re-flash the bundle";
}

Bundle Bundle::load(const std::string& root, bool verify) {
  const fs::path mpath = fs::path(root) / "manifest.json";
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw BundleError("bundle folder " + root + " does not exist", "pass the folder `edgekit build` wrote");
  if (!fs::is_regular_file(mpath, ec))
    throw BundleError(root + " is not a bundle: manifest.json is missing", "pass the folder `edgekit build` wrote");
  std::ifstream f(mpath);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f) throw BundleError("cannot read " + mpath.string(), "check the file's permissions");
  Bundle b(root, parse_manifest(ss.str(), mpath.string()));
  b.check_labels();
  if (verify) b.verify();
  return b;
}

std::string Bundle::path(const std::string& rel) const {
  // Rules path.relative and bundle.path_inside (Python: Bundle.path): lexical first, then with symlinks resolved.
  const std::string why = contract::path_problem(rel);
  if (!why.empty())
    throw ContractError("bundle path '" + rel + "' " + why + ": paths stay inside the bundle",
                        "rebuild the bundle with `edgekit build`", contract::rule::kPathRelative, rel);
  const fs::path p = fs::path(root_) / rel;
  std::error_code ec;
  const fs::path root_real = fs::weakly_canonical(fs::absolute(root_, ec), ec);
  const fs::path real = fs::weakly_canonical(fs::absolute(p, ec), ec);
  auto r = root_real.begin();
  auto q = real.begin();
  for (; r != root_real.end() && !r->empty(); ++r, ++q)
    if (q == real.end() || *q != *r) break;
  if (ec || (r != root_real.end() && !r->empty()))
    throw ContractError("bundle path '" + rel + "' in " + root_ + " resolves to " + real.string() +
                            ", outside the bundle (a symlink points out)",
                        "copy the file into the bundle instead of linking to it", contract::rule::kBundlePathInside, rel);
  return p.string();
}

void Bundle::check_labels() const {
  const auto labels = this->labels();
  const auto& out = manifest_.outputs.at(0);
  int64_t n = out.shape.empty() ? -1 : out.shape.back();
  if (manifest_.is_detection())  // [N, 4 + C, ...]: C class channels
    n = out.shape.size() > 1 && out.shape[1] > 0 ? out.shape[1] - 4 : -1;
  if (!labels.empty() && n > 0 && static_cast<int64_t>(labels.size()) != n)
    throw ContractError(manifest_.postprocess.labels_file + " in " + root_ + " has " + std::to_string(labels.size()) +
                            " labels, the model's output '" + out.name + "' has " + std::to_string(n) + " classes",
                        "write one label per class, one per line", contract::rule::kBundleLabelCount,
                        manifest_.postprocess.labels_file);
}

void Bundle::verify_file(const std::string& rel) const {
  auto it = manifest_.files.find(rel);
  if (it == manifest_.files.end())
    throw BundleError("bundle file " + rel + " is not listed in the manifest's files (cannot be checked)", kReflash);
  const std::string p = path(rel);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    throw ContractError("bundle file " + rel + " is missing from " + root_, kReflash, contract::rule::kBundleFileMissing, rel);
  const auto size = fs::file_size(p, ec);
  if (ec || static_cast<int64_t>(size) != it->second.size || sha256_file(p) != it->second.sha256)
    throw ContractError("bundle file " + rel + " does not match its sha256 in the manifest (corrupt or replaced)",
                        kReflash, contract::rule::kBundleFileHash, rel);
}

void Bundle::verify() const {
  for (const auto& kv : manifest_.files) verify_file(kv.first);
}

std::string Bundle::model_path(const std::string& model_id) const {
  const auto& e = manifest_.model(model_id);
  const std::string p = path(e.file);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    throw BundleError("model file " + e.file + " of '" + e.id + "' is missing from " + root_, kReflash);
  return p;
}

TrtEngineEntry Bundle::trt_engine(const std::string& model_id) const {
  const auto& entry = manifest_.model(model_id);
  TrtEngineEntry e;
  if (auto it = manifest_.trt_engines.find(entry.id); it != manifest_.trt_engines.end()) {
    e = it->second;
  } else {
    const std::string plan = path("trt/plan.json");
    std::ifstream f(plan);
    bool found = false;
    if (f) {
      nlohmann::json j;
      try {
        f >> j;
      } catch (const std::exception&) {
        throw BundleError(plan + " is not valid JSON", "rebuild the bundle");
      }
      const std::string def = j.value("default_engine", std::string());
      if (j.contains("engines") && j["engines"].is_array()) {
        for (const auto& s : j["engines"]) {
          if (!s.is_object() || s.value("model_id", std::string()) != entry.id || !s.contains("engine")) continue;
          if (found && s.value("engine", std::string()) != def) continue;  // prefer the plan's default engine
          e.file = s.value("engine", std::string());
          e.precision = s.value("precision", std::string());
          e.onnx = s.value("onnx", std::string());
          found = true;
        }
      }
    }
    if (!found)
      throw BundleError("bundle has no TensorRT engine for model '" + entry.id +
                            "' (neither manifest extra.tensorrt.engines nor trt/plan.json lists one)",
                        "build the engines on the device (sh trt/build.sh or edgekit engine build), or use --backend ort");
    e.metadata = e.file + ".json";
  }
  if (e.precision.empty()) e.precision = entry.precision;
  if (e.onnx.empty()) e.onnx = entry.file;
  return e;
}

std::vector<std::string> Bundle::labels() const {
  std::vector<std::string> out;
  std::ifstream f(path(manifest_.postprocess.labels_file));
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

}  // namespace edgekit
