// Detection postprocessing, step for step as edgekit/detect/postprocess.py: every float32 operation is one
// rounded float32 operation here too (this file is compiled with -ffp-contract=off, no fast-math), IoU and
// the inverse geometry are float64 of the float32 boxes.
#include "edgekit/detect.hpp"

#include <algorithm>
#include <cmath>

#include "edgekit/error.hpp"
#include "edgekit/preprocess.hpp"

namespace edgekit {

// -- geometry -------------------------------------------------------------------------------------------
Affine Affine::then(double sx, double ox, double sy, double oy) const {
  Affine a = *this;
  a.ax = sx * ax;
  a.bx = sx * bx + ox;
  a.ay = sy * ay;
  a.by = sy * by + oy;
  return a;
}

std::array<double, 4> Affine::forward(const std::array<double, 4>& b) const {
  return {b[0] * ax + bx, b[1] * ay + by, b[2] * ax + bx, b[3] * ay + by};
}

std::array<double, 4> Affine::inverse(const std::array<double, 4>& b, bool clip) const {
  std::array<double, 4> o = {(b[0] - bx) / ax, (b[1] - by) / ay, (b[2] - bx) / ax, (b[3] - by) / ay};
  if (clip) {
    // np.clip(v, 0, w) = minimum(maximum(v, 0), w)
    const double h = in_hw.first, w = in_hw.second;
    for (int i : {0, 2}) o[static_cast<size_t>(i)] = std::min(std::max(o[static_cast<size_t>(i)], 0.0), w);
    for (int i : {1, 3}) o[static_cast<size_t>(i)] = std::min(std::max(o[static_cast<size_t>(i)], 0.0), h);
  }
  return o;
}

Affine input_affine(const PreprocessSpec& spec, int h, int w) {
  Affine a;
  a.in_hw = {h, w};
  for (const auto& s : spec.steps) {
    if (s.op == "resize") {
      int nh = 0, nw = 0;
      if (s.mode == "stretch") {
        nh = s.size.at(0);
        nw = s.size.at(1);
        a = a.then(static_cast<double>(nw) / w, 0.0, static_cast<double>(nh) / h, 0.0);
      } else if (s.mode == "shorter_side") {
        std::tie(nh, nw) = geometry::shorter_side(h, w, s.size.at(0));
        a = a.then(static_cast<double>(nw) / w, 0.0, static_cast<double>(nh) / h, 0.0);
      } else {
        const int th = s.size.at(0), tw = s.size.at(1);
        const auto [lh, lw, top, left] = geometry::letterbox(h, w, th, tw);
        a = a.then(static_cast<double>(lw) / w, static_cast<double>(left), static_cast<double>(lh) / h,
                   static_cast<double>(top));
        nh = th;
        nw = tw;
      }
      h = nh;
      w = nw;
    } else if (s.op == "center_crop") {
      const int ch = s.size.at(0), cw = s.size.at(1);
      const auto [top, left] = geometry::center_crop(h, w, ch, cw);
      a = a.then(1.0, -static_cast<double>(left), 1.0, -static_cast<double>(top));
      h = ch;
      w = cw;
    }
  }
  a.out_hw = {h, w};
  return a;
}

// -- decoding -------------------------------------------------------------------------------------------
namespace {
// 1 / (1 + exp(-x)) in double, rounded once to float: float32 exp differs between libm and NumPy's SIMD
// code by a few ulps (and between CPUs); double exp is correctly rounded in practice, so both languages
// round the same value (edgekit/detect/postprocess.py _sigmoid).
float sigmoid(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x)))); }
// np.maximum(r, 0): NaN propagates (std::max(NaN, 0) returns its first argument, NaN)
float relu(float r) { return std::max(r, 0.0f); }
bool finite4(const std::array<float, 4>& b) {
  return std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
}
}  // namespace

Decoded decode(const Tensor& out, const DetectionPostprocess& post, int64_t b) {
  const bool ltrb = post.encoding == "edgekit_ltrb";
  const size_t want = ltrb ? 4 : 3;
  if (out.shape.size() != want || out.shape[1] < 5 || b < 0 || b >= out.shape[0] ||
      static_cast<int64_t>(out.data.size()) != out.count())
    throw InputError("detection output '" + out.name + "' of shape " + shape_to_string(out.shape) + " is not " +
                         (ltrb ? "[N, 4 + C, H, W] (edgekit_ltrb)" : "[N, 4 + C, A] (anchor_free_grid)"),
                     "check postprocess.encoding in the manifest against the model's output");
  Decoded d;
  const int64_t ch = out.shape[1];
  const int64_t P = ltrb ? out.shape[2] * out.shape[3] : out.shape[2];
  d.classes = static_cast<int>(ch - 4);
  const float* row = out.data.data() + static_cast<size_t>(b * ch * P);
  auto at = [&](int64_t c, int64_t p) { return row[static_cast<size_t>(c * P + p)]; };
  d.boxes.resize(static_cast<size_t>(P));
  if (ltrb) {
    const int64_t W = out.shape[3];
    const float s = static_cast<float>(post.stride);
    for (int64_t p = 0; p < P; ++p) {
      const float cx = (static_cast<float>(p % W) + 0.5f) * s;
      const float cy = (static_cast<float>(p / W) + 0.5f) * s;
      const float l = relu(at(0, p)) * s, t = relu(at(1, p)) * s, r = relu(at(2, p)) * s, bo = relu(at(3, p)) * s;
      d.boxes[static_cast<size_t>(p)] = {cx - l, cy - t, cx + r, cy + bo};
    }
  } else if (post.box_format == "cxcywh") {
    for (int64_t p = 0; p < P; ++p) {
      const float hw = at(2, p) * 0.5f, hh = at(3, p) * 0.5f;
      d.boxes[static_cast<size_t>(p)] = {at(0, p) - hw, at(1, p) - hh, at(0, p) + hw, at(1, p) + hh};
    }
  } else {
    for (int64_t p = 0; p < P; ++p) d.boxes[static_cast<size_t>(p)] = {at(0, p), at(1, p), at(2, p), at(3, p)};
  }
  const int64_t C = d.classes;
  const bool sig = post.score_activation == "sigmoid";
  d.scores.resize(static_cast<size_t>(P * C));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t c = 0; c < C; ++c) {
      const float x = at(4 + c, p);
      d.scores[static_cast<size_t>(p * C + c)] = sig ? sigmoid(x) : x;
    }
  return d;
}

