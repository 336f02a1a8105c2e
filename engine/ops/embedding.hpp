#pragma once
// Host wrapper of shaders/embedding.comp: rows of an embedding table by token id.
#include <cstdint>

#include "engine/ops/weight_format.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// out[t] = table[ids[t]] (table: rows x dim in `format`, ids: int32, out: tokens x dim fp32).
/// The caller validates ids against `rows`; out-of-range ids yield zero rows rather than faults.
void embedding(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& table,
               const vk::BufferView& ids, const vk::BufferView& out, std::uint32_t tokens, std::uint32_t rows,
               std::uint32_t dim);

}  // namespace lagvk::ops
