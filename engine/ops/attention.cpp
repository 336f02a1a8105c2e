#include "engine/ops/attention.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

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

constexpr std::uint32_t kFlashThreads = 64;     // keys per tile, one per thread
constexpr std::uint32_t kMaxFlashRows = 16;     // query rows per attention_flash.comp workgroup
constexpr std::uint32_t kMaxAccumulators = 64;  // fp32 accumulators per thread (a register budget)
constexpr std::uint32_t kMinSplitKeys =
    128;  // fewer keys per split cost more in partial states than they save
constexpr std::uint32_t kCombineThreads = 64;

/// The shared memory attention_flash.comp declares for br rows of head_dim: the rows, a tile of scores,
/// the tile's key offsets and per-row state.
std::uint64_t flash_shared_bytes(std::uint32_t br, std::uint32_t head_dim) {
  return 4ull *
         (std::uint64_t(br) * head_dim + std::uint64_t(br) * kFlashThreads + kFlashThreads + 4ull * br);
}

bool flash_fits(const vk::DeviceInfo& info, std::uint32_t br, std::uint32_t head_dim) {
  const std::uint32_t c4 = head_dim / 4, groups = c4 >= kFlashThreads ? 1 : kFlashThreads / c4;
  const std::uint32_t rows_per_thread = (br + groups - 1) / groups;
  const std::uint32_t cols_per_thread = (c4 + kFlashThreads - 1) / kFlashThreads;
  return flash_shared_bytes(br, head_dim) <= info.max_shared_memory &&
         rows_per_thread * cols_per_thread * 4 <= kMaxAccumulators;
}

/// Query rows per flash workgroup: the power of two that covers the call's rows (decode wastes no rows), at
/// most kMaxFlashRows, within the device's shared memory and the register budget; 0 when none fits.
std::uint32_t flash_rows(const vk::DeviceInfo& info, std::uint32_t rows, std::uint32_t head_dim) {
  std::uint32_t br = 1;
  while (br < rows && br < kMaxFlashRows) br *= 2;
  while (br > 1 && !flash_fits(info, br, head_dim)) br /= 2;
  return flash_fits(info, br, head_dim) ? br : 0;
}

// attention_rb.comp: rows x head_dim accumulators per lane. The kernel is unrolled over both; on lavapipe 64
// compiles in about a second, 256 took minutes (LLVM on the unrolled blocks), so the block stays small.
// 96 gives head dim 24 four rows (2,048-token prefill attention 0.75x the time of two) and keeps head dim
// 64 at one (two rows, at 128, made its decode attention 2.9x slower).
constexpr std::uint32_t kRbAccumulators = 96;
constexpr std::uint32_t kMaxRbRows = 8;

/// The TEXEL_KV variant's bindings (attention_rb.comp), or nullopt where texel reads are not preferred
/// or a view cannot be made.
std::optional<std::array<vk::Binding, 4>> kv_texels(const vk::Context& ctx, const PagedKv& kv) {
  if (!ctx.texel_reads()) return std::nullopt;
  auto k = ctx.texel_binding(kv.k, vk::TexelFormat::f16x4),
       v = ctx.texel_binding(kv.v, vk::TexelFormat::f16x4);
  auto table = ctx.texel_binding(kv.table, vk::TexelFormat::u32);
  auto fill = ctx.texel_binding(kv.fill, vk::TexelFormat::u32);
  if (!k || !v || !table || !fill) return std::nullopt;
  return std::array<vk::Binding, 4>{*k, *v, *table, *fill};
}

/// Query rows per attention_rb.comp workgroup: the power of two that covers the call's rows, within
/// kRbAccumulators registers per lane (one row at least).
std::uint32_t rb_rows(std::uint32_t rows, std::uint32_t head_dim) {
  std::uint32_t br = 1;
  while (br < rows && br < kMaxRbRows && 2 * br * head_dim <= kRbAccumulators) br *= 2;
  return br;
}

/// Keys per lane per step of attention_rb.comp (KEYS): the rows' maxima, rescaling and its exponential
/// are paid once per step, so small heads take more keys (lavapipe, 2,048-token prefill: head dim 24 4
/// keys 1.3x faster than 1; head dim 64 2 keys 1.2x); a power of two, at most 4, with KEYS x head_dim
/// within 128.
std::uint32_t rb_keys_per_lane(std::uint32_t head_dim) {
  std::uint32_t keys = 1;
  while (keys < 4 && 2 * keys * head_dim <= 128) keys *= 2;
  return keys;
}

