// A dense float32 tensor in C order: what backends consume and produce.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgekit {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t count() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  bool all_finite() const;
};

std::string shape_to_string(const std::vector<int64_t>& shape);  ///< "[1, 3, 224, 224]"

}  // namespace edgekit
