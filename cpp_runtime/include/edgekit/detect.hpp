// Detection postprocessing from the manifest (postprocess.type: detection): box decoding, the deterministic
// candidate order, greedy NMS and the inverse of the preprocessing geometry. The same declaration, the same
// steps in the same float32 / float64 order as the Python interpreter (edgekit/detect/postprocess.py,
// edgekit/preprocess/geometry.py input_affine), so both languages give the same detections for the same output.
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "edgekit/manifest.hpp"
#include "edgekit/tensor.hpp"

namespace edgekit {

/// One detection: the box (x1, y1, x2, y2) in original-image pixels (network-input pixels with
/// ``coordinates: input``), its score, the output class channel and its label ("" past the labels).
/// The box is double: the inverse geometry runs in float64, as in Python (the decode itself is float32).
struct Detection {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0.f;
  int class_id = 0;
  std::string label;
};

/// Where a point of the decoded image lands in the network input, per axis: x' = ax * x + bx, y' = ay * y + by
/// (continuous pixel-edge coordinates). ``in_hw``: the decoded image's (h, w); ``out_hw``: the network input's.
struct Affine {
  double ax = 1.0, bx = 0.0, ay = 1.0, by = 0.0;
  std::pair<int, int> in_hw{0, 0}, out_hw{0, 0};
  /// This mapping followed by x' = sx * x + ox (and y likewise).
  Affine then(double sx, double ox, double sy, double oy) const;
  /// xyxy in decoded-image pixels -> network-input pixels.
  std::array<double, 4> forward(const std::array<double, 4>& box) const;
  /// xyxy in network-input pixels -> decoded-image pixels, clipped to [0, w] x [0, h] of in_hw when ``clip``.
  std::array<double, 4> inverse(const std::array<double, 4>& box, bool clip = true) const;
};

/// The affine of the spec's geometry steps (resize stretch / shorter_side / letterbox, center_crop; cvt_color
/// is the identity) for a decoded image of h x w; the integer geometry of preprocess.cpp (geometry::...).
Affine input_affine(const PreprocessSpec& spec, int h, int w);

/// One batch row decoded: float32 xyxy boxes in network-input pixels [P][4] and float32 scores [P * C].
struct Decoded {
  std::vector<std::array<float, 4>> boxes;
  std::vector<float> scores;  ///< row-major [P, C]
  int classes = 0;            ///< C
};

/// Decode batch row ``b`` of ``output`` ([N, 4 + C, H, W] edgekit_ltrb, [N, 4 + C, A] anchor_free_grid).
/// Throws InputError when the output's shape does not fit the encoding.
Decoded decode(const Tensor& output, const DetectionPostprocess& post, int64_t b);
/// Candidate indices k = p * C + c: finite score >= score_threshold (float32), finite box, class 0 skipped with
/// background_class; sorted by score descending, then k ascending; at most pre_nms_top_k.
std::vector<int64_t> candidates(const Decoded& d, const DetectionPostprocess& post);
/// IoU of two xyxy boxes in float64; 0 when the union is empty.
double iou(const std::array<float, 4>& a, const std::array<float, 4>& b);
/// Greedy NMS over candidates(): a candidate is dropped when a kept one of its class (any class with
/// class_agnostic) has IoU > nms_iou; at most max_detections. The kept k in output order.
std::vector<int64_t> nms(const Decoded& d, const DetectionPostprocess& post);

/// Per batch row of the model's one output: its detections, best first. With ``coordinates: original`` the
/// boxes go back through input_affine(spec, h, w) of ``image_hw[row]`` (the decoded image's (h, w)) and are
/// clipped to the image; InputError when image_hw does not give one size per batch row.
std::vector<std::vector<Detection>> detect(const Tensor& output, const DetectionPostprocess& post,
                                           const std::vector<std::string>& labels, const PreprocessSpec& spec,
                                           const std::vector<std::pair<int, int>>& image_hw);

}  // namespace edgekit
