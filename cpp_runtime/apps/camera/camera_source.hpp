// Camera / video sources named by URI and the capture thread of edgekit-camera.
// The same rules as edgekit/demo/sources.py (the Python runner): csi://N, v4l2:///dev/videoN, /dev/videoN,
// rtsp:// http(s):// rtmp://, file://path or a plain video path, a folder of images. Every source yields BGR
// uint8 frames. Exit codes: 2 malformed URI, 3 cannot open, 4 live source lost.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "edgekit/error.hpp"
#include "edgekit/tensor.hpp"

namespace edgekit::camera {

/// The default Jetson CSI pipeline (device_configs/jetson-*.yaml camera.csi_pipeline) for when
/// edgekit-camera runs without --csi-pipeline.
extern const char* const kDefaultCsiPipeline;

class SourceUriError : public Error {
  using Error::Error;
};
class SourceOpenError : public Error {
  using Error::Error;
};
class SourceLostError : public Error {
  using Error::Error;
};

enum class SourceKind { csi, v4l2, stream, file, images };

struct Source {
  std::string uri;
  SourceKind kind = SourceKind::file;
  std::string target;  ///< pipeline, device path, URL, file or folder
  int index = -1;      ///< sensor id / video device number
  bool live() const { return kind == SourceKind::csi || kind == SourceKind::v4l2 || kind == SourceKind::stream; }
};

const char* kind_name(SourceKind k);
/// Parse ``uri``; files and folders are checked for existence here (fail fast, naming the URI).
Source parse_uri(const std::string& uri, const std::string& csi_pipeline);
/// The image files of a folder in name order.
std::vector<std::string> list_images(const std::string& folder);

/// Something that yields BGR frames; read() returns false at the end / on loss.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual bool read(cv::Mat& frame) = 0;
  virtual double fps() const = 0;  ///< 0 when unknown
};
/// Open a source (throws SourceOpenError naming the URI).
std::unique_ptr<Reader> open_source(const Source& src);

struct Frame {
  int64_t index = 0;
  cv::Mat image;
  double t_capture = 0;  ///< seconds on the steady clock
  double capture_ms = 0;
  double capture_cpu_ms = 0;  ///< CPU time of the capture thread in read()
  // Filled by the Prepare callback on the capture thread (the pipelined demo: preprocessing of frame n+1
  // overlaps inference of frame n on the consumer thread).
  Tensor tensor;
  double t_pre0 = 0, t_pre1 = 0;  ///< steady-clock seconds around the Prepare call (0 without one)
  double preprocess_ms = 0, preprocess_cpu_ms = 0;
};

struct CaptureOptions {
  bool live = false;
  bool drop_stale = false;  ///< drop the oldest frame when the queue is full (else wait)
  size_t queue_size = 2;
  double pace_fps = 0;  ///< > 0: read at this rate (files with --realtime)
  int retries = 5;
  double backoff_s = 0.5;
};

double now_s();
/// CPU time of the calling thread in seconds (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_s();

/// Reads frames on its own thread into a bounded queue; see CaptureOptions. A live source that stops
/// delivering is reopened with exponential backoff, each attempt reported through ``on_event``.
class CaptureThread {
 public:
  using Opener = std::function<std::unique_ptr<Reader>()>;
  /// Runs on the capture thread for every frame read, before it is queued (preprocessing).
  using Prepare = std::function<void(Frame&)>;
  CaptureThread(Opener opener, std::unique_ptr<Reader> first, CaptureOptions opt,
                std::function<void(const std::string&)> on_event);
  ~CaptureThread();
  CaptureThread(const CaptureThread&) = delete;
  CaptureThread& operator=(const CaptureThread&) = delete;

  /// Set before start(): every frame passes through ``prepare`` on the capture thread (timed, wall and
  /// thread CPU, into the frame). An exception thrown there ends the capture and is rethrown by get().
  void set_prepare(Prepare prepare) { prepare_ = std::move(prepare); }
  void start();
  void stop();
  /// Wait up to ``timeout_s`` for a frame. Returns 1 with a frame, 0 on timeout, -1 at the end
  /// (rethrows the capture thread's error, e.g. SourceLostError, at the end).
  int get(Frame& out, double timeout_s);

  int64_t captured() const { return captured_; }
  int64_t dropped() const { return dropped_; }
  int reconnects() const { return reconnects_; }

 private:
  void run();
  bool reconnect();
  void put(Frame&& f);

  Opener opener_;
  Prepare prepare_;
  std::unique_ptr<Reader> reader_;
  CaptureOptions opt_;
  std::function<void(const std::string&)> on_event_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Frame> items_;
  bool ended_ = false;
  std::exception_ptr error_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> captured_{0}, dropped_{0};
  std::atomic<int> reconnects_{0};
};

}  // namespace edgekit::camera
