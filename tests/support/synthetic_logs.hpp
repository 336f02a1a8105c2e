#pragma once
// Logs with random KV for store tests that need no model: a small fingerprint (2 KV heads of 4, pages of
// 3 tokens) and logs of any length whose pages are random fp16 bit patterns.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "logstore/store.hpp"

namespace lagvk::test {

[[nodiscard]] logstore::Fingerprint small_fingerprint(std::uint32_t layers = 2);

/// A fresh (removed) directory under the test temp dir, unique to this process.
[[nodiscard]] std::string fresh_store_dir(const std::string& name);

struct SyntheticLog {
  logstore::LogRecord record;
  std::vector<std::vector<std::uint16_t>> k, v;  ///< [layer]: tokens x 2 x 4 values
  [[nodiscard]] logstore::LogKvInput input() const;
};

/// `tokens` random token ids at positions 5.., random K/V for `layers` layers of small_fingerprint(); the
/// trace is one user message holding the task.
[[nodiscard]] SyntheticLog synthetic_log(std::uint32_t tokens, std::uint32_t seed, const std::string& task,
                                         std::uint32_t layers = 2);

/// Writes `value` under `key` in one of a store's tables straight into LMDB, as damage or an older lagvk
/// would leave it; returns the value that was there ("" when none). No Store may be open on `dir` in
/// this process meanwhile (LMDB allows one environment per file).
std::string put_raw(const std::string& dir, const char* table, std::string_view key,
                    const std::string& value);

/// Deletes `key` from one of a store's tables straight in LMDB (a record an older lagvk did not write);
/// returns whether it was there. The same rule as put_raw: no Store open on `dir` in this process.
bool remove_raw(const std::string& dir, const char* table, std::string_view key);

/// Writes `value` as log `id`'s record (put_raw into "logs").
void put_raw_record(const std::string& dir, std::uint64_t id, const std::string& value);

}  // namespace lagvk::test
