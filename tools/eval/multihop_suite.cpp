#include "tools/eval/multihop_suite.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "tools/eval/eval_runner.hpp"
#include "tools/eval/knowledge_base.hpp"

namespace lagvk::lag {

namespace {

std::string normalise(std::string s) {
  while (!s.empty() && std::string_view(" \t.!?\"'").find(s.back()) != std::string_view::npos) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  s = s.substr(b);
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

MultihopSuite load_multihop_suite(const std::string& dir) {
  MultihopSuite suite;
  suite.dir = dir;
  const std::string path = dir + "/questions.jsonl";
  if (std::filesystem::exists(path)) require_regular_file(path);
  std::ifstream in(path);
  if (!in)
    fail(
        "cannot open '{}': the multihop suite lives in assets/multihop (tools/train/make_data.py eval writes "
        "it)",
        path);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    auto str = [&](const char* key) {
      if (j.is_discarded() || !j.is_object() || !j.contains(key) || !j[key].is_string())
        fail("'{}' line {}: needs a string field '{}'", path, n, key);
      return j[key].get<std::string>();
    };
    MultihopQuestion q{str("id"), str("split"), str("question"), str("answer"), j.value("hops", 0u)};
    if (q.split != "seen" && q.split != "unseen")
      fail("'{}' line {}: split must be seen or unseen, not '{}'", path, n, q.split);
    suite.questions.push_back(std::move(q));
  }
  if (suite.questions.empty()) fail("'{}' holds no questions", path);
  return suite;
}

std::vector<EvalMode> parse_eval_modes(const std::string& list) {
  const std::vector<EvalMode> all = {
      {"none", LogMode::none, Selection::last},      {"text-full", LogMode::text, Selection::full},
      {"text-last", LogMode::text, Selection::last}, {"kv-last", LogMode::kv, Selection::last},
      {"kv-all", LogMode::kv, Selection::all},       {"kv-answer", LogMode::kv, Selection::answer},
      {"kv-full", LogMode::kv, Selection::full},     {"cache", LogMode::none, Selection::last, true}};
  if (list.empty()) return all;
  std::vector<EvalMode> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    bool found = false;
    for (const auto& m : all)
      if (m.name == name) {
        out.push_back(m);
        found = true;
      }
    if (!found)
      fail(Errc::invalid_argument,
           "unknown eval mode '{}': use none, text-full, text-last, kv-last, kv-all, kv-answer, kv-full or "
           "cache",
           name);
  }
  return out;
}

bool exact_match(const std::string& answer, const std::string& gold) {
  return !normalise(answer).empty() && normalise(answer) == normalise(gold);
}

EvalReport run_multihop_eval(Engine& engine, const MultihopSuite& suite, const EvalOptions& options) {
  EvalReport report;
  const auto kb = KnowledgeBaseLookup::load(suite.dir + "/world.json");
  const std::vector<const Tool*> tools = {kb.get()};
  auto pick = [&](const std::string& split, std::uint32_t limit) {
    std::vector<EvalQuestion> out;
    for (const auto& q : suite.questions)
      if (q.split == split && (limit == 0 || out.size() < limit))
        out.push_back({q.id, q.question, {q.answer}});
    return out;
  };
  const auto modes = options.modes.empty() ? parse_eval_modes("") : options.modes;
  const EvalScorer score = [](const std::string& answer, const std::vector<std::string>& golds) {
    const bool correct = exact_match(answer, golds.at(0));
    return std::pair<bool, double>(correct, correct ? 1.0 : 0.0);
  };
  auto progress_of = [&](const std::string& what) -> EvalProgress {
    if (!options.progress) return {};
    return [&, what](std::uint32_t done, std::uint32_t total) { options.progress(what, done, total); };
  };

  // The seen tasks, run by the agent without logs, become the logs: one store per selection in use.
  AgentOptions store_agent;
  store_agent.max_steps = options.store_max_steps;
  store_agent.mode = LogMode::none;
  EvalStores stores(
      engine, pick("seen", options.store_limit),
      [&](const std::string& q, LogLibrary*) { return run_agent(engine, nullptr, q, tools, store_agent); },
      score, modes, options.work_dir, options.embedder, options.index_text, progress_of("logs"),
      options.log_augmentation);
  report.log_tasks = stores.tasks;
  report.log_tasks_answered = stores.answered;
  report.log_tasks_correct = stores.correct;
  report.log_seconds = stores.seconds;

  for (const auto& split : options.splits) {
    const auto questions = pick(split, options.limit);
    for (const auto& m : modes) {
      AgentOptions a;
      a.max_steps = options.max_steps;
      a.mode = m.mode;
      a.logs_per_query = options.logs_per_query;
      a.max_logs = options.max_logs;
      a.augmentation = options.augmentation;
      const EvalAgent agent = [&](const std::string& q, LogLibrary* library) {
        return run_agent(engine, library, q, tools, a);
      };
      report.rows.push_back(
          run_eval_mode(split, m, questions, &stores, agent, score, progress_of(split + "/" + m.name)));
    }
  }
  return report;
}

}  // namespace lagvk::lag
