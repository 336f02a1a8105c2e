#include "tools/lagvk/args.hpp"

#include <cstdio>

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

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

long long Args::get_int(const std::string& name, long long fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    long long r = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument(*v);
    return r;
  } catch (const std::exception&) {
    fail("lagvk {}: option {} expects an integer, got '{}'", command_, name, *v);
  }
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    double r = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument(*v);
    return r;
  } catch (const std::exception&) {
    fail("lagvk {}: option {} expects a number, got '{}'", command_, name, *v);
  }
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
