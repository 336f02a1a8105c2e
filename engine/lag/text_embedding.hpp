#pragma once
// Dense retrieval vectors from the model itself: the mean of the final normalised hidden states of a
// text (the inputs of the output projection), computed in a scratch sequence. Chosen because it needs no
// second model and no training; how well it retrieves depends on the model. Measured against BM25 on a
// labelled set of six tasks and their paraphrases (tests/test_lag_store.cpp): both find 6/6 even with
// random weights, where mean pooling behaves much like a bag of tokens; a trained model is needed to
// tell them apart on harder paraphrases.
#include <string>
#include <vector>

#include "engine/api/engine.hpp"

namespace lagvk::lag {

/// A decoder's mean hidden state (above), or, for an encoder embedding model (arch bert), its pooled
/// sentence vector (the file's pooling_type over [CLS] text [SEP]). Not normalised.
[[nodiscard]] std::vector<float> embed_text(Engine& engine, const std::string& text);

}  // namespace lagvk::lag
