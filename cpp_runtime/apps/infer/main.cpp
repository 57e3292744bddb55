// edgekit-infer: run a bundle's model on images, a folder of images, or a preprocessed .npy tensor.
// Exit codes: 0 ok; 2 any error (one "error: ..." line on stderr); 3 an output holds NaN/Inf.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_args.hpp"
#include "edgekit/edgekit.hpp"
#include "edgekit/fs_util.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace edgekit;

namespace {
const char* kTool = "edgekit-infer";
const char* kUsage =
    "usage: edgekit-infer --bundle B --input X [--model ID] [--backend ort|trt] [--threads N]\n"
    "                     [--dump-stages DIR] [--output DIR] [--json]\n"
    "                     [--ort-ep cpu|cuda|tensorrt] [--trt-cache DIR] [--spin] [--no-verify]\n"
    "  X: an image (.png/.jpg/.jpeg/.bmp), a folder of images (sorted, non-recursive), or a .npy tensor\n"
    "     already preprocessed (float32, the model input's shape).\n"
    "  --dump-stages DIR  DIR/<stem>/<NN>_<op>.npy per preprocessing step and DIR/<stem>/output_<name>.npy\n"
    "  --output DIR       DIR/<stem>_<output name>.npy and DIR/results.jsonl\n"
    "  --json             one JSON line per input on stdout: input, model, top_k [{index, label, score}],\n"
    "                     scores (softmax: probabilities, raw: the output values; the manifest's\n"
    "                     postprocess.apply_softmax), nonfinite, timing_ms\n"
    "                     detection bundles (task detection): image_size [h, w] (the decoded image) and\n"
    "                     detections [{box [x1, y1, x2, y2], score, class_id, label}] best first, instead of\n"
    "                     top_k/scores; boxes in original-image pixels (postprocess.coordinates: original),\n"
    "                     for a .npy input in network-input pixels (\"coordinates\": \"input\" is added)\n"
    "exit codes: 0 ok, 2 error, 3 an output holds NaN/Inf\n";

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

bool is_image(const fs::path& p) {
  const auto e = lower_ext(p);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp";
}

std::vector<fs::path> collect_inputs(const std::string& x) {
  std::error_code ec;
  if (fs::is_directory(x, ec)) {
    std::vector<fs::path> v;
    for (const auto& de : fs::directory_iterator(x))
      if (de.is_regular_file() && is_image(de.path())) v.push_back(de.path());
    std::sort(v.begin(), v.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    if (v.empty()) throw InputError("input folder " + x + " holds no .png/.jpg/.jpeg/.bmp images", "pass a folder of images");
    return v;
  }
  if (!fs::exists(x, ec)) throw InputError("input " + x + " does not exist", "check the path");
  return {fs::path(x)};
}

Tensor tensor_from_npy(const fs::path& p, const Manifest& m) {
  const NpyArray a = read_npy(p.string());
  const auto& want = m.input.shape;
  bool ok = a.shape.size() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == a.shape[i];
  if (!ok || a.count() == 0)
    throw InputError(p.string() + " has shape " + a.shape_str() + ", the model input '" + m.input.name + "' needs " +
                         shape_to_string(want) + " (-1 = any batch)",
                     "preprocess to the model's input shape (or pass the image itself)");
  if (a.descr != "<f4")
    throw InputError(p.string() + " has dtype " + a.descr + ", the model input needs float32 (<f4)",
                     "save it with arr.astype(np.float32)");
  Tensor t;
  t.name = m.input.name;
  t.shape = a.shape;
  t.data.resize(static_cast<size_t>(a.count()));
  std::copy(a.data.begin(), a.data.end(), reinterpret_cast<uint8_t*>(t.data.data()));
  return t;
}

void ensure_dir(const fs::path& d) {
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec || !fs::is_directory(d)) throw Error("cannot create folder " + d.string() + ": " + ec.message(), "check the path and permissions");
}

void save(const fs::path& p, const Tensor& t) {
  write_npy(p.string(), "<f4", t.shape, t.data.data(), t.data.size() * sizeof(float));
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Detection bundles: one line per batch row with the decoded image's size and the detections (DET.md's format,
// read by the parity checker). A .npy input has no original image: its boxes stay in network-input pixels.
std::string detection_lines(const fs::path& path, const std::string& model_id, const Tensor& out, const Manifest& m,
                            const std::vector<std::string>& labels, bool is_npy, const Tensor& x,
                            std::pair<int, int> image_hw, bool nonfinite, double pre_ms, double inf_ms, bool as_json) {
  DetectionPostprocess post = *m.detection;
  const bool npy_input = is_npy && post.coordinates == "original";
  std::vector<std::pair<int, int>> hw;
  if (is_npy) {
    const bool nchw = m.input.layout != "NHWC";
    image_hw = {static_cast<int>(x.shape.at(nchw ? 2 : 1)), static_cast<int>(x.shape.at(nchw ? 3 : 2))};
    if (npy_input) post.coordinates = "input";
  } else if (!out.shape.empty() && out.shape[0] != 1) {
    throw InputError("the model returned " + std::to_string(out.shape[0]) + " batch rows for one image " + path.string(),
                     "export the detector with a batch axis that follows its input");
  }
  hw.assign(out.shape.empty() ? 0 : static_cast<size_t>(std::max<int64_t>(out.shape[0], 0)), image_hw);
  const auto rows = detect(out, post, labels, m.preprocess, hw);
  std::string lines;
  for (size_t b = 0; b < rows.size(); ++b) {
    json line = {{"input", path.string()}, {"model", model_id}, {"nonfinite", nonfinite},
                 {"timing_ms", {{"preprocess", pre_ms}, {"infer", inf_ms}}},
                 {"image_size", {image_hw.first, image_hw.second}}};
    if (rows.size() > 1) line["batch_index"] = b;
    if (npy_input) line["coordinates"] = "input";
    json dets = json::array();
    for (const auto& d : rows[b])  // the score as a double: the float32 value exactly
      dets.push_back({{"box", {d.x1, d.y1, d.x2, d.y2}}, {"score", static_cast<double>(d.score)},
                      {"class_id", d.class_id}, {"label", d.label}});
    line["detections"] = dets;
    const std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace);
    lines += s + "\n";
    if (as_json) {
      std::cout << s << "\n";
      continue;
    }
    const std::string name = path.filename().string() + (rows.size() > 1 ? "[" + std::to_string(b) + "]" : "");
    std::string best = "-", box = "-";
    double score = 0;
    if (!rows[b].empty()) {
      const auto& d = rows[b].front();
      best = d.label.empty() ? std::to_string(d.class_id) : d.label;
      char buf[96];
      std::snprintf(buf, sizeof buf, "[%.1f, %.1f, %.1f, %.1f]", d.x1, d.y1, d.x2, d.y2);
      box = buf;
      score = d.score;
    }
    std::printf("%-32s %6zu %-12s %8.4f %-30s %10.3f %10.3f%s\n", name.c_str(), rows[b].size(), best.c_str(), score,
                box.c_str(), pre_ms, inf_ms, nonfinite ? "  NaN/Inf!" : "");
  }
  return lines;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, {"--bundle", "--input", "--model", "--backend", "--threads", "--dump-stages", "--output",
                              "--ort-ep", "--trt-cache"},
                 {"--json", "--spin", "--no-verify"}, kTool);
  if (args.help()) {
    std::cout << kUsage;
    return 0;
  }
  const std::string bundle_dir = args.need("--bundle", kTool);
  const std::string input = args.need("--input", kTool);
  BackendOptions opt;
  opt.kind = args.get("--backend", "ort");
  if (opt.kind != "ort" && opt.kind != "trt") throw InputError("--backend '" + opt.kind + "' is unknown", "use ort or trt");
  opt.threads = args.get_int("--threads", 1, 1);
  opt.allow_spinning = args.flag("--spin");
  opt.ort_provider = args.get("--ort-ep", "cpu");
  opt.trt_cache_dir = args.get("--trt-cache", (fs::path(bundle_dir) / ".trt_cache").string());
  const bool as_json = args.flag("--json");

