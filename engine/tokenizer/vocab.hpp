#pragma once
// A tokenizer vocabulary as GGUF stores it (tokenizer.ggml.*), shared by every tokenizer kind.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/model/synthetic_vocab.hpp"  // TokenType

namespace lagvk {

class GgufFile;

struct TokenVocab {
  std::vector<std::string> text;
  std::vector<float> score;
  std::vector<TokenType> type;
  std::unordered_map<std::string, std::int32_t> id_of;  ///< first token with each text

  std::int32_t bos = -1, eos = -1, unk = -1;  ///< -1 when the model has none
  std::int32_t eot = -1;                      ///< end-of-turn (chat models), -1 when none
  /// Tokens that end a generation: eos, eot, and (as llama.cpp finds them by their text) control or
  /// user-defined tokens such as gemma's "<end_of_turn>" or Phi-3's "<|end|>" that the file names nowhere.
  std::vector<std::int32_t> end_of_generation;
  bool add_bos = true;
  bool add_space_prefix = true;
  /// Per token: whitespace right after it is dropped when it is cut out as a special token (llama.cpp
  /// gives its special tokens this attribute for models named Phi-3, as their Hugging Face tokenizers do).
  std::vector<bool> rstrip;

  [[nodiscard]] std::size_t size() const { return text.size(); }
  [[nodiscard]] std::optional<std::int32_t> find(std::string_view piece) const;
  [[nodiscard]] bool valid(std::int32_t id) const { return id >= 0 && std::size_t(id) < text.size(); }
};

/// Reads tokens, scores, token types, special ids and flags; checks sizes and id ranges. `add_bos_default`
/// applies when tokenizer.ggml.add_bos_token is absent.
[[nodiscard]] TokenVocab load_vocab(const GgufFile& file, bool add_bos_default);

}  // namespace lagvk
