#pragma once
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace edgekit::test {

inline std::string data_dir() { return EDGEKIT_TESTDATA_DIR; }
inline std::string data(const std::string& rel) { return data_dir() + "/" + rel; }

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("test data missing: " + path + " (run the tests through ctest: its fixture writes them)");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline nlohmann::json load_json(const std::string& rel) { return nlohmann::json::parse(slurp(data(rel))); }

inline std::string to_hex(const std::vector<uint8_t>& v) {
  static const char* h = "0123456789abcdef";
  std::string s;
  for (auto b : v) {
    s.push_back(h[b >> 4]);
    s.push_back(h[b & 15]);
  }
  return s;
}

/// Expect ``fn`` to throw ``E`` whose message contains ``needle``.
#define EXPECT_THROW_MSG(stmt, E, needle)                                                   \
  do {                                                                                      \
    try {                                                                                   \
      stmt;                                                                                 \
      ADD_FAILURE() << "expected " #E " containing '" << (needle) << "'";                  \
    } catch (const E& e_) {                                                                 \
      EXPECT_NE(std::string(e_.what()).find(needle), std::string::npos) << e_.what();       \
    }                                                                                       \
  } while (0)

}  // namespace edgekit::test
