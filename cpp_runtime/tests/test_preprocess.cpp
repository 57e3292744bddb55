// Every step's output vs the Python implementation (edgekit.preprocess.run(..., collect=True)): bit-identical.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "edgekit/error.hpp"
#include "edgekit/preprocess.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;

namespace {
std::vector<uint8_t> bytes_of(const std::string& path) {
  const std::string s = slurp(path);
  return {s.begin(), s.end()};
}
}  // namespace

TEST(Preprocess, EveryStageBitIdenticalToPython) {
  const auto cases = load_json("preprocess/cases.json");
  ASSERT_GE(cases.size(), 40u);
  int compared = 0, errors = 0;
  for (const auto& c : cases) {
    const std::string name = c["case"].get<std::string>();
    SCOPED_TRACE(name);
    const PreprocessSpec spec = parse_spec(c["spec"].dump(), name);
    const auto img = bytes_of(data("preprocess/" + c["image"].get<std::string>()));
    std::vector<Stage> stages;
    if (c.contains("error")) {
      EXPECT_THROW(preprocess_bytes(spec, img, name, &stages), InputError) << c["error"];
      ++errors;
      continue;
    }
    const Tensor t = preprocess_bytes(spec, img, name, &stages);
    const auto want = c["stages"].get<std::vector<std::string>>();
    ASSERT_EQ(stages.size(), want.size());
    for (size_t i = 0; i < stages.size(); ++i) {
      SCOPED_TRACE(want[i]);
      ASSERT_EQ(stages[i].name(), want[i]);
      const NpyArray ref = read_npy(data("preprocess/" + name + "/" + want[i] + ".npy"));
      ASSERT_EQ(stages[i].tensor.descr, ref.descr);
      ASSERT_EQ(stages[i].tensor.shape, ref.shape);
      size_t diff = 0;
      for (size_t k = 0; k < ref.data.size(); ++k) diff += stages[i].tensor.data[k] != ref.data[k];
      EXPECT_EQ(diff, 0u) << "bytes differing from Python in " << name << " " << want[i];
      if (diff) break;
      ++compared;
    }
    EXPECT_EQ(t.shape, stages.back().tensor.shape);
    EXPECT_EQ(std::memcmp(t.data.data(), stages.back().tensor.data.data(), t.data.size() * sizeof(float)), 0);
  }
  EXPECT_GT(compared, 150);
  EXPECT_GE(errors, 2);
}

TEST(Preprocess, GrayPngIntoColorSpecIsDecodedAsThreeChannels) {
  // cv::imread flags exactly like Python: IMREAD_COLOR replicates a gray PNG to 3 channels.
  Step dec;
  dec.op = "decode";
  dec.color = "bgr";
  const cv::Mat m = decode_image(dec, bytes_of(data("preprocess/gray_61x40.png")), "gray");
  EXPECT_EQ(m.channels(), 3);
  EXPECT_EQ(m.rows, 61);
  EXPECT_EQ(m.cols, 40);
}

TEST(Preprocess, UndecodableAndEmptyInputsAreInputErrors) {
  Step dec;
  dec.op = "decode";
  EXPECT_THROW_MSG(decode_image(dec, {1, 2, 3, 4}, "junk.png"), InputError, "cannot decode junk.png");
  EXPECT_THROW_MSG(decode_image(dec, {}, "empty.png"), InputError, "cannot decode empty.png");
}

TEST(Preprocess, WrongChannelCountForCvtColor) {
  const auto spec = parse_spec(
      R"({"steps":[{"op":"decode","color":"gray"},{"op":"cvt_color","code":"BGR2RGB"},{"op":"resize","size":[4,4]},)"
      R"({"op":"to_float"},{"op":"layout"}]})",
      "spec");
  EXPECT_THROW_MSG(preprocess_bytes(spec, bytes_of(data("preprocess/gray_61x40.png")), "g", nullptr), InputError,
                   "expects 3 channel(s), the image has 1");
}

TEST(Preprocess, DecodedInputMustMatchDecodeStep) {
  const auto spec = parse_spec(R"({"steps":[{"op":"decode"},{"op":"resize","size":[4,4]},{"op":"to_float"},{"op":"layout"}]})", "s");
  const cv::Mat gray(10, 10, CV_8UC1, cv::Scalar(3));
  EXPECT_THROW_MSG(preprocess_decoded(spec, gray), InputError, "must be uint8 HxWx3");
  const cv::Mat color(10, 10, CV_8UC3, cv::Scalar(3, 4, 5));
  const Tensor t = preprocess_decoded(spec, color);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{1, 3, 4, 4}));
  EXPECT_FLOAT_EQ(t.data[0], 3.f * static_cast<float>(1.0 / 255.0));
  EXPECT_FLOAT_EQ(t.data[16], 4.f * static_cast<float>(1.0 / 255.0));
}
