// A small reader/writer for NumPy .npy files, format version 1.0 (and reading 2.0/3.0 headers).
// Little-endian, C order only. The writer produces byte-identical files to numpy.save for the
// dtypes used here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edgekit/error.hpp"

namespace edgekit {

/// A malformed or unsupported .npy file; rule() is its contract rule id (npy.magic, npy.size, ...),
/// the same as edgekit.contract.npy.check_npy reports.
class NpyError : public InputError {
 public:
  NpyError(std::string rule, const std::string& message, const std::string& fix)
      : InputError(message, fix), rule_(std::move(rule)) {}
  const std::string& rule() const noexcept { return rule_; }

 private:
  std::string rule_;
};

struct NpyArray {
  std::string descr;            ///< NumPy dtype string, e.g. "<f4", "|u1", "<i8"
  std::vector<int64_t> shape;   ///< empty for a 0-d array
  std::vector<uint8_t> data;    ///< raw bytes, C order

  size_t item_size() const;
  int64_t count() const;        ///< number of elements (product of shape); -1 when it overflows int64
  std::string shape_str() const;  ///< "(1, 3, 224, 224)" as NumPy prints it
};

/// Item size of a supported descr ("<f4", "<f2", "<f8", "|u1", "|i1", "<i4", "<i8", "|b1"); throws InputError otherwise.
size_t npy_item_size(const std::string& descr);

/// Read a .npy file; throws InputError naming the file on anything malformed or unsupported.
NpyArray read_npy(const std::string& path);
/// Parse .npy bytes (``what`` names the source in errors).
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& what);

/// The exact bytes numpy.save would write (v1.0 header padded to a multiple of 64).
std::vector<uint8_t> encode_npy(const std::string& descr, const std::vector<int64_t>& shape, const void* data,
                                size_t nbytes);
/// Write atomically (temp file + rename); throws Error on I/O failure.
void write_npy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
               const void* data, size_t nbytes);
inline void write_npy(const std::string& path, const NpyArray& a) {
  write_npy(path, a.descr, a.shape, a.data.data(), a.data.size());
}

}  // namespace edgekit
