#include "tests/support/synthetic_logs.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <unistd.h>

#include <array>
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

std::string put_raw(const std::string& dir, const char* table, std::string_view key,
                    const std::string& value) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  mdb_env_set_mapsize(env, 1ull << 30);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  EXPECT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, old{};
  std::string before;
  if (mdb_get(txn, dbi, &k, &old) == 0) before.assign(static_cast<const char*>(old.mv_data), old.mv_size);
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  EXPECT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  return before;
}

bool remove_raw(const std::string& dir, const char* table, std::string_view key) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  mdb_env_set_mapsize(env, 1ull << 30);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi = 0;
  EXPECT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  const bool was_there = mdb_del(txn, dbi, &k, nullptr) == 0;
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  return was_there;
}

void put_raw_record(const std::string& dir, std::uint64_t id, const std::string& value) {
  std::array<char, 8> key{};
  for (int i = 0; i < 8; ++i) key[std::size_t(i)] = char((id >> (56 - 8 * i)) & 0xff);
  (void)put_raw(dir, "logs", std::string_view(key.data(), key.size()), value);
}

}  // namespace lagvk::test
