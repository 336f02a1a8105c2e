#pragma once
// What both evaluation suites (multihop_suite.hpp, qa_suite.hpp) do the same way: run the seen tasks
// without logs and keep the answered ones' traces as logs (one scratch store per selection a mode uses),
// then answer a split's questions once per mode (none, text-*, kv-*, and the semantic-cache baseline),
// scoring each answer and timing the row.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/lag/agent.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/store_library.hpp"
#include "logstore/store.hpp"
#include "tools/eval/multihop_suite.hpp"

namespace lagvk::lag {

struct EvalQuestion {
  std::string id, question;
  std::vector<std::string> golds;  ///< the accepted answers
};

/// The agent answering one question with these logs (null: none).
using EvalAgent = std::function<AgentResult(const std::string& question, LogLibrary* library)>;
/// (correct, F1 in 0..1) of an answer against the gold answers.
using EvalScorer =
    std::function<std::pair<bool, double>(const std::string& answer, const std::vector<std::string>& golds)>;
/// (done, total) as each question starts.
using EvalProgress = std::function<void(std::uint32_t done, std::uint32_t total)>;

/// A directory removed (with what is in it) when the evaluation ends.
struct EvalTempDir {
  std::filesystem::path path;
  explicit EvalTempDir(const std::string& parent);
  ~EvalTempDir();
  EvalTempDir(const EvalTempDir&) = delete;
  EvalTempDir& operator=(const EvalTempDir&) = delete;
};

/// The seen tasks' logs: a scratch store per selection the modes use, and each log's final answer.
class EvalStores {
 public:
  /// Runs `agent` without logs on every seen question (progress per question) and encodes the answered
  /// traces into a store for each selection in `modes` that needs one (nothing runs when none does).
  EvalStores(Engine& engine, const std::vector<EvalQuestion>& seen, const EvalAgent& agent,
             const EvalScorer& score, const std::vector<EvalMode>& modes, const std::string& work_dir,
             const std::optional<TextEmbedder>& embedder, logstore::IndexText index_text,
             const EvalProgress& progress, const LogAugmentation& log_augmentation = {});

  /// The library a mode reads (null for `none`).
  [[nodiscard]] std::unique_ptr<StoreLibrary> library(const EvalMode& mode);
  /// The final answer of the seen task a log was made from (the semantic cache's answer).
  [[nodiscard]] std::optional<std::string> stored_answer(LogId id) const;

  std::uint32_t tasks = 0, answered = 0, correct = 0;
  double seconds = 0;

 private:
  EvalTempDir work_;
  std::optional<TextEmbedder> embedder_;
  logstore::IndexText index_text_;
  std::map<Selection, std::unique_ptr<logstore::Store>> stores_;
  std::map<LogId, std::string> answers_;  ///< the ids are the same in every store (same traces, same order)
};

/// Answers `questions` in `mode` (logs from `stores`, which may be null when no mode needs them).
[[nodiscard]] ModeResult run_eval_mode(const std::string& split, const EvalMode& mode,
                                       const std::vector<EvalQuestion>& questions, EvalStores* stores,
                                       const EvalAgent& agent, const EvalScorer& score,
                                       const EvalProgress& progress);

}  // namespace lagvk::lag
