#include "tools/lagvk/args.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include <fmt/format.h>

#include "engine/core/error.hpp"

namespace lagvk::cli {

Args::Args(std::string command, std::string synopsis, std::string description,
           std::vector<OptionSpec> options)
    : command_(std::move(command)),
      synopsis_(std::move(synopsis)),
      description_(std::move(description)),
      options_(std::move(options)) {
  options_.push_back({"--help", "-h", "", "show this help and exit", ""});
}

const OptionSpec* Args::find(const std::string& token) const {
  for (const auto& o : options_)
    if (o.name == token || (!o.short_name.empty() && o.short_name == token)) return &o;
  return nullptr;
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "--") {
      for (++i; i < argc; ++i) positional_.emplace_back(argv[i]);
      break;
    }
    if (token.size() > 1 && token[0] == '-' &&
        !(token.size() > 1 && (std::isdigit(static_cast<unsigned char>(token[1])) || token[1] == '.'))) {
      std::string inline_value;
      bool has_inline = false;
      if (auto eq = token.find('='); eq != std::string::npos && token.rfind("--", 0) == 0) {
        inline_value = token.substr(eq + 1);
        token = token.substr(0, eq);
        has_inline = true;
      }
      const OptionSpec* spec = find(token);
      if (!spec) fail("lagvk {}: unknown option '{}' (see 'lagvk {} --help')", command_, token, command_);
      if (spec->name == "--help") {
        print_help();
        return false;
      }
      if (spec->value_name.empty()) {
        if (has_inline) fail("lagvk {}: option {} takes no value", command_, spec->name);
        values_[spec->name] = "1";
      } else if (has_inline) {
        values_[spec->name] = inline_value;
      } else {
        if (i + 1 >= argc)
          fail("lagvk {}: option {} needs a value ({})", command_, spec->name, spec->value_name);
        values_[spec->name] = argv[++i];
      }
      if (!spec->value_name.empty()) every_value_[spec->name].push_back(values_[spec->name]);
    } else {
      positional_.push_back(token);
    }
  }
  return true;
}

bool Args::has(const std::string& name) const {
  return values_.count(name) != 0;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = every_value_.find(name);
  return it == every_value_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

namespace {

// Whole-string parses: std::from_chars neither skips spaces nor accepts a '+', and reports values that
// do not fit instead of wrapping them (std::stoll and a cast to 32 bits turned 2^32 into 0).
template <typename T>
bool parse_whole(const std::string& text, T& value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

std::string format_bound(double v) {
  return fmt::format("{}", v);
}

}  // namespace

std::string Args::label(const std::string& name) const {
  const OptionSpec* spec = find(name);
  return spec && !spec->short_name.empty() ? spec->name + " (" + spec->short_name + ")" : name;
}

std::int64_t Args::get_int(const std::string& name, std::int64_t fallback, std::int64_t min,
                           std::int64_t max) const {
  const auto v = get(name);
  if (!v) return fallback;
  std::int64_t r = 0;
  if (!parse_whole(*v, r) || r < min || r > max)
    fail("lagvk {}: option {} expects an integer from {} to {}, got '{}'", command_, label(name), min, max,
         *v);
  return r;
}

std::uint64_t Args::get_uint64(const std::string& name, std::uint64_t fallback) const {
  const auto v = get(name);
  if (!v) return fallback;
  std::uint64_t r = 0;
  if (!parse_whole(*v, r))
    fail("lagvk {}: option {} expects an integer from 0 to {}, got '{}'", command_, label(name),
         std::numeric_limits<std::uint64_t>::max(), *v);
  return r;
}

double Args::get_double(const std::string& name, double fallback, double min, double max,
                        bool min_exclusive) const {
  const auto v = get(name);
  if (!v) return fallback;
  double r = 0;
  const bool in_range =
      parse_whole(*v, r) && std::isfinite(r) && (min_exclusive ? r > min : r >= min) && r <= max;
  if (!in_range)
    fail("lagvk {}: option {} expects a number in {}{}, {}], got '{}'", command_, label(name),
         min_exclusive ? "(" : "[", format_bound(min), format_bound(max), *v);
  return r;
}

void Args::print_help() const {
  std::printf("usage: lagvk %s %s\n\n%s\n\noptions:\n", command_.c_str(), synopsis_.c_str(),
              description_.c_str());
  for (const auto& o : options_) {
    std::string left = o.short_name.empty() ? "    " + o.name : "  " + o.short_name + ", " + o.name;
    if (!o.value_name.empty()) left += " " + o.value_name;
    std::string help = o.help;
    if (!o.default_value.empty()) help += " (default: " + o.default_value + ")";
    std::printf("  %-28s %s\n", left.c_str(), help.c_str());
  }
}

}  // namespace lagvk::cli