  const Bundle bundle = Bundle::load(bundle_dir, !args.flag("--no-verify"));
  const Manifest& m = bundle.manifest();
  const ModelEntry& entry = m.model(args.get("--model"));
  const auto inputs = collect_inputs(input);  // before loading the model: cheap errors first
  auto backend = open_backend(bundle, entry.id, opt);
  const auto labels = bundle.labels();

  const fs::path dump = args.get("--dump-stages");
  const fs::path outdir = args.get("--output");
  if (!dump.empty()) ensure_dir(dump);
  if (!outdir.empty()) ensure_dir(outdir);

  std::string jsonl;
  std::vector<std::string> bad;
  const bool detection = m.is_detection();
  // The score is what the manifest's postprocess makes of the output: a probability with apply_softmax, else the
  // raw output value. Say which, in the table header and in every JSON line ("scores": "softmax" | "raw").
  const char* score_kind = m.postprocess.apply_softmax ? "softmax" : "raw";
  if (!as_json && detection)
    std::printf("%-32s %6s %-12s %8s %-30s %10s %10s\n", "input", "boxes", "best", "score", "best box", "pre ms",
                "infer ms");
  else if (!as_json)
    std::printf("%-32s %-12s %8s %10s %10s\n", "input", "top-1", m.postprocess.apply_softmax ? "prob" : "raw score",
                "pre ms", "infer ms");
  for (const auto& path : inputs) {
    const std::string stem = path.stem().string();
    const bool is_npy = lower_ext(path) == ".npy";
    std::vector<Stage> stages;
    Tensor x;
    double pre_ms = 0;
    std::pair<int, int> image_hw{0, 0};
    if (is_npy) {
      x = tensor_from_npy(path, m);
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      x = preprocess_file(m.preprocess, path.string(), dump.empty() ? nullptr : &stages, &image_hw);
      pre_ms = ms_since(t0);
      x.name = m.input.name;
    }
    const auto t1 = std::chrono::steady_clock::now();
    const auto outs = backend->infer(x);
    const double inf_ms = ms_since(t1);
    bool nonfinite = false;
    for (const auto& o : outs)
      if (!o.all_finite()) {
        nonfinite = true;
        bad.push_back(path.string() + " (output '" + o.name + "')");
      }
    if (!dump.empty()) {
      const fs::path d = dump / stem;
      ensure_dir(d);
      for (const auto& s : stages) write_npy((d / (s.name() + ".npy")).string(), s.tensor);
      for (const auto& o : outs) save(d / ("output_" + o.name + ".npy"), o);
    }
    if (!outdir.empty())
      for (const auto& o : outs) save(outdir / (stem + "_" + o.name + ".npy"), o);

    if (detection) {
      jsonl += detection_lines(path, entry.id, outs.at(0), m, labels, is_npy, x, image_hw, nonfinite, pre_ms, inf_ms,
                               as_json);
      std::cout.flush();
      continue;
    }
    const auto top = classify(outs.at(0), m.postprocess, labels);
    for (size_t b = 0; b < top.size(); ++b) {
      json line = {{"input", path.string()}, {"model", entry.id}, {"nonfinite", nonfinite},
                   {"timing_ms", {{"preprocess", pre_ms}, {"infer", inf_ms}}}};
      if (top.size() > 1) line["batch_index"] = b;
      json tk = json::array();
      for (const auto& t : top[b]) tk.push_back({{"index", t.index}, {"label", t.label}, {"score", t.score}});
      line["top_k"] = tk;
      line["scores"] = score_kind;
      const std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace);
      jsonl += s + "\n";
      if (as_json) {
        std::cout << s << "\n";
      } else {
        const auto& t0 = top[b].at(0);
        std::string name = path.filename().string() + (top.size() > 1 ? "[" + std::to_string(b) + "]" : "");
        std::printf("%-32s %-12s %8.4f %10.3f %10.3f%s\n", name.c_str(),
                    (t0.label.empty() ? std::to_string(t0.index) : t0.label).c_str(), static_cast<double>(t0.score),
                    pre_ms, inf_ms, nonfinite ? "  NaN/Inf!" : "");
      }
    }
    std::cout.flush();
  }
  if (!outdir.empty()) write_file_atomic((outdir / "results.jsonl").string(), jsonl);
  if (!bad.empty()) {
    std::cerr << "error: model output holds NaN/Inf for " << bad.front()
              << (bad.size() > 1 ? " and " + std::to_string(bad.size() - 1) + " more" : std::string())
              << " — fix: check the input range and the model (re-export / re-quantize it)\n";
    return 3;
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
