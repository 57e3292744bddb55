// The C++ detection postprocess (src/detect.cpp): the same cases as tests/detect/test_postprocess.py.
// tests/detect/test_cpp_agreement.py compares it with the Python interpreter on random outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "edgekit/contract.hpp"
#include "edgekit/detect.hpp"
#include "edgekit/error.hpp"
#include "edgekit/preprocess.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;

namespace {
const std::vector<std::string> kLabels = {"zero", "one", "two"};

// [1, 4 + c, h, w], class logits -20 (sigmoid ~0), box channels 0
Tensor ltrb(int64_t h = 4, int64_t w = 4, int64_t c = 3) {
  Tensor t;
  t.name = "raw";
  t.shape = {1, 4 + c, h, w};
  t.data.assign(static_cast<size_t>(t.count()), 0.f);
  for (int64_t k = 4; k < 4 + c; ++k)
    for (int64_t p = 0; p < h * w; ++p) t.data[static_cast<size_t>(k * h * w + p)] = -20.f;
  return t;
}
float& at(Tensor& t, int64_t ch, int64_t i, int64_t j) {  // [0, ch, i, j]
  return t.data[static_cast<size_t>((ch * t.shape[2] + i) * t.shape[3] + j)];
}
float& at3(Tensor& t, int64_t ch, int64_t a) { return t.data[static_cast<size_t>(ch * t.shape[2] + a)]; }
Tensor grid(int64_t c, int64_t anchors) {
  Tensor t;
  t.name = "raw";
  t.shape = {1, 4 + c, anchors};
  t.data.assign(static_cast<size_t>(t.count()), 0.f);
  return t;
}

PreprocessSpec spec_of(const std::string& geometry) {
  return parse_spec(R"({"steps": [{"op": "decode"}, )" + geometry + R"(, {"op": "to_float"}, {"op": "layout"}]})",
                    "test spec");
}
PreprocessSpec letterbox_spec() { return spec_of(R"({"op": "resize", "mode": "letterbox", "size": [32, 32]})"); }

DetectionPostprocess input_coords() {
  DetectionPostprocess p;
  p.coordinates = "input";
  return p;
}
std::vector<std::vector<Detection>> run(const Tensor& t, const DetectionPostprocess& p,
                                        const std::vector<std::string>& labels = kLabels) {
  return detect(t, p, labels, PreprocessSpec{}, {});
}
std::array<double, 4> box(const Detection& d) { return {d.x1, d.y1, d.x2, d.y2}; }
}  // namespace

TEST(Detect, LtrbDecodesCellCentresAndDistances) {
  Tensor t = ltrb();
  const float raw[4] = {0.5f, 1.0f, 1.5f, 2.0f};  // cell (i=1, j=2): centre (20, 12) at stride 8
  for (int k = 0; k < 4; ++k) at(t, k, 1, 2) = raw[k];
  at(t, 4 + 1, 1, 2) = 3.f;
  DetectionPostprocess post = input_coords();
  post.stride = 8;
  const Decoded d = decode(t, post, 0);
  const size_t p = 1 * 4 + 2;
  EXPECT_EQ(d.classes, 3);
  EXPECT_EQ(d.boxes[p], (std::array<float, 4>{20.f - 4.f, 12.f - 8.f, 20.f + 12.f, 12.f + 16.f}));
  EXPECT_NEAR(d.scores[p * 3 + 1], 1.0 / (1.0 + std::exp(-3.0)), 1e-6);
  const auto r = run(t, post);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 1u);
  EXPECT_EQ(r[0][0].class_id, 1);
  EXPECT_EQ(r[0][0].label, "one");
  EXPECT_EQ(box(r[0][0]), (std::array<double, 4>{16.0, 4.0, 32.0, 28.0}));
}

