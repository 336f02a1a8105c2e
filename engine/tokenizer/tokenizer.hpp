#pragma once
// The tokenizer interface every kind implements (SentencePiece now; byte-level BPE later), and the
// factory that picks the kind a GGUF file asks for (tokenizer.ggml.model).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lagvk {

class GgufFile;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  /// Token ids of text. add_bos prepends BOS (when the model has one); parse_special turns the text of
  /// control tokens ("<s>") into those tokens instead of tokenizing it as characters.
  [[nodiscard]] virtual std::vector<std::int32_t> encode(std::string_view text, bool add_bos,
                                                         bool parse_special) const = 0;
  /// Text of a token sequence: control tokens render as nothing (as their text when render_special),
  /// byte tokens are reassembled into UTF-8, and the space the encoder prefixed is removed.
  [[nodiscard]] virtual std::string decode(std::span<const std::int32_t> ids,
                                           bool render_special = false) const = 0;
  /// The text one token stands for, as decode would render it mid-sequence.
  [[nodiscard]] virtual std::string token_to_piece(std::int32_t id, bool render_special = false) const = 0;
  /// The token's vocabulary entry, verbatim ("▁the", "<0x0A>", "<s>").
  [[nodiscard]] virtual const std::string& token_text(std::int32_t id) const = 0;
  /// The id of the token whose vocabulary entry is exactly text ("<|eot_id|>"), or nullopt.
  [[nodiscard]] virtual std::optional<std::int32_t> find_token(std::string_view text) const = 0;

  [[nodiscard]] virtual std::int32_t bos() const = 0;  ///< -1 when none
  [[nodiscard]] virtual std::int32_t eos() const = 0;  ///< -1 when none
  [[nodiscard]] virtual bool add_bos_by_default() const = 0;
  [[nodiscard]] virtual std::size_t vocab_size() const = 0;
  /// True for tokens that end generation (EOS and the like).
  [[nodiscard]] virtual bool is_end_of_generation(std::int32_t id) const = 0;

 protected:
  Tokenizer() = default;
  Tokenizer(const Tokenizer&) = default;
  Tokenizer& operator=(const Tokenizer&) = default;
};

/// "llama" (SentencePiece) is supported; other kinds fail with a message naming them.
[[nodiscard]] std::unique_ptr<Tokenizer> make_tokenizer(const GgufFile& file);

}  // namespace lagvk