/// Key ranges per tile of rows: enough workgroups to keep the device busy when the rows alone do not
/// (decoding, short prompts after long contexts), never fewer than kMinSplitKeys keys per range.
std::uint32_t choose_splits(const vk::DeviceInfo& info, std::uint64_t groups, std::uint64_t keys) {
  // A CPU device runs a workgroup per core; a GPU wants several per compute unit.
  const std::uint64_t busy = info.type == "cpu" ? 8 : 256;
  if (groups >= busy) return 1;
  const std::uint64_t by_load = (busy + groups - 1) / groups, by_keys = keys / kMinSplitKeys;
  return std::uint32_t(std::clamp<std::uint64_t>(std::min(by_load, by_keys), 1, kMaxAttentionSplits));
}

void rowwise_attention(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& q, const PagedKv& kv,
                       const vk::BufferView& out, std::uint32_t tokens, std::uint32_t q_heads,
                       std::uint32_t kv_start, float scale, AttentionMask mask, ScoreShaping shaping) {
  if (kv.head_dim > kAttentionThreads * kMaxDimsPerThread)
    fail("attention: head dimension {} exceeds the supported {}", kv.head_dim,
         kAttentionThreads * kMaxDimsPerThread);
  if (tokens > ctx.info().max_workgroup_count[1] || q_heads > ctx.info().max_workgroup_count[0])
    fail("attention: {} tokens x {} heads exceed the device's grid limits; use smaller prefill batches",
         tokens, q_heads);
  const char* variant = mask == AttentionMask::causal ? "attention" : "attention_bidirectional";
  const auto& pipeline = ctx.pipeline({variant, {kAttentionThreads}, sizeof(push::Attention)});
  const push::Attention push{q.address(),       kv.k.address(), kv.v.address(), kv.table.address(),
                             kv.fill.address(), out.address(),  tokens,         q_heads,
                             kv.kv_heads,       kv.head_dim,    kv.page_tokens, kv_start,
                             shaping.window,    scale,          shaping.softcap};
  cs.dispatch(pipeline, push, q_heads, tokens, 1, variant,
              {vk::reads(q), vk::reads(kv.k), vk::reads(kv.v), vk::reads(kv.table), vk::reads(kv.fill),
               vk::writes(out)});
}

