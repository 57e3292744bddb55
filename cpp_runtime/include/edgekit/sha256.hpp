// SHA-256 (FIPS 180-4), implemented here so the runtime needs no crypto library.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace edgekit {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::array<uint8_t, 32> digest();  ///< finalises; call once
  std::string hexdigest();           ///< finalises; call once

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& bytes);
/// Hash a file in 1 MiB chunks; throws BundleError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace edgekit
