// Inference backends behind one small interface, after Polygraphy's runners:
// load (read + check the model) -> activate (create the session / context) -> infer ... -> deactivate.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "edgekit/bundle.hpp"
#include "edgekit/tensor.hpp"

namespace edgekit {

struct BackendOptions {
  std::string kind = "ort";        ///< ort | trt
  int threads = 1;                 ///< ORT intra-op threads
  int inter_threads = 1;           ///< ORT inter-op threads
  bool allow_spinning = false;     ///< ORT session.intra_op.allow_spinning (off: fair on small CPUs)
  std::string ort_provider = "cpu";  ///< ORT execution provider: cpu | cuda | tensorrt
  std::string trt_cache_dir;       ///< ORT TensorRT EP engine cache folder (empty: <bundle>/.trt_cache)
  int device_id = 0;               ///< GPU for cuda / tensorrt
};

/// Name, shape (-1 = dynamic) and element type of one model input/output.
struct IoInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;  ///< float32, float16, uint8, int8, int64, ...
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual std::string name() const = 0;
  /// Read the model and check it (file integrity is the bundle's job).
  virtual void load() = 0;
  /// Create what inference needs (session, execution context, buffers).
  virtual void activate() = 0;
  /// Run one batch. ``input`` must match inputs()[0] (batch axis may vary when dynamic).
  virtual std::vector<Tensor> infer(const Tensor& input) = 0;
  /// Release the session/context; load()ed state may stay.
  virtual void deactivate() = 0;
  virtual std::vector<IoInfo> inputs() const = 0;
  virtual std::vector<IoInfo> outputs() const = 0;
};

/// The ONNX Runtime backend for the model file ``model_path``.
std::unique_ptr<Backend> make_ort_backend(const std::string& model_path, const BackendOptions& opt);
/// The native TensorRT backend for the engine recorded for ``model_id`` in the bundle
/// (throws BackendError where the runtime was built without TensorRT).
std::unique_ptr<Backend> make_trt_backend(const Bundle& bundle, const std::string& model_id,
                                          const BackendOptions& opt);
/// Pick by ``opt.kind`` for a bundle model; then load() it and check its I/O against the manifest.
std::unique_ptr<Backend> open_backend(const Bundle& bundle, const std::string& model_id, const BackendOptions& opt);
/// Throws BundleError when the model's inputs/outputs (names, ranks, static dims, dtypes) differ from the manifest.
void check_io(const Manifest& m, const std::string& model_id, const std::vector<IoInfo>& ins,
              const std::vector<IoInfo>& outs);
/// True where this runtime was compiled with TensorRT support.
bool have_tensorrt();

}  // namespace edgekit
