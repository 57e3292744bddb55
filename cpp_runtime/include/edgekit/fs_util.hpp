// Small file helpers: whole-file reads and atomic writes (temp file in the same folder + rename).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace edgekit {

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what);
void write_file_atomic(const std::string& path, const void* data, size_t nbytes);
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace edgekit
