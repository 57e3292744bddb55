// Bit-exactness rules (see edgekit/preprocess/python_impl.py and the toolchain notes):
//  * geometry and colour conversion stay uint8 and use the same OpenCV calls as Python;
//  * to_float is float(u8) * float(scale), normalize is (x - float(mean)) / float(std), each rounded to
//    float32 per operation, in plain loops. This file is compiled with -ffp-contract=off and without
//    -ffast-math so the compiler can neither fuse nor reorder them.
#include "edgekit/preprocess.hpp"

#include <unistd.h>

#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tuple>

#include "edgekit/contract_generated.hpp"
#include "edgekit/error.hpp"
#include "edgekit/fs_util.hpp"

namespace edgekit {

std::string Stage::name() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d_", index);
  return buf + op;
}

namespace geometry {
std::pair<int, int> shorter_side(int h, int w, int target) {
  if (h <= w) return {target, std::max(1, (w * target + h / 2) / h)};
  return {std::max(1, (h * target + w / 2) / w), target};
}

std::tuple<int, int, int, int> letterbox(int h, int w, int th, int tw) {
  int nh = 0, nw = 0;
  if (static_cast<int64_t>(th) * w <= static_cast<int64_t>(tw) * h) {
    nh = th;
    nw = std::max(1, std::min(tw, (w * th + h / 2) / h));
  } else {
    nh = std::max(1, std::min(th, (h * tw + w / 2) / w));
    nw = tw;
  }
  return {nh, nw, (th - nh) / 2, (tw - nw) / 2};
}

std::pair<int, int> center_crop(int h, int w, int ch, int cw) { return {(h - ch) / 2, (w - cw) / 2}; }
}  // namespace geometry

namespace {
int interp_flag(const std::string& s) {
  if (s == "linear") return cv::INTER_LINEAR;
  if (s == "area") return cv::INTER_AREA;
  if (s == "nearest") return cv::INTER_NEAREST;
  if (s == "linear_exact") return cv::INTER_LINEAR_EXACT;
  throw InputError("unknown interpolation '" + s + "'", "use linear, area, nearest or linear_exact");
}

int color_code(const std::string& s) {
  if (s == "BGR2RGB") return cv::COLOR_BGR2RGB;
  if (s == "RGB2BGR") return cv::COLOR_RGB2BGR;
  if (s == "BGR2GRAY") return cv::COLOR_BGR2GRAY;
  if (s == "RGB2GRAY") return cv::COLOR_RGB2GRAY;
  if (s == "GRAY2BGR") return cv::COLOR_GRAY2BGR;
  if (s == "GRAY2RGB") return cv::COLOR_GRAY2RGB;
  throw InputError("unknown cvt_color code '" + s + "'", "use one of the codes in edgekit/preprocess/spec.py");
}

// libpng/libjpeg print their own warnings and errors on stderr (OpenCV installs no handler). While an
// image is decoded, fd 2 goes to a temporary file: a failure's message then becomes part of our one
// error line; warnings on success (e.g. "iCCP: known incorrect sRGB profile") are dropped.
class StderrCapture {
 public:
  StderrCapture() : lock_(mutex()) {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = file_ ? ::dup(2) : -1;
    if (saved_ >= 0) ::dup2(::fileno(file_), 2);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  /// Restore stderr and return what was written meanwhile (first line, trimmed).
  std::string restore() {
    std::string text;
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, 2);
      ::close(saved_);
      saved_ = -1;
      std::rewind(file_);
      char buf[256] = {0};
      if (std::fgets(buf, sizeof buf, file_)) text = buf;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    }
    if (file_) {
      std::fclose(file_);
      file_ = nullptr;
    }
    return text;
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  std::lock_guard<std::mutex> lock_;
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

cv::Mat resize_to(const cv::Mat& x, int nh, int nw, int interp) {
  cv::Mat r;
  cv::resize(x, r, cv::Size(nw, nh), 0, 0, interp);
  return r;
}
}  // namespace

// -- decode size limit (Python: edgekit/preprocess/image_header.py, the same formats and rules) ----------
int64_t max_image_pixels() {
  const char* raw = std::getenv(contract::kMaxImagePixelsEnv);
  if (!raw || !*raw) return contract::kMaxImagePixelsDefault;
  const std::string s(raw);
  int64_t v = 0;
  bool ok = s.size() <= 18;
  for (char c : s) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) v = v * 10 + (c - '0');
  }
  if (!ok || v <= 0)
    throw InputError(std::string(contract::kMaxImagePixelsEnv) + "='" + s + "' is not a positive integer",
                     std::string("set it to a pixel count, e.g. ") + contract::kMaxImagePixelsEnv + "=100000000, or unset it");
  return v;
}