TEST(Detect, NegativeDistancesClampToZero) {
  Tensor t = ltrb();
  const float raw[4] = {-5.f, -5.f, 1.f, 1.f};
  for (int k = 0; k < 4; ++k) at(t, k, 0, 0) = raw[k];
  EXPECT_EQ(decode(t, DetectionPostprocess{}, 0).boxes[0], (std::array<float, 4>{4.f, 4.f, 12.f, 12.f}));
}

TEST(Detect, ThresholdIsInclusiveAndBackgroundSkipped) {
  Tensor t = ltrb();
  at(t, 4 + 0, 0, 0) = 5.f;
  at(t, 4 + 2, 0, 1) = 0.f;  // sigmoid 0.5 exactly
  DetectionPostprocess post = input_coords();
  post.score_threshold = 0.5;
  auto r = run(t, post)[0];
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].class_id, 0);
  EXPECT_EQ(r[1].class_id, 2);
  EXPECT_EQ(r[1].score, 0.5f);
  post.background_class = true;
  r = run(t, post)[0];
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].class_id, 2);
  post.score_threshold = std::nextafter(0.5, 1.0);  // just above: float32(threshold) is still 0.5
  EXPECT_EQ(run(t, post)[0].size(), 1u);
  post.score_threshold = 0.50000006;  // the next float32 above 0.5: excluded
  EXPECT_EQ(run(t, post)[0].size(), 0u);
}

TEST(Detect, TiesBreakByCandidateIndex) {
  Tensor t = ltrb();
  for (auto ij : {std::pair<int, int>{3, 3}, {0, 0}, {2, 1}}) {
    for (int k = 0; k < 4; ++k) at(t, k, ij.first, ij.second) = 0.4f;  // small, disjoint boxes
    at(t, 4 + 1, ij.first, ij.second) = 2.f;
  }
  const Decoded d = decode(t, DetectionPostprocess{}, 0);
  const auto ks = candidates(d, DetectionPostprocess{});
  ASSERT_EQ(ks.size(), 3u);
  EXPECT_EQ(ks[0] / 3, 0);
  EXPECT_EQ(ks[1] / 3, 2 * 4 + 1);
  EXPECT_EQ(ks[2] / 3, 3 * 4 + 3);
}

TEST(Detect, NmsSuppressesSameClassOnlyUnlessAgnostic) {
  Tensor a = grid(2, 3);  // anchor_free_grid, xyxy, raw scores
  const float b0[4] = {0, 0, 10, 10}, b1[4] = {1, 0, 11, 10};  // IoU 9/11
  for (int k = 0; k < 4; ++k) {
    at3(a, k, 0) = b0[k];
    at3(a, k, 1) = b1[k];
    at3(a, k, 2) = b1[k];
  }
  at3(a, 4, 0) = 0.9f;
  at3(a, 4, 1) = 0.8f;
  at3(a, 5, 2) = 0.7f;
  DetectionPostprocess post = input_coords();
  post.encoding = "anchor_free_grid";
  post.box_format = "xyxy";
  post.score_activation = "none";
  post.nms_iou = 0.5;
  auto d = run(a, post, {"a", "b"})[0];
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 0);
  EXPECT_FLOAT_EQ(d[0].score, 0.9f);
  EXPECT_EQ(d[1].class_id, 1);
  EXPECT_FLOAT_EQ(d[1].score, 0.7f);
  EXPECT_EQ(d[1].label, "b");
  post.class_agnostic = true;
  EXPECT_EQ(run(a, post, {"a", "b"})[0].size(), 1u);
  post.class_agnostic = false;
  post.nms_iou = 0.9;  // IoU 9/11 < 0.9: kept
  EXPECT_EQ(run(a, post, {"a", "b"})[0].size(), 3u);
}

