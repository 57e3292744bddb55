#include "edgekit/backend.hpp"

#include "edgekit/error.hpp"

namespace edgekit {
namespace {
bool dims_match(const std::vector<int64_t>& model, const std::vector<int64_t>& manifest) {
  if (model.size() != manifest.size()) return false;
  for (size_t i = 0; i < model.size(); ++i)
    if (model[i] >= 0 && manifest[i] >= 0 && model[i] != manifest[i]) return false;  // <0: dynamic / symbolic
  return true;
}

void check_one(const std::string& what, const IoInfo& got, const TensorInfo& want) {
  const std::string fix = "rebuild the bundle (its model and manifest disagree)";
  if (got.name != want.name)
    throw BundleError(what + " is named '" + got.name + "', the manifest says '" + want.name + "'", fix);
  if (got.shape.size() != want.shape.size())
    throw BundleError(what + " '" + got.name + "' has rank " + std::to_string(got.shape.size()) + " " +
                          shape_to_string(got.shape) + ", the manifest says " + shape_to_string(want.shape),
                      fix);
  if (!dims_match(got.shape, want.shape))
    throw BundleError(what + " '" + got.name + "' has shape " + shape_to_string(got.shape) + ", the manifest says " +
                          shape_to_string(want.shape) + " (-1 = dynamic)",
                      fix);
  if (got.dtype != want.dtype)
    throw BundleError(what + " '" + got.name + "' is " + got.dtype + ", the manifest says " + want.dtype, fix);
}
}  // namespace

void check_io(const Manifest& m, const std::string& model_id, const std::vector<IoInfo>& ins,
              const std::vector<IoInfo>& outs) {
  const std::string who = "model '" + (model_id.empty() ? m.default_model : model_id) + "'";
  if (ins.size() != 1)
    throw BundleError(who + " has " + std::to_string(ins.size()) + " inputs; the manifest declares one ('" + m.input.name + "')",
                      "export the model with a single image input");
  check_one(who + " input", ins[0], m.input);
  if (outs.size() != m.outputs.size())
    throw BundleError(who + " has " + std::to_string(outs.size()) + " outputs; the manifest declares " +
                          std::to_string(m.outputs.size()),
                      "rebuild the bundle (its model and manifest disagree)");
  for (size_t i = 0; i < outs.size(); ++i) check_one(who + " output", outs[i], m.outputs[i]);
}

std::unique_ptr<Backend> open_backend(const Bundle& bundle, const std::string& model_id, const BackendOptions& opt) {
  const auto& entry = bundle.manifest().model(model_id);
  std::unique_ptr<Backend> b;
  if (opt.kind == "ort")
    b = make_ort_backend(bundle.model_path(entry.id), opt);
  else if (opt.kind == "trt")
    b = make_trt_backend(bundle, entry.id, opt);
  else
    throw BackendError("unknown backend '" + opt.kind + "'", "use --backend ort or --backend trt");
  b->load();
  check_io(bundle.manifest(), entry.id, b->inputs(), b->outputs());
  return b;
}

}  // namespace edgekit
