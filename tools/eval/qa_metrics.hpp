#pragma once
// Exact match and F1 of a predicted answer against gold answers, with the normalisation of the SQuAD and
// HotpotQA evaluation scripts (and the LAG paper's tables): lowercase, punctuation removed, the articles
// "a", "an" and "the" removed as words, whitespace collapsed. F1 is over the normalised words (each word
// counted as often as it occurs in both); both take the best over the gold answers.
#include <string>
#include <vector>

namespace lagvk::lag {

[[nodiscard]] std::string normalise_answer(const std::string& text);
[[nodiscard]] bool qa_exact_match(const std::string& prediction, const std::vector<std::string>& golds);
[[nodiscard]] double qa_f1(const std::string& prediction, const std::vector<std::string>& golds);

}  // namespace lagvk::lag