TEST(Detect, IouIsStrictAndEmptyUnionIsZero) {
  EXPECT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_EQ(iou({0, 0, 0, 0}, {0, 0, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0 / 150.0);
  // strict: IoU exactly nms_iou keeps the second box
  Tensor a = grid(1, 2);
  const float b0[4] = {0, 0, 10, 10}, b1[4] = {5, 0, 15, 10};  // IoU 1/3
  for (int k = 0; k < 4; ++k) {
    at3(a, k, 0) = b0[k];
    at3(a, k, 1) = b1[k];
  }
  at3(a, 4, 0) = 0.9f;
  at3(a, 4, 1) = 0.8f;
  DetectionPostprocess post = input_coords();
  post.encoding = "anchor_free_grid";
  post.box_format = "xyxy";
  post.score_activation = "none";
  post.nms_iou = 50.0 / 150.0;
  EXPECT_EQ(run(a, post, {"x"})[0].size(), 2u);
  post.nms_iou = std::nextafter(50.0 / 150.0, 0.0);
  EXPECT_EQ(run(a, post, {"x"})[0].size(), 1u);
}

TEST(Detect, MaxDetectionsAndPreNmsTopK) {
  Tensor t = ltrb(8, 8, 1);
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t p = 0; p < 64; ++p) t.data[static_cast<size_t>(k * 64 + p)] = 0.2f;
  for (int64_t p = 0; p < 64; ++p) t.data[static_cast<size_t>(4 * 64 + p)] = static_cast<float>(5.0 * p / 63.0);
  DetectionPostprocess post = input_coords();
  post.score_threshold = 0.0;
  post.max_detections = 7;
  const auto d = run(t, post, {"x"})[0];
  ASSERT_EQ(d.size(), 7u);
  for (size_t i = 1; i < d.size(); ++i) EXPECT_GE(d[i - 1].score, d[i].score);
  EXPECT_EQ(d[0].score, decode(t, post, 0).scores[63]);  // the best cell first
  post.pre_nms_top_k = 3;
  EXPECT_EQ(run(t, post, {"x"})[0].size(), 3u);
}

TEST(Detect, CxcywhGrid) {
  Tensor a = grid(1, 1);
  const float v[5] = {50, 40, 20, 10, 0.9f};
  for (int k = 0; k < 5; ++k) at3(a, k, 0) = v[k];
  DetectionPostprocess post = input_coords();
  post.encoding = "anchor_free_grid";
  post.score_activation = "none";
  const auto d = run(a, post, {"x"})[0];
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(box(d[0]), (std::array<double, 4>{40.0, 35.0, 60.0, 45.0}));
}

TEST(Detect, NonFiniteCandidatesAreSkipped) {
  Tensor t = ltrb();
  at(t, 4 + 1, 0, 0) = std::numeric_limits<float>::quiet_NaN();
  at(t, 0, 0, 1) = std::numeric_limits<float>::infinity();
  at(t, 4 + 1, 0, 1) = 5.f;
  at(t, 4 + 1, 1, 1) = 5.f;
  at(t, 1, 1, 2) = std::numeric_limits<float>::quiet_NaN();  // NaN distance: NaN box, skipped
  at(t, 4 + 1, 1, 2) = 6.f;
  const auto d = run(t, input_coords())[0];
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].x1, 12.0);
}

TEST(Detect, BadShapesAndMissingImageSizesAreRefused) {
  Tensor t = ltrb();
  DetectionPostprocess post;
  post.encoding = "anchor_free_grid";
  EXPECT_THROW_MSG(decode(t, post, 0), InputError, "is not [N, 4 + C, A] (anchor_free_grid)");
  Tensor four = ltrb(4, 4, 0);
  EXPECT_THROW_MSG(decode(four, DetectionPostprocess{}, 0), InputError, "[N, 4 + C, H, W]");
  EXPECT_THROW_MSG(detect(t, DetectionPostprocess{}, kLabels, letterbox_spec(), {}), InputError, "image size");
}

