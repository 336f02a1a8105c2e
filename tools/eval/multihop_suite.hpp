#pragma once
// The multihop evaluation of LAG (the paper's main table, on the project's own synthetic world; see
// tools/train/README.md): the seen split's tasks are run by the agent and kept as logs; then the agent
// answers the unseen split (new questions sharing sub-chains with seen ones) and the seen split again,
// with no logs, with logs re-read as text (whole traces, or last responses), and with logs spliced as KV
// (LAG; last responses, or every response). Exact match and agent steps per mode.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/agent.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/log_budget.hpp"
#include "engine/lag/log_writer.hpp"

namespace lagvk::lag {

struct MultihopQuestion {
  std::string id, split, question, answer;
  std::uint32_t hops = 0;
};

struct MultihopSuite {
  std::string dir;  ///< holds world.json (the lookup tool's facts) and questions.jsonl
  std::vector<MultihopQuestion> questions;
};

/// Reads DIR/questions.jsonl (errors name the line and field); DIR/world.json is read by the runner.
[[nodiscard]] MultihopSuite load_multihop_suite(const std::string& dir);

/// How the logs of the seen tasks are placed for one row of the table.
struct EvalMode {
  std::string name;  ///< none, text-full, text-last, kv-last, kv-all, kv-answer, kv-full, cache
  LogMode mode = LogMode::none;
  Selection selection = Selection::last;
  /// The semantic-cache baseline: no agent run; the answer is the stored answer of the most similar
  /// seen task (retrieval's best log for the question), none when nothing is retrieved.
  bool cache = false;
  /// Whether the mode needs the seen tasks' logs (a store of its selection).
  [[nodiscard]] bool needs_store() const { return cache || mode != LogMode::none; }
};
/// The modes by name ("none,kv-last"); all eight when empty. Errors list the valid names.
[[nodiscard]] std::vector<EvalMode> parse_eval_modes(const std::string& list);

struct EvalOptions {
  std::vector<EvalMode> modes;
  std::vector<std::string> splits = {"unseen"};  ///< splits to answer
  std::uint32_t limit = 0;                       ///< questions per split (0: all)
  std::uint32_t store_limit = 0;                 ///< seen tasks made into logs (0: all)
  std::uint32_t max_steps = 4;                   ///< the agent's step limit while answering
  std::uint32_t store_max_steps = 8;             ///< while running the seen tasks that become logs
  std::uint32_t logs_per_query = RetrievalDefaults::logs_per_query;
  std::uint32_t max_logs = RetrievalDefaults::max_logs;
  std::string work_dir;  ///< where the temporary stores go (a fresh directory inside it)
  /// Dense retrieval with this embedding model (the logs get its vectors); empty: BM25.
  std::optional<TextEmbedder> embedder;
  logstore::IndexText index_text = logstore::IndexText::task;  ///< what the stores index of each log
  /// Cache augmentation while answering: a coprocessor's latents after each step's prompt (or the first's).
  TurnAugmentation augmentation;
  /// Cache augmentation of the logs the seen tasks become (their latents kept after their tokens).
  LogAugmentation log_augmentation;
  /// (what, done, total) while running; what is "logs" or "<split>/<mode>".
  std::function<void(const std::string&, std::uint32_t, std::uint32_t)> progress;
};

struct QuestionResult {
  std::string id, question, gold, answer;  ///< answer empty when none within the step limit
  bool correct = false;
  std::uint32_t steps = 0, logs = 0, context_tokens = 0, latents = 0;
  double f1 = 0;                        ///< the QA suite: F1 of answer against the gold answers (0..1)
  std::vector<std::string> log_tasks;   ///< the tasks of the logs used, in context order
  std::vector<std::string> transcript;  ///< each step: the model's line, then " -> " and the tool's reply
};

struct ModeResult {
  std::string split, mode;
  std::uint32_t questions = 0, correct = 0, answered = 0;
  double exact_match = 0, mean_steps = 0, mean_logs = 0, seconds = 0;
  double mean_latents = 0;  ///< cache-augmentation latents per question (0 without a coprocessor)
  double f1 = 0;            ///< mean F1 in % (the QA suite; qa_metrics.hpp)
  std::vector<QuestionResult> details;
};

struct EvalReport {
  std::uint32_t log_tasks = 0, log_tasks_answered = 0, log_tasks_correct = 0;
  double log_seconds = 0;
  std::vector<ModeResult> rows;
};

/// Exact match after trimming spaces and final punctuation, ignoring case.
[[nodiscard]] bool exact_match(const std::string& answer, const std::string& gold);

[[nodiscard]] EvalReport run_multihop_eval(Engine& engine, const MultihopSuite& suite,
                                           const EvalOptions& options);

}  // namespace lagvk::lag
