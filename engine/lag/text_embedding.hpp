#pragma once
// Dense retrieval vectors of a text. From a decoder, by default the mean of its final normalised hidden
// states (the inputs of the output projection), computed in a scratch sequence: it needs no second
// model and no training, and how well it retrieves depends on the model (measured against BM25 on six
// tasks and their paraphrases in tests/test_lag_store.cpp: both find 6/6 even with random weights, where
// mean pooling behaves much like a bag of tokens). A decoder embedding model says how to pool in its
// file: Qwen3-Embedding files take the last token's final hidden state (pooling_type last). An encoder
// embedding model (arch bert) pools its token vectors as its file says.
#include <string>
#include <vector>

#include "engine/api/engine.hpp"

namespace lagvk::lag {

/// How embed_text pools a model's token vectors: the file's pooling_type, and mean when it names none
/// (a plain decoder).
[[nodiscard]] Pooling text_pooling(const ModelConfig& config);

/// The text's vector under the model: for an encoder embedding model (arch bert) its pooled sentence
/// vector over [CLS] text [SEP]; for a decoder, its final hidden states pooled as text_pooling says (mean,
/// last, or cls: the first token's). Not normalised.
[[nodiscard]] std::vector<float> embed_text(Engine& engine, const std::string& text);

}  // namespace lagvk::lag
