// edgekit-camera: live classification / detection demo, pipelined in two threads: a capture+preprocess thread
// (read a frame, run the bundle's preprocessing spec) feeds a bounded queue of preprocessed tensors to ONE
// inference thread (this one: backend -> top-k or detections -> overlay -> window / video file / JSON lines),
// so preprocessing of frame n+1 overlaps inference of frame n. The twin of edgekit/demo/runner.py:
// same flags, same JSON line schema (documented there), same exit codes (2 usage / URI / bundle,
// 3 source cannot be opened, 4 live source lost, 5 a file ended before the frame count its container states,
// 1 unexpected).
//
// A decoded video frame is BGR uint8 and replaces the spec's decode step; for a gray spec it is converted with
// cv::cvtColor(BGR2GRAY), exactly as the Python runner does (see the note in runner.py).
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#ifdef EDGEKIT_HAVE_HIGHGUI
#include <opencv2/highgui.hpp>
#endif

#include "camera_source.hpp"
#include "detection.hpp"
#include "edgekit/edgekit.hpp"
#include "overlay.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace edgekit;
using namespace edgekit::camera;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct Options {
  std::string bundle, source, output, json_path, model, csi_pipeline, fourcc;
  bool headless = false, realtime = false;
  long frames = 0;
  int queue = 2, retries = 5, threads = 0;
  double backoff = 0.5;
};

const char* kUsage =
    "usage: edgekit-camera BUNDLE --source URI [--output FILE] [--headless] [--frames N] [--json FILE]\n"
    "       [--realtime] [--model ID] [--csi-pipeline GST] [--queue N] [--retries N] [--backoff S]\n"
    "       [--threads N] [--fourcc XXXX]\n"
    "URI: csi://N, v4l2:///dev/videoN, /dev/videoN, rtsp://host/path, file://clip.avi, a video path, a folder\n";

struct UsageError : Error {
  using Error::Error;
};

/// An output FILE option (--json, --output) that is a folder or sits in a folder we cannot write: refused
/// before any work. The probe really creates the temporary sibling (access() says yes to root on /proc).
void check_output_file(const std::string& opt, const fs::path& p, const fs::path& tmp) {
  std::error_code ec;
  if (fs::is_directory(p, ec))
    throw UsageError(opt + " " + p.string() + " is a folder, not a file", "pass a file path, e.g. " + (p / "out").string());
  if (fs::exists(p, ec) && !fs::is_regular_file(p, ec))
    throw UsageError(opt + " " + p.string() + " is not a regular file", "pass a path to a regular file");
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw UsageError(opt + " " + p.string() + ": " + dir.string() + " is a file", "pass a path outside it");
  if (!fs::is_directory(dir, ec)) throw UsageError(opt + " " + p.string() + ": folder " + dir.string() + " does not exist", "create it first");
  {
    std::ofstream probe(tmp);
    if (!probe) throw UsageError(opt + " " + p.string() + ": folder " + dir.string() + " is not writable", "pass a path in a folder you can write");
  }
  fs::remove(tmp, ec);
}

/// Rename a finished temporary onto its result path; a failure is an error, never a silent loss.
void commit_file(const std::string& opt, const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw UsageError(opt + " " + path + ": cannot write it (" + ec.message() + ")", "pass another path");
  }
}

