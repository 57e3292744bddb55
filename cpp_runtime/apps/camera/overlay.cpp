#include "overlay.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace edgekit::camera {
namespace {

void text(cv::Mat& img, const std::string& s, cv::Point org, double scale, const cv::Scalar& color) {
  const int th = std::max(1, static_cast<int>(std::lround(scale * 2)));
  cv::putText(img, s, org, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), th + 2, cv::LINE_AA);
  cv::putText(img, s, org, cv::FONT_HERSHEY_SIMPLEX, scale, color, th, cv::LINE_AA);
}

}  // namespace

void draw_overlay(cv::Mat& img, const std::vector<std::pair<std::string, float>>& topk, double fps,
                  const std::map<std::string, double>& stage_ms) {
  const int h = img.rows;
  const double scale = std::max(0.35, h / 720.0);
  const int line = static_cast<int>(30 * scale) + 2;
  int y = line;
  char buf[256];
  for (size_t i = 0; i < topk.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%5.1f%%  %s", topk[i].second * 100.0, topk[i].first.c_str());
    text(img, buf, {8, y}, scale * (i == 0 ? 1.0 : 0.8), i == 0 ? cv::Scalar(0, 255, 0) : cv::Scalar(255, 255, 255));
    y += line;
  }
  std::string ms = "ms:";
  for (const char* k : {"capture", "preprocess", "infer", "draw"}) {
    const auto it = stage_ms.find(k);
    std::snprintf(buf, sizeof buf, " %s %.1f ", k, it == stage_ms.end() ? 0.0 : it->second);
    ms += buf;
  }
  std::snprintf(buf, sizeof buf, "%5.1f FPS", fps);
  text(img, buf, {8, h - 2 * line + line / 2}, scale * 0.8, cv::Scalar(0, 255, 255));
  text(img, ms, {8, h - line / 2}, scale * 0.6, cv::Scalar(0, 255, 255));
}

}  // namespace edgekit::camera