std::vector<int64_t> candidates(const Decoded& d, const DetectionPostprocess& post) {
  const int64_t C = d.classes;
  const float thr = static_cast<float>(post.score_threshold);
  std::vector<int64_t> ks;
  for (size_t p = 0; p < d.boxes.size(); ++p) {
    if (!finite4(d.boxes[p])) continue;
    for (int64_t c = (post.background_class ? 1 : 0); c < C; ++c) {
      const int64_t k = static_cast<int64_t>(p) * C + c;
      const float s = d.scores[static_cast<size_t>(k)];
      if (std::isfinite(s) && s >= thr) ks.push_back(k);
    }
  }
  // score descending, then k ascending: a total order, so the result does not depend on the sort algorithm
  std::sort(ks.begin(), ks.end(), [&](int64_t a, int64_t b) {
    const float sa = d.scores[static_cast<size_t>(a)], sb = d.scores[static_cast<size_t>(b)];
    if (sa != sb) return sa > sb;
    return a < b;
  });
  if (static_cast<int64_t>(ks.size()) > post.pre_nms_top_k) ks.resize(static_cast<size_t>(post.pre_nms_top_k));
  return ks;
}

double iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double ax1 = a[0], ay1 = a[1], ax2 = a[2], ay2 = a[3];
  const double bx1 = b[0], by1 = b[1], bx2 = b[2], by2 = b[3];
  const double inter = std::max(0.0, std::min(ax2, bx2) - std::max(ax1, bx1)) *
                       std::max(0.0, std::min(ay2, by2) - std::max(ay1, by1));
  const double uni = std::max(0.0, ax2 - ax1) * std::max(0.0, ay2 - ay1) +
                     std::max(0.0, bx2 - bx1) * std::max(0.0, by2 - by1) - inter;
  return uni > 0.0 ? inter / uni : 0.0;
}

std::vector<int64_t> nms(const Decoded& d, const DetectionPostprocess& post) {
  const int64_t C = d.classes;
  std::vector<int64_t> kept;
  for (const int64_t k : candidates(d, post)) {
    const int64_t p = k / C, c = k % C;
    bool suppressed = false;
    for (const int64_t q : kept) {
      if ((post.class_agnostic || q % C == c) &&
          iou(d.boxes[static_cast<size_t>(p)], d.boxes[static_cast<size_t>(q / C)]) > post.nms_iou) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) {
      kept.push_back(k);
      if (static_cast<int64_t>(kept.size()) >= post.max_detections) break;
    }
  }
  return kept;
}

std::vector<std::vector<Detection>> detect(const Tensor& output, const DetectionPostprocess& post,
                                           const std::vector<std::string>& labels, const PreprocessSpec& spec,
                                           const std::vector<std::pair<int, int>>& image_hw) {
  if (output.shape.empty() || output.shape[0] <= 0)
    throw InputError("model output of shape " + shape_to_string(output.shape) + " has no batch rows",
                     "check the model's output");
  const bool to_original = post.coordinates == "original";
  if (to_original && static_cast<int64_t>(image_hw.size()) != output.shape[0])
    throw InputError("coordinates: original needs the image size of every batch row (" +
                         std::to_string(output.shape[0]) + " rows, " + std::to_string(image_hw.size()) + " sizes)",
                     "pass the decoded image's (h, w) per row, or set postprocess.coordinates: input");
  std::vector<std::vector<Detection>> res;
  for (int64_t b = 0; b < output.shape[0]; ++b) {
    const Decoded d = decode(output, post, b);
    const int64_t C = d.classes;
    Affine a;
    if (to_original) a = input_affine(spec, image_hw[static_cast<size_t>(b)].first, image_hw[static_cast<size_t>(b)].second);
    std::vector<Detection> dets;
    for (const int64_t k : nms(d, post)) {
      const int64_t p = k / C, c = k % C;
      const auto& f = d.boxes[static_cast<size_t>(p)];
      std::array<double, 4> box = {f[0], f[1], f[2], f[3]};
      if (to_original) box = a.inverse(box);
      Detection det;
      det.x1 = box[0];
      det.y1 = box[1];
      det.x2 = box[2];
      det.y2 = box[3];
      det.score = d.scores[static_cast<size_t>(k)];
      det.class_id = static_cast<int>(c);
      det.label = c < static_cast<int64_t>(labels.size()) ? labels[static_cast<size_t>(c)] : "";
      dets.push_back(std::move(det));
    }
    res.push_back(std::move(dets));
  }
  return res;
}

}  // namespace edgekit
