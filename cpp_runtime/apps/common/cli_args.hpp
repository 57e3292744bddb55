// Minimal flag parsing shared by the edgekit apps: --name value, --flag; unknown flags are errors.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgekit/error.hpp"

namespace edgekit::cli {

class Args {
 public:
  /// ``valued``: flags taking a value; ``switches``: boolean flags. Throws InputError on anything else.
  Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& switches,
       const std::string& tool) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      std::string val;
      bool has_val = false;
      if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_val = true;
      }
      if (a == "-h" || a == "--help") {
        help_ = true;
      } else if (valued.count(a)) {
        if (!has_val) {
          if (i + 1 >= argc) throw InputError(a + " needs a value", "see " + tool + " --help");
          val = argv[++i];
        }
        values_[a] = val;
      } else if (switches.count(a) && !has_val) {
        flags_.insert(a);
      } else {
        throw InputError("unknown argument '" + std::string(argv[i]) + "'", "see " + tool + " --help");
      }
    }
  }
  bool help() const { return help_; }
  bool flag(const std::string& k) const { return flags_.count(k) > 0; }
  bool has(const std::string& k) const { return values_.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values_.find(k);
    return it == values_.end() ? def : it->second;
  }
  std::string need(const std::string& k, const std::string& tool) const {
    if (!has(k)) throw InputError(k + " is required", "see " + tool + " --help");
    return get(k);
  }
  int get_int(const std::string& k, int def, int min_value) const {
    if (!has(k)) return def;
    const std::string v = get(k);
    try {
      size_t used = 0;
      const int n = std::stoi(v, &used);
      if (used != v.size() || n < min_value) throw std::invalid_argument(v);
      return n;
    } catch (const std::exception&) {
      throw InputError(k + " '" + v + "' is not an integer >= " + std::to_string(min_value), "pass e.g. " + k + " " +
                                                                                                  std::to_string(std::max(def, min_value)));
    }
  }

 private:
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace edgekit::cli
