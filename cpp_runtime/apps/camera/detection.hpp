// The detection type edgekit-camera draws and writes as JSON lines: the library's edgekit::Detection
// (cpp_runtime/include/edgekit/detect.hpp; a box in the frame's pixel coordinates, its score, class and label).
#pragma once
#include "edgekit/detect.hpp"

namespace edgekit::camera {
using Detection = edgekit::Detection;
}  // namespace edgekit::camera
