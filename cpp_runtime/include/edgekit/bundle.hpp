// A bundle folder on disk: manifest + verified files.
#pragma once
#include <string>
#include <vector>

#include "edgekit/manifest.hpp"

namespace edgekit {

class Bundle {
 public:
  /// Load ``root``/manifest.json; with ``verify`` check every listed file's size and sha256 first.
  static Bundle load(const std::string& root, bool verify = true);

  const std::string& root() const { return root_; }
  const Manifest& manifest() const { return manifest_; }
  /// ``root``/``rel``; throws ContractError unless it stays inside the bundle, symlinks resolved
  /// (rules path.relative, bundle.path_inside).
  std::string path(const std::string& rel) const;
  /// Rule bundle.label_count: a labels file, when present, has one line per class of the first output.
  void check_labels() const;
  /// Path of the model file of ``model_id`` (empty = default). Throws if the file is missing.
  std::string model_path(const std::string& model_id = "") const;
  /// The labels file, one label per line (empty when the bundle has none).
  std::vector<std::string> labels() const;
  /// The TensorRT engine for ``model_id``: manifest.extra.tensorrt.engines[id], else the build plan
  /// trt/plan.json (engines built on the device: trt/<id>.<precision>[.dla<core>].engine + ".json").
  /// Precision and source ONNX default to the model entry's. Throws BundleError when there is none.
  TrtEngineEntry trt_engine(const std::string& model_id = "") const;
  /// Check presence, size and sha256 of every file listed in the manifest.
  void verify() const;
  /// Check one listed file (throws BundleError if it is missing, unlisted or altered).
  void verify_file(const std::string& rel) const;

 private:
  Bundle(std::string root, Manifest m) : root_(std::move(root)), manifest_(std::move(m)) {}
  std::string root_;
  Manifest manifest_;
};

}  // namespace edgekit