long to_long(const std::string& flag, const std::string& v, long lo) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo)
    throw UsageError(flag + " '" + v + "' is not an integer >= " + std::to_string(lo), "fix the option value");
  return x;
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> a(argv + 1, argv + argc);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& k = a[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= a.size()) throw UsageError(k + " needs a value", "see --help");
      return a[++i];
    };
    if (k == "-h" || k == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (k == "--source" || k == "-s") o.source = val();
    else if (k == "--output" || k == "-o") o.output = val();
    else if (k == "--json") o.json_path = val();
    else if (k == "--model") o.model = val();
    else if (k == "--csi-pipeline") o.csi_pipeline = val();
    else if (k == "--fourcc") o.fourcc = val();
    else if (k == "--headless") o.headless = true;
    else if (k == "--realtime") o.realtime = true;
    else if (k == "--frames" || k == "-n") o.frames = to_long(k, val(), 0);
    else if (k == "--queue") o.queue = static_cast<int>(to_long(k, val(), 1));
    else if (k == "--retries") o.retries = static_cast<int>(to_long(k, val(), 0));
    else if (k == "--threads") o.threads = static_cast<int>(to_long(k, val(), 0));
    else if (k == "--backoff") {
      const std::string v = val();
      char* end = nullptr;
      o.backoff = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || o.backoff < 0) throw UsageError("--backoff '" + v + "' is not a number >= 0", "e.g. 0.5");
    } else if (!k.empty() && k[0] == '-') throw UsageError("unknown option " + k, "see --help");
    else if (o.bundle.empty()) o.bundle = k;
    else throw UsageError("unexpected argument '" + k + "'", "pass one BUNDLE folder");
  }
  if (o.bundle.empty()) throw UsageError("no BUNDLE given", "edgekit-camera BUNDLE --source URI");
  if (o.source.empty()) throw UsageError("no --source given", "e.g. --source csi://0 or --source clip.avi");
  if (!o.fourcc.empty() && o.fourcc.size() != 4) throw UsageError("--fourcc '" + o.fourcc + "' is not 4 characters", "e.g. MJPG");
  return o;
}

double r3(double x) { return std::round(x * 1000.0) / 1000.0; }
double r6(double x) { return std::round(x * 1e6) / 1e6; }

double process_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The one place edgekit-camera calls the library's detection decoding (edgekit/detect.hpp): decode, NMS, and
// the boxes mapped back to the frame (image_hw = the frame's size).
std::vector<Detection> detect_frame(const Manifest& m, const Tensor& out, const std::vector<std::string>& labels,
                                    int frame_h, int frame_w) {
  if (!m.detection) throw Error("bundle '" + m.name + "' is not a detection bundle", "rebuild it with task: detection");
  return edgekit::detect(out, *m.detection, labels, m.preprocess, {{frame_h, frame_w}}).at(0);
}

json detections_json(const std::vector<Detection>& dets) {
  json a = json::array();
  for (const Detection& d : dets)
    a.push_back({{"box", {r3(d.x1), r3(d.y1), r3(d.x2), r3(d.y2)}},
                 {"score", r6(static_cast<double>(d.score))},
                 {"class_id", d.class_id},
                 {"label", d.label}});
  return a;
}

/// JSON lines to stdout and/or a file written to a temporary sibling, renamed at the end.
class Lines {
 public:
  Lines(bool to_stdout, const std::string& path) : to_stdout_(to_stdout), path_(path) {
    if (path_.empty()) return;
    const fs::path p(path_);
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    tmp_ = (dir / ("." + p.filename().string() + ".partial-" + std::to_string(::getpid()))).string();
    check_output_file("--json", p, tmp_);
    fh_.open(tmp_);
    if (!fh_) throw UsageError("--json " + path_ + ": cannot write " + tmp_, "check the folder's permissions");
  }
  ~Lines() {
    try {
      close(false);
    } catch (...) {
    }
  }
  Lines(const Lines&) = delete;
  Lines& operator=(const Lines&) = delete;
  void emit(const json& j) {
    const std::string s = j.dump();
    if (to_stdout_) std::cout << s << '\n' << std::flush;
    if (fh_.is_open()) fh_ << s << '\n';
  }
  void close(bool keep) {
    if (!fh_.is_open()) return;
    fh_.close();
    std::error_code ec;
    if (keep) commit_file("--json", tmp_, path_);
    else fs::remove(tmp_, ec);
  }

 private:
  bool to_stdout_;
  std::string path_, tmp_;
  std::ofstream fh_;
};

