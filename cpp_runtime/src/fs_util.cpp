#include "edgekit/fs_util.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "edgekit/error.hpp"

namespace edgekit {

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError("cannot read " + what + " " + path + ": no such file", "check the path");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError("cannot read " + what + " " + path + ": " + std::strerror(errno), "check the path");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_file_atomic(const std::string& path, const void* data, size_t nbytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp + ": " + std::strerror(errno), "check that the folder exists and is writable");
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(nbytes));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw Error("cannot write " + path + " (disk full?)", "free disk space or choose another output folder");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path + ": " + ec.message(), "check the output folder");
  }
}

}  // namespace edgekit
