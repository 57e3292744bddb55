// Native TensorRT backend. Compiled only where NvInfer.h was found (EDGEKIT_WITH_TENSORRT=AUTO/ON).
// COMPILED, NEVER RUN: CI compiles this file (tools/check_trt_headers.sh) against NVIDIA's public headers of
// TensorRT 8.2, 8.5.2, 8.6, 10.3 and 11.1 with -Werror; no machine of the project has TensorRT or a GPU.
// API per version: TensorRT 8.2/8.4 use the bindings API (getNbBindings, setBindingDimensions, enqueueV2);
// 8.5+ the named-tensor API (getNbIOTensors, setInputShape, setTensorAddress, enqueueV3), which 10.x keeps
// alone (the bindings API was removed in 10.0).
#include "edgekit/backend.hpp"
#include "edgekit/error.hpp"

#ifndef EDGEKIT_HAVE_TENSORRT

namespace edgekit {
bool have_tensorrt() { return false; }
std::unique_ptr<Backend> make_trt_backend(const Bundle&, const std::string&, const BackendOptions&) {
  throw BackendError("this edgekit runtime was built without TensorRT",
                     "use --backend ort, or rebuild on the device where NvInfer.h is installed "
                     "(cmake -DEDGEKIT_WITH_TENSORRT=ON)");
}
}  // namespace edgekit

#else

#include <NvInfer.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <type_traits>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace edgekit {
namespace {

class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity s, const char* msg) noexcept override {
    if (s <= Severity::kWARNING) std::fprintf(stderr, "[TensorRT] %s\n", msg);
  }
};
Logger& logger() {
  static Logger l;
  return l;
}

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw BackendError(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e),
                       "check the GPU driver (nvidia-smi / tegrastats)");
}

struct CudaFree {
  void operator()(void* p) const { cudaFree(p); }
};
using DeviceBuffer = std::unique_ptr<void, CudaFree>;
struct StreamDeleter {
  void operator()(CUstream_st* s) const { cudaStreamDestroy(s); }
};

std::vector<std::string> split_version(const std::string& v) {
  std::vector<std::string> p;
  std::stringstream ss(v);
  std::string t;
  while (std::getline(ss, t, '.') && p.size() < 3) p.push_back(t);
  return p;
}

std::string digits(std::string s) {
  if (s.rfind("sm_", 0) == 0) s = s.substr(3);
  std::string d;
  for (char c : s)
    if (c >= '0' && c <= '9') d.push_back(c);
  return d;
}

std::string dtype_name(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: return "float32";
    case nvinfer1::DataType::kHALF: return "float16";
    case nvinfer1::DataType::kINT8: return "int8";
    case nvinfer1::DataType::kINT32: return "int32";
    default: return "other";
  }
}

std::vector<int64_t> to_shape(const nvinfer1::Dims& d) {
  std::vector<int64_t> s;
  for (int i = 0; i < d.nbDims; ++i) s.push_back(d.d[i]);
  return s;
}

nvinfer1::Dims to_dims(const std::vector<int64_t>& s) {
  nvinfer1::Dims d{};
  // Dims::d is int32_t[8] in TensorRT 8.x and int64_t[8] in 10.x: the element type, not a reference to it.
  using Dim = std::remove_cv_t<std::remove_reference_t<decltype(d.d[0])>>;
  if (s.size() > static_cast<size_t>(nvinfer1::Dims::MAX_DIMS))
    throw InputError("input has rank " + std::to_string(s.size()) + ", TensorRT allows at most " +
                         std::to_string(nvinfer1::Dims::MAX_DIMS),
                     "feed the bundle's declared input shape");
  d.nbDims = static_cast<int32_t>(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0 || s[i] > static_cast<int64_t>(std::numeric_limits<Dim>::max()))
      throw InputError("input dimension " + std::to_string(s[i]) + " does not fit TensorRT's Dims",
                       "feed the bundle's declared input shape");
    d.d[i] = static_cast<Dim>(s[i]);
  }
  return d;
}

#if NV_TENSORRT_MAJOR > 8 || (NV_TENSORRT_MAJOR == 8 && NV_TENSORRT_MINOR >= 5)
#define EDGEKIT_TRT_TENSOR_API 1  // named I/O tensors + enqueueV3 (8.5+); bindings are deprecated there
#else
#define EDGEKIT_TRT_TENSOR_API 0
#endif

class TrtBackend final : public Backend {
 public:
  TrtBackend(const Bundle& b, std::string model_id, BackendOptions opt) : opt_(std::move(opt)) {
    const auto& m = b.manifest();
    const TrtEngineEntry e = b.trt_engine(model_id);
    engine_path_ = b.path(e.file);
    meta_path_ = b.path(e.metadata);
    want_precision_ = e.precision;
    auto f = m.files.find(e.onnx);
    model_sha_ = f == m.files.end() ? std::string() : f->second.sha256;
  }
  std::string name() const override { return "trt"; }