/// A VideoWriter on a hidden temporary sibling, renamed into place on success.
class VideoOut {
 public:
  VideoOut(const std::string& path, std::string fourcc) : path_(path), fourcc_(std::move(fourcc)) {
    const fs::path p(path);
    std::string ext = p.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (fourcc_.empty()) fourcc_ = ext == ".avi" ? "MJPG" : ext == ".mkv" ? "FFV1" : ext == ".mp4" ? "mp4v" : "";
    if (fourcc_.empty()) throw UsageError("output " + path + ": unknown video type '" + ext + "'", "use .avi (MJPG), .mkv (FFV1) or .mp4");
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    tmp_ = (dir / ("." + p.stem().string() + ".partial-" + std::to_string(::getpid()) + p.extension().string())).string();
    check_output_file("--output", p, tmp_);
  }
  ~VideoOut() {
    try {
      close(false);
    } catch (...) {
    }
  }
  VideoOut(const VideoOut&) = delete;
  VideoOut& operator=(const VideoOut&) = delete;
  void write(const cv::Mat& img, double fps) {
    if (!writer_.isOpened()) {
      const int cc = cv::VideoWriter::fourcc(fourcc_[0], fourcc_[1], fourcc_[2], fourcc_[3]);
      if (!writer_.open(tmp_, cv::CAP_FFMPEG, cc, fps, img.size()))
        throw UsageError("output " + path_ + ": cannot open a " + fourcc_ + " writer", "try another suffix");
    }
    writer_.write(img);
    ++frames_;
  }
  void close(bool keep) {
    if (closed_) return;
    closed_ = true;
    writer_.release();
    std::error_code ec;
    if (keep && frames_ > 0) commit_file("--output", tmp_, path_);
    else fs::remove(tmp_, ec);
  }
  long frames() const { return frames_; }

 private:
  std::string path_, fourcc_, tmp_;
  cv::VideoWriter writer_;
  long frames_ = 0;
  bool closed_ = false;
};