std::optional<std::pair<int64_t, int64_t>> image_header_size(const std::vector<uint8_t>& b) {
  auto be32 = [&](size_t i) { return (int64_t{b[i]} << 24) | (int64_t{b[i + 1]} << 16) | (int64_t{b[i + 2]} << 8) | b[i + 3]; };
  auto le32 = [&](size_t i) { return static_cast<int32_t>(uint32_t{b[i]} | (uint32_t{b[i + 1]} << 8) | (uint32_t{b[i + 2]} << 16) | (uint32_t{b[i + 3]} << 24)); };
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() >= 24 && std::memcmp(b.data(), kPng, 8) == 0 && std::memcmp(b.data() + 12, "IHDR", 4) == 0)
    return std::make_pair(be32(16), be32(20));
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) {
    size_t i = 2;
    while (i + 1 < b.size()) {
      if (b[i] != 0xFF) return std::nullopt;
      const uint8_t m = b[i + 1];
      if (m == 0xFF) {
        i += 1;
        continue;
      }
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
        i += 2;
        continue;
      }
      if (i + 4 > b.size()) return std::nullopt;
      const size_t seg = (size_t{b[i + 2]} << 8) | b[i + 3];
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        if (i + 9 > b.size()) return std::nullopt;
        const int64_t h = (int64_t{b[i + 5]} << 8) | b[i + 6];
        const int64_t w = (int64_t{b[i + 7]} << 8) | b[i + 8];
        return std::make_pair(w, h);
      }
      if (m == 0xDA || m == 0xD9 || seg < 2) return std::nullopt;
      i += 2 + seg;
    }
    return std::nullopt;
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    const int32_t dib = le32(14);
    if (dib == 12) return std::make_pair(int64_t{b[18]} | (int64_t{b[19]} << 8), int64_t{b[20]} | (int64_t{b[21]} << 8));
    return std::make_pair(std::abs(int64_t{le32(18)}), std::abs(int64_t{le32(22)}));
  }
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {
    std::vector<std::string> toks;
    size_t i = 2;
    while (toks.size() < 2 && i < b.size() && i < 4096) {
      const char c = static_cast<char>(b[i]);
      if (c == '#') {
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else {
        size_t j = i;
        while (j < b.size() && b[j] >= '0' && b[j] <= '9') ++j;
        if (j == i) return std::nullopt;
        toks.emplace_back(reinterpret_cast<const char*>(b.data() + i), j - i);
        i = j;
      }
    }
    if (toks.size() == 2) {
      auto num = [](const std::string& t) {  // saturate: any 19+ digit size is far over every limit
        return t.size() > 18 ? INT64_MAX / 4 : std::stoll(t);
      };
      return std::make_pair(static_cast<int64_t>(num(toks[0])), static_cast<int64_t>(num(toks[1])));
    }
  }
  return std::nullopt;
}

void check_image_pixels(int64_t w, int64_t h, const std::string& what) {
  const int64_t limit = max_image_pixels();
  int64_t px = 0;
  if (__builtin_mul_overflow(w, h, &px) || px > limit) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%lldx%lld = %.1f megapixels, more than the limit of %g megapixels",
                  static_cast<long long>(w), static_cast<long long>(h), static_cast<double>(w) * static_cast<double>(h) / 1e6,
                  static_cast<double>(limit) / 1e6);
    throw InputError(what + " is " + buf + " [image.too_large]",
                     std::string("downscale the image, or raise the limit with ") + contract::kMaxImagePixelsEnv + "=" +
                         std::to_string(static_cast<long long>(static_cast<double>(w) * static_cast<double>(h))));
  }
}

