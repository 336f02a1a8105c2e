#pragma once
// A small, strict command-line parser shared by every subcommand. Options are declared up front so
// that --help is generated from the same table that parsing uses, and unknown options are errors.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lagvk::cli {

struct OptionSpec {
  std::string name;        ///< "--device"
  std::string short_name;  ///< "-d" or empty
  std::string value_name;  ///< "N" for options with a value, empty for flags
  std::string help;
  std::string default_value;  ///< shown in --help; empty when none
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::string description, std::vector<OptionSpec> options);

  /// Parses argv (after the subcommand name). Returns false when --help was given (help already printed).
  /// Throws lagvk::Error on unknown options or missing values.
  [[nodiscard]] bool parse(int argc, char** argv);

  [[nodiscard]] bool has(const std::string& name) const;
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const;
  /// Every value a repeatable option was given, in order (get() returns the last).
  [[nodiscard]] std::vector<std::string> get_all(const std::string& name) const;
  [[nodiscard]] std::string get_or(const std::string& name, const std::string& fallback) const;
  /// The option's integer value, or fallback when it is absent. The value must be all digits (with a '-'
  /// only where min is negative) and lie in [min, max]; anything else (junk after the digits, a value
  /// that does not fit, one outside the range) is an error naming the option and the range.
  [[nodiscard]] std::int64_t get_int(const std::string& name, std::int64_t fallback, std::int64_t min,
                                     std::int64_t max) const;
  /// As get_int, for the full unsigned 64-bit range (seeds).
  [[nodiscard]] std::uint64_t get_uint64(const std::string& name, std::uint64_t fallback) const;
  /// The option's value as a finite number in [min, max] ((min, max] when min_exclusive), or fallback
  /// when it is absent: nan, inf, junk and out-of-range values are errors naming the option and range.
  [[nodiscard]] double get_double(const std::string& name, double fallback, double min, double max,
                                  bool min_exclusive = false) const;
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

  void print_help() const;

 private:
  const OptionSpec* find(const std::string& token) const;
  /// "--n-predict (-n)": how error messages name an option.
  std::string label(const std::string& name) const;

  std::string command_, synopsis_, description_;
  std::vector<OptionSpec> options_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> every_value_;
  std::vector<std::string> positional_;
};

}  // namespace lagvk::cli
