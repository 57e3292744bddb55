// libFuzzer target: the camera source URI parser of edgekit-camera (apps/camera/camera_source.cpp, used
// read-only). It runs in an empty temporary folder, so relative paths name nothing.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "camera_source.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto dir = std::filesystem::temp_directory_path() / ("edgekit-fuzz-uri-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::current_path(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string uri(reinterpret_cast<const char*>(data), size);
  try {
    const auto s = edgekit::camera::parse_uri(uri, "");
    (void)edgekit::camera::kind_name(s.kind);
    if (s.target.empty()) std::abort();  // a parsed source always names its target
  } catch (const edgekit::Error&) {
  }
  return 0;
}
