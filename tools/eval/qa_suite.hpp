#pragma once
// The QA evaluation on a user's own data (`lagvk eval --suite qa --data QUESTIONS.jsonl --docs
// PASSAGES.jsonl`), as the LAG paper's MuSiQue and 2WikiMultiHopQA tables: the general ReAct agent
// (engine/lag/react_agent.hpp) answers with the built-in `search` tool over the passages. The seen
// questions are run without logs and become the logs; the unseen ones are answered once per mode. Exact
// match and F1 with the SQuAD/HotpotQA normalisation (qa_metrics.hpp), mean steps, time.
//
// QUESTIONS.jsonl, one a line: {"id": .. (optional), "question": "...", "answers": ["...", ...] (or
// "answer": "..."), "split": "seen" | "unseen" (optional: a question without one is unseen)}.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/doc_search.hpp"
#include "engine/lag/react_agent.hpp"
#include "tools/eval/eval_runner.hpp"
#include "tools/eval/multihop_suite.hpp"

namespace lagvk::lag {

struct QaQuestion {
  EvalQuestion question;
  std::string split;  ///< seen or unseen
};

/// Reads QUESTIONS.jsonl (errors, Errc::bad_input, name the file, the line and the field).
[[nodiscard]] std::vector<QaQuestion> load_qa_questions(const std::string& path);

struct QaEvalOptions {
  std::vector<EvalMode> modes;    ///< all when empty
  std::uint32_t limit = 0;        ///< unseen questions answered (0: all)
  std::uint32_t store_limit = 0;  ///< seen questions run for logs (0: all)
  ReactOptions agent;             ///< step limit (8, the paper's), k, step tokens; mode is set per row
  std::uint32_t store_max_steps = ReactOptions{}.max_steps;
  std::size_t passages_per_search = 3;
  std::string work_dir;
  std::optional<TextEmbedder> embedder;
  logstore::IndexText index_text = logstore::IndexText::task;  ///< what the stores index of each log
  /// (what, done, total): what is "logs" or "unseen/<mode>".
  std::function<void(const std::string&, std::uint32_t, std::uint32_t)> progress;
};

[[nodiscard]] EvalReport run_qa_eval(Engine& engine, const std::vector<QaQuestion>& questions,
                                     const DocCollection& docs, const QaEvalOptions& options);

}  // namespace lagvk::lag
