// One clear error: what went wrong (naming the thing) and how to fix it. Mirrors edgekit/errors.py.
#pragma once
#include <stdexcept>
#include <string>

namespace edgekit {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const std::string& fix)
      : std::runtime_error(fix.empty() ? message : message + " — fix: " + fix), message_(message), fix_(fix) {}
  const std::string& message() const noexcept { return message_; }
  const std::string& fix() const noexcept { return fix_; }

 private:
  std::string message_;
  std::string fix_;
};

/// A bundle that is missing, corrupt, from a newer schema, or does not match its manifest.
class BundleError : public Error {
  using Error::Error;
};
/// An input image or tensor that cannot be used.
class InputError : public Error {
  using Error::Error;
};
/// A backend (ONNX Runtime / TensorRT) that cannot load or run the model.
class BackendError : public Error {
  using Error::Error;
};

}  // namespace edgekit
