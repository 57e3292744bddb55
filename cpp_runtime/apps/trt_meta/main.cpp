// edgekit-trt-meta: after trtexec has built an engine on the device (driven by trt/plan.json, see
// cpp_runtime/tools/engine_build.py), load that engine with this device's libnvinfer and write the metadata
// JSON that the TensorRT backend of edgekit-infer requires beside it (<engine>.json):
//   trt_version (of the library that deserialized it), compute_capability (of the GPU here), precision and
//   dla_core (from the plan), model_sha256 (of the ONNX it was built from), built_by, engine_sha256.
// Only an engine that deserializes here gets metadata. Built only where TensorRT is found.
// COMPILED, NEVER RUN: CI compiles it against the TensorRT 8.2/8.5.2/8.6/10.3/11.1 headers
// (tools/check_trt_headers.sh); no machine of the project has TensorRT.
#include <NvInfer.h>
#include <NvInferVersion.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "edgekit/error.hpp"
#include "edgekit/sha256.hpp"

namespace {

constexpr const char* kTool = "edgekit-trt-meta";

class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity s, const char* msg) noexcept override {
    if (s <= Severity::kWARNING) std::fprintf(stderr, "[TensorRT] %s\n", msg);
  }
};

std::string header_version() {
  return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
         std::to_string(NV_TENSORRT_PATCH);
}

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw edgekit::BackendError(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e),
                                "check the GPU driver (tegrastats / nvidia-smi)");
}

int run(int argc, char** argv) {
  const edgekit::cli::Args a(argc, argv, {"--engine", "--onnx", "--precision", "--dla-core", "--out", "--device-id"},
                             {}, kTool);
  if (a.help()) {
    std::cout << "usage: " << kTool
              << " --engine FILE --onnx FILE --precision fp32|fp16|int8 [--dla-core N] --out FILE.json\n";
    return 0;
  }
  const std::string engine_path = a.need("--engine", kTool);
  const std::string onnx = a.need("--onnx", kTool);
  const std::string precision = a.need("--precision", kTool);
  const std::string out = a.need("--out", kTool);
  const int dla_core = a.get_int("--dla-core", -1, -1);
  const int device_id = a.get_int("--device-id", 0, 0);
  if (getInferLibVersion() != NV_TENSORRT_VERSION)
    throw edgekit::BackendError("libnvinfer (" + std::to_string(getInferLibVersion()) +
                                    ") differs from the headers this tool was built with (" +
                                    std::to_string(NV_TENSORRT_VERSION) + ")",
                                "rebuild the edgekit runtime on this device");

  std::ifstream f(engine_path, std::ios::binary);
  if (!f) throw edgekit::BundleError("engine " + engine_path + " does not exist", "run the engine build first");
  const std::vector<char> plan((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());

  cuda_check(cudaSetDevice(device_id), "cudaSetDevice");
  cudaDeviceProp prop{};
  cuda_check(cudaGetDeviceProperties(&prop, device_id), "cudaGetDeviceProperties");

  Logger logger;
  std::unique_ptr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(logger));
  if (!runtime) throw edgekit::BackendError("cannot create the TensorRT runtime", "check the TensorRT installation");
  if (dla_core >= 0) {
    if (dla_core >= runtime->getNbDLACores())
      throw edgekit::BackendError("the plan asks for DLA core " + std::to_string(dla_core) + ", this device has " +
                                      std::to_string(runtime->getNbDLACores()),
                                  "rebuild the bundle for this device's profile");
    runtime->setDLACore(dla_core);
  }
  std::unique_ptr<nvinfer1::ICudaEngine> engine(runtime->deserializeCudaEngine(plan.data(), plan.size()));
  if (!engine)
    throw edgekit::BackendError("TensorRT " + header_version() + " cannot deserialize " + engine_path,
                                "rebuild the engine on this device");

  nlohmann::json j;
  j["trt_version"] = header_version();
  j["compute_capability"] = std::to_string(prop.major) + std::to_string(prop.minor);
  j["gpu"] = std::string(prop.name);
  j["precision"] = precision;
  j["dla_core"] = dla_core >= 0 ? nlohmann::json(dla_core) : nlohmann::json(nullptr);
  j["model_sha256"] = edgekit::sha256_file(onnx);
  j["engine_sha256"] = edgekit::sha256_hex(std::string(plan.begin(), plan.end()));
  j["built_by"] = "trtexec (trt/plan.json) + edgekit-trt-meta";
  const std::string tmp = out + ".tmp";
  {
    std::ofstream o(tmp);
    o << j.dump(2) << "\n";
    if (!o) throw edgekit::InputError("cannot write " + tmp, "check free space on the device");
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0)
    throw edgekit::InputError("cannot rename " + tmp + " to " + out, "check permissions of the bundle folder");
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const edgekit::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
