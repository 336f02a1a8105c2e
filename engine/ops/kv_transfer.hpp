#pragma once
// Host wrappers of shaders/kv_transfer.comp: moving keys and values between a sequence's paged cache
// and packed fp16 rows (the layout of stored log pages), un-rotating keys on export and rotating them
// to new positions on import.
#include <cstdint>
#include <optional>

#include "engine/ops/attention.hpp"
#include "engine/ops/rope.hpp"

namespace lagvk::ops {

struct KvTransfer {
  vk::BufferView entries;             ///< int32 cache entry of each packed row
  vk::BufferView positions;           ///< int32 rotary position of each packed row
  vk::BufferView k_packed, v_packed;  ///< count x kv_heads x head_dim halves each
  std::uint32_t count = 0;
};

/// Packed rows <- cache entries, keys un-rotated from their positions (RoPE removed, fp32 math).
void kv_export(vk::Context& ctx, vk::CommandStream& cs, const PagedKv& kv, const KvTransfer& t,
               const RopeArgs& rope);

/// Cache entries <- packed rows, keys rotated to their new positions.
void kv_import(vk::Context& ctx, vk::CommandStream& cs, const PagedKv& kv, const KvTransfer& t,
               const RopeArgs& rope);

}  // namespace lagvk::ops
