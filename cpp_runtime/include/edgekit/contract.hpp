// The manifest contract on the C++ side: a generic validator for the JSON Schema generated from the pydantic
// models (contract_generated.hpp) plus the rules a schema cannot express, each under the same id as in Python
// (edgekit/contract/__init__.py, edgekit/bundle.py, edgekit/preprocess/spec.py).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgekit/contract_generated.hpp"
#include "edgekit/error.hpp"

namespace edgekit {

/// A manifest, spec, path or file that breaks the contract; rule() is the broken rule's id (e.g.
/// "schema.bounds", "spec.std_magnitude", "bundle.path_inside"), at() the JSON path or bundle path.
class ContractError : public BundleError {
 public:
  ContractError(const std::string& message, const std::string& fix, std::string rule, std::string at = "")
      : BundleError(message, fix), rule_(std::move(rule)), at_(std::move(at)) {}
  const std::string& rule() const noexcept { return rule_; }
  const std::string& at() const noexcept { return at_; }

 private:
  std::string rule_, at_;
};

namespace contract {

/// Parse JSON text; anything that is not JSON (NaN, 1e400, bad UTF-8) throws ContractError json.syntax.
nlohmann::json parse_json(const std::string& text, const std::string& where);
/// Validate ``doc`` against the schema's root (def empty: the manifest) or ``$defs/<def>`` (e.g.
/// "PreprocessSpec"), running every x-edgekit-rules rule the schema names. Throws ContractError.
void validate(const nlohmann::json& doc, const std::string& def, const std::string& where);
/// Why ``p`` is not a confined relative bundle path, or "" when it is (Python: contract.path_problem).
std::string path_problem(const std::string& p);
/// The rule ids the C++ side implements (every x-edgekit-rules id in the schema must be one of them).
std::vector<std::string> implemented_rules();
/// The rule ids the schema names in x-edgekit-rules.
std::vector<std::string> schema_rules();

}  // namespace contract
}  // namespace edgekit