class LetterboxRoundTrip : public ::testing::TestWithParam<std::pair<int, int>> {};
TEST_P(LetterboxRoundTrip, InverseOfForwardIsTheBox) {
  const auto [h, w] = GetParam();
  const Affine a = input_affine(letterbox_spec(), h, w);
  EXPECT_EQ(a.out_hw, std::make_pair(32, 32));
  for (const std::array<double, 4> b : {std::array<double, 4>{1.0, 2.0, w - 3.0, h - 1.0}, {0.0, 0.0, 1.0 * w, 1.0 * h}}) {
    const auto back = a.inverse(a.forward(b));
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(back[i], b[i], 1e-9);
  }
  const auto full = a.forward({0.0, 0.0, 1.0 * w, 1.0 * h});  // the whole image = the letterboxed content
  EXPECT_GE(full[0], 0);
  EXPECT_LE(full[2], 32);
  EXPECT_GE(full[1], 0);
  EXPECT_LE(full[3], 32);
  EXPECT_TRUE((full[0] == 0 && full[2] == 32) || (full[1] == 0 && full[3] == 32));
  // the content rectangle is the one preprocess.cpp pastes (geometry::letterbox)
  const auto [nh, nw, top, left] = geometry::letterbox(h, w, 32, 32);
  EXPECT_EQ(full, (std::array<double, 4>{1.0 * left, 1.0 * top, 1.0 * (left + nw), 1.0 * (top + nh)}));
}
INSTANTIATE_TEST_SUITE_P(Detect, LetterboxRoundTrip,
                         ::testing::Values(std::make_pair(48, 64), std::make_pair(64, 48), std::make_pair(32, 32),
                                           std::make_pair(17, 90)));

TEST(Detect, OriginalCoordinatesGoThroughTheInverse) {
  Tensor t = ltrb(4, 4, 1);  // 64x32 (w x h) image -> 32x16 content, top 8
  for (int k = 0; k < 4; ++k) at(t, k, 1, 1) = 0.5f;  // box (8, 8, 16, 16) in input pixels
  at(t, 4, 1, 1) = 5.f;
  DetectionPostprocess post;
  post.stride = 8;
  const auto d = detect(t, post, {"x"}, letterbox_spec(), {{32, 64}});
  ASSERT_EQ(d[0].size(), 1u);
  EXPECT_EQ(box(d[0][0]), (std::array<double, 4>{16.0, 0.0, 32.0, 16.0}));
  // clipped to the image: a box over the padding ends at the image edge
  Tensor big = ltrb(4, 4, 1);
  for (int k = 0; k < 4; ++k) at(big, k, 0, 0) = 3.f;
  at(big, 4, 0, 0) = 5.f;
  const auto c = detect(big, post, {"x"}, letterbox_spec(), {{32, 64}})[0].at(0);
  EXPECT_EQ(box(c), (std::array<double, 4>{0.0, 0.0, 56.0, 32.0}));
}

TEST(Detect, StretchShorterSideAndCenterCropAffine) {
  const auto spec = parse_spec(R"({"steps": [{"op": "decode"}, {"op": "resize", "mode": "shorter_side", "size": [40]},
      {"op": "center_crop", "size": [32, 32]}, {"op": "to_float"}, {"op": "layout"}]})",
                               "spec");
  const Affine a = input_affine(spec, 80, 120);  // -> 40 x 60, crop top 4 left 14
  EXPECT_EQ(a.ax, 0.5);
  EXPECT_EQ(a.bx, -14.0);
  EXPECT_EQ(a.ay, 0.5);
  EXPECT_EQ(a.by, -4.0);
  EXPECT_EQ(a.out_hw, std::make_pair(32, 32));
  const Affine b = input_affine(spec_of(R"({"op": "resize", "mode": "stretch", "size": [10, 20]})"), 5, 5);
  EXPECT_EQ(b.ax, 4.0);
  EXPECT_EQ(b.ay, 2.0);
  const Affine id = input_affine(spec_of(R"({"op": "cvt_color", "code": "BGR2RGB"})"), 7, 9);
  EXPECT_EQ(id.ax, 1.0);
  EXPECT_EQ(id.bx, 0.0);
  EXPECT_EQ(id.out_hw, std::make_pair(7, 9));
}

