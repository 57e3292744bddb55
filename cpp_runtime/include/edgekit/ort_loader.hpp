// Loading ONNX Runtime at run time: dlopen + ORT_API_MANUAL_INIT, so a binary survives a version bump of
// the library. Search order: $EDGEKIT_ORT_LIB, the path recorded at build time, next to the executable,
// then <exe>/../lib.
#pragma once
#include <string>
#include <vector>

namespace edgekit {

/// Load the library once (thread-safe) and initialise the Ort C++ API; throws BackendError with a fix.
void ensure_ort_loaded();
/// The library file actually loaded (after ensure_ort_loaded()).
std::string ort_library_path();
/// The ORT version string of the loaded library, e.g. "1.31.1".
std::string ort_version();
/// Execution providers compiled into the loaded library, e.g. {"CPUExecutionProvider"}.
std::vector<std::string> ort_available_providers();
/// The candidate paths, in search order (for messages and tests).
std::vector<std::string> ort_library_candidates();

}  // namespace edgekit
