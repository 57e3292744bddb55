#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "edgekit/bundle.hpp"
#include "edgekit/error.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
json base() { return load_json("bundle/manifest.json"); }  // written by edgekit.bundle.write_manifest

void expect_invalid(const json& j, const std::string& needle) {
  EXPECT_THROW_MSG(parse_manifest(j.dump(), "m.json"), BundleError, needle);
}

fs::path copy_bundle(const std::string& tag) {
  const fs::path dst = fs::temp_directory_path() / ("edgekit_gtest_bundle_" + tag);
  fs::remove_all(dst);
  fs::copy(data("bundle"), dst, fs::copy_options::recursive);
  return dst;
}
}  // namespace

TEST(Manifest, ParsesWhatPythonWrote) {
  const Manifest m = parse_manifest(base().dump(), "m.json");
  EXPECT_EQ(m.schema_version, 1);
  EXPECT_EQ(m.name, "gtest");
  EXPECT_EQ(m.input.name, "input");
  EXPECT_EQ(m.input.shape, (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(m.outputs.at(0).name, "logits");
  EXPECT_EQ(m.preprocess.step_names(),
            (std::vector<std::string>{"00_decode", "01_resize", "02_to_float", "03_normalize", "04_layout"}));
  EXPECT_EQ(m.preprocess.input_shape(), (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(m.model().id, "tiny_fp32");
  EXPECT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.trt_engines.at("tiny_fp32").metadata, "engines/tiny.engine.json");
  EXPECT_THROW_MSG(m.model("nope"), BundleError, "use one of: tiny_fp32");
}

TEST(Manifest, RefusesNewerSchema) {
  auto j = base();
  j["schema_version"] = 2;
  expect_invalid(j, "has schema_version 2, newer than this edgekit runtime understands (1)");
}

TEST(Manifest, ValidationErrorsNameTheField) {
  auto j = base();
  j.erase("name");
  expect_invalid(j, "invalid at 'name' [schema.required]: field required");
  j = base();
  j["default_model"] = "ghost";
  expect_invalid(j, "[manifest.default_model_known]: default_model 'ghost' is not one of the model ids");
  j = base();
  j["input"]["shape"] = {-1, 3, 28, 28};
  expect_invalid(j, "disagrees with the preprocessing output [1, 1, 28, 28]");
  j = base();
  j["input"]["layout"] = "NHWC";
  expect_invalid(j, "input.layout disagrees");
  j = base();
  std::swap(j["preprocess"]["steps"][0], j["preprocess"]["steps"][1]);
  expect_invalid(j, "the first step must be 'decode'");
  j = base();
  std::swap(j["preprocess"]["steps"][2], j["preprocess"]["steps"][3]);
  expect_invalid(j, "'normalize' must come after 'to_float'");
  j = base();
  j["preprocess"]["steps"][1]["op"] = "blur";
  expect_invalid(j, "'blur' is not one of");
  j = base();
  j["preprocess"]["steps"][1]["size"] = {28};
  expect_invalid(j, "takes size with 2 element(s)");
  j = base();
  j["models"].push_back(j["models"][0]);
  expect_invalid(j, "model ids must be unique");
  j = base();
  j["outputs"][0]["shape"] = "10";
  expect_invalid(j, "'outputs.0.shape' [schema.type]: expected array");
  j = base();
  j["format"] = "zip";
  expect_invalid(j, "'format'");
  EXPECT_THROW_MSG(parse_manifest("{not json", "m.json"), BundleError, "m.json is not valid JSON");
}

TEST(Manifest, UnknownKeysAreRefusedAsPythonRefusesThem) {
  // One contract: edgekit.bundle.Manifest forbids extra keys, so the runtime does too (a new field is added to
  // the pydantic model and flows into contract_generated.hpp).
  auto j = base();
  j["future_field"] = {{"x", 1}};
  expect_invalid(j, "invalid at 'future_field' [schema.extra]");
}

TEST(Bundle, LoadsAndVerifiesAPythonBundle) {
  const Bundle b = Bundle::load(data("bundle"));
  EXPECT_EQ(b.labels().size(), 10u);
  EXPECT_EQ(b.labels()[3], "digit 3");
  EXPECT_NO_THROW(b.model_path());
}

TEST(Bundle, DetectsTamperingMissingFilesAndNoManifest) {
  const fs::path d = copy_bundle("tamper");
  {
    std::fstream f(d / "models" / "tiny.onnx", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  EXPECT_THROW_MSG(Bundle::load(d.string()), BundleError, "models/tiny.onnx does not match its sha256");
  EXPECT_NO_THROW(Bundle::load(d.string(), /*verify=*/false));
  fs::remove(d / "labels.txt");
  EXPECT_THROW_MSG(Bundle::load(d.string(), false).verify_file("labels.txt"), BundleError, "labels.txt is missing");
  fs::remove(d / "manifest.json");
  EXPECT_THROW_MSG(Bundle::load(d.string()), BundleError, "manifest.json is missing");
  fs::remove_all(d);
  EXPECT_THROW_MSG(Bundle::load(d.string()), BundleError, "does not exist");
}

TEST(Bundle, TrtEngineFromManifestExtraOrBuildPlan) {
  const Bundle b = Bundle::load(data("bundle"));
  const auto e = b.trt_engine();  // manifest extra.tensorrt.engines
  EXPECT_EQ(e.file, "engines/tiny.engine");
  EXPECT_EQ(e.metadata, "engines/tiny.engine.json");
  EXPECT_EQ(e.precision, "fp32");
  EXPECT_EQ(e.onnx, "models/tiny.onnx");

  const fs::path d = copy_bundle("plan");
  auto j = base();
  j["extra"] = json::object();
  {
    std::ofstream(d / "manifest.json") << j.dump();
    fs::create_directories(d / "trt");
    json plan = {{"format", "edgekit-trt-plan"},
                 {"default_engine", "trt/tiny_fp32.fp16.dla0.engine"},
                 {"engines",
                  {{{"model_id", "tiny_fp32"}, {"onnx", "models/tiny.onnx"}, {"engine", "trt/tiny_fp32.fp16.engine"},
                    {"precision", "fp16"}, {"dla_core", nullptr}},
                   {{"model_id", "tiny_fp32"}, {"onnx", "models/tiny.onnx"}, {"engine", "trt/tiny_fp32.fp16.dla0.engine"},
                    {"precision", "fp16"}, {"dla_core", 0}}}}};
    std::ofstream(d / "trt" / "plan.json") << plan.dump();
  }
  const Bundle p = Bundle::load(d.string(), false);
  const auto pe = p.trt_engine("tiny_fp32");
  EXPECT_EQ(pe.file, "trt/tiny_fp32.fp16.dla0.engine");  // the plan's default engine wins
  EXPECT_EQ(pe.metadata, "trt/tiny_fp32.fp16.dla0.engine.json");
  EXPECT_EQ(pe.precision, "fp16");
  fs::remove(d / "trt" / "plan.json");
  EXPECT_THROW_MSG(p.trt_engine(), BundleError, "bundle has no TensorRT engine for model 'tiny_fp32'");
  fs::remove_all(d);
}
