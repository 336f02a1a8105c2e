#pragma once
// Host wrappers of shaders/attention.comp, attention_flash.comp (+ attention_combine.comp) and kv_store.comp:
// grouped-query attention (causal or bidirectional) over a paged fp16 KV cache, and writing new keys and
// values into that cache.
#include <cstdint>
#include <optional>

#include "engine/ops/rope.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// One layer's view of a paged cache for one sequence: the layer's K and V page pools (pool_pages pages
/// of page_tokens x kv_heads x head_dim halves each) and the sequence's block table (int32 page ids).
struct PagedKv {
  vk::BufferView k, v, table;
  vk::BufferView
      fill;  ///< int32 valid slots of each table entry's page (page_tokens unless a spliced log ends there)
  std::uint32_t page_tokens = 0, kv_heads = 0, head_dim = 0, pool_pages = 0;
  std::uint32_t table_pages = 0;  ///< entries in the block table

  [[nodiscard]] std::uint64_t page_halves() const { return std::uint64_t(page_tokens) * kv_heads * head_dim; }
};

/// Which cache entries a query sees: causal (decoders) or all of them (encoders such as BERT).
enum class AttentionMask { causal, bidirectional };

/// Gemma-style changes to the scores: a sliding window (a query at cache entry e sees only entries
/// e - window + 1 .. e; 0 for no window) and soft-capping (score -> softcap * tanh(score / softcap), after
/// the scale; 0 for none).
struct ScoreShaping {
  std::uint32_t window = 0;
  float softcap = 0.0f;
};

/// Which kernel computes attention. rowwise (attention.comp): one workgroup per (query head, token), any
/// head dimension. flash (attention_flash.comp): tiles of query rows x keys with an online softmax, the
/// query heads of a GQA group sharing each K/V load, for GPUs; register_blocked (attention_rb.comp): the
/// same algorithm with one subgroup per workgroup and the rows in registers, for CPU devices (the automatic
/// choice there). Both need head dimensions that are multiples of 4; with scratch they split the keys over
/// workgroups (split-K) when the rows alone would leave the device idle.
enum class AttentionKernel { automatic, rowwise, flash, register_blocked };

/// How one attention call runs; the defaults choose everything from the shapes and the device.
struct AttentionPlan {
  AttentionKernel kernel = AttentionKernel::automatic;
  std::uint32_t splits = 0;  ///< flash: key ranges per tile of rows (split-K); 0 chooses (1 without scratch)
  vk::BufferView scratch;    ///< room for split-K partial states (attention_scratch_bytes); none: no split
};

/// Whether the register-blocked kernel reads this cache through texel views (its TEXEL_KV variant: K
/// and V as f16 texels, table and fill as words) rather than addresses: where the device prefers texel
/// reads and every view can be made (Context::texel_binding).
[[nodiscard]] bool attention_reads_texels(const vk::Context& ctx, const PagedKv& kv);

/// Most key ranges a split-K attention uses.
inline constexpr std::uint32_t kMaxAttentionSplits = 32;

/// Bytes of scratch split-K attention needs for `rows` query rows (tokens x q_heads) of head_dim values
/// cut into up to kMaxAttentionSplits key ranges.
[[nodiscard]] std::uint64_t attention_scratch_bytes(std::uint64_t rows, std::uint32_t head_dim);

/// out[t][h] = softmax_j(q[t][h] . K[j] * scale) V[j] over cache entries j <= kv_start + t (causal) or
/// j < kv_start + tokens (bidirectional), with query head h reading kv head h / (q_heads / kv_heads). q and
/// out: tokens x q_heads x head_dim fp32.
void attention(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& q, const PagedKv& kv,
               const vk::BufferView& out, std::uint32_t tokens, std::uint32_t q_heads, std::uint32_t kv_start,
               float scale, AttentionMask mask = AttentionMask::causal, ScoreShaping shaping = {},
               const AttentionPlan& plan = {});

/// The rotary embedding kv_store gives the keys on their way into the cache: token t at positions[t]
/// (int32), rotated as ops::rope would rotate them in place (forward only).
struct KeyRotation {
  vk::BufferView positions;
  RopeArgs rope;
};

/// Writes k_new/v_new (tokens x kv_heads x head_dim fp32, rows k_stride/v_stride floats apart; 0 means
/// packed) into cache entries kv_start .. kv_start + tokens - 1; with a rotation, the keys rotated (one
/// dispatch instead of a RoPE, a barrier and the store).
void kv_store(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& k_new,
              const vk::BufferView& v_new, const PagedKv& kv, std::uint32_t tokens, std::uint32_t kv_start,
              std::uint32_t k_stride = 0, std::uint32_t v_stride = 0,
              const std::optional<KeyRotation>& rotation = std::nullopt);

}  // namespace lagvk::ops
