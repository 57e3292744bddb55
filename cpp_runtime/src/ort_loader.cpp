#include "edgekit/ort_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "edgekit/error.hpp"
#include "ort_api.hpp"

#ifndef EDGEKIT_ORT_LIBRARY
#define EDGEKIT_ORT_LIBRARY ""
#endif

namespace fs = std::filesystem;

namespace edgekit {
namespace {
std::once_flag g_once;
std::string g_path;
std::string g_error;
std::string g_fix;
std::string g_version;
using GetApiBaseFn = const OrtApiBase*(ORT_API_CALL*)();

std::string exe_dir() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

void load_once() {
  std::string tried;
  for (const auto& cand : ort_library_candidates()) {
    std::error_code ec;
    if (!fs::exists(cand, ec)) {
      tried += (tried.empty() ? "" : ", ") + cand + " (absent)";
      continue;
    }
    // The handle is kept for the life of the process: ONNX Runtime does not support being unloaded.
    void* h = ::dlopen(cand.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      tried += (tried.empty() ? "" : ", ") + cand + " (" + (e ? e : "dlopen failed") + ")";
      continue;
    }
    auto get_base = reinterpret_cast<GetApiBaseFn>(::dlsym(h, "OrtGetApiBase"));
    if (!get_base) {
      tried += (tried.empty() ? "" : ", ") + cand + " (no OrtGetApiBase: not ONNX Runtime)";
      continue;
    }
    const OrtApiBase* base = get_base();
    const OrtApi* api = base ? base->GetApi(ORT_API_VERSION) : nullptr;
    if (!api) {
      g_error = "ONNX Runtime " + std::string(base ? base->GetVersionString() : "?") + " at " + cand +
                " does not provide C API version " + std::to_string(ORT_API_VERSION) + " (1." +
                std::to_string(ORT_API_VERSION) + " or newer is needed)";
      g_fix = "install a newer onnxruntime (pip install -U onnxruntime) or point EDGEKIT_ORT_LIB at one";
      return;
    }
    Ort::InitApi(api);
    g_version = base->GetVersionString();
    g_path = cand;
    return;
  }
  g_error = "cannot load the ONNX Runtime library; tried: " + tried;
  g_fix = "run tools/setup.sh, or set EDGEKIT_ORT_LIB to a libonnxruntime.so.1.x file";
}
}  // namespace

std::vector<std::string> ort_library_candidates() {
  std::vector<std::string> c;
  // An explicit $EDGEKIT_ORT_LIB is the only candidate: a wrong one is an error, not silently skipped.
  if (const char* env = std::getenv("EDGEKIT_ORT_LIB"); env && *env) return {env};
  if (std::string(EDGEKIT_ORT_LIBRARY).size()) c.emplace_back(EDGEKIT_ORT_LIBRARY);
  const std::string d = exe_dir();
  if (!d.empty()) {
    c.push_back(d + "/libonnxruntime.so.1");
    c.push_back(d + "/../lib/libonnxruntime.so.1");
  }
  return c;
}

void ensure_ort_loaded() {
  std::call_once(g_once, load_once);
  if (g_path.empty()) throw BackendError(g_error, g_fix);
}

std::string ort_library_path() { return g_path; }

std::string ort_version() {
  ensure_ort_loaded();
  return g_version;  // not Ort::GetVersionString(): it calls OrtGetApiBase, which is not linked
}

std::vector<std::string> ort_available_providers() {
  ensure_ort_loaded();
  return Ort::GetAvailableProviders();
}

}  // namespace edgekit
