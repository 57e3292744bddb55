// The on-frame overlay of edgekit-camera: top-k labels with scores, FPS and per-stage milliseconds.
// The same layout as edgekit/demo/overlay.py.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

namespace edgekit::camera {

/// Draw in place on a BGR uint8 frame. ``topk``: (label, score in 0..1), best first.
void draw_overlay(cv::Mat& img, const std::vector<std::pair<std::string, float>>& topk, double fps,
                  const std::map<std::string, double>& stage_ms);

}  // namespace edgekit::camera