void flash_attention(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& q, const PagedKv& kv,
                     const vk::BufferView& out, std::uint32_t tokens, std::uint32_t q_heads,
                     std::uint32_t kv_start, float scale, AttentionMask mask, ScoreShaping shaping,
                     std::uint32_t br, bool register_blocked, const AttentionPlan& plan) {
  const auto& info = ctx.info();
  if (register_blocked) br = rb_rows(tokens * (q_heads / kv.kv_heads), kv.head_dim);
  const std::uint32_t group = q_heads / kv.kv_heads;
  const std::uint64_t tiles = ceil_div(std::uint64_t(tokens) * group, br);
  // The most keys a tile of rows sees: the window, or everything up to the last query.
  const std::uint64_t keys = shaping.window ? std::min<std::uint64_t>(shaping.window + br, kv_start + tokens)
                                            : std::uint64_t(kv_start) + tokens;
  const std::uint64_t rows = std::uint64_t(tokens) * q_heads, split_bytes = rows * (kv.head_dim + 2) * 4;
  std::uint32_t splits = plan.splits ? plan.splits : choose_splits(info, tiles * kv.kv_heads, keys);
  splits = std::min<std::uint32_t>(splits, kMaxAttentionSplits);
  // Without room for every split's partial state, as many splits as fit (one: none needed).
  if (splits > 1 && (!plan.scratch.buffer || plan.scratch.bytes < splits * split_bytes)) {
    if (plan.splits)
      fail("internal: attention: {} splits need {} bytes of scratch", splits, splits * split_bytes);
    splits =
        plan.scratch.buffer ? std::uint32_t(std::max<std::uint64_t>(1, plan.scratch.bytes / split_bytes)) : 1;
  }
  if (tiles > info.max_workgroup_count[0] || kv.kv_heads > info.max_workgroup_count[1] ||
      splits > info.max_workgroup_count[2])
    fail("attention: {} tokens x {} heads exceed the device's grid limits; use smaller prefill batches",
         tokens, q_heads);
  const bool causal = mask == AttentionMask::causal;
  // attention_rb.comp is one subgroup: the pipeline asks for the device's size where it may.
  const std::uint32_t sg = std::max(info.subgroup_size, 1u);
  const auto texels = register_blocked ? kv_texels(ctx, kv) : std::nullopt;
  const std::string rb_name =
      std::string(causal ? "attention_rb" : "attention_rb_bidirectional") + (texels ? "_texel" : "");
  const auto& pipeline = register_blocked
                             ? ctx.pipeline({rb_name,
                                             {sg, br, kv.head_dim, rb_keys_per_lane(kv.head_dim)},
                                             sizeof(push::FlashAttention),
                                             info.subgroup_size_control ? sg : 0,
                                             texels ? 4u : 0u,
                                             texels ? 0b1111u : 0u})
                             : ctx.pipeline({causal ? "attention_flash" : "attention_flash_bidirectional",
                                             {kFlashThreads, br, kv.head_dim},
                                             sizeof(push::FlashAttention)});
  const VkDeviceAddress partials = splits > 1 ? plan.scratch.address() : out.address();
  const push::FlashAttention push{q.address(),       kv.k.address(), kv.v.address(), kv.table.address(),
                                  kv.fill.address(), out.address(),  partials,       tokens,
                                  q_heads,           kv.kv_heads,    kv.page_tokens, kv_start,
                                  shaping.window,    splits,         scale,          shaping.softcap};
  const vk::BufferView result = splits > 1 ? plan.scratch : out;
  if (texels)
    cs.dispatch_bound(pipeline, push, *texels, std::uint32_t(tiles), kv.kv_heads, splits, "attention",
                      {vk::reads(q), vk::reads(kv.k), vk::reads(kv.v), vk::reads(kv.table),
                       vk::reads(kv.fill), vk::writes(result)});
  else
    cs.dispatch(pipeline, push, std::uint32_t(tiles), kv.kv_heads, splits, "attention",
                {vk::reads(q), vk::reads(kv.k), vk::reads(kv.v), vk::reads(kv.table), vk::reads(kv.fill),
                 vk::writes(result)});
  if (splits == 1) return;
  const auto& combine =
      ctx.pipeline({"attention_combine", {kCombineThreads}, sizeof(push::AttentionCombine)});
  const push::AttentionCombine merge{plan.scratch.address(), out.address(), std::uint32_t(rows), splits,
                                     kv.head_dim};
  const Grid g = grid_1d(info, rows);
  cs.dispatch(combine, merge, g.x, g.y, 1, "attention", {vk::reads(plan.scratch), vk::writes(out)});
}

}  // namespace

bool attention_reads_texels(const vk::Context& ctx, const PagedKv& kv) {
  return kv_texels(ctx, kv).has_value();
}

std::uint64_t attention_scratch_bytes(std::uint64_t rows, std::uint32_t head_dim) {
  return std::uint64_t(kMaxAttentionSplits) * rows * (head_dim + 2) * 4;
}

