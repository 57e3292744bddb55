#include "edgekit/bundle.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

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
  if (verify) b.verify();
  return b;
}

std::string Bundle::path(const std::string& rel) const { return (fs::path(root_) / rel).string(); }

void Bundle::verify_file(const std::string& rel) const {
  auto it = manifest_.files.find(rel);
  if (it == manifest_.files.end())
    throw BundleError("bundle file " + rel + " is not listed in the manifest's files (cannot be checked)", kReflash);
  const std::string p = path(rel);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw BundleError("bundle file " + rel + " is missing from " + root_, kReflash);
  const auto size = fs::file_size(p, ec);
  if (ec || static_cast<int64_t>(size) != it->second.size || sha256_file(p) != it->second.sha256)
    throw BundleError("bundle file " + rel + " does not match its sha256 in the manifest (corrupt or replaced)",
                      kReflash);
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
