#pragma once
// Generates complete, loadable GGUF models with deterministic random weights (the same seed gives the
// same file on every platform), for tests and benchmarks that need no downloaded model. Weight scales
// make next-token distributions peaked, so greedy outputs of two implementations can be compared.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/model/gguf_writer.hpp"
#include "engine/model/model_config.hpp"
#include "engine/model/tensor_type.hpp"

namespace lagvk {

struct RandomModelSpec {
  std::string arch = "llama";
  GgmlType type = GgmlType::f32;  ///< of the 2-D weight matrices (token_embd included); norms stay F32
  std::uint32_t n_layers = 4;
  std::uint32_t n_embd = 256;
  std::uint32_t n_head = 8;
  std::uint32_t n_head_kv = 4;
  std::uint32_t n_ff = 512;
  std::uint32_t n_vocab = 1024;
  std::uint32_t n_ctx = 2048;
  std::uint64_t seed = 1;
  bool tied_output = false;  ///< omit output.weight (logits use token_embd)
  /// write rope_freqs.weight with llama3-style factors in [1, 8]; phi3: LongRoPE's rope_factors_long
  /// (1 to 8) and rope_factors_short (1 to 1.5) with rope.scaling.attn_factor and original context
  bool rope_factors = false;
  std::uint32_t rope_original_context =
      4096;  ///< phi3 with rope_factors: rope.scaling.original_context_length
  float rope_freq_base = 10000.0f;
  float rope_linear_factor =
      1.0f;  ///< rope.scaling.type linear with this factor when not 1 (gemma3: global layers)
  float rms_eps = 1e-5f;
  float logit_std = 8.0f;           ///< typical spread of the logits; larger = more peaked
  Pooling pooling = Pooling::mean;  ///< bert only: bert.pooling_type (mean or cls)
  /// Decoders: written as {arch}.pooling_type unless none (an embedding decoder, as Qwen3-Embedding
  /// files are: last).
  Pooling decoder_pooling = Pooling::none;
  // gemma2 and phi3 (phi3 writes the window as its files do; neither llama.cpp nor lagvk applies it).
  // gemma2 only otherwise (written as llama.cpp reads them; a small window makes short prompts cross it,
  // small caps bend the random model's scores and logits).
  std::uint32_t sliding_window = 16;  ///< attention.sliding_window
  float attn_softcap = 50.0f;         ///< attn_logit_softcapping
  float final_softcap = 30.0f;        ///< final_logit_softcapping
  std::string name;                   ///< general.name; a descriptive default when empty
  /// When set, the vocabulary is make_word_vocab(words) (n_vocab must be its size) and SentencePiece's
  /// implicit leading space is off, as for the trained multihop model.
  std::vector<std::string> words;
  /// When set, tensor values come from here instead of the random generator (trained weights): called
  /// with each GGUF tensor name and its element count, it returns exactly that many values.
  std::function<std::vector<float>(const std::string& name, std::size_t count)> weights;
};

/// Checks the spec (positive sizes, divisibility, block-size multiples): lagvk::Error with
/// Errc::invalid_argument naming the size at fault in the spec's words (a caller such as the CLI adds how
/// its users set them).
void validate(const RandomModelSpec& spec);

/// The number of tokens of the spec's vocabulary (the word vocabulary's size when words are given).
[[nodiscard]] std::uint32_t vocabulary_size(const RandomModelSpec& spec);

/// The model as a GGUF writer (metadata, tokenizer and all tensors).
[[nodiscard]] GgufWriter make_random_model(const RandomModelSpec& spec);

/// ggml's general.file_type (llama_ftype) for a model whose matrices are of the given type.
[[nodiscard]] std::uint32_t llama_file_type(GgmlType type);

}  // namespace lagvk
