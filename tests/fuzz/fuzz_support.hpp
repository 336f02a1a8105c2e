#pragma once
// Shared pieces of the libFuzzer targets: the rule for what counts as a crash, and small tokenizers
// built in memory (no files, no GPU) so every target starts in milliseconds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/core/error.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk::fuzz {

/// Runs fn; a lagvk::Error is the correct answer to bad input and is swallowed. Anything else (another
/// exception, a sanitizer report, an abort) escapes and libFuzzer records the input as a crash.
template <typename Fn>
void expect_only_lagvk_errors(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

/// Stops the target with a message libFuzzer records as a crash (a broken promise, not bad input).
[[noreturn]] void broken_promise(std::string_view what, std::string_view detail);

/// SentencePiece ("llama") over make_synthetic_vocab(1500), plus the control tokens the chat formats
/// write (<|im_start|>, <|eot_id|>, [INST], ...), as a generated test model has them.
[[nodiscard]] const Tokenizer& spm_tokenizer();

/// Byte-level BPE ("gpt2"): the 256 byte tokens, control tokens, a few merged words; pre-tokenizer by
/// name ("llama-bpe", "qwen2", "gpt-2").
[[nodiscard]] std::unique_ptr<Tokenizer> make_bpe_tokenizer(std::string_view pre);

/// The chat formats' control-token texts (the BPE and SPM vocabularies above contain all of them).
[[nodiscard]] std::span<const std::string_view> chat_control_tokens();

}  // namespace lagvk::fuzz
