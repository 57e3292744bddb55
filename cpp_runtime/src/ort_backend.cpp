#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "edgekit/backend.hpp"
#include "edgekit/error.hpp"
#include "edgekit/ort_loader.hpp"
#include "ort_api.hpp"

namespace edgekit {
namespace {

Ort::Env& env() {
  static Ort::Env e(ORT_LOGGING_LEVEL_ERROR, "edgekit");
  return e;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string elem_type_name(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    default: return "type" + std::to_string(static_cast<int>(t));
  }
}

struct CudaOptsDeleter {
  void operator()(OrtCUDAProviderOptionsV2* p) const { Ort::GetApi().ReleaseCUDAProviderOptions(p); }
};
struct TrtOptsDeleter {
  void operator()(OrtTensorRTProviderOptionsV2* p) const { Ort::GetApi().ReleaseTensorRTProviderOptions(p); }
};

void update_options(OrtStatus* st) { Ort::ThrowOnError(st); }

class OrtBackend final : public Backend {
 public:
  OrtBackend(std::string path, BackendOptions opt) : path_(std::move(path)), opt_(std::move(opt)) {}
  std::string name() const override { return "ort"; }

  void load() override {
    ensure_ort_loaded();
    std::ifstream f(path_, std::ios::binary);
    if (!f) throw BackendError("cannot read model " + path_, "check the bundle (re-flash it)");
    model_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    activate();  // the I/O of an ONNX model is known only from a session
  }

  void activate() override {
    if (session_) return;
    if (model_.empty()) throw BackendError("model " + path_ + " is empty or not loaded", "rebuild the bundle");
    Ort::SessionOptions so = make_options();
    try {
      session_ = std::make_unique<Ort::Session>(env(), model_.data(), model_.size(), so);
    } catch (const Ort::Exception& e) {
      throw BackendError("ONNX Runtime cannot load model " + path_ + ": " + first_line(e.what()),
                         "rebuild the bundle (the model file is corrupt or uses an unsupported operator)");
    }
    Ort::AllocatorWithDefaultOptions alloc;
    ins_.clear();
    outs_.clear();
    in_names_.clear();
    out_names_.clear();
    for (size_t i = 0; i < session_->GetInputCount(); ++i) {
      const Ort::TypeInfo type = session_->GetInputTypeInfo(i);  // must outlive ti (ti borrows from it)
      auto ti = type.GetTensorTypeAndShapeInfo();
      ins_.push_back({session_->GetInputNameAllocated(i, alloc).get(), ti.GetShape(), elem_type_name(ti.GetElementType())});
      in_names_.push_back(ins_.back().name);
    }
    for (size_t i = 0; i < session_->GetOutputCount(); ++i) {
      const Ort::TypeInfo type = session_->GetOutputTypeInfo(i);
      auto ti = type.GetTensorTypeAndShapeInfo();
      outs_.push_back({session_->GetOutputNameAllocated(i, alloc).get(), ti.GetShape(), elem_type_name(ti.GetElementType())});
      out_names_.push_back(outs_.back().name);
    }
  }

  std::vector<Tensor> infer(const Tensor& input) override {
    if (!session_) activate();
    if (ins_.size() != 1) throw BackendError("model " + path_ + " has " + std::to_string(ins_.size()) + " inputs", "export it with one input");
    if (ins_[0].dtype != "float32")
      throw BackendError("model input " + ins_[0].name + " is " + ins_[0].dtype + "; this runtime feeds float32",
                         "export the model with a float32 input");
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    // ORT does not write to inputs; the API takes a non-const pointer.
    Ort::Value in = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(input.data.data()), input.data.size(),
                                                    input.shape.data(), input.shape.size());
    std::vector<const char*> in_names{in_names_[0].c_str()};
    std::vector<const char*> out_names;
    for (const auto& n : out_names_) out_names.push_back(n.c_str());
    std::vector<Ort::Value> res;
    try {
      res = session_->Run(Ort::RunOptions{nullptr}, in_names.data(), &in, 1, out_names.data(), out_names.size());
    } catch (const Ort::Exception& e) {
      throw BackendError("ONNX Runtime failed on input " + shape_to_string(input.shape) + ": " + first_line(e.what()),
                         "pass a tensor of the model's input shape " + shape_to_string(ins_[0].shape));
    }
    std::vector<Tensor> outs;
    for (size_t i = 0; i < res.size(); ++i) {
      auto info = res[i].GetTensorTypeAndShapeInfo();
      if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        throw BackendError("model output " + out_names_[i] + " is " + elem_type_name(info.GetElementType()),
                           "export the model with float32 outputs");
      Tensor t;
      t.name = out_names_[i];
      t.shape = info.GetShape();
      const float* p = res[i].GetTensorData<float>();
      t.data.assign(p, p + info.GetElementCount());
      outs.push_back(std::move(t));
    }
    return outs;
  }

