// Classification postprocessing from the manifest: softmax and top-k with labels.
#pragma once
#include <string>
#include <vector>

#include "edgekit/manifest.hpp"
#include "edgekit/tensor.hpp"

namespace edgekit {

struct TopK {
  int index = 0;
  std::string label;
  float score = 0.f;
};

/// Numerically stable softmax in float32 (max-subtracted); NaN/Inf in -> NaN out.
std::vector<float> softmax(const float* logits, size_t n);
/// The k best (score descending, lower index first on ties); labels by index ("" past the list).
std::vector<TopK> top_k(const std::vector<float>& scores, int k, const std::vector<std::string>& labels);
/// Per batch item: softmax (if the manifest asks) then top-k over the item's scores.
std::vector<std::vector<TopK>> classify(const Tensor& output, const PostprocessInfo& post,
                                        const std::vector<std::string>& labels);

}  // namespace edgekit
