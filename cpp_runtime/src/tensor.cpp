#include "edgekit/tensor.hpp"

#include <cmath>

namespace edgekit {

bool Tensor::all_finite() const {
  for (float v : data)
    if (!std::isfinite(v)) return false;
  return true;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace edgekit