TEST(Detect, ManifestParsesTheDetectionPostprocess) {
  const std::string text = R"({"name": "d", "device": "cpu", "task": "detection",
    "input": {"name": "input", "shape": [-1, 3, 32, 32]},
    "outputs": [{"name": "raw", "shape": [-1, 6, 4, 4]}],
    "preprocess": {"steps": [{"op": "decode"}, {"op": "resize", "mode": "letterbox", "size": [32, 32]},
                             {"op": "to_float"}, {"op": "layout"}]},
    "postprocess": {"type": "detection", "encoding": "anchor_free_grid", "stride": 16, "box_format": "xyxy",
                    "score_activation": "none", "score_threshold": 0.25, "nms_iou": 0.45, "max_detections": 7,
                    "pre_nms_top_k": 9, "class_agnostic": true, "background_class": true, "coordinates": "input",
                    "score_margin": 0.1, "labels_file": "names.txt"},
    "models": [{"id": "m", "file": "m.onnx", "precision": "fp32", "role": "student", "opset": 13}],
    "default_model": "m"})";
  // anchor_free_grid wants rank 3: rule manifest.detection_output
  try {
    parse_manifest(text, "m.json");
    ADD_FAILURE() << "a rank-4 output passed as anchor_free_grid";
  } catch (const ContractError& e) {
    EXPECT_EQ(e.rule(), "manifest.detection_output");
  }
  std::string ok = text;
  ok.replace(ok.find("[-1, 6, 4, 4]"), 13, "[-1, 6, 16]");
  const Manifest m = parse_manifest(ok, "m.json");
  ASSERT_TRUE(m.is_detection());
  EXPECT_EQ(m.task, "detection");
  EXPECT_EQ(m.postprocess.type, "detection");
  EXPECT_EQ(m.postprocess.labels_file, "names.txt");
  const auto& d = *m.detection;
  EXPECT_EQ(d.encoding, "anchor_free_grid");
  EXPECT_EQ(d.stride, 16);
  EXPECT_EQ(d.box_format, "xyxy");
  EXPECT_EQ(d.score_activation, "none");
  EXPECT_EQ(d.score_threshold, 0.25);
  EXPECT_EQ(d.nms_iou, 0.45);
  EXPECT_EQ(d.max_detections, 7);
  EXPECT_EQ(d.pre_nms_top_k, 9);
  EXPECT_TRUE(d.class_agnostic);
  EXPECT_TRUE(d.background_class);
  EXPECT_EQ(d.coordinates, "input");
  EXPECT_EQ(d.score_margin, 0.1);
  EXPECT_EQ(d.labels_file, "names.txt");
  // the defaults, from {"type": "detection"} alone
  const DetectionPostprocess def = parse_detection_postprocess(R"({"type": "detection"})", "p.json");
  EXPECT_EQ(def.encoding, "edgekit_ltrb");
  EXPECT_EQ(def.stride, 8);
  EXPECT_EQ(def.score_threshold, 0.3);
  EXPECT_EQ(def.nms_iou, 0.5);
  EXPECT_EQ(def.max_detections, 100);
  EXPECT_EQ(def.pre_nms_top_k, 1000);
  EXPECT_EQ(def.coordinates, "original");
  EXPECT_EQ(def.score_margin, 0.05);
  EXPECT_THROW(parse_detection_postprocess(R"({"type": "detection", "nms_iou": 0})", "p.json"), ContractError);
  // a classification manifest has no detection block
  std::string cls = ok;
  cls.replace(cls.find(R"("task": "detection")"), 19, R"("task": "classification")");
  const size_t p0 = cls.find(R"("postprocess")"), p1 = cls.find('}', p0);
  cls.erase(p0, p1 - p0 + 2);
  cls.replace(cls.find("[-1, 6, 16]"), 11, "[-1, 6]");
  EXPECT_FALSE(parse_manifest(cls, "c.json").is_detection());
}
