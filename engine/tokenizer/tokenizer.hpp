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

/// A piece of text to tokenize and whether the texts of control tokens in it become those tokens.
/// Chat prompts are lists of these: the template's markup ("<|im_start|>") parses special tokens, the
/// messages' content does not, so that a message cannot forge a turn.
struct TextSegment {
  std::string_view text;
  bool parse_special = false;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  /// Token ids of text. add_bos prepends BOS (when the model has one); parse_special turns the text of
  /// control tokens ("<s>") into those tokens instead of tokenizing it as characters.
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text, bool add_bos,
                                                 bool parse_special) const {
    const TextSegment whole{text, parse_special};
    return encode_segments(std::span<const TextSegment>(&whole, 1), add_bos);
  }
  /// Token ids of the segments' concatenation, with control-token texts parsed only inside segments
  /// that ask for it. Text between special tokens is tokenized as one piece across segment boundaries,
  /// so the ids equal encode(concatenation, add_bos, true) whenever no plain segment holds the text of
  /// a control token.
  [[nodiscard]] virtual std::vector<std::int32_t> encode_segments(std::span<const TextSegment> segments,
                                                                  bool add_bos) const = 0;
  /// Where an incremental decode of one sequence stands (decode_append); each sequence starts from {}.
  struct DecodeState {
    bool started = false;  ///< a piece that may carry the encoder's prefixed space has been appended
  };
  /// Appends to `out` the text `id` adds after the ids already appended with `state`: appending a
  /// sequence's ids one at a time gives decode() of the whole sequence, in time linear in its length
  /// (generation streams its text this way). Byte tokens append raw bytes, so a multi-byte character
  /// split over tokens is whole only once all of its tokens are appended.
  virtual void decode_append(std::string& out, DecodeState& state, std::int32_t id,
                             bool render_special = false) const = 0;
  /// Text of a token sequence: control tokens render as nothing (as their text when render_special),
  /// byte tokens are reassembled into UTF-8, and the space the encoder prefixed is removed.
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids, bool render_special = false) const {
    std::string out;
    DecodeState state;
    for (auto id : ids) decode_append(out, state, id, render_special);
    return out;
  }
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
