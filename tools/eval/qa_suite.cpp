#include "tools/eval/qa_suite.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "tools/eval/qa_metrics.hpp"

namespace lagvk::lag {

namespace {

std::vector<std::string> gold_answers(const nlohmann::json& j, const std::string& path, std::size_t line) {
  std::vector<std::string> out;
  if (j.contains("answers") && j["answers"].is_array()) {
    for (const auto& a : j["answers"]) {
      if (!a.is_string()) fail(Errc::bad_input, "'{}' line {}: 'answers' must hold strings", path, line);
      out.push_back(a.get<std::string>());
    }
  } else if (j.contains("answers") && j["answers"].is_string()) {
    out.push_back(j["answers"].get<std::string>());
  } else if (j.contains("answer") && j["answer"].is_string()) {
    out.push_back(j["answer"].get<std::string>());
  }
  if (out.empty())
    fail(Errc::bad_input, "'{}' line {}: needs 'answers' (an array of strings) or 'answer' (a string)", path,
         line);
  return out;
}

}  // namespace

std::vector<QaQuestion> load_qa_questions(const std::string& path) {
  if (!std::filesystem::exists(path))
    fail(Errc::file_not_found,
         "--data '{}': no such file (JSON Lines of {{\"question\", \"answers\", \"split\"}})", path);
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) fail(Errc::io, "cannot read '{}'", path);
  std::vector<QaQuestion> out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(Errc::bad_input, "'{}' line {}: not a JSON object (want {{\"question\", \"answers\"}})", path, n);
    if (!j.contains("question") || !j["question"].is_string())
      fail(Errc::bad_input, "'{}' line {}: needs a string field 'question'", path, n);
    QaQuestion q;
    q.question.question = j["question"].get<std::string>();
    q.question.golds = gold_answers(j, path, n);
    q.question.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
                                     : std::to_string(n);
    q.split = j.contains("split") && j["split"].is_string() ? j["split"].get<std::string>() : "unseen";
    if (q.split != "seen" && q.split != "unseen")
      fail(Errc::bad_input, "'{}' line {}: split must be seen or unseen, not '{}'", path, n, q.split);
    out.push_back(std::move(q));
  }
  if (out.empty()) fail(Errc::bad_input, "'{}' holds no questions", path);
  return out;
}

EvalReport run_qa_eval(Engine& engine, const std::vector<QaQuestion>& questions, const DocCollection& docs,
                       const QaEvalOptions& options) {
  const auto modes = options.modes.empty() ? parse_eval_modes("") : options.modes;
  auto pick = [&](const std::string& split, std::uint32_t limit) {
    std::vector<EvalQuestion> out;
    for (const auto& q : questions)
      if (q.split == split && (limit == 0 || out.size() < limit)) out.push_back(q.question);
    return out;
  };
  const std::vector<AgentTool> tools = {search_tool(docs, options.passages_per_search)};
  const EvalScorer score = [](const std::string& answer, const std::vector<std::string>& golds) {
    return std::pair<bool, double>(qa_exact_match(answer, golds), qa_f1(answer, golds));
  };
  auto progress_of = [&](const std::string& what) -> EvalProgress {
    if (!options.progress) return {};
    return [&, what](std::uint32_t done, std::uint32_t total) { options.progress(what, done, total); };
  };
  const auto seen = pick("seen", options.store_limit);
  for (const auto& m : modes)
    if (m.needs_store() && seen.empty())
      fail(Errc::invalid_argument,
           "eval --suite qa: mode '{}' needs logs, and no question has \"split\": \"seen\" (mark the "
           "questions "
           "whose runs become logs, or use --modes none)",
           m.name);

  ReactOptions store_agent = options.agent;
  store_agent.mode = LogMode::none;
  store_agent.max_steps = options.store_max_steps;
  EvalStores stores(
      engine, seen,
      [&](const std::string& q, LogLibrary*) {
        return run_react_agent(engine, nullptr, q, tools, store_agent);
      },
      score, modes, options.work_dir, options.embedder, options.index_text, progress_of("logs"));
  EvalReport report;
  report.log_tasks = stores.tasks;
  report.log_tasks_answered = stores.answered;
  report.log_tasks_correct = stores.correct;
  report.log_seconds = stores.seconds;

  const auto unseen = pick("unseen", options.limit);
  for (const auto& m : modes) {
    ReactOptions a = options.agent;
    a.mode = m.mode;
    const EvalAgent agent = [&](const std::string& q, LogLibrary* library) {
      return run_react_agent(engine, library, q, tools, a);
    };
    report.rows.push_back(
        run_eval_mode("unseen", m, unseen, &stores, agent, score, progress_of("unseen/" + m.name)));
  }
  return report;
}

}  // namespace lagvk::lag
