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
#include "tools/eval/knowledge_base.hpp"

namespace lagvk::lag {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string normalise(std::string s) {
  while (!s.empty() && std::string_view(" \t.!?\"'").find(s.back()) != std::string_view::npos) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  s = s.substr(b);
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A store directory that is removed when the evaluation ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& parent) {
    const auto base = parent.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(parent);
    std::random_device rd;
    path = base / ("lagvk-eval-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

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
  const std::vector<EvalMode> all = {{"none", LogMode::none, Selection::last},
                                     {"text-full", LogMode::text, Selection::full},
                                     {"text-last", LogMode::text, Selection::last},
                                     {"kv-last", LogMode::kv, Selection::last},
                                     {"kv-all", LogMode::kv, Selection::all}};
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
    if (!found) fail("unknown eval mode '{}': use none, text-full, text-last, kv-last or kv-all", name);
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
    std::vector<const MultihopQuestion*> out;
    for (const auto& q : suite.questions)
      if (q.split == split && (limit == 0 || out.size() < limit)) out.push_back(&q);
    return out;
  };
  const auto modes = options.modes.empty() ? parse_eval_modes("") : options.modes;
  bool need_logs = false;
  for (const auto& m : modes) need_logs |= m.mode != LogMode::none;

  // The seen tasks, run by the agent without logs, become the logs: one store per selection in use.
  TempDir work(options.work_dir);
  std::map<Selection, std::unique_ptr<logstore::Store>> stores;
  if (need_logs) {
    const auto t0 = Clock::now();
    const auto seen = pick("seen", options.store_limit);
    std::vector<Trace> traces;
    AgentOptions a;
    a.max_steps = options.store_max_steps;
    a.mode = LogMode::none;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (options.progress) options.progress("logs", std::uint32_t(i), std::uint32_t(seen.size()));
      auto r = run_agent(engine, nullptr, seen[i]->question, tools, a);
      ++report.log_tasks;
      if (!r.answer) continue;  // an unfinished task leaves no log
      ++report.log_tasks_answered;
      report.log_tasks_correct += exact_match(*r.answer, seen[i]->answer);
      traces.push_back(std::move(r.trace));
    }
    for (const auto& m : modes) {
      if (m.mode == LogMode::none || stores.count(m.selection)) continue;
      logstore::StoreOptions so;
      so.create = true;
      so.durable = false;  // scratch stores, rebuilt on every run
      so.fingerprint = model_fingerprint(engine);
      auto store = logstore::Store::open((work.path / std::string(selection_name(m.selection))).string(), so);
      for (const auto& t : traces) {
        EncodedLog log = encode_trace(engine, t, m.selection);
        if (options.embedder) embed_log(log, *options.embedder);
        (void)store_log(*store, log);
      }
      stores[m.selection] = std::move(store);
    }
    report.log_seconds = seconds_since(t0);
  }

  for (const auto& split : options.splits) {
    const auto questions = pick(split, options.limit);
    for (const auto& m : modes) {
      const auto t0 = Clock::now();
      ModeResult row;
      row.split = split;
      row.mode = m.name;
      std::unique_ptr<StoreLibrary> library;
      if (m.mode != LogMode::none)
        library = std::make_unique<StoreLibrary>(*stores.at(m.selection), std::vector<std::string>{},
                                                 options.embedder);
      AgentOptions a;
      a.max_steps = options.max_steps;
      a.mode = m.mode;
      a.logs_per_query = options.logs_per_query;
      a.max_logs = options.max_logs;
      for (std::size_t i = 0; i < questions.size(); ++i) {
        if (options.progress)
          options.progress(split + "/" + m.name, std::uint32_t(i), std::uint32_t(questions.size()));
        const auto& q = *questions[i];
        const auto r = run_agent(engine, library.get(), q.question, tools, a);
        QuestionResult d{q.id,
                         q.question,
                         q.answer,
                         r.answer.value_or(""),
                         false,
                         std::uint32_t(r.steps.size()),
                         std::uint32_t(r.logs.size()),
                         r.context_tokens};
        d.correct = r.answer && exact_match(*r.answer, q.answer);
        for (const auto& l : r.logs) d.log_tasks.push_back(l.task);
        for (const auto& s : r.steps)
          d.transcript.push_back(s.observation.empty() ? s.output : s.output + " -> " + s.observation);
        row.correct += d.correct;
        row.answered += r.answer.has_value();
        row.mean_steps += d.steps;
        row.mean_logs += d.logs;
        row.details.push_back(std::move(d));
      }
      row.questions = std::uint32_t(questions.size());
      if (row.questions) {
        row.exact_match = 100.0 * row.correct / row.questions;
        row.mean_steps /= row.questions;
        row.mean_logs /= row.questions;
      }
      row.seconds = seconds_since(t0);
      report.rows.push_back(std::move(row));
    }
  }
  return report;
}

}  // namespace lagvk::lag
