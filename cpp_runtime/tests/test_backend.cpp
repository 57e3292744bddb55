#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "edgekit/backend.hpp"
#include "edgekit/error.hpp"
#include "edgekit/npy.hpp"
#include "edgekit/ort_loader.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;
namespace fs = std::filesystem;

TEST(OrtLoader, LoadsTheLibraryAtRunTime) {
  ASSERT_NO_THROW(ensure_ort_loaded());
  EXPECT_FALSE(ort_library_path().empty());
  EXPECT_EQ(ort_version().rfind("1.", 0), 0u) << ort_version();
  const auto p = ort_available_providers();
  EXPECT_NE(std::find(p.begin(), p.end(), "CPUExecutionProvider"), p.end());
}

TEST(OrtBackend, MatchesPythonOnnxRuntime) {
  const Bundle b = Bundle::load(data("bundle"));
  BackendOptions opt;
  auto be = open_backend(b, "", opt);
  EXPECT_EQ(be->name(), "ort");
  ASSERT_EQ(be->inputs().size(), 1u);
  EXPECT_EQ(be->inputs()[0].shape, (std::vector<int64_t>{-1, 1, 28, 28}));
  const NpyArray x = read_npy(data("bundle_input.npy"));
  const NpyArray y = read_npy(data("bundle_output.npy"));
  Tensor in;
  in.name = "input";
  in.shape = x.shape;
  in.data.resize(static_cast<size_t>(x.count()));
  std::memcpy(in.data.data(), x.data.data(), x.data.size());
  auto outs = be->infer(in);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].shape, y.shape);
  const auto* want = reinterpret_cast<const float*>(y.data.data());
  for (size_t i = 0; i < outs[0].data.size(); ++i) ASSERT_NEAR(outs[0].data[i], want[i], 1e-5) << i;
  be->deactivate();
  be->activate();  // re-activation works after deactivate
  EXPECT_EQ(be->infer(in)[0].data, outs[0].data);
}

TEST(OrtBackend, WrongInputShapeIsABackendError) {
  const Bundle b = Bundle::load(data("bundle"));
  auto be = open_backend(b, "", BackendOptions{});
  Tensor in;
  in.shape = {1, 1, 27, 28};
  in.data.assign(27 * 28, 0.f);
  EXPECT_THROW_MSG(be->infer(in), BackendError, "ONNX Runtime failed on input [1, 1, 27, 28]");
}

TEST(OrtBackend, CorruptModelIsAClearError) {
  const fs::path p = fs::temp_directory_path() / "edgekit_gtest_corrupt.onnx";
  {
    std::ofstream f(p, std::ios::binary);
    f << "this is not an onnx model";
  }
  auto be = make_ort_backend(p.string(), BackendOptions{});
  EXPECT_THROW_MSG(be->load(), BackendError, "ONNX Runtime cannot load model");
  fs::remove(p);
}

TEST(OrtBackend, UnavailableExecutionProviderIsAClearError) {
  const auto p = ort_available_providers();
  if (std::find(p.begin(), p.end(), "CUDAExecutionProvider") != p.end()) GTEST_SKIP() << "this ORT build has CUDA";
  const Bundle b = Bundle::load(data("bundle"));
  BackendOptions opt;
  opt.ort_provider = "cuda";
  EXPECT_THROW_MSG(open_backend(b, "", opt), BackendError, "has no CUDA execution provider");
}

TEST(CheckIo, ModelAndManifestMustAgree) {
  const Bundle b = Bundle::load(data("bundle"));
  auto be = open_backend(b, "", BackendOptions{});
  Manifest m = b.manifest();
  m.input.name = "image";
  EXPECT_THROW_MSG(check_io(m, "", be->inputs(), be->outputs()), BundleError, "is named 'input', the manifest says 'image'");
  m = b.manifest();
  m.outputs[0].shape = {-1, 11};
  EXPECT_THROW_MSG(check_io(m, "", be->inputs(), be->outputs()), BundleError, "has shape [-1, 10], the manifest says [-1, 11]");
  m = b.manifest();
  m.outputs[0].shape = {-1, 10, 1};
  EXPECT_THROW_MSG(check_io(m, "", be->inputs(), be->outputs()), BundleError, "has rank 2");
  m = b.manifest();
  m.outputs.push_back(m.outputs[0]);
  EXPECT_THROW_MSG(check_io(m, "", be->inputs(), be->outputs()), BundleError, "has 1 outputs; the manifest declares 2");
  m = b.manifest();
  m.input.dtype = "uint8";
  EXPECT_THROW_MSG(check_io(m, "", be->inputs(), be->outputs()), BundleError, "is float32, the manifest says uint8");
}

TEST(TrtBackend, RefusesClearlyWhereNotBuilt) {
  if (have_tensorrt()) GTEST_SKIP() << "built with TensorRT";
  const Bundle b = Bundle::load(data("bundle"));
  BackendOptions opt;
  opt.kind = "trt";
  EXPECT_THROW_MSG(open_backend(b, "", opt), BackendError, "built without TensorRT");
  opt.kind = "tflite";
  EXPECT_THROW_MSG(open_backend(b, "", opt), BackendError, "unknown backend 'tflite'");
}

TEST(OrtLoader, CandidateOrderIsRecordedPathThenNextToTheBinary) {
  const auto c = ort_library_candidates();
  ASSERT_GE(c.size(), 2u);
  EXPECT_EQ(c[c.size() - 2].substr(c[c.size() - 2].size() - 20), "/libonnxruntime.so.1");
  EXPECT_NE(c.back().find("/../lib/libonnxruntime.so.1"), std::string::npos);
  ::setenv("EDGEKIT_ORT_LIB", "/explicit/libonnxruntime.so.1", 1);
  EXPECT_EQ(ort_library_candidates(), std::vector<std::string>{"/explicit/libonnxruntime.so.1"});
  ::unsetenv("EDGEKIT_ORT_LIB");
}
