#pragma once
// Moving a log's keys and values between the GPU KV cache and the host, the two halves of
// Log-Augmented Generation's KV reuse:
//  - capture: when a task finishes, the selected cache entries of its sequence are copied out with their
//    keys un-rotated (RoPE removed, fp32 math), ready to be stored;
//  - splice: a stored log's pages are written into fresh pool pages with keys rotated to the positions
//    the log takes in a new sequence, and handed to that sequence as shared, read-only pages.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/core/half.hpp"
#include "engine/kv/kv_pool.hpp"
#include "engine/ops/rope.hpp"

namespace lagvk {

/// A log's KV on the host: per layer, tokens x kv_heads x head_dim fp16 values, keys without RoPE.
struct HostLogKv {
  std::uint32_t tokens = 0;
  std::vector<std::vector<half_bits>> k, v;  ///< [layer]
};

/// Copies cache entries `entries` of `seq` (whose keys were rotated at `positions`) to the host, keys
/// un-rotated. entries and positions have one element per captured token.
[[nodiscard]] HostLogKv capture_log_kv(vk::Context& ctx, const KvSequence& seq,
                                       std::span<const std::int32_t> entries,
                                       std::span<const std::int32_t> positions, const ops::RopeArgs& rope,
                                       std::uint32_t layers);

/// Where a log's pages come from when splicing: the fp16 K or V of `page` (page_tokens rows, fewer on the
/// last page) of a layer. The spans are read once, straight into GPU-visible memory, so they may point
/// into a store's memory map.
struct LogKvSource {
  std::uint32_t tokens = 0;
  std::function<std::span<const half_bits>(std::uint32_t layer, std::uint32_t page, bool values)> page;
};

/// A source over a HostLogKv (tests, live capture).
[[nodiscard]] LogKvSource source_of(const HostLogKv& kv, const KvShape& shape);

/// Writes a log into newly allocated pool pages, keys rotated to positions first_position ..
/// first_position + tokens - 1. Returns the pages in a handle that holds one reference on each: append
/// them to sequences with KvSequence::append_shared_pages (each sequence takes its own references); the
/// pages return to the pool when the handle and every sequence holding them are gone.
[[nodiscard]] KvPages splice_log_kv(vk::Context& ctx, KvPool& pool, const LogKvSource& source,
                                    std::int32_t first_position, const ops::RopeArgs& rope);

}  // namespace lagvk
