#include "engine/ops/kv_transfer.hpp"

#include <iterator>
#include <vector>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {

using Push = push::KvTransfer;

void run(vk::Context& ctx, vk::CommandStream& cs, const char* shader, const PagedKv& kv, const KvTransfer& t,
         const RopeArgs& rope) {
  if (t.count == 0) return;
  const std::uint32_t rot = rope.rot_dims ? rope.rot_dims : kv.head_dim;
  if (kv.head_dim % 2 != 0 || rot % 2 != 0 || rot > kv.head_dim)
    fail("{}: head dimension {} / rotated dimensions {} must be even", shader, kv.head_dim, rot);
  const std::uint64_t packed = std::uint64_t(t.count) * kv.kv_heads * kv.head_dim * 2;
  require_bytes(shader, "entries", t.entries, std::uint64_t(t.count) * 4);
  require_bytes(shader, "positions", t.positions, std::uint64_t(t.count) * 4);
  require_bytes(shader, "packed K", t.k_packed, packed);
  require_bytes(shader, "packed V", t.v_packed, packed);
  require_bytes(shader, "block table", kv.table, std::uint64_t(kv.table_pages) * 4);
  if (rope.factors) require_bytes(shader, "factors", *rope.factors, std::uint64_t(rot / 2) * 4);
  const auto& pipeline = ctx.pipeline({shader, {64}, sizeof(Push)});
  const Push push{kv.k.address(),
                  kv.v.address(),
                  kv.table.address(),
                  t.entries.address(),
                  t.positions.address(),
                  rope.factors ? rope.factors->address() : 0,
                  t.k_packed.address(),
                  t.v_packed.address(),
                  t.count,
                  kv.kv_heads,
                  kv.head_dim,
                  kv.page_tokens,
                  rot,
                  static_cast<std::uint32_t>(rope.mode),
                  rope.factors ? 1u : 0u,
                  rope.freq_base,
                  rope.freq_scale};
  const Grid g = grid_1d(ctx.info(), ceil_div(std::uint64_t(t.count) * kv.kv_heads * (kv.head_dim / 2), 64));
  // Export reads the cache into the packed buffers, import writes it from them; declare both ways.
  const vk::Access touched[] = {vk::reads(kv.table),    vk::reads(t.entries),  vk::reads(t.positions),
                                vk::reads(kv.k),        vk::reads(kv.v),       vk::writes(kv.k),
                                vk::writes(kv.v),       vk::reads(t.k_packed), vk::reads(t.v_packed),
                                vk::writes(t.k_packed), vk::writes(t.v_packed)};
  std::vector<vk::Access> accesses(std::begin(touched), std::end(touched));
  if (rope.factors) accesses.push_back(vk::reads(*rope.factors));
  cs.dispatch(pipeline, &push, sizeof(push), g.x, g.y, 1, shader, accesses);
}

}  // namespace

void kv_export(vk::Context& ctx, vk::CommandStream& cs, const PagedKv& kv, const KvTransfer& t,
               const RopeArgs& rope) {
  run(ctx, cs, "kv_export", kv, t, rope);
}

void kv_import(vk::Context& ctx, vk::CommandStream& cs, const PagedKv& kv, const KvTransfer& t,
               const RopeArgs& rope) {
  run(ctx, cs, "kv_import", kv, t, rope);
}

}  // namespace lagvk::ops
