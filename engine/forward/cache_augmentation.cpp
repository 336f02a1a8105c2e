#include "engine/forward/cache_augmentation.hpp"

#include <numeric>

#include "engine/core/error.hpp"

namespace lagvk {
namespace {

void check_pair(const Forward& coprocessor, const KvPool& pool) {
  const auto& c = coprocessor.weights().config();
  const KvShape& s = pool.shape();
  if (c.layers != s.layers || c.kv_heads != s.kv_heads || c.head_dim != s.head_dim)
    fail(
        Errc::invalid_argument,
        "the coprocessor ({} layers, {} KV heads of {}) cannot read a cache of {} layers, {} KV heads of {}: "
        "a coprocessor must have its decoder's architecture",
        c.layers, c.kv_heads, c.head_dim, s.layers, s.kv_heads, s.head_dim);
}

std::vector<std::int32_t> positions_from(std::int32_t first, std::size_t count) {
  std::vector<std::int32_t> positions(count);
  std::iota(positions.begin(), positions.end(), first);
  return positions;
}

}  // namespace

std::vector<float> coprocessor_latents(Forward& coprocessor, KvPool& pool, const KvSequence& decoder_seq,
                                       std::span<const float> soft_tokens, std::int32_t first_position) {
  check_pair(coprocessor, pool);
  const std::uint32_t dim = coprocessor.weights().config().dim;
  if (soft_tokens.size() % dim != 0)
    fail(Errc::invalid_argument, "{} soft-token values are not whole embeddings of width {}",
         soft_tokens.size(), dim);
  const std::size_t count = soft_tokens.size() / dim;
  if (count == 0) return {};
  KvSequence scratch(decoder_seq.context(), pool, std::uint32_t(decoder_seq.length() + count));
  scratch.share_prefix(decoder_seq);
  return coprocessor.hidden_states(scratch, soft_tokens, positions_from(first_position, count));
}

Augmentation augment_cache(Forward& coprocessor, Forward& decoder, KvPool& pool, KvSequence& decoder_seq,
                           std::span<const float> soft_tokens, std::int32_t first_position) {
  if (coprocessor.weights().config().dim != decoder.weights().config().dim)
    fail(Errc::invalid_argument, "the coprocessor's width {} is not its decoder's {}",
         coprocessor.weights().config().dim, decoder.weights().config().dim);
  Augmentation out;
  out.latents = coprocessor_latents(coprocessor, pool, decoder_seq, soft_tokens, first_position);
  if (out.latents.empty()) return out;
  const std::size_t count = out.latents.size() / decoder.weights().config().dim;
  out.logits = decoder.eval_embeddings(decoder_seq, out.latents, positions_from(first_position, count));
  return out;
}

}  // namespace lagvk
