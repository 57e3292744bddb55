// libFuzzer target: the manifest parser (JSON -> generated-schema validation -> rules -> Manifest) and the
// preprocessing-spec parser. Any outcome but a value or an edgekit::Error (one line) is a finding; so is every
// sanitizer report (ASan + UBSan are on, see tools/fuzz.sh).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "edgekit/error.hpp"
#include "edgekit/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const edgekit::Manifest m = edgekit::parse_manifest(text, "fuzz.json");
    (void)m.preprocess.input_shape();  // a valid manifest has a fixed input shape
    (void)m.model();                   // ... and its default model
  } catch (const edgekit::Error& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) std::abort();  // errors are one line
  }
  try {
    (void)edgekit::parse_spec(text, "fuzz-spec.json");
  } catch (const edgekit::Error&) {
  }
  return 0;
}
