#include "camera_source.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include <time.h>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace fs = std::filesystem;

namespace edgekit::camera {

const char* const kDefaultCsiPipeline =
    "nvarguscamerasrc sensor-id={sensor_id} ! video/x-raw(memory:NVMM), width=1920, height=1080, "
    "framerate=30/1 ! nvvidconv flip-method=0 ! video/x-raw, width=960, height=540, format=BGRx ! "
    "videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1";

namespace {

const char* kFix =
    "use csi://N, v4l2:///dev/videoN, rtsp://host/path, file://clip.avi, a video or an image folder";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_image(const fs::path& p) {
  static const char* exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"};
  const std::string e = lower(p.extension().string());
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* x) { return e == x; });
}

bool all_digits(const std::string& s) {  // a small non-negative number (sensor / device index)
  return !s.empty() && s.size() <= 6 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// Split "scheme://rest"; the scheme is [A-Za-z][A-Za-z0-9+.-]* (RFC 3986). False when there is none.
bool split_scheme(const std::string& u, std::string& scheme, std::string& rest) {
  const auto at = u.find("://");
  if (at == std::string::npos || at == 0 || !std::isalpha(static_cast<unsigned char>(u[0]))) return false;
  for (size_t i = 0; i < at; ++i) {
    const unsigned char c = static_cast<unsigned char>(u[i]);
    if (!std::isalnum(c) && c != '+' && c != '.' && c != '-') return false;
  }
  scheme = lower(u.substr(0, at));
  rest = u.substr(at + 3);
  return true;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

class VideoReader : public Reader {
 public:
  explicit VideoReader(const Source& src) {
    int api = cv::CAP_FFMPEG;
    if (src.kind == SourceKind::csi) api = cv::CAP_GSTREAMER;
    if (src.kind == SourceKind::v4l2) api = cv::CAP_V4L2;
    const bool opened = src.kind == SourceKind::v4l2 ? cap_.open(src.index, api) : cap_.open(src.target, api);
    if (!opened || !cap_.isOpened()) {
      cap_.release();
      std::string what = "it cannot be opened", fix;
      switch (src.kind) {
        case SourceKind::v4l2:
          what = "no such camera or it is busy";
          fix = "check `ls /dev/video*` and that no other program holds the camera";
          break;
        case SourceKind::csi:
          fix = "check the sensor number and that nvargus-daemon runs";
          break;
        case SourceKind::stream:
          what = "the stream did not answer";
          fix = "check the URL and that the server is reachable";
          break;
        default:
          fix = "check that the file is a video (MJPG/FFV1/H.264 in .avi/.mkv/.mp4)";
      }
      throw SourceOpenError("source '" + src.uri + "': " + what, fix);
    }
    const double f = cap_.get(cv::CAP_PROP_FPS);
    fps_ = (f > 0 && f <= 240) ? f : 0;
  }
  bool read(cv::Mat& frame) override {
    if (!cap_.read(frame) || frame.empty()) return false;
    if (frame.channels() == 1) cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
    return true;
  }
  double fps() const override { return fps_; }

 private:
  cv::VideoCapture cap_;
  double fps_ = 0;
};

class ImageFolderReader : public Reader {
 public:
  explicit ImageFolderReader(const Source& src) : uri_(src.uri), files_(list_images(src.target)) {}
  bool read(cv::Mat& frame) override {
    if (pos_ >= files_.size()) return false;
    const std::string& p = files_[pos_++];
    frame = cv::imread(p, cv::IMREAD_COLOR);
    if (frame.empty())
      throw InputError("source '" + uri_ + "': cannot decode image " + fs::path(p).filename().string(),
                       "remove or fix that file");
    return true;
  }
  double fps() const override { return 0; }

 private:
  std::string uri_;
  std::vector<std::string> files_;
  size_t pos_ = 0;
};

}  // namespace

const char* kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::csi: return "csi";
    case SourceKind::v4l2: return "v4l2";
    case SourceKind::stream: return "stream";
    case SourceKind::file: return "file";
    case SourceKind::images: return "images";
  }
  return "?";
}