cv::Mat decode_image(const Step& decode, const std::vector<uint8_t>& bytes, const std::string& what) {
  // Before decoding: a small file can declare gigabytes of pixels (OpenCV's own limit is 2^30).
  if (const auto wh = image_header_size(bytes)) check_image_pixels(wh->first, wh->second, what);
  // Always decode in colour; "gray" converts with cvtColor(BGR2GRAY) below. IMREAD_GRAYSCALE would let libpng
  // apply gamma in its own rgb_to_gray (builds differ by up to 20 levels) and libjpeg return its Y channel.
  // EXIF orientation: "apply" is OpenCV's default; "ignore" keeps the stored pixel order (same flag as Python).
  const int flag = decode.exif == "ignore" ? (cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION) : cv::IMREAD_COLOR;
  cv::Mat img;
  std::string why;
  if (!bytes.empty()) {
    StderrCapture capture;
    try {
      // imdecode only reads the buffer; cv::Mat has no const-data constructor.
      const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
      img = cv::imdecode(buf, flag);
    } catch (const cv::Exception& e) {
      img.release();
      why = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    }
    const std::string said = capture.restore();
    if (why.empty()) why = said;
  } else {
    why = "the file is empty";
  }
  if (img.empty() || img.depth() != CV_8U)
    throw InputError("cannot decode " + what + ": not a readable image" + (why.empty() ? "" : " (" + why + ")"),
                     "pass a PNG/JPEG/BMP file");
  check_image_pixels(img.cols, img.rows, what);  // formats whose header is not read above
  if (decode.color == "gray") {
    cv::Mat gray;
    cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
    return gray;
  }
  return img;
}

cv::Mat apply_step(const Step& step, const cv::Mat& x) {
  if (step.op == "cvt_color") {
    const int src_c = step.code.rfind("GRAY", 0) == 0 ? 1 : 3;
    if (x.channels() != src_c)
      throw InputError("cvt_color " + step.code + " expects " + std::to_string(src_c) + " channel(s), the image has " +
                           std::to_string(x.channels()),
                       "fix the decode color or the cvt_color code in the spec");
    cv::Mat out;
    cv::cvtColor(x, out, color_code(step.code));
    return out;
  }
  if (step.op == "resize") {
    const int h = x.rows, w = x.cols, interp = interp_flag(step.interpolation);
    if (step.mode == "stretch") return resize_to(x, step.size[0], step.size[1], interp);
    if (step.mode == "shorter_side") {
      const auto [nh, nw] = geometry::shorter_side(h, w, step.size[0]);
      return resize_to(x, nh, nw, interp);
    }
    const int th = step.size[0], tw = step.size[1];
    const auto [nh, nw, top, left] = geometry::letterbox(h, w, th, tw);
    const cv::Mat r = resize_to(x, nh, nw, interp);
    cv::Mat out(th, tw, x.type(), cv::Scalar::all(step.pad_value));
    r.copyTo(out(cv::Rect(left, top, nw, nh)));
    return out;
  }
  if (step.op == "center_crop") {
    const int ch = step.size[0], cw = step.size[1];
    if (ch > x.rows || cw > x.cols)
      throw InputError("center_crop " + std::to_string(ch) + "x" + std::to_string(cw) + " is larger than the image (" +
                           std::to_string(x.rows) + "x" + std::to_string(x.cols) + ") at that step",
                       "resize to at least the crop size first");
    const auto [top, left] = geometry::center_crop(x.rows, x.cols, ch, cw);
    return x(cv::Rect(left, top, cw, ch)).clone();
  }
  if (step.op == "to_float") {
    if (x.depth() != CV_8U) throw InputError("to_float expects uint8", "put to_float once, after geometry");
    const cv::Mat src = x.isContinuous() ? x : x.clone();
    cv::Mat out(src.rows, src.cols, CV_MAKETYPE(CV_32F, src.channels()));
    const float scale = static_cast<float>(step.scale);
    const uint8_t* in = src.ptr<uint8_t>();
    float* o = out.ptr<float>();
    const size_t n = src.total() * static_cast<size_t>(src.channels());
    for (size_t i = 0; i < n; ++i) o[i] = static_cast<float>(in[i]) * scale;
    return out;
  }
  if (step.op == "normalize") {
    if (x.depth() != CV_32F) throw InputError("normalize expects float32", "put normalize after to_float");
    const int c = x.channels();
    if (step.mean.size() != 1 && static_cast<int>(step.mean.size()) != c)
      throw InputError("normalize has " + std::to_string(step.mean.size()) + " mean values for a " + std::to_string(c) +
                           "-channel image",
                       "give one value per channel");
    std::vector<float> mean(static_cast<size_t>(c)), sd(static_cast<size_t>(c));
    for (int k = 0; k < c; ++k) {
      const size_t src = step.mean.size() == 1 ? 0 : static_cast<size_t>(k);
      mean[static_cast<size_t>(k)] = static_cast<float>(step.mean[src]);
      sd[static_cast<size_t>(k)] = static_cast<float>(step.std[src]);
    }
    const cv::Mat src = x.isContinuous() ? x : x.clone();
    cv::Mat out(src.rows, src.cols, src.type());
    const float* in = src.ptr<float>();
    float* o = out.ptr<float>();
    const size_t px = src.total();
    for (size_t p = 0; p < px; ++p)
      for (int k = 0; k < c; ++k) {
        const size_t i = p * static_cast<size_t>(c) + static_cast<size_t>(k);
        const float centred = in[i] - mean[static_cast<size_t>(k)];
        o[i] = centred / sd[static_cast<size_t>(k)];
      }
    return out;
  }
  throw InputError("step '" + step.op + "' cannot be applied here", "check the preprocessing spec");
}

