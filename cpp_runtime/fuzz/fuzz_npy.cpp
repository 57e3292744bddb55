// libFuzzer target: the .npy reader. UBSan found the signed overflow of the element count here (a shape like
// (4611686018427387904, 4)); parse_npy now refuses it as npy.size.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "edgekit/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const edgekit::NpyArray a = edgekit::parse_npy(bytes, "fuzz.npy");
    // What it accepted is consistent: the data holds exactly count * item_size bytes.
    if (a.count() < 0 || a.data.size() != static_cast<size_t>(a.count()) * a.item_size()) std::abort();
    (void)a.shape_str();
  } catch (const edgekit::Error&) {
  }
  return 0;
}
