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

cv::Scalar class_color(int class_id) {
  static const int kColors[][3] = {{56, 56, 255}, {151, 157, 255}, {31, 112, 255}, {29, 178, 255}, {49, 210, 207},
                                   {10, 249, 72},  {23, 204, 146},  {134, 219, 61}, {52, 147, 26},  {187, 212, 0},
                                   {168, 153, 44}, {255, 194, 0},   {147, 69, 52},  {255, 115, 100}, {236, 24, 0},
                                   {255, 56, 132}, {133, 0, 82},    {255, 56, 203}, {200, 149, 255}, {199, 55, 255}};
  const int n = static_cast<int>(sizeof kColors / sizeof kColors[0]);
  const int* c = kColors[((class_id % n) + n) % n];
  return cv::Scalar(c[0], c[1], c[2]);
}

void draw_detections(cv::Mat& img, const std::vector<Detection>& dets) {
  const double scale = std::max(0.35, img.rows / 720.0) * 0.6;
  const int th = std::max(1, static_cast<int>(std::lround(scale * 3)));
  char buf[256];
  for (const Detection& d : dets) {
    const cv::Point p1(static_cast<int>(std::lround(d.x1)), static_cast<int>(std::lround(d.y1)));
    const cv::Point p2(static_cast<int>(std::lround(d.x2)) - 1, static_cast<int>(std::lround(d.y2)) - 1);
    const cv::Scalar color = class_color(d.class_id);
    cv::rectangle(img, p1, p2, color, th, cv::LINE_8);
    const std::string name = d.label.empty() ? std::to_string(d.class_id) : d.label;
    std::snprintf(buf, sizeof buf, "%s %.2f", name.c_str(), static_cast<double>(d.score));
    int base = 0;
    const cv::Size ts = cv::getTextSize(buf, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base);
    const int tag_h = ts.height + base + 2;
    const int top = p1.y - tag_h >= 0 ? p1.y - tag_h : p1.y;  // above the box, else inside it
    cv::rectangle(img, cv::Point(p1.x, top), cv::Point(p1.x + ts.width + 2, top + tag_h), color, cv::FILLED);
    cv::putText(img, buf, cv::Point(p1.x + 1, top + ts.height + 1), cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
}

}  // namespace edgekit::camera