int run(const Options& o) {
  const Bundle bundle = Bundle::load(o.bundle, true);
  const Manifest& m = bundle.manifest();
  const PreprocessSpec& spec = m.preprocess;
  const bool gray = !spec.steps.empty() && spec.steps[0].color == "gray";
  const Source src = parse_uri(o.source, o.csi_pipeline);

  BackendOptions bo;
  // 0 = every logical CPU (the Python runner does the same), so both runners compare like for like.
  bo.threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::unique_ptr<Backend> backend = open_backend(bundle, o.model, bo);
  backend->activate();
  const std::vector<std::string> labels = bundle.labels();
  const std::string model_id = m.model(o.model).id;
  const bool detection = m.task == "detection";

  std::optional<VideoOut> out;
  if (!o.output.empty()) out.emplace(o.output, o.fourcc);
  std::unique_ptr<Reader> reader = open_source(src);  // fails fast, naming the URI
  const double src_fps = reader->fps();
  // The frame count the container states (0: it does not say, e.g. streams and cameras). Ending before it
  // is a truncated or damaged file: exit 5, "stream ended at frame 16 of 60".
  long expected = 0;
  if (src.kind == SourceKind::file) {
    cv::VideoCapture probe(src.target, cv::CAP_FFMPEG);
    const double c = probe.isOpened() ? probe.get(cv::CAP_PROP_FRAME_COUNT) : 0.0;
    if (std::isfinite(c) && c > 0 && c < 2147483647.0) expected = static_cast<long>(c);
  } else if (src.kind == SourceKind::images) {
    expected = static_cast<long>(list_images(src.target).size());
  }
  Lines lines(o.headless && o.json_path.empty(), o.json_path);
  const double t_start = now_s();

  bool window = false;
  if (!o.headless) {
    const bool display = std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY");
#ifdef EDGEKIT_HAVE_HIGHGUI
    window = display;
    if (!display) std::cerr << "warning: no display: not opening a window (use --output FILE or --headless)\n";
#else
    std::cerr << "warning: " << (display ? "this build has no OpenCV highgui" : "no display")
              << ": not opening a window (use --output FILE or --headless)\n";
#endif
  }

  CaptureOptions co;
  co.live = src.live();
  co.drop_stale = src.live() || o.realtime;
  co.queue_size = static_cast<size_t>(co.drop_stale ? o.queue : std::max(o.queue, 4));
  co.pace_fps = (o.realtime && !src.live()) ? (src_fps > 0 ? src_fps : 30.0) : 0.0;
  co.retries = o.retries;
  co.backoff_s = o.backoff;
  auto event = [&](const std::string& msg) {
    std::cerr << "warning: " << src.uri << ": " << msg << "\n";
    lines.emit({{"type", "event"}, {"t", std::round((now_s() - t_start) * 1e4) / 1e4}, {"message", msg}});
  };
  CaptureThread cap([&src] { return open_source(src); }, std::move(reader), co, event);
  // Capture + preprocess thread: the tensor is ready when the inference thread takes the frame.
  cap.set_prepare([&spec, gray](Frame& fr) {
    cv::Mat decoded;
    if (gray) cv::cvtColor(fr.image, decoded, cv::COLOR_BGR2GRAY);
    else decoded = fr.image;
    fr.tensor = preprocess_decoded(spec, decoded);
  });

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const char* stages[] = {"capture", "preprocess", "infer", "draw", "total", "latency"};
  const char* cpu_stages[] = {"capture", "preprocess", "infer", "draw"};
  std::map<std::string, double> sums, cpu_sums;
  const double cpu_start = process_cpu_s();
  long n = 0;
  double fps_ema = 0, t_first = -1, t_prev = -1;
  std::string stopped = "end";
  const bool tty = ::isatty(2);
  double last_progress = 0;
  cap.start();
  Frame f;
  while (true) {
    if (g_stop) {
      stopped = "signal";
      break;
    }
    const int got = cap.get(f, 0.1);
    if (got == 0) continue;
    if (got < 0) {
      stopped = g_stop ? "signal" : "end";
      break;
    }
    if (t_first < 0) t_first = f.t_capture - f.capture_ms / 1000.0;
    // Inference thread: backend + postprocessing only (the frame arrives preprocessed).
    const double c1 = thread_cpu_s();
    const double t1 = now_s();
    const std::vector<Tensor> outs = backend->infer(f.tensor);
    std::vector<TopK> top;
    std::vector<Detection> dets;
    if (detection) dets = detect_frame(m, outs.at(0), labels, f.image.rows, f.image.cols);
    else top = classify(outs.at(0), m.postprocess, labels).at(0);
    const double t2 = now_s();
    const double c2 = thread_cpu_s();
    std::map<std::string, double> ms{{"capture", f.capture_ms}, {"preprocess", f.preprocess_ms}, {"infer", (t2 - t1) * 1e3}};
    if (out || window) {
      std::vector<std::pair<std::string, float>> shown;
      for (const auto& t : top) shown.emplace_back(t.label.empty() ? std::to_string(t.index) : t.label, t.score);
      auto shown_ms = ms;
      shown_ms["draw"] = n ? sums["draw"] / n : 0.0;
      if (detection) draw_detections(f.image, dets);
      draw_overlay(f.image, shown, fps_ema, shown_ms);
      if (out) out->write(f.image, src_fps > 0 ? src_fps : 30.0);
#ifdef EDGEKIT_HAVE_HIGHGUI
      if (window) {
        cv::imshow("edgekit-camera", f.image);
        const int key = cv::waitKey(1) & 0xFF;
        if (key == 'q' || key == 27) g_stop = true;
      }
#endif
    }
    const double t3 = now_s();
    const double c3 = thread_cpu_s();
    ms["draw"] = (t3 - t2) * 1e3;
    ms["total"] = ms["capture"] + ms["preprocess"] + ms["infer"] + ms["draw"];
    ms["latency"] = (t3 - (f.t_capture - f.capture_ms / 1000.0)) * 1e3;
    const std::map<std::string, double> cpu{{"capture", f.capture_cpu_ms}, {"preprocess", f.preprocess_cpu_ms},
                                            {"infer", (c2 - c1) * 1e3}, {"draw", (c3 - c2) * 1e3}};
    if (t_prev >= 0) {
      const double inst = 1.0 / std::max(t3 - t_prev, 1e-9);
      fps_ema = fps_ema == 0 ? inst : 0.9 * fps_ema + 0.1 * inst;
    }
    t_prev = t3;
    ++n;
    json jms = json::object(), jcpu = json::object();
    for (const char* k : stages) jms[k] = r3(ms[k]);
    for (const char* k : cpu_stages) jcpu[k] = r3(cpu.at(k));
    for (const auto& kv : ms) sums[kv.first] += kv.second;
    for (const auto& kv : cpu) cpu_sums[kv.first] += kv.second;
    json line = {{"type", "frame"}, {"frame", f.index}, {"t", std::round((f.t_capture - t_start) * 1e4) / 1e4}};
    if (detection) {
      line["detections"] = detections_json(dets);
    } else {
      json jt = json::array();
      for (const auto& t : top)
        jt.push_back({{"class", t.index}, {"label", t.label.empty() ? std::to_string(t.index) : t.label},
                      {"score", r6(static_cast<double>(t.score))}});
      line["topk"] = jt;
    }
    line["ms"] = jms;
    line["cpu_ms"] = jcpu;
    line["span"] = {{"preprocess", {r6(f.t_pre0 - t_start), r6(f.t_pre1 - t_start)}},
                    {"infer", {r6(t1 - t_start), r6(t2 - t_start)}}};
    line["fps"] = std::round(fps_ema * 100) / 100;
    lines.emit(line);
    if (tty && t3 - last_progress > 0.5) {
      std::fprintf(stderr, "\rdemo: %ld frames  %.1f FPS ", n, fps_ema);
      last_progress = t3;
    }
    if (o.frames && n >= o.frames) {
      stopped = "frames";
      break;
    }
  }
  cap.stop();
  const long read = static_cast<long>(cap.captured());
  if (stopped == "end" && !src.live() && expected > 0 && read < expected) stopped = "truncated";
  const bool truncated = stopped == "truncated";
  std::string ended;
  if (stopped == "frames") ended = "stopped after --frames " + std::to_string(o.frames);
  else if (stopped == "signal") ended = "stopped by the user";
  else if (truncated) ended = "stream ended at frame " + std::to_string(read) + " of " + std::to_string(expected);
  else if (expected > 0) ended = "end of stream after all " + std::to_string(read) + " frames the container states";
  else ended = "end of stream after " + std::to_string(read) + " frames (the source states no frame count)";
  if (tty) std::fprintf(stderr, "\r%60s\r", "");
  if (out) out->close(!truncated);
  const double elapsed = (t_prev >= 0 && t_first >= 0) ? t_prev - t_first : 0.0;
  json mean = json::object(), cpu_mean = json::object();
  for (const char* k : stages) mean[k] = n ? r3(sums[k] / n) : 0.0;
  for (const char* k : cpu_stages) cpu_mean[k] = n ? r3(cpu_sums[k] / n) : 0.0;
  const double cpu_process = process_cpu_s() - cpu_start;
  const double fps = elapsed > 0 ? std::round(n / elapsed * 100) / 100 : 0.0;
  json summary = {{"type", "summary"}, {"runner", "cpp"}, {"source", src.uri}, {"model", model_id},
                  {"frames", n}, {"dropped", cap.dropped()}, {"reconnects", cap.reconnects()},
                  {"elapsed_s", std::round(elapsed * 1e4) / 1e4}, {"fps", fps}, {"ms_mean", mean},
                  {"cpu_ms_mean", cpu_mean}, {"cpu_s", r3(cpu_process)}, {"task", detection ? "detection" : "classification"},
                  {"threads", bo.threads}, {"pipelined", true},
                  {"stopped", stopped}, {"frames_read", read},
                  {"frames_expected", expected > 0 ? json(expected) : json(nullptr)}, {"ended", ended},
                  {"output", (!truncated && out && out->frames() > 0) ? json(o.output) : json(nullptr)}};
  lines.emit(summary);
  lines.close(!truncated);
  if (truncated) {
    std::cerr << "error: source '" << src.uri << "': " << ended
              << " (truncated or damaged file); no output written — fix: re-copy or re-record the video, or pass"
                 " --frames N to use only its first N frames\n";
    return 5;
  }
  std::fprintf(stderr, "edgekit demo (cpp runner)\n%8s %6s %7s %8s %8s %8s %8s %8s %8s %7s\n", "frames", "drop",
               "reconn", "FPS", "cap ms", "pre ms", "inf ms", "draw ms", "total ms", "stop");
  std::fprintf(stderr, "%8ld %6lld %7d %8.1f %8.2f %8.2f %8.2f %8.2f %8.2f %7s\n", n,
               static_cast<long long>(cap.dropped()), cap.reconnects(), fps, mean["capture"].get<double>(),
               mean["preprocess"].get<double>(), mean["infer"].get<double>(), mean["draw"].get<double>(),
               mean["total"].get<double>(), stopped.c_str());
  std::fprintf(stderr, "%s\n", ended.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // FFmpeg's own lines ("File ended prematurely") would bury the one error line; the summary says how a
  // file ended. OPENCV_FFMPEG_LOGLEVEL set by the user wins.
  ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0);
  try {
    return run(parse_args(argc, argv));
  } catch (const SourceOpenError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  } catch (const SourceLostError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 4;
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected: " << e.what() << "\n";
    return 1;
  }
}