  void deactivate() override { session_.reset(); }
  std::vector<IoInfo> inputs() const override { return ins_; }
  std::vector<IoInfo> outputs() const override { return outs_; }

 private:
  Ort::SessionOptions make_options() {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(std::max(1, opt_.threads));
    so.SetInterOpNumThreads(std::max(1, opt_.inter_threads));
    so.SetExecutionMode(ORT_SEQUENTIAL);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    so.AddConfigEntry("session.intra_op.allow_spinning", opt_.allow_spinning ? "1" : "0");
    so.AddConfigEntry("session.inter_op.allow_spinning", opt_.allow_spinning ? "1" : "0");
    if (opt_.ort_provider == "cpu") return so;
    const auto avail = ort_available_providers();
    auto has = [&](const char* p) { return std::find(avail.begin(), avail.end(), p) != avail.end(); };
    std::string list;
    for (const auto& p : avail) list += (list.empty() ? "" : ", ") + p;
    const std::string dev = std::to_string(opt_.device_id);
    if (opt_.ort_provider == "tensorrt") {
      if (!has("TensorrtExecutionProvider"))
        throw BackendError("this ONNX Runtime build (" + ort_library_path() + ") has no TensorRT execution provider (it has: " + list + ")",
                           "use an onnxruntime-gpu / Jetson build of ONNX Runtime (EDGEKIT_ORT_LIB) or --ort-ep cpu");
      const std::string cache = opt_.trt_cache_dir.empty() ? std::string(".trt_cache") : opt_.trt_cache_dir;
      std::error_code ec;
      std::filesystem::create_directories(cache, ec);
      OrtTensorRTProviderOptionsV2* raw = nullptr;
      update_options(Ort::GetApi().CreateTensorRTProviderOptions(&raw));
      std::unique_ptr<OrtTensorRTProviderOptionsV2, TrtOptsDeleter> trt(raw);
      const char* keys[] = {"device_id", "trt_engine_cache_enable", "trt_engine_cache_path", "trt_timing_cache_enable",
                            "trt_timing_cache_path"};
      const char* vals[] = {dev.c_str(), "1", cache.c_str(), "1", cache.c_str()};
      update_options(Ort::GetApi().UpdateTensorRTProviderOptions(trt.get(), keys, vals, 5));
      so.AppendExecutionProvider_TensorRT_V2(*trt);
    }
    if (opt_.ort_provider == "cuda" || opt_.ort_provider == "tensorrt") {
      if (!has("CUDAExecutionProvider")) {
        if (opt_.ort_provider == "tensorrt") return so;  // TensorRT EP then CPU fallback
        throw BackendError("this ONNX Runtime build (" + ort_library_path() + ") has no CUDA execution provider (it has: " + list + ")",
                           "use an onnxruntime-gpu / Jetson build of ONNX Runtime (EDGEKIT_ORT_LIB) or --ort-ep cpu");
      }
      OrtCUDAProviderOptionsV2* raw = nullptr;
      update_options(Ort::GetApi().CreateCUDAProviderOptions(&raw));
      std::unique_ptr<OrtCUDAProviderOptionsV2, CudaOptsDeleter> cuda(raw);
      const char* keys[] = {"device_id"};
      const char* vals[] = {dev.c_str()};
      update_options(Ort::GetApi().UpdateCUDAProviderOptions(cuda.get(), keys, vals, 1));
      so.AppendExecutionProvider_CUDA_V2(*cuda);
      return so;
    }
    if (opt_.ort_provider != "tensorrt")
      throw BackendError("unknown ONNX Runtime execution provider '" + opt_.ort_provider + "'", "use cpu, cuda or tensorrt");
    return so;
  }

  std::string path_;
  BackendOptions opt_;
  std::vector<char> model_;
  std::unique_ptr<Ort::Session> session_;
  std::vector<IoInfo> ins_, outs_;
  std::vector<std::string> in_names_, out_names_;
};

}  // namespace

std::unique_ptr<Backend> make_ort_backend(const std::string& model_path, const BackendOptions& opt) {
  return std::make_unique<OrtBackend>(model_path, opt);
}

}  // namespace edgekit