void attention(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& q, const PagedKv& kv,
               const vk::BufferView& out, std::uint32_t tokens, std::uint32_t q_heads, std::uint32_t kv_start,
               float scale, AttentionMask mask, ScoreShaping shaping, const AttentionPlan& plan) {
  if (tokens == 0) return;
  if (!(shaping.softcap >= 0.0f) || !std::isfinite(shaping.softcap))
    fail("attention: soft cap {} must be zero (none) or a finite positive number", shaping.softcap);
  if (q_heads % kv.kv_heads != 0)
    fail("attention: {} query heads are not a multiple of {} kv heads", q_heads, kv.kv_heads);
  if (kv.head_dim > kMaxHeadDim)
    fail("attention: head dimension {} exceeds the supported {}", kv.head_dim, kMaxHeadDim);
  validate_cache("attention", kv, std::uint64_t(kv_start) + tokens);
  const std::uint64_t q_bytes = std::uint64_t(tokens) * q_heads * kv.head_dim * 4;
  require_bytes("attention", "q", q, q_bytes);
  require_bytes("attention", "out", out, q_bytes);
  require_bytes("attention", "page fill", kv.fill, std::uint64_t(kv.table_pages) * 4);
  // The flash kernel reads K and V rows as 4 halves at a time.
  const std::uint32_t br = kv.head_dim % 4 == 0 && kv.k.address() % 8 == 0 && kv.v.address() % 8 == 0
                               ? flash_rows(ctx.info(), tokens * (q_heads / kv.kv_heads), kv.head_dim)
                               : 0;
  if ((plan.kernel == AttentionKernel::flash || plan.kernel == AttentionKernel::register_blocked) && br == 0)
    fail("internal: attention: the flash kernels cannot take head dimension {} here", kv.head_dim);
  if (plan.kernel == AttentionKernel::rowwise || br == 0) {
    rowwise_attention(ctx, cs, q, kv, out, tokens, q_heads, kv_start, scale, mask, shaping);
    return;
  }
  // As with matmul: registers beat shared memory and barriers on CPU devices.
  const bool rb =
      plan.kernel == AttentionKernel::register_blocked ||
      (plan.kernel == AttentionKernel::automatic && ctx.info().type == "cpu" && q.address() % 16 == 0);
  if (rb && q.address() % 16 != 0)
    fail("internal: attention: the register-blocked kernel needs 16-byte aligned q");
  flash_attention(ctx, cs, q, kv, out, tokens, q_heads, kv_start, scale, mask, shaping, br, rb, plan);
}

void kv_store(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& k_new,
              const vk::BufferView& v_new, const PagedKv& kv, std::uint32_t tokens, std::uint32_t kv_start,
              std::uint32_t k_stride, std::uint32_t v_stride, const std::optional<KeyRotation>& rotation) {
  if (tokens == 0) return;
  const std::uint32_t row = kv.kv_heads * kv.head_dim;
  const std::uint32_t ks = k_stride ? k_stride : row, vs = v_stride ? v_stride : row;
  validate_cache("kv_store", kv, std::uint64_t(kv_start) + tokens);
  require_bytes("kv_store", "k_new", k_new, (std::uint64_t(tokens - 1) * ks + row) * 4);
  require_bytes("kv_store", "v_new", v_new, (std::uint64_t(tokens - 1) * vs + row) * 4);
  // No rotation: rot_dims 0, positions and factors unread.
  const RopeArgs none;
  const RopeArgs& r = rotation ? rotation->rope : none;
  const std::uint32_t rot = rotation ? rotated_dims(r, kv.head_dim, "kv_store") : 0;
  if (r.inverse) fail("internal: kv_store rotates keys forward only");
  if (rotation) require_bytes("kv_store", "positions", rotation->positions, std::uint64_t(tokens) * 4);
  if (r.factors) require_bytes("kv_store", "factors", *r.factors, std::uint64_t(rot / 2) * 4);
  const vk::BufferView positions = rotation ? rotation->positions : vk::BufferView();
  const auto& pipeline = ctx.pipeline({"kv_store", {64}, sizeof(push::KvStore)});
  const push::KvStore push{k_new.address(),
                           v_new.address(),
                           kv.k.address(),
                           kv.v.address(),
                           kv.table.address(),
                           rotation ? positions.address() : 0,
                           r.factors ? r.factors->address() : 0,
                           tokens,
                           kv.kv_heads,
                           kv.head_dim,
                           kv.page_tokens,
                           kv_start,
                           ks,
                           vs,
                           rot,
                           static_cast<std::uint32_t>(r.mode),
                           r.factors ? 1u : 0u,
                           r.freq_base,
                           r.freq_scale};
  const Grid g = grid_1d(ctx.info(), ceil_div(std::uint64_t(tokens) * row, 64));
  cs.dispatch(pipeline, push, g.x, g.y, 1, "kv_store",
              {vk::reads(k_new), vk::reads(v_new), vk::reads(kv.table),
               rotation ? vk::reads(positions) : vk::Access{},
               r.factors ? vk::reads(*r.factors) : vk::Access{}, vk::writes(kv.k), vk::writes(kv.v)});
}

}  // namespace lagvk::ops