  void load() override {
    check_metadata();
    std::ifstream f(engine_path_, std::ios::binary);
    if (!f) throw BundleError("TensorRT engine " + engine_path_ + " is missing", "rebuild the engine on the device");
    plan_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    activate();
  }

  void activate() override {
    if (context_) return;
    cuda_check(cudaSetDevice(opt_.device_id), "cudaSetDevice");
    runtime_.reset(nvinfer1::createInferRuntime(logger()));
    if (!runtime_) throw BackendError("cannot create the TensorRT runtime", "check the TensorRT installation");
    if (dla_core_ >= 0) {
      if (dla_core_ >= runtime_->getNbDLACores())
        throw BackendError("engine " + engine_path_ + " was built for DLA core " + std::to_string(dla_core_) +
                               ", this device has " + std::to_string(runtime_->getNbDLACores()),
                           "rebuild the engine for this device");
      runtime_->setDLACore(dla_core_);
    }
    engine_.reset(runtime_->deserializeCudaEngine(plan_.data(), plan_.size()));
    if (!engine_)
      throw BackendError("TensorRT cannot deserialize " + engine_path_, "rebuild the engine on this device with this TensorRT");
    context_.reset(engine_->createExecutionContext());
    if (!context_) throw BackendError("cannot create a TensorRT execution context", "free GPU memory and retry");
    cudaStream_t s = nullptr;
    cuda_check(cudaStreamCreate(&s), "cudaStreamCreate");
    stream_.reset(s);
    read_io();
  }

