// The C++ interpretation of the declarative preprocessing spec (edgekit/preprocess/python_impl.py),
// bit-identical to it: uint8 geometry with OpenCV, float math in explicit float32 loops.
#pragma once
#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgekit/manifest.hpp"
#include "edgekit/npy.hpp"
#include "edgekit/tensor.hpp"

namespace edgekit {

struct Stage {
  int index = 0;
  std::string op;
  NpyArray tensor;  ///< exactly what the Python stage holds (HxWxC uint8/float32, then 1xCxHxW)
  std::string name() const;  ///< "{index:02d}_{op}"
};

namespace geometry {
std::pair<int, int> shorter_side(int h, int w, int target);                    ///< (new_h, new_w)
std::tuple<int, int, int, int> letterbox(int h, int w, int th, int tw);        ///< (nh, nw, top, left)
std::pair<int, int> center_crop(int h, int w, int ch, int cw);                 ///< (top, left)
}  // namespace geometry

/// The decode limit in pixels: $EDGEKIT_MAX_IMAGE_PIXELS (a positive integer) or 64 megapixels (the contract's
/// kMaxImagePixelsDefault). Throws InputError on a malformed value.
int64_t max_image_pixels();
/// (width, height) from a PNG/JPEG/BMP/PNM header, without decoding; nullopt for other formats.
std::optional<std::pair<int64_t, int64_t>> image_header_size(const std::vector<uint8_t>& bytes);
/// Throws InputError naming ``what`` when w*h exceeds max_image_pixels().
void check_image_pixels(int64_t w, int64_t h, const std::string& what);

/// Decode encoded image bytes (the header's size is checked against max_image_pixels() first) as the spec's decode step does (cv::imdecode with the same flags).
cv::Mat decode_image(const Step& decode, const std::vector<uint8_t>& bytes, const std::string& what);
/// Apply one non-decode step to an HxWxC image (CV_8UC* before to_float, CV_32FC* after).
cv::Mat apply_step(const Step& step, const cv::Mat& x);
/// The final layout step: HxWxC float32 -> 1xCxHxW or 1xHxWxC tensor.
Tensor to_layout(const Step& layout, const cv::Mat& x);
/// An HxWxC cv::Mat as a NumPy array (shape HxWxC, dtype |u1 or <f4).
NpyArray mat_to_npy(const cv::Mat& m);

/// Run the whole spec on an encoded image (``what`` names it in errors); with ``stages`` collect every step.
/// With ``image_hw``, also report the decoded image's (h, w) (after EXIF orientation): the size the geometry
/// starts from, which detection needs to map boxes back (detect.hpp input_affine).
Tensor preprocess_bytes(const PreprocessSpec& spec, const std::vector<uint8_t>& bytes, const std::string& what,
                        std::vector<Stage>* stages = nullptr, std::pair<int, int>* image_hw = nullptr);
/// Same, reading the image file first.
Tensor preprocess_file(const PreprocessSpec& spec, const std::string& path, std::vector<Stage>* stages = nullptr,
                       std::pair<int, int>* image_hw = nullptr);
/// Same, from an already decoded HxW[xC] uint8 image in the decode step's colour order.
Tensor preprocess_decoded(const PreprocessSpec& spec, const cv::Mat& decoded, std::vector<Stage>* stages = nullptr);

}  // namespace edgekit
