#include "engine/kv/log_kv.hpp"

#include <cstring>
#include <numeric>

#include "engine/core/error.hpp"
#include "engine/ops/kv_transfer.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

HostLogKv capture_log_kv(vk::Context& ctx, const KvSequence& seq, std::span<const std::int32_t> entries,
                         std::span<const std::int32_t> positions, const ops::RopeArgs& rope,
                         std::uint32_t layers) {
  if (entries.size() != positions.size())
    fail("internal: capture: {} entries, {} positions", entries.size(), positions.size());
  HostLogKv out;
  out.tokens = std::uint32_t(entries.size());
  if (entries.empty()) return out;
  for (auto e : entries)
    if (e < 0 || std::uint32_t(e) >= seq.length())
      fail("internal: capture of cache entry {} beyond length {}", e, seq.length());
  const ops::PagedKv first = seq.layer_view(0);
  const std::uint64_t row = std::uint64_t(first.kv_heads) * first.head_dim;
  const std::uint64_t layer_bytes = out.tokens * row * 2;
  auto entries_buf = ctx.create_buffer(entries.size_bytes()),
       positions_buf = ctx.create_buffer(positions.size_bytes());
  ctx.upload(entries_buf, entries);
  ctx.upload(positions_buf, positions);
  auto packed = ctx.create_buffer(layer_bytes * 2 * layers, vk::MemoryKind::readback);
  vk::CommandStream cs(ctx);
  cs.begin_parallel();
  for (std::uint32_t l = 0; l < layers; ++l) {
    const ops::KvTransfer t{entries_buf, positions_buf,
                            vk::BufferView(packed, 2 * l * layer_bytes, layer_bytes),
                            vk::BufferView(packed, (2 * l + 1) * layer_bytes, layer_bytes), out.tokens};
    ops::kv_export(ctx, cs, seq.layer_view(l), t, rope);
  }
  cs.end_parallel();
  cs.finish();
  std::vector<half_bits> all(layer_bytes / 2 * 2 * layers);
  ctx.download(packed, std::span<half_bits>(all));
  for (std::uint32_t l = 0; l < layers; ++l) {
    const auto* base = all.data() + 2 * l * (layer_bytes / 2);
    out.k.emplace_back(base, base + layer_bytes / 2);
    out.v.emplace_back(base + layer_bytes / 2, base + layer_bytes);
  }
  return out;
}

LogKvSource source_of(const HostLogKv& kv, const KvShape& shape) {
  const std::uint64_t page_halves = shape.page_halves();
  return {kv.tokens, [&kv, page_halves](std::uint32_t layer, std::uint32_t page, bool values) {
            const auto& data = values ? kv.v.at(layer) : kv.k.at(layer);
            const std::uint64_t begin = std::uint64_t(page) * page_halves;
            const std::uint64_t n = std::min<std::uint64_t>(page_halves, data.size() - begin);
            return std::span<const half_bits>(data.data() + begin, n);
          }};
}

KvPages splice_log_kv(vk::Context& ctx, KvPool& pool, const LogKvSource& source, std::int32_t first_position,
                      const ops::RopeArgs& rope) {
  const KvShape& shape = pool.shape();
  const std::uint32_t P = shape.page_tokens;
  if (source.tokens == 0) fail("internal: splicing an empty log");
  const std::uint32_t n_pages = (source.tokens + P - 1) / P;
  // Held by the handle from here on: a failure below returns them to the pool as it unwinds.
  KvPages pages = pool.allocate(n_pages);
  {
    const std::uint64_t row = std::uint64_t(shape.kv_heads) * shape.head_dim;
    const std::uint64_t layer_bytes = std::uint64_t(source.tokens) * row * 2;
    // One upload buffer for all layers; the store's pages are copied into it once, directly.
    auto staging = ctx.create_buffer(layer_bytes * 2 * shape.layers, vk::MemoryKind::upload);
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      for (int kind = 0; kind < 2; ++kind) {
        std::uint64_t offset = (2 * l + kind) * layer_bytes;
        for (std::uint32_t p = 0; p < n_pages; ++p) {
          const auto data = source.page(l, p, kind == 1);
          const std::uint32_t rows = std::min(P, source.tokens - p * P);
          if (data.size() != rows * row)
            fail(
                "log page {} of layer {} holds {} values, expected {} ({} tokens x {} kv heads x {} dims); "
                "the "
                "store does not match this model",
                p, l, data.size(), rows * row, rows, shape.kv_heads, shape.head_dim);
          ctx.upload(vk::BufferView(staging, offset, data.size_bytes()), data);
          offset += data.size_bytes();
        }
      }
    }
    std::vector<std::int32_t> table(pages.ids().begin(), pages.ids().end()), fill(n_pages, std::int32_t(P)),
        entries(source.tokens), positions(source.tokens);
    std::iota(entries.begin(), entries.end(), 0);
    std::iota(positions.begin(), positions.end(), first_position);
    auto table_buf = ctx.create_buffer(table.size() * 4), fill_buf = ctx.create_buffer(fill.size() * 4);
    auto entries_buf = ctx.create_buffer(entries.size() * 4),
         positions_buf = ctx.create_buffer(positions.size() * 4);
    ctx.upload(table_buf, std::span<const std::int32_t>(table));
    ctx.upload(fill_buf, std::span<const std::int32_t>(fill));
    ctx.upload(entries_buf, std::span<const std::int32_t>(entries));
    ctx.upload(positions_buf, std::span<const std::int32_t>(positions));
    vk::CommandStream cs(ctx);
    cs.begin_parallel();
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      const ops::PagedKv kv{pool.keys(l),   pool.values(l), table_buf,       fill_buf, P,
                            shape.kv_heads, shape.head_dim, pool.capacity(), n_pages};
      const ops::KvTransfer t{entries_buf, positions_buf,
                              vk::BufferView(staging, 2 * l * layer_bytes, layer_bytes),
                              vk::BufferView(staging, (2 * l + 1) * layer_bytes, layer_bytes), source.tokens};
      ops::kv_import(ctx, cs, kv, t, rope);
    }
    cs.end_parallel();
    cs.finish();
  }
  return pages;
}

}  // namespace lagvk