  std::vector<Tensor> infer(const Tensor& input) override {
    if (!context_) activate();
    std::vector<Tensor> outs;
    buffers_.resize(names_.size());
    sizes_.resize(names_.size(), 0);
    auto ensure = [&](size_t i, size_t bytes) {
      if (sizes_[i] >= bytes) return;
      void* p = nullptr;
      cuda_check(cudaMalloc(&p, bytes), "cudaMalloc");
      buffers_[i].reset(p);
      sizes_[i] = bytes;
    };
#if EDGEKIT_TRT_TENSOR_API
    if (!context_->setInputShape(names_[in_idx_].c_str(), to_dims(input.shape)))
      throw InputError("TensorRT engine does not accept input shape " + shape_to_string(input.shape),
                       "use a shape inside the engine's optimisation profile");
    for (size_t i = 0; i < names_.size(); ++i) {
      const auto shape = to_shape(context_->getTensorShape(names_[i].c_str()));
      int64_t n = 1;
      for (auto d : shape) n *= d;
      ensure(i, static_cast<size_t>(n) * sizeof(float));
      context_->setTensorAddress(names_[i].c_str(), buffers_[i].get());
    }
    cuda_check(cudaMemcpyAsync(buffers_[in_idx_].get(), input.data.data(), input.data.size() * sizeof(float),
                               cudaMemcpyHostToDevice, stream_.get()), "cudaMemcpyAsync");
    if (!context_->enqueueV3(stream_.get())) throw BackendError("TensorRT enqueueV3 failed", "see the [TensorRT] log above");
#else
    const int in_binding = static_cast<int>(in_idx_);
    if (!context_->setBindingDimensions(in_binding, to_dims(input.shape)))
      throw InputError("TensorRT engine does not accept input shape " + shape_to_string(input.shape),
                       "use a shape inside the engine's optimisation profile");
    std::vector<void*> bindings(names_.size());
    for (size_t i = 0; i < names_.size(); ++i) {
      const auto shape = to_shape(context_->getBindingDimensions(static_cast<int>(i)));
      int64_t n = 1;
      for (auto d : shape) n *= d;
      ensure(i, static_cast<size_t>(n) * sizeof(float));
      bindings[i] = buffers_[i].get();
    }
    cuda_check(cudaMemcpyAsync(buffers_[in_idx_].get(), input.data.data(), input.data.size() * sizeof(float),
                               cudaMemcpyHostToDevice, stream_.get()), "cudaMemcpyAsync");
    if (!context_->enqueueV2(bindings.data(), stream_.get(), nullptr))
      throw BackendError("TensorRT enqueueV2 failed", "see the [TensorRT] log above");
#endif
    for (size_t i = 0; i < names_.size(); ++i) {
      if (i == in_idx_) continue;
#if EDGEKIT_TRT_TENSOR_API
      const auto shape = to_shape(context_->getTensorShape(names_[i].c_str()));
#else
      const auto shape = to_shape(context_->getBindingDimensions(static_cast<int>(i)));
#endif
      Tensor t;
      t.name = names_[i];
      t.shape = shape;
      t.data.resize(static_cast<size_t>(t.count()));
      cuda_check(cudaMemcpyAsync(t.data.data(), buffers_[i].get(), t.data.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                 stream_.get()), "cudaMemcpyAsync");
      outs.push_back(std::move(t));
    }
    cuda_check(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
    return outs;
  }

  void deactivate() override {
    context_.reset();
    engine_.reset();
    runtime_.reset();
    buffers_.clear();
    sizes_.clear();
    stream_.reset();
  }
  std::vector<IoInfo> inputs() const override { return ins_; }
  std::vector<IoInfo> outputs() const override { return outs_; }

 private:
  void check_metadata() {
    std::ifstream f(meta_path_);
    if (!f) throw BundleError("TensorRT engine metadata " + meta_path_ + " is missing", "rebuild the engine on the device");
    nlohmann::json j;
    try {
      f >> j;
    } catch (const std::exception&) {
      throw BundleError("TensorRT engine metadata " + meta_path_ + " is not valid JSON", "rebuild the engine");
    }
    const std::string fix = "rebuild the engine on this device with this TensorRT (edgekit build), or use --backend ort";
    const std::string here = std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
                             std::to_string(NV_TENSORRT_PATCH);
    const std::string built = j.value("trt_version", std::string());
    if (split_version(built) != split_version(here))
      throw BundleError("engine " + engine_path_ + " was built with TensorRT " + built + ", this runtime has " + here, fix);
    if (getInferLibVersion() != NV_TENSORRT_VERSION)
      throw BackendError("libnvinfer (" + std::to_string(getInferLibVersion()) + ") differs from the headers this runtime was built with (" +
                             std::to_string(NV_TENSORRT_VERSION) + ")",
                         "rebuild cpp_runtime on this device");
    cudaDeviceProp prop{};
    cuda_check(cudaGetDeviceProperties(&prop, opt_.device_id), "cudaGetDeviceProperties");
    const std::string cc = std::to_string(prop.major) + std::to_string(prop.minor);
    const std::string want_cc = digits(j.value("compute_capability", std::string()));
    if (want_cc != cc)
      throw BundleError("engine " + engine_path_ + " was built for compute capability " + want_cc + ", this GPU is " + cc, fix);
    const std::string prec = j.value("precision", std::string());
    if (prec != want_precision_)
      throw BundleError("engine " + engine_path_ + " has precision '" + prec + "', the bundle expects '" +
                            want_precision_ + "'", fix);
    if (j.contains("dla_core") && j["dla_core"].is_number_integer()) dla_core_ = j["dla_core"].get<int>();
    const std::string sha = j.value("model_sha256", std::string());
    if (!model_sha_.empty() && sha != model_sha_)
      throw BundleError("engine " + engine_path_ + " was built from a different model (sha256 " + sha.substr(0, 12) +
                            "..., the bundle's is " + model_sha_.substr(0, 12) + "...)", fix);
  }

  void read_io() {
    ins_.clear();
    outs_.clear();
    names_.clear();
#if EDGEKIT_TRT_TENSOR_API
    for (int i = 0; i < engine_->getNbIOTensors(); ++i) {
      const char* n = engine_->getIOTensorName(i);
      IoInfo io{n, to_shape(engine_->getTensorShape(n)), dtype_name(engine_->getTensorDataType(n))};
      const bool is_in = engine_->getTensorIOMode(n) == nvinfer1::TensorIOMode::kINPUT;
#else
    for (int i = 0; i < engine_->getNbBindings(); ++i) {
      IoInfo io{engine_->getBindingName(i), to_shape(engine_->getBindingDimensions(i)),
                dtype_name(engine_->getBindingDataType(i))};
      const bool is_in = engine_->bindingIsInput(i);
#endif
      if (io.dtype != "float32")
        throw BackendError("engine tensor " + io.name + " is " + io.dtype + "; this runtime feeds and reads float32",
                           "build the engine with float32 I/O (precision inside the engine may differ)");
      if (is_in) {
        in_idx_ = names_.size();
        ins_.push_back(io);
      } else {
        outs_.push_back(io);
      }
      names_.push_back(io.name);
    }
  }

  BackendOptions opt_;
  std::string engine_path_, meta_path_, want_precision_, model_sha_;
  int dla_core_ = -1;
  std::vector<char> plan_;
  std::unique_ptr<nvinfer1::IRuntime> runtime_;
  std::unique_ptr<nvinfer1::ICudaEngine> engine_;
  std::unique_ptr<nvinfer1::IExecutionContext> context_;
  std::unique_ptr<CUstream_st, StreamDeleter> stream_;
  std::vector<DeviceBuffer> buffers_;
  std::vector<size_t> sizes_;
  std::vector<std::string> names_;
  size_t in_idx_ = 0;
  std::vector<IoInfo> ins_, outs_;
};

}  // namespace

bool have_tensorrt() { return true; }

std::unique_ptr<Backend> make_trt_backend(const Bundle& bundle, const std::string& model_id, const BackendOptions& opt) {
  return std::make_unique<TrtBackend>(bundle, model_id, opt);
}

}  // namespace edgekit
#endif
