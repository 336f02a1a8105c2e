#include "engine/ops/embedding.hpp"

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Embedding;
}  // namespace

void embedding(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& table,
               const vk::BufferView& ids, const vk::BufferView& out, std::uint32_t tokens, std::uint32_t rows,
               std::uint32_t dim) {
  if (dim % block_elements(format) != 0)
    fail("embedding: dimension {} is not a multiple of the {} block size", dim, format_name(format));
  if (tokens == 0) return;
  require_bytes("embedding", "table", table, std::uint64_t(rows) * row_bytes(format, dim));
  require_bytes("embedding", "ids", ids, std::uint64_t(tokens) * 4);
  require_bytes("embedding", "out", out, std::uint64_t(tokens) * dim * 4);
  const auto& pipeline = ctx.pipeline({"embedding_" + std::string(format_name(format)), {64}, sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), tokens);
  cs.dispatch(pipeline, Push{table.address(), ids.address(), out.address(), tokens, rows, dim}, g.x, g.y, 1,
              "embedding", {vk::reads(table), vk::reads(ids), vk::writes(out)});
}

}  // namespace lagvk::ops
