#include "tests/support/synthetic_logs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

namespace lagvk::test {

logstore::Fingerprint small_fingerprint(std::uint32_t layers) {
  logstore::Fingerprint f;
  f.model_name = "test";
  f.model_hash = "abc123";
  f.tokenizer_hash = "def456";
  f.layers = layers;
  f.kv_heads = 2;
  f.head_dim = 4;
  f.page_tokens = 3;
  f.rope_mode = "normal";
  f.rope_base = 10000;
  return f;
}

std::string fresh_store_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const auto dir = fs::path(::testing::TempDir()) / ("logstore_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir.string();
}

logstore::LogKvInput SyntheticLog::input() const {
  logstore::LogKvInput in{std::uint32_t(record.token_ids.size()), {}, {}};
  for (std::size_t l = 0; l < k.size(); ++l) {
    in.k.emplace_back(k[l]);
    in.v.emplace_back(v[l]);
  }
  return in;
}

SyntheticLog synthetic_log(std::uint32_t tokens, std::uint32_t seed, const std::string& task,
                           std::uint32_t layers) {
  std::mt19937 rng(seed);
  SyntheticLog s;
  s.record.task = task;
  s.record.retrieval_text = task;
  s.record.selection = "last";
  s.record.trace = nlohmann::json::array({{{"role", "user"}, {"content", task}}});
  for (std::uint32_t t = 0; t < tokens; ++t) {
    s.record.token_ids.push_back(std::int32_t(rng() % 1000));
    s.record.positions.push_back(std::int32_t(t + 5));
  }
  for (std::uint32_t l = 0; l < layers; ++l) {
    s.k.emplace_back(tokens * 8);
    s.v.emplace_back(tokens * 8);
    for (auto& x : s.k.back()) x = std::uint16_t(rng());
    for (auto& x : s.v.back()) x = std::uint16_t(rng());
  }
  return s;
}

}  // namespace lagvk::test