std::vector<std::string> list_images(const std::string& folder) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (e.is_regular_file() && is_image(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Source parse_uri(const std::string& uri_in, const std::string& csi_pipeline) {
  const std::string u = trim(uri_in);
  if (u.empty()) throw SourceUriError("the source URI is empty", kFix);
  std::string scheme, rest = u;
  split_scheme(u, scheme, rest);
  Source s;
  s.uri = uri_in;
  if (scheme == "csi") {
    if (!all_digits(rest))
      throw SourceUriError("malformed source URI '" + uri_in + "': csi:// takes a sensor number", "e.g. csi://0");
    std::string pipe = csi_pipeline.empty() ? kDefaultCsiPipeline : csi_pipeline;
    const std::string ph = "{sensor_id}";
    const auto at = pipe.find(ph);
    if (at == std::string::npos)
      throw SourceUriError("the CSI pipeline has no {sensor_id} placeholder", "add sensor-id={sensor_id} to it");
    pipe.replace(at, ph.size(), rest);
    s.kind = SourceKind::csi;
    s.target = pipe;
    s.index = std::stoi(rest);
    return s;
  }
  if (scheme == "v4l2" || (scheme.empty() && u.rfind("/dev/video", 0) == 0)) {
    std::string dev = scheme.empty() ? u : rest;
    if (all_digits(dev)) dev = "/dev/video" + dev;
    const std::string prefix = "/dev/video";
    if (dev.rfind(prefix, 0) != 0 || !all_digits(dev.substr(prefix.size())))
      throw SourceUriError("malformed source URI '" + uri_in + "': expected a /dev/videoN device",
                           "e.g. v4l2:///dev/video0");
    s.kind = SourceKind::v4l2;
    s.target = dev;
    s.index = std::stoi(dev.substr(prefix.size()));
    return s;
  }
  if (scheme == "rtsp" || scheme == "rtsps" || scheme == "http" || scheme == "https" || scheme == "rtmp") {
    if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#' || std::isspace(static_cast<unsigned char>(rest[0])))
      throw SourceUriError("malformed source URI '" + uri_in + "': no host",
                           "e.g. " + scheme + "://camera.local:554/stream");
    s.kind = SourceKind::stream;
    s.target = u;
    return s;
  }
  if (!scheme.empty() && scheme != "file")
    throw SourceUriError("malformed source URI '" + uri_in + "': unknown scheme '" + scheme + "://'", kFix);
  const std::string path = scheme == "file" ? rest : u;
  if (path.empty()) throw SourceUriError("malformed source URI '" + uri_in + "': no path", "e.g. file:///data/clip.avi");
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (list_images(path).empty())
      throw SourceOpenError("source '" + uri_in + "': folder " + path + " has no images",
                            "put .png/.jpg/.bmp files in it");
    s.kind = SourceKind::images;
    s.target = path;
    return s;
  }
  if (!fs::exists(path, ec)) throw SourceOpenError("source '" + uri_in + "': file " + path + " does not exist", "check the path");
  if (!fs::is_regular_file(path, ec))
    throw SourceOpenError("source '" + uri_in + "': " + path + " is not a regular file", "pass a video file or a folder");
  s.kind = SourceKind::file;
  s.target = path;
  return s;
}

std::unique_ptr<Reader> open_source(const Source& src) {
  // OpenCV's own warnings (a failed V4L2/GStreamer open) would bury the one clear error line.
  if (!std::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  if (src.kind == SourceKind::images) return std::make_unique<ImageFolderReader>(src);
  return std::make_unique<VideoReader>(src);
}

double thread_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// -- capture thread -------------------------------------------------------------------------------------

CaptureThread::CaptureThread(Opener opener, std::unique_ptr<Reader> first, CaptureOptions opt,
                             std::function<void(const std::string&)> on_event)
    : opener_(std::move(opener)), reader_(std::move(first)), opt_(opt), on_event_(std::move(on_event)) {
  if (opt_.queue_size < 1) opt_.queue_size = 1;
}

CaptureThread::~CaptureThread() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void CaptureThread::start() { thread_ = std::thread([this] { run(); }); }

void CaptureThread::stop() {
  stop_ = true;
  cv_.notify_all();
}

int CaptureThread::get(Frame& out, double timeout_s) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, std::chrono::duration<double>(timeout_s), [this] { return !items_.empty() || ended_; });
  if (!items_.empty()) {
    out = std::move(items_.front());
    items_.pop_front();
    cv_.notify_all();
    return 1;
  }
  if (ended_) {
    if (error_) std::rethrow_exception(error_);
    return -1;
  }
  return 0;
}

void CaptureThread::put(Frame&& f) {
  std::unique_lock<std::mutex> lk(mu_);
  while (items_.size() >= opt_.queue_size && !stop_) {
    if (opt_.drop_stale) {
      items_.pop_front();
      ++dropped_;
      break;
    }
    cv_.wait_for(lk, std::chrono::milliseconds(100));
  }
  items_.push_back(std::move(f));
  cv_.notify_all();
}

bool CaptureThread::reconnect() {
  reader_.reset();
  double delay = opt_.backoff_s;
  for (int attempt = 1; attempt <= opt_.retries; ++attempt) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "source lost; reconnect attempt %d/%d in %.2f s", attempt, opt_.retries, delay);
    on_event_(msg);
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (cv_.wait_for(lk, std::chrono::duration<double>(delay), [this] { return stop_.load(); })) return false;
    }
    try {
      reader_ = opener_();
    } catch (const Error&) {
      delay = std::min(delay * 2, 8.0);
      continue;
    }
    ++reconnects_;
    on_event_("source back after " + std::to_string(attempt) + " attempt(s)");
    return true;
  }
  return false;
}

void CaptureThread::run() {
  int64_t idx = 0;
  double next_t = now_s();
  try {
    while (!stop_) {
      if (opt_.pace_fps > 0) {
        const double n = now_s();
        if (next_t > n) std::this_thread::sleep_for(std::chrono::duration<double>(next_t - n));
        next_t = std::max(next_t + 1.0 / opt_.pace_fps, now_s() - 1.0);
      }
      Frame f;
      const double c0 = thread_cpu_s();
      const double t0 = now_s();
      const bool ok = reader_ && reader_->read(f.image);
      const double t1 = now_s();
      const double c1 = thread_cpu_s();
      if (!ok) {
        if (opt_.live && !stop_) {
          if (reconnect()) continue;
          if (!stop_)
            throw SourceLostError("live source stopped delivering frames and did not come back after " +
                                      std::to_string(opt_.retries) + " attempts",
                                  "check the camera cable / network, then restart");
        }
        break;
      }
      ++captured_;
      f.index = idx++;
      f.t_capture = t1;
      f.capture_ms = (t1 - t0) * 1000.0;
      f.capture_cpu_ms = (c1 - c0) * 1000.0;
      if (prepare_) {
        f.t_pre0 = now_s();
        prepare_(f);
        f.t_pre1 = now_s();
        f.preprocess_ms = (f.t_pre1 - f.t_pre0) * 1000.0;
        f.preprocess_cpu_ms = (thread_cpu_s() - c1) * 1000.0;
      }
      put(std::move(f));
    }
  } catch (...) {
    error_ = std::current_exception();
  }
  reader_.reset();
  std::lock_guard<std::mutex> lk(mu_);
  ended_ = true;
  cv_.notify_all();
}

}  // namespace edgekit::camera