Tensor to_layout(const Step& layout, const cv::Mat& x) {
  if (x.depth() != CV_32F) throw InputError("layout expects float32", "put to_float before layout");
  const cv::Mat src = x.isContinuous() ? x : x.clone();
  const int64_t H = src.rows, W = src.cols, C = src.channels();
  Tensor t;
  t.data.resize(static_cast<size_t>(H * W * C));
  const float* in = src.ptr<float>();
  if (layout.to == "NCHW") {
    t.shape = {1, C, H, W};
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < H * W; ++p) t.data[static_cast<size_t>(c * H * W + p)] = in[p * C + c];
  } else {
    t.shape = {1, H, W, C};
    std::memcpy(t.data.data(), in, t.data.size() * sizeof(float));
  }
  return t;
}

NpyArray mat_to_npy(const cv::Mat& m) {
  const cv::Mat src = m.isContinuous() ? m : m.clone();
  NpyArray a;
  a.shape = {src.rows, src.cols, src.channels()};
  if (src.depth() == CV_8U)
    a.descr = "|u1";
  else if (src.depth() == CV_32F)
    a.descr = "<f4";
  else
    throw InputError("unexpected image depth in preprocessing", "report this bug");
  const size_t n = src.total() * src.elemSize();
  a.data.assign(src.data, src.data + n);
  return a;
}

Tensor preprocess_decoded(const PreprocessSpec& spec, const cv::Mat& decoded, std::vector<Stage>* stages) {
  const int want_c = spec.steps.front().color == "gray" ? 1 : 3;
  if (decoded.depth() != CV_8U || decoded.dims != 2 || decoded.channels() != want_c)
    throw InputError("decoded image must be uint8 HxWx" + std::to_string(want_c) + ", got " +
                         std::to_string(decoded.channels()) + " channel(s) of depth " + std::to_string(decoded.depth()),
                     "pass the image as decode would produce it");
  cv::Mat x = decoded;
  if (stages) stages->push_back({0, "decode", mat_to_npy(x)});
  for (size_t i = 1; i < spec.steps.size(); ++i) {
    const Step& s = spec.steps[i];
    if (s.op == "layout") {
      Tensor t = to_layout(s, x);
      if (stages) {
        NpyArray a;
        a.descr = "<f4";
        a.shape = t.shape;
        const auto* p = reinterpret_cast<const uint8_t*>(t.data.data());
        a.data.assign(p, p + t.data.size() * sizeof(float));
        stages->push_back({static_cast<int>(i), s.op, std::move(a)});
      }
      return t;
    }
    x = apply_step(s, x);
    if (stages) stages->push_back({static_cast<int>(i), s.op, mat_to_npy(x)});
  }
  throw InputError("the preprocessing spec does not end with a layout step", "rebuild the bundle");
}

Tensor preprocess_bytes(const PreprocessSpec& spec, const std::vector<uint8_t>& bytes, const std::string& what,
                        std::vector<Stage>* stages, std::pair<int, int>* image_hw) {
  const cv::Mat img = decode_image(spec.steps.front(), bytes, what);
  if (image_hw) *image_hw = {img.rows, img.cols};
  return preprocess_decoded(spec, img, stages);
}

Tensor preprocess_file(const PreprocessSpec& spec, const std::string& path, std::vector<Stage>* stages,
                       std::pair<int, int>* image_hw) {
  return preprocess_bytes(spec, read_file_bytes(path, "image"), path, stages, image_hw);
}

}  // namespace edgekit
