#include "edgekit/npy.hpp"

#include <cstring>
#include <sstream>

#include "edgekit/contract_generated.hpp"
#include "edgekit/error.hpp"
#include "edgekit/fs_util.hpp"

namespace edgekit {
namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;
constexpr size_t kGrowthAxisMaxDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS

std::string shape_repr(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '(';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s << ", ";
    s << shape[i];
  }
  if (shape.size() == 1) s << ',';
  s << ')';
  return s.str();
}
}  // namespace

size_t npy_item_size(const std::string& descr) {
  for (const auto& d : contract::kNpyDtypes)
    if (descr == d.descr) return d.item_size;
  throw NpyError(contract::rule::kNpyDtype, "unsupported NumPy dtype '" + descr + "'",
                   "save the array as little-endian float32/float16/float64/int/uint (e.g. arr.astype(np.float32))");
}

size_t NpyArray::item_size() const { return npy_item_size(descr); }

int64_t NpyArray::count() const {
  int64_t n = 1;
  for (auto d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return -1;  // UBSan found the unchecked product overflowing int64
  return n;
}

std::string NpyArray::shape_str() const { return shape_repr(shape); }

NpyArray parse_npy(const std::vector<uint8_t>& b, const std::string& what) {
  const std::string fix = "save it with numpy.save (a C-order, little-endian array)";
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, kMagicLen) != 0)
    throw NpyError(contract::rule::kNpyMagic, what + " is not a NumPy .npy file (bad magic)", fix);
  const int major = b[6];
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<size_t>(b[8]) | (static_cast<size_t>(b[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw NpyError(contract::rule::kNpyHeader, what + " has a truncated .npy header", fix);
    hlen = static_cast<size_t>(b[8]) | (static_cast<size_t>(b[9]) << 8) | (static_cast<size_t>(b[10]) << 16) |
           (static_cast<size_t>(b[11]) << 24);
    hstart = 12;
  } else {
    throw NpyError(contract::rule::kNpyVersion, what + " has unsupported .npy format version " + std::to_string(major), fix);
  }
  if (hstart + hlen > b.size()) throw NpyError(contract::rule::kNpyHeader, what + " has a truncated .npy header", fix);
  const std::string header(reinterpret_cast<const char*>(b.data() + hstart), hlen);

  NpyArray a;
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
  auto value_after = [&](const char* key) -> std::string {
    const std::string k = std::string("'") + key + "'";
    auto p = header.find(k);
    if (p == std::string::npos) throw NpyError(contract::rule::kNpyHeader, what + ": .npy header has no " + k, fix);
    p = header.find(':', p + k.size());
    if (p == std::string::npos) throw NpyError(contract::rule::kNpyHeader, what + ": .npy header is malformed near " + k, fix);
    p = header.find_first_not_of(" \t", p + 1);
    if (p == std::string::npos) throw NpyError(contract::rule::kNpyHeader, what + ": .npy header is malformed near " + k, fix);
    size_t end = std::string::npos;
    if (header[p] == '\'') end = header.find('\'', p + 1) + 1;
    else if (header[p] == '(') end = header.find(')', p) + 1;
    else end = header.find_first_of(",}", p);
    if (end == std::string::npos || end == 0 || end <= p) throw NpyError(contract::rule::kNpyHeader, what + ": .npy header is malformed near " + k, fix);
    return header.substr(p, end - p);
  };
  const std::string descr = value_after("descr");
  if (descr.size() < 3 || descr.front() != '\'') throw NpyError(contract::rule::kNpyDtype, what + ": .npy 'descr' is not a simple dtype", fix);
  a.descr = descr.substr(1, descr.size() - 2);
  if (a.descr == "<u1" || a.descr == "<i1" || a.descr == "<b1") a.descr[0] = '|';
  const std::string fortran = value_after("fortran_order");
  if (fortran == "True")
    throw NpyError(contract::rule::kNpyFortran, what + " is a Fortran-order array", "save np.ascontiguousarray(arr) instead");
  if (fortran != "False") throw NpyError(contract::rule::kNpyHeader, what + ": .npy 'fortran_order' is '" + fortran + "'", fix);
  const std::string shape = value_after("shape");
  if (shape.size() < 2 || shape.front() != '(') throw NpyError(contract::rule::kNpyShape, what + ": .npy 'shape' is not a tuple", fix);
  const std::string dims = shape.substr(1, shape.size() - 2);
  std::stringstream ss(dims);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    const auto first = tok.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    const auto last = tok.find_last_not_of(" \tL");
    const std::string t = tok.substr(first, last - first + 1);
    try {
      size_t used = 0;
      const long long v = std::stoll(t, &used);
      if (used != t.size() || v < 0) throw std::invalid_argument(t);
      a.shape.push_back(v);
    } catch (const std::exception&) {
      throw NpyError(contract::rule::kNpyShape, what + ": .npy header has a bad shape '(" + dims + ")'", fix);
    }
  }
  const size_t isz = npy_item_size(a.descr);
  const int64_t count = a.count();
  size_t nbytes = 0;
  const size_t off = hstart + hlen;
  if (count < 0 || __builtin_mul_overflow(static_cast<size_t>(count), isz, &nbytes))
    throw NpyError(contract::rule::kNpySize, what + ": .npy header " + a.descr + " " + shape_repr(a.shape) +
                       " needs more bytes than fit in memory, the file holds " + std::to_string(b.size() - off),
                   "the file is truncated or corrupt: " + fix);
  if (b.size() - off != nbytes)
    throw NpyError(contract::rule::kNpySize, what + " holds " + std::to_string(b.size() - off) + " data bytes, its header " + a.descr + " " +
                         shape_repr(a.shape) + " needs " + std::to_string(nbytes),
                     "the file is truncated or corrupt: " + fix);
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(off), b.end());
  return a;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file_bytes(path, "NumPy file"), path); }

std::vector<uint8_t> encode_npy(const std::string& descr, const std::vector<int64_t>& shape, const void* data,
                                size_t nbytes) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) header.append(kGrowthAxisMaxDigits - std::to_string(shape[0]).size(), ' ');
  const size_t hlen = header.size() + 1;
  const size_t pad = kAlign - ((kMagicLen + 2 + 2 + hlen) % kAlign);
  header.append(pad, ' ');
  header.push_back('\n');
  std::vector<uint8_t> out(kMagicLen + 4 + header.size() + nbytes);
  std::memcpy(out.data(), kMagic, kMagicLen);
  out[6] = 1;
  out[7] = 0;
  out[8] = static_cast<uint8_t>(header.size() & 0xff);
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (nbytes) std::memcpy(out.data() + 10 + header.size(), data, nbytes);
  return out;
}

void write_npy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
               const void* data, size_t nbytes) {
  const auto bytes = encode_npy(descr, shape, data, nbytes);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace edgekit
