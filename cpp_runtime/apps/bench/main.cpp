// edgekit-bench: latency percentiles, throughput, preprocessing time and peak RSS of a bundle's model.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/core.hpp>

#include "cli_args.hpp"
#include "edgekit/edgekit.hpp"
#include "edgekit/fs_util.hpp"

using nlohmann::json;
using namespace edgekit;

namespace {
const char* kTool = "edgekit-bench";
const char* kUsage =
    "usage: edgekit-bench --bundle B [--model ID] [--warmup N] [--iters N] [--batch N] [--threads N] [--json]\n"
    "                     [--backend ort|trt] [--ort-ep cpu|cuda|tensorrt] [--spin] [--out FILE.json]\n"
    "  Times inference on the first golden image (preprocessed once, repeated to the batch size) and\n"
    "  preprocessing of that image separately. --json prints one object; --out also writes it to a file.\n";

double percentile(std::vector<double> v, double p) {  // nearest-rank on sorted data
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, {"--bundle", "--model", "--warmup", "--iters", "--batch", "--threads", "--backend",
                              "--ort-ep", "--out"},
                 {"--json", "--spin", "--no-verify"}, kTool);
  if (args.help()) {
    std::cout << kUsage;
    return 0;
  }
  BackendOptions opt;
  opt.kind = args.get("--backend", "ort");
  opt.threads = args.get_int("--threads", 1, 1);
  opt.allow_spinning = args.flag("--spin");
  opt.ort_provider = args.get("--ort-ep", "cpu");
  const int warmup = args.get_int("--warmup", 10, 0);
  const int iters = args.get_int("--iters", 100, 1);
  const int batch = args.get_int("--batch", 1, 1);

  const Bundle bundle = Bundle::load(args.need("--bundle", kTool), !args.flag("--no-verify"));
  const Manifest& m = bundle.manifest();
  const ModelEntry& entry = m.model(args.get("--model"));
  if (m.input.shape.empty() || (m.input.shape[0] != -1 && batch != m.input.shape[0]))
    throw InputError("model input " + shape_to_string(m.input.shape) + " has a fixed batch; --batch " +
                         std::to_string(batch) + " does not fit",
                     "use --batch " + std::to_string(m.input.shape.empty() ? 1 : m.input.shape[0]));
  auto backend = open_backend(bundle, entry.id, opt);

  // The image: the first golden item, else a synthetic one.
  std::vector<uint8_t> bytes;
  std::string what = "synthetic";
  if (!m.golden.empty()) {
    what = bundle.path(m.golden.front().input);
    bytes = read_file_bytes(what, "golden image");
  }
  auto pre_once = [&]() {
    if (!bytes.empty()) return preprocess_bytes(m.preprocess, bytes, what);
    const int c = m.preprocess.steps.front().color == "gray" ? 1 : 3;
    cv::Mat img(480, 640, CV_8UC(c));
    cv::randu(img, 0, 255);
    return preprocess_decoded(m.preprocess, img);
  };
  std::vector<double> pre;
  Tensor one;
  for (int i = 0; i < std::max(iters, 10); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    one = pre_once();
    pre.push_back(ms_since(t0));
  }
  Tensor x;
  x.name = m.input.name;
  x.shape = one.shape;
  x.shape[0] = batch;
  x.data.reserve(one.data.size() * static_cast<size_t>(batch));
  for (int b = 0; b < batch; ++b) x.data.insert(x.data.end(), one.data.begin(), one.data.end());

  for (int i = 0; i < warmup; ++i) backend->infer(x);
  std::vector<double> lat;
  const auto t_all = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    backend->infer(x);
    lat.push_back(ms_since(t0));
  }
  const double total_ms = ms_since(t_all);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double mean = std::accumulate(lat.begin(), lat.end(), 0.0) / static_cast<double>(lat.size());
  const double pre_mean = std::accumulate(pre.begin(), pre.end(), 0.0) / static_cast<double>(pre.size());
  json r = {{"model", entry.id},
            {"backend", opt.kind == "ort" ? "ort-" + opt.ort_provider : opt.kind},
            {"batch", batch},
            {"threads", opt.threads},
            {"warmup", warmup},
            {"iters", iters},
            {"p50_ms", percentile(lat, 50)},
            {"p90_ms", percentile(lat, 90)},
            {"p99_ms", percentile(lat, 99)},
            {"mean_ms", mean},
            {"min_ms", *std::min_element(lat.begin(), lat.end())},
            {"max_ms", *std::max_element(lat.begin(), lat.end())},
            {"throughput_ips", 1000.0 * batch * iters / total_ms},
            {"preprocess_p50_ms", percentile(pre, 50)},
            {"preprocess_mean_ms", pre_mean},
            {"peak_rss_mb", static_cast<double>(ru.ru_maxrss) / 1024.0},
            {"image", what}};
  if (opt.kind == "ort") r["ort_version"] = ort_version();
  if (args.has("--out")) write_file_atomic(args.get("--out"), r.dump(2) + "\n");
  if (args.flag("--json")) {
    std::cout << r.dump() << "\n";
  } else {
    std::printf("model %s  backend %s  batch %d  threads %d  iters %d\n", entry.id.c_str(),
                r["backend"].get<std::string>().c_str(), batch, opt.threads, iters);
    std::printf("%-22s %10s\n", "metric", "value");
    for (const char* k : {"p50_ms", "p90_ms", "p99_ms", "mean_ms", "throughput_ips", "preprocess_p50_ms", "peak_rss_mb"})
      std::printf("%-22s %10.3f\n", k, r[k].get<double>());
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected failure: " << e.what() << " — fix: report this bug with the command line\n";
  }
  return 2;
}
