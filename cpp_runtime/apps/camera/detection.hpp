// The detection type edgekit-camera draws and writes as JSON lines.
//
// MERGE(det-cpp): the library's edgekit::Detection (cpp_runtime/include/edgekit/detect.hpp, written on the
// det-cpp branch) is used when that header exists; until then this app declares a local copy of the same
// struct (DET.md: {x1, y1, x2, y2, score, class_id, label}). Once det-cpp is merged the #else branch is dead
// and can be deleted.
#pragma once
#include <string>

#if __has_include("edgekit/detect.hpp")
#include "edgekit/detect.hpp"
#define EDGEKIT_CAMERA_HAVE_DETECT 1
namespace edgekit::camera {
using Detection = edgekit::Detection;
}  // namespace edgekit::camera
#else
#define EDGEKIT_CAMERA_HAVE_DETECT 0
namespace edgekit::camera {
/// Local copy of edgekit::Detection (see the note above): a box in the frame's pixel coordinates (x1, y1,
/// x2, y2: continuous pixel edges), its score, the output class channel and its label ("" past the list).
struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int class_id = 0;
  std::string label;
};
}  // namespace edgekit::camera
#endif
