// edgekit-detect-check: run the library's detect() on raw model outputs saved as .npy, for the cross-language
// test (tests/detect/test_cpp_agreement.py). Usage: edgekit-detect-check CASES.json
//   CASES.json: {"cases": [{"output": "raw.npy", "postprocess": {...}, "preprocess": {"steps": [...]},
//                           "image_hw": [[h, w], ...], "labels": ["...", ...]}, ...]}
// prints {"results": [[[{"box": [x1, y1, x2, y2], "score": s, "class_id": c, "label": "..."}, ...] per row]
//         per case]}; scores and boxes as doubles (the float32 score exactly). Exit 2 with one line on error.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgekit/detect.hpp"
#include "edgekit/npy.hpp"

using nlohmann::json;
using namespace edgekit;

int main(int argc, char** argv) {
  try {
    if (argc != 2) throw InputError("usage: edgekit-detect-check CASES.json", "pass one cases file");
    std::ifstream f(argv[1]);
    std::stringstream ss;
    ss << f.rdbuf();
    const json cases = json::parse(ss.str()).at("cases");
    json results = json::array();
    for (const auto& c : cases) {
      const NpyArray a = read_npy(c.at("output").get<std::string>());
      if (a.descr != "<f4") throw InputError("the output .npy must be float32", "save it as float32");
      Tensor t;
      t.name = "raw";
      t.shape = a.shape;
      t.data.resize(static_cast<size_t>(a.count()));
      std::copy(a.data.begin(), a.data.end(), reinterpret_cast<uint8_t*>(t.data.data()));
      const DetectionPostprocess post = parse_detection_postprocess(c.at("postprocess").dump(), "postprocess");
      const PreprocessSpec spec = parse_spec(c.at("preprocess").dump(), "preprocess");
      std::vector<std::pair<int, int>> hw;
      for (const auto& s : c.at("image_hw")) hw.emplace_back(s.at(0).get<int>(), s.at(1).get<int>());
      const auto labels = c.at("labels").get<std::vector<std::string>>();
      json rows = json::array();
      for (const auto& row : detect(t, post, labels, spec, hw)) {
        json dets = json::array();
        for (const auto& d : row)
          dets.push_back({{"box", {d.x1, d.y1, d.x2, d.y2}},
                          {"score", static_cast<double>(d.score)},
                          {"class_id", d.class_id},
                          {"label", d.label}});
        rows.push_back(dets);
      }
      results.push_back(rows);
    }
    std::cout << json{{"results", results}}.dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
