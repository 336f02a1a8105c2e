#pragma once
// A cache-augmentation coprocessor on disk (arXiv 2412.17747): a GGUF of its decoder's architecture (the
// coprocessor starts from the decoder's weights and is trained from there), its trained soft-token
// embeddings as one more tensor, and metadata naming the decoder it was trained for. A coprocessor only
// means something next to that decoder: loading it beside another is refused, as a store of another
// model's logs is.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/model.hpp"
#include "engine/model/trained_weights.hpp"

namespace lagvk::augment {

/// The GGUF keys and tensor a coprocessor file adds to its decoder's.
inline constexpr const char* kDecoderNameKey = "lagvk.coprocessor.decoder_name";
inline constexpr const char* kDecoderHashKey = "lagvk.coprocessor.decoder_hash";  ///< lag::weights_hash
inline constexpr const char* kLatentsKey = "lagvk.coprocessor.latents";
inline constexpr const char* kSoftTokensTensor = "lagvk.soft_tokens";  ///< F32, ne {n_embd, latents}
/// More latents than any use of the method (the paper's largest is 128); bounds what a file may claim.
inline constexpr std::uint32_t kMaxLatents = 4096;

/// What a coprocessor file says beyond its weights.
struct CoprocessorCard {
  std::string decoder_name;  ///< for messages
  std::string decoder_hash;  ///< the decoder's weights hash (hex)
  std::uint32_t latents = 0;
  std::vector<float> soft_tokens;  ///< latents x n_embd
};

/// Reads and checks a coprocessor's card from its opened model: a missing key or tensor, a latent count of
/// 0 or over kMaxLatents, soft tokens of another shape or type, or values that are not finite are
/// Errc::bad_model_file naming the file and what is wrong.
[[nodiscard]] CoprocessorCard read_coprocessor_card(const Model& model);

/// Writes a coprocessor for `decoder` (whose weights hash is `decoder_hash`): the decoder's metadata, its
/// tensors (or, with `trained`, the trained values of each, stored in the decoder tensor's type: F32 or
/// F16), the card's keys and `soft_tokens` (latents x n_embd). Untrained, it is where training starts;
/// tools/train trains one and writes it this way.
void write_coprocessor(const GgufFile& decoder, std::string_view decoder_hash,
                       std::span<const float> soft_tokens, const std::string& path,
                       const TrainedWeights* trained = nullptr);

}  // namespace lagvk::augment
