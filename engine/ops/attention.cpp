#include "engine/ops/attention.hpp"

#include <cmath>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {

constexpr std::uint32_t kAttentionThreads = 64;
constexpr std::uint32_t kMaxHeadDim = 512;  // shaders/attention.comp: MAX_HEAD_DIM
constexpr std::uint32_t kMaxDimsPerThread = 4;

void validate_cache(const char* op, const PagedKv& kv, std::uint64_t entries_needed) {
  if (kv.page_tokens == 0 || kv.kv_heads == 0 || kv.head_dim == 0)
    fail("internal: {}: empty cache shape", op);
  if (entries_needed > std::uint64_t(kv.table_pages) * kv.page_tokens)
    fail("internal: {}: {} cache entries needed but the block table maps only {}", op, entries_needed,
         std::uint64_t(kv.table_pages) * kv.page_tokens);
  require_bytes(op, "block table", kv.table, std::uint64_t(kv.table_pages) * 4);
  require_bytes(op, "K pool", kv.k, std::uint64_t(kv.pool_pages) * kv.page_halves() * 2);
  require_bytes(op, "V pool", kv.v, std::uint64_t(kv.pool_pages) * kv.page_halves() * 2);
}

}  // namespace

void attention(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& q, const PagedKv& kv,
               const vk::BufferView& out, std::uint32_t tokens, std::uint32_t q_heads, std::uint32_t kv_start,
               float scale, AttentionMask mask, ScoreShaping shaping) {
  if (tokens == 0) return;
  if (!(shaping.softcap >= 0.0f) || !std::isfinite(shaping.softcap))
    fail("attention: soft cap {} must be zero (none) or a finite positive number", shaping.softcap);
  if (q_heads % kv.kv_heads != 0)
    fail("attention: {} query heads are not a multiple of {} kv heads", q_heads, kv.kv_heads);
  if (kv.head_dim > kMaxHeadDim || kv.head_dim > kAttentionThreads * kMaxDimsPerThread)
    fail("attention: head dimension {} exceeds the supported {}", kv.head_dim,
         std::min(kMaxHeadDim, kAttentionThreads * kMaxDimsPerThread));
  validate_cache("attention", kv, std::uint64_t(kv_start) + tokens);
  const std::uint64_t q_bytes = std::uint64_t(tokens) * q_heads * kv.head_dim * 4;
  require_bytes("attention", "q", q, q_bytes);
  require_bytes("attention", "out", out, q_bytes);
  if (tokens > ctx.info().max_workgroup_count[1] || q_heads > ctx.info().max_workgroup_count[0])
    fail("attention: {} tokens x {} heads exceed the device's grid limits; use smaller prefill batches",
         tokens, q_heads);
  const char* variant = mask == AttentionMask::causal ? "attention" : "attention_bidirectional";
  const auto& pipeline = ctx.pipeline({variant, {kAttentionThreads}, sizeof(push::Attention)});
  require_bytes("attention", "page fill", kv.fill, std::uint64_t(kv.table_pages) * 4);
  const push::Attention push{q.address(),       kv.k.address(), kv.v.address(), kv.table.address(),
                             kv.fill.address(), out.address(),  tokens,         q_heads,
                             kv.kv_heads,       kv.head_dim,    kv.page_tokens, kv_start,
                             shaping.window,    scale,          shaping.softcap};
  cs.dispatch(pipeline, push, q_heads, tokens, 1, variant,
              {vk::reads(q), vk::reads(kv.k), vk::reads(kv.v), vk::reads(kv.table), vk::reads(kv.fill),
               vk::writes(out)});
}

void kv_store(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& k_new,
              const vk::BufferView& v_new, const PagedKv& kv, std::uint32_t tokens, std::uint32_t kv_start,
              std::uint32_t k_stride, std::uint32_t v_stride) {
  if (tokens == 0) return;
  const std::uint32_t row = kv.kv_heads * kv.head_dim;
  const std::uint32_t ks = k_stride ? k_stride : row, vs = v_stride ? v_stride : row;
  validate_cache("kv_store", kv, std::uint64_t(kv_start) + tokens);
  require_bytes("kv_store", "k_new", k_new, (std::uint64_t(tokens - 1) * ks + row) * 4);
  require_bytes("kv_store", "v_new", v_new, (std::uint64_t(tokens - 1) * vs + row) * 4);
  const auto& pipeline = ctx.pipeline({"kv_store", {64}, sizeof(push::KvStore)});
  const push::KvStore push{k_new.address(),
                           v_new.address(),
                           kv.k.address(),
                           kv.v.address(),
                           kv.table.address(),
                           tokens,
                           kv.kv_heads,
                           kv.head_dim,
                           kv.page_tokens,
                           kv_start,
                           ks,
                           vs};
  const Grid g = grid_1d(ctx.info(), ceil_div(std::uint64_t(tokens) * row, 64));
  cs.dispatch(pipeline, push, g.x, g.y, 1, "kv_store",
              {vk::reads(k_new), vk::reads(v_new), vk::reads(kv.table), vk::writes(kv.k), vk::writes(kv.v)});
}

}  // namespace lagvk::ops
