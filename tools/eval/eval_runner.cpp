#include "tools/eval/eval_runner.hpp"

#include <chrono>
#include <random>

#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"

namespace lagvk::lag {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool any_needs_store(const std::vector<EvalMode>& modes) {
  for (const auto& m : modes)
    if (m.needs_store()) return true;
  return false;
}

}  // namespace

EvalTempDir::EvalTempDir(const std::string& parent) {
  const auto base = parent.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(parent);
  std::random_device rd;
  path = base / ("lagvk-eval-" + std::to_string(rd()));
  std::filesystem::create_directories(path);
}

EvalTempDir::~EvalTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

EvalStores::EvalStores(Engine& engine, const std::vector<EvalQuestion>& seen, const EvalAgent& agent,
                       const EvalScorer& score, const std::vector<EvalMode>& modes,
                       const std::string& work_dir, const std::optional<TextEmbedder>& embedder,
                       logstore::IndexText index_text, const EvalProgress& progress,
                       const LogAugmentation& log_augmentation)
    : work_(work_dir), embedder_(embedder), index_text_(index_text) {
  if (!any_needs_store(modes)) return;  // no mode reads logs: no seen task needs to run
  const auto t0 = Clock::now();
  std::vector<Trace> traces;
  std::vector<std::string> answers;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (progress) progress(std::uint32_t(i), std::uint32_t(seen.size()));
    auto r = agent(seen[i].question, nullptr);
    ++tasks;
    if (!r.answer) continue;  // an unfinished task leaves no log
    ++answered;
    correct += score(*r.answer, seen[i].golds).first;
    answers.push_back(*r.answer);
    traces.push_back(std::move(r.trace));
  }
  if (progress) progress(std::uint32_t(seen.size()), std::uint32_t(seen.size()));
  for (const auto& m : modes) {
    if (!m.needs_store() || stores_.count(m.selection)) continue;
    logstore::StoreOptions so;
    so.create = true;
    so.durable = false;  // scratch stores, rebuilt on every run
    so.fingerprint = model_fingerprint(engine);
    so.index_text = index_text_;
    auto store = logstore::Store::open((work_.path / std::string(selection_name(m.selection))).string(), so);
    for (std::size_t i = 0; i < traces.size(); ++i) {
      EncodedLog log = encode_trace(engine, traces[i], m.selection, log_augmentation);
      index_log(*store, log, embedder_);
      answers_[store_log(*store, log)] = answers[i];
    }
    stores_[m.selection] = std::move(store);
  }
  seconds = seconds_since(t0);
}

std::unique_ptr<StoreLibrary> EvalStores::library(const EvalMode& mode) {
  if (!mode.needs_store()) return nullptr;
  return std::make_unique<StoreLibrary>(*stores_.at(mode.selection), std::vector<std::string>{}, embedder_);
}

std::optional<std::string> EvalStores::stored_answer(LogId id) const {
  const auto a = answers_.find(id);
  return a == answers_.end() ? std::nullopt : std::optional<std::string>(a->second);
}

ModeResult run_eval_mode(const std::string& split, const EvalMode& mode,
                         const std::vector<EvalQuestion>& questions, EvalStores* stores,
                         const EvalAgent& agent, const EvalScorer& score, const EvalProgress& progress) {
  const auto t0 = Clock::now();
  ModeResult row;
  row.split = split;
  row.mode = mode.name;
  const auto library = stores ? stores->library(mode) : nullptr;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    if (progress) progress(std::uint32_t(i), std::uint32_t(questions.size()));
    const auto& q = questions[i];
    QuestionResult d;
    d.id = q.id;
    d.question = q.question;
    d.gold = q.golds.empty() ? "" : q.golds[0];
    std::optional<std::string> answer;
    if (mode.cache) {
      // The most similar seen task, as retrieval ranks them (BM25 or the embedder's cosine).
      for (const auto& l : library ? library->retrieve(q.question, 1, {}) : std::vector<RetrievedLog>{}) {
        answer = stores->stored_answer(l.id);
        d.log_tasks.push_back(l.task);
      }
      d.logs = std::uint32_t(d.log_tasks.size());
    } else {
      const auto r = agent(q.question, library.get());
      answer = r.answer;
      d.steps = std::uint32_t(r.steps.size());
      d.logs = std::uint32_t(r.logs.size());
      d.context_tokens = r.context_tokens;
      d.latents = r.latents;
      for (const auto& l : r.logs) d.log_tasks.push_back(l.task);
      for (const auto& s : r.steps)
        d.transcript.push_back(s.observation.empty() ? s.output : s.output + " -> " + s.observation);
    }
    d.answer = answer.value_or("");
    if (answer) std::tie(d.correct, d.f1) = score(*answer, q.golds);
    row.correct += d.correct;
    row.answered += answer.has_value();
    row.mean_steps += d.steps;
    row.mean_logs += d.logs;
    row.mean_latents += d.latents;
    row.f1 += d.f1;
    row.details.push_back(std::move(d));
  }
  if (progress) progress(std::uint32_t(questions.size()), std::uint32_t(questions.size()));
  row.questions = std::uint32_t(questions.size());
  if (row.questions) {
    row.exact_match = 100.0 * row.correct / row.questions;
    row.f1 = 100.0 * row.f1 / row.questions;
    row.mean_steps /= row.questions;
    row.mean_logs /= row.questions;
    row.mean_latents /= row.questions;
  }
  row.seconds = seconds_since(t0);
  return row;
}

}  // namespace lagvk::lag
