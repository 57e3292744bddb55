#include "edgekit/postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "edgekit/error.hpp"

namespace edgekit {

std::vector<float> softmax(const float* logits, size_t n) {
  std::vector<float> out(n);
  if (n == 0) return out;
  float mx = logits[0];
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    finite = finite && std::isfinite(logits[i]);
    mx = std::max(mx, logits[i]);
  }
  if (!finite) {
    std::fill(out.begin(), out.end(), std::nanf(""));
    return out;
  }
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    out[i] = std::exp(logits[i] - mx);
    sum += out[i];
  }
  for (auto& v : out) v = static_cast<float>(v / sum);
  return out;
}

std::vector<TopK> top_k(const std::vector<float>& scores, int k, const std::vector<std::string>& labels) {
  std::vector<int> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](int i) { return std::isnan(scores[static_cast<size_t>(i)]) ? -INFINITY : scores[static_cast<size_t>(i)]; };
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return key(a) > key(b); });
  const size_t n = std::min(idx.size(), static_cast<size_t>(std::max(k, 0)));
  std::vector<TopK> out;
  for (size_t j = 0; j < n; ++j) {
    const auto i = static_cast<size_t>(idx[j]);
    out.push_back({idx[j], i < labels.size() ? labels[i] : std::string(), scores[i]});
  }
  return out;
}

std::vector<std::vector<TopK>> classify(const Tensor& output, const PostprocessInfo& post,
                                        const std::vector<std::string>& labels) {
  if (output.shape.empty() || output.shape[0] <= 0)
    throw BackendError("model output " + output.name + " has no batch axis", "export the model with a batch axis");
  const auto batch = static_cast<size_t>(output.shape[0]);
  const size_t per = output.data.size() / batch;
  std::vector<std::vector<TopK>> res;
  for (size_t b = 0; b < batch; ++b) {
    const float* p = output.data.data() + b * per;
    std::vector<float> s = post.apply_softmax ? softmax(p, per) : std::vector<float>(p, p + per);
    res.push_back(top_k(s, post.top_k, labels));
  }
  return res;
}

}  // namespace edgekit
