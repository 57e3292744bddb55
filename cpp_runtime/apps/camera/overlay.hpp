// The on-frame overlay of edgekit-camera: top-k labels with scores (classification) or boxes with labels
// and scores (detection), FPS and per-stage milliseconds.
// The same layout as edgekit/demo/overlay.py.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "detection.hpp"

namespace edgekit::camera {

/// Draw in place on a BGR uint8 frame. ``topk``: (label, score in 0..1), best first.
void draw_overlay(cv::Mat& img, const std::vector<std::pair<std::string, float>>& topk, double fps,
                  const std::map<std::string, double>& stage_ms);

/// Draw each detection's box (colour by class) with "label score" on a filled tag above it (inside the box
/// when the box touches the top edge), in place on a BGR uint8 frame; boxes in the frame's pixels.
void draw_detections(cv::Mat& img, const std::vector<Detection>& dets);

/// The colour of a class (BGR), the same table as edgekit/demo/overlay.py's class_color.
cv::Scalar class_color(int class_id);

}  // namespace edgekit::camera
