// libFuzzer target: the SentencePiece and byte-level BPE tokenizers over small in-memory vocabularies.
// The first input byte picks the tokenizer and the flags; the rest is the text. Checked promises:
// every id is inside the vocabulary; decode(encode(text)) == text for plain text (BPE: with special
// tokens parsed too, every byte has a token); decoding any id sequence (ids outside the vocabulary
// included) gives text or lagvk::Error. SentencePiece's documented exceptions are skipped: text that
// contains U+2581 (its visible space, decoded as a space), and text with a multi-byte UTF-8 lead byte not
// followed by its continuation bytes: like llama.cpp, the encoder takes the lead byte's length from its
// high nibble, so "\xff " swallows the escaped space into one 4-byte character whose byte-fallback
// tokens decode to U+2581 instead of the space (engine/tokenizer/spm_tokenizer.cpp, utf8_len).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace lagvk;

constexpr std::string_view kSentencePieceSpace = "\xe2\x96\x81";

const Tokenizer& pick_tokenizer(unsigned selector) {
  static const auto llama_bpe = fuzz::make_bpe_tokenizer("llama-bpe");
  static const auto qwen2 = fuzz::make_bpe_tokenizer("qwen2");
  static const auto gpt2 = fuzz::make_bpe_tokenizer("gpt-2");
  static const auto smollm = fuzz::make_bpe_tokenizer("smollm");
  switch (selector % 4) {
    case 0:
      return fuzz::spm_tokenizer();
    case 1:
      return *llama_bpe;
    case 2:
      return *qwen2;
    default:  // flag 32 (otherwise unused) picks gpt2's two-pass variant
      return selector & 32 ? *smollm : *gpt2;
  }
}

/// Whether every lead byte of a multi-byte UTF-8 character (judged by its high nibble, as the
/// SentencePiece encoder judges it) is followed by as many continuation bytes as it announces.
bool lead_bytes_complete(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    const unsigned high = static_cast<unsigned char>(text[pos]) >> 4;
    const std::size_t len = high < 0xC ? 1 : high < 0xE ? 2 : high == 0xE ? 3 : 4;
    for (std::size_t i = 1; i < len; ++i)
      if (pos + i >= text.size() || (static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) return false;
    pos += len;
  }
  return true;
}

void check_ids(const Tokenizer& tokenizer, const std::vector<std::int32_t>& ids, std::string_view text) {
  for (auto id : ids)
    if (id < 0 || std::size_t(id) >= tokenizer.vocab_size())
      fuzz::broken_promise("encode returned a token outside the vocabulary", text);
}

void check_round_trip(const Tokenizer& tokenizer, bool is_spm, bool add_bos, bool parse_special,
                      std::string_view text) {
  const auto ids = tokenizer.encode(text, add_bos, parse_special);
  check_ids(tokenizer, ids, text);
  if (is_spm) {
    if (parse_special || text.find(kSentencePieceSpace) != std::string_view::npos ||
        !lead_bytes_complete(text)) {
      (void)tokenizer.decode(ids, true);
      return;
    }
    if (tokenizer.decode(ids) != text)
      fuzz::broken_promise("SentencePiece decode(encode(text)) != text", text);
    return;
  }
  // BPE: control tokens parsed from the text come back with render_special; the BOS that add_bos put
  // first would too, so it is dropped (after checking that it is there).
  std::span<const std::int32_t> body = ids;
  if (add_bos && tokenizer.bos() >= 0) {
    if (ids.empty() || ids.front() != tokenizer.bos())
      fuzz::broken_promise("add_bos gave no BOS first", text);
    body = body.subspan(1);
  }
  if (tokenizer.decode(body, parse_special) != text)
    fuzz::broken_promise("BPE decode(encode(text)) != text", text);
}

void check_decode_of_any_ids(const Tokenizer& tokenizer, std::string_view bytes) {
  // Pairs of bytes as ids in [-1, vocab_size]: the edges outside the vocabulary included.
  std::vector<std::int32_t> ids;
  const auto span = std::int32_t(tokenizer.vocab_size()) + 2;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    const auto raw = std::int32_t(std::uint8_t(bytes[i]) | (std::uint8_t(bytes[i + 1]) << 8));
    ids.push_back(raw % span - 1);
  }
  fuzz::expect_only_lagvk_errors([&] { (void)tokenizer.decode(ids, false); });
  fuzz::expect_only_lagvk_errors([&] { (void)tokenizer.decode(ids, true); });
  for (auto id : ids) fuzz::expect_only_lagvk_errors([&] { (void)tokenizer.token_to_piece(id, true); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto& tokenizer = pick_tokenizer(flags);
  const bool is_spm = flags % 4 == 0, add_bos = flags & 4, parse_special = flags & 8;
  check_round_trip(tokenizer, is_spm, add_bos, parse_special, text);  // any text must encode
  if (flags & 16) check_decode_of_any_ids(tokenizer, text);
  return 0;
}
