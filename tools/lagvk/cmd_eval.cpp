// lagvk eval: the multihop evaluation of LAG (tools/eval/multihop_suite.hpp) as a table or JSON.
#include <cstdio>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/doc_search.hpp"
#include "tools/eval/multihop_suite.hpp"
#include "tools/eval/qa_suite.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/assets.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/embed_model_flag.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/index_text_flag.hpp"
#include "tools/lagvk/progress.hpp"
#include "tools/lagvk/scratch_dir.hpp"

namespace lagvk::cli {

namespace {

std::uint32_t count_flag(const Args& args, const std::string& name, std::uint32_t fallback,
                         std::int64_t min = 0) {
  return std::uint32_t(args.get_int(name, fallback, min, kMaxCount));
}

nlohmann::json row_json(const lag::ModeResult& r, bool details) {
  nlohmann::json j{{"split", r.split},
                   {"mode", r.mode},
                   {"questions", r.questions},
                   {"exact_match", r.exact_match},
                   {"f1", r.f1},
                   {"mean_steps", r.mean_steps},
                   {"answered", r.answered},
                   {"mean_logs", r.mean_logs},
                   {"mean_latents", r.mean_latents},
                   {"seconds", r.seconds}};
  if (details) {
    j["details"] = nlohmann::json::array();
    for (const auto& d : r.details)
      j["details"].push_back({{"id", d.id},
                              {"question", d.question},
                              {"gold", d.gold},
                              {"answer", d.answer},
                              {"correct", d.correct},
                              {"f1", d.f1},
                              {"steps", d.steps},
                              {"logs", d.logs},
                              {"log_tasks", d.log_tasks},
                              {"transcript", d.transcript}});
  }
  return j;
}

}  // namespace

int cmd_eval(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  const lag::EvalOptions defaults;  // the help shows the library's defaults, the flags start from them
  std::vector<OptionSpec> options = {
      {"--model", "-m", "FILE",
       "GGUF model (required; the suite's vocabulary: assets/models/multihop-*.gguf)", ""},
      {"--suite", "", "NAME",
       "evaluation suite: multihop (the shipped model's world), or qa (your --data and --docs, the ReAct "
       "agent)",
       "multihop"},
      {"--data", "", "FILE",
       "qa: the questions, JSON Lines {\"question\", \"answers\": [...], \"split\": \"seen\"|\"unseen\"}",
       ""},
      {"--docs", "", "FILE", "qa: the passages the agent's search tool reads (JSON Lines: id, title, text)",
       ""},
      {"--suite-dir", "", "DIR", "where the suite's world.json and questions.jsonl are",
       assets_dir() + "/multihop"},
      {"--split", "", "S", "multihop: questions to answer: unseen, seen or both", "unseen"},
      {"--limit", "", "N", "questions per split (0: all)", std::to_string(defaults.limit)},
      {"--modes", "", "LIST",
       "comma-separated rows: none, text-full, text-last, kv-last (LAG), kv-all, kv-answer, kv-full, cache "
       "(semantic cache: the most similar seen task's answer)",
       "all eight"},
      {"--max-steps", "", "N", "agent step limit while answering",
       fmt::format("{}; qa {}", defaults.max_steps, lag::QaEvalOptions{}.agent.max_steps)},
      {"--step-tokens", "", "N", "qa: at most N tokens per agent step",
       std::to_string(lag::QaEvalOptions{}.agent.max_step_tokens)},
      {"--store-limit", "", "N", "seen tasks run to make the logs (0: all)",
       std::to_string(defaults.store_limit)},
      {"--store-max-steps", "", "N", "step limit of the seen tasks that become logs",
       std::to_string(defaults.store_max_steps)},
      {"-k", "", "K", "logs retrieved per query (the question, then each step)",
       fmt::format("{}; qa {}", defaults.logs_per_query, lag::QaEvalOptions{}.agent.logs_per_query)},
      {"--max-logs", "", "N", "at most N logs in a task's context (0: no limit)",
       fmt::format("{}; qa {}", defaults.max_logs, lag::QaEvalOptions{}.agent.max_logs)},
      {"--work-dir", "", "DIR", "where the scratch log stores go (removed afterwards, and on SIGINT/SIGTERM)",
       "the temp directory"},
      embed_model_option("for dense retrieval of the logs (instead of BM25)"),
      index_text_option(),
      coprocessor_options()[0],
      coprocessor_options()[1],
      {"--augment-at", "", "WHEN",
       "multihop, with --coprocessor: the latents follow every step's prompt (each-step) or the question's "
       "only (prompt)",
       "each-step"},
      {"--augment-logs", "", "",
       "multihop, with --coprocessor: the logs keep the latents computed after each seen task (as 'log add "
       "--coprocessor'); without --augment-at, answering is not augmented",
       ""},
      {"--details", "", "", "with --json: every question's answer, steps, logs used and transcript", ""},
      {"--json", "", "", "print one JSON object instead of the table", ""}};
  for (auto& o : load_option_specs()) options.push_back(o);
  Args args("eval",
            "-m MODEL [--suite multihop] [--split unseen|seen|both] [--limit N] [--json]\n"
            "       lagvk eval -m MODEL --suite qa --data QUESTIONS.jsonl --docs PASSAGES.jsonl [--limit N]",
            "Measures Log-Augmented Generation on the multihop suite, as in the LAG paper's main table.\n"
            "The agent first runs the seen split's tasks without logs; their traces become the logs. Then\n"
            "it answers the chosen split once per mode: no logs; logs re-read as text (whole traces, or\n"
            "last responses); logs spliced as KV (LAG: last responses, or every response). Reports exact\n"
            "match (EM, %) and average agent steps (model turns, the final answer included). Also: KV logs\n"
            "of the final answer or of every token, and the semantic-cache baseline (no agent: the stored\n"
            "answer of the most similar seen task). --suite qa runs the same on your own questions and\n"
            "passages with the general ReAct agent and its search tool, and adds F1. examples:\n"
            "  lagvk eval -m assets/models/multihop-q8_0.gguf --split both --limit 40\n"
            "  lagvk eval -m MODEL.gguf --suite qa --data tests/qa_fixture/questions.jsonl \\\n"
            "      --docs tests/qa_fixture/passages.jsonl --limit 50",
            options);
  if (!args.parse(argc, argv)) return 0;
  if (!args.positional().empty())
    fail("lagvk eval: unexpected argument '{}' (see 'lagvk eval --help')", args.positional()[0]);
  const auto model = args.get("--model");
  if (!model) fail("lagvk eval: give the model with -m FILE");
  const std::string suite_name = args.get_or("--suite", "multihop");
  if (suite_name != "multihop" && suite_name != "qa")
    fail("lagvk eval: unknown suite '{}' (multihop or qa)", suite_name);
  const bool qa = suite_name == "qa";
  if (qa && (!args.has("--data") || !args.has("--docs")))
    fail("lagvk eval --suite qa: give the questions with --data FILE and the passages with --docs FILE");
  if (!qa && (args.has("--data") || args.has("--docs")))
    fail("lagvk eval: --data and --docs are for --suite qa");
  lag::EvalOptions o;
  o.modes = lag::parse_eval_modes(args.get_or("--modes", ""));
  const std::string split = args.get_or("--split", "unseen");
  if (qa && split != "unseen")
    fail("lagvk eval --suite qa: the unseen questions are answered (--split {} is for multihop)", split);
  if (split == "both")
    o.splits = {"unseen", "seen"};
  else if (split == "seen" || split == "unseen")
    o.splits = {split};
  else
    fail("lagvk eval: --split must be unseen, seen or both, not '{}'", split);
  o.limit = count_flag(args, "--limit", o.limit);
  o.store_limit = count_flag(args, "--store-limit", o.store_limit);
  o.max_steps = count_flag(args, "--max-steps", o.max_steps, 1);
  o.store_max_steps = count_flag(args, "--store-max-steps", o.store_max_steps, 1);
  o.logs_per_query = count_flag(args, "-k", o.logs_per_query);
  o.max_logs = count_flag(args, "--max-logs", o.max_logs);
  o.index_text = index_text_from(args, "lagvk eval");
  if (o.max_steps == 0 || o.store_max_steps == 0) fail("lagvk eval: step limits must be at least 1");
  // The scratch stores go into a directory of the CLI's own, which an interrupt removes too.
  const ScratchDir scratch(args.get_or("--work-dir", ""), "lagvk-eval-");
  o.work_dir = scratch.path();
  const bool json = args.has("--json");

  lag::QaEvalOptions qo;
  qo.modes = o.modes;
  qo.limit = o.limit;
  qo.store_limit = o.store_limit;
  qo.agent.max_steps = count_flag(args, "--max-steps", qo.agent.max_steps, 1);
  qo.agent.max_step_tokens = count_flag(args, "--step-tokens", qo.agent.max_step_tokens, 1);
  if (!qa && args.has("--step-tokens")) fail("lagvk eval: --step-tokens is for --suite qa");
  qo.store_max_steps = count_flag(args, "--store-max-steps", qo.store_max_steps, 1);
  qo.agent.logs_per_query = count_flag(args, "-k", qo.agent.logs_per_query);
  qo.agent.max_logs = count_flag(args, "--max-logs", qo.agent.max_logs);
  qo.work_dir = o.work_dir;
  qo.index_text = o.index_text;

  LoadOptions load = load_options_from(args, vulkan);
  // The suite's files are read before the model: a bad file fails at once.
  std::optional<lag::MultihopSuite> suite;
  std::vector<lag::QaQuestion> qa_questions;
  std::unique_ptr<lag::DocCollection> docs;
  if (qa) {
    qa_questions = lag::load_qa_questions(*args.get("--data"));
    docs = std::make_unique<lag::DocCollection>(lag::DocCollection::load(*args.get("--docs")));
  } else {
    suite = lag::load_multihop_suite(args.get_or("--suite-dir", assets_dir() + "/multihop"));
  }
  std::unique_ptr<Engine> engine;
  {
    ProgressBar bar("loading " + *model, ProgressUnit::bytes());
    load.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    engine = Engine::load(*model, load);
  }
  const EmbedModel embed_model = load_embed_model(args, load);
  o.embedder = embed_model.embedder;
  const auto coprocessor = coprocessor_from(args, *engine, "lagvk eval");
  if (coprocessor && qa) fail("lagvk eval: --coprocessor is for the multihop suite");
  if (!coprocessor && (args.has("--augment-at") || args.has("--augment-logs")))
    fail("lagvk eval: --augment-at and --augment-logs need --coprocessor FILE");
  if (coprocessor) {
    // --augment-logs alone augments the logs only: the measurement of augmented logs under LAG.
    if (!args.has("--augment-logs") || args.has("--augment-at"))
      o.augmentation = {coprocessor.get(), latents_from(args), augment_at_from(args, "lagvk eval")};
    if (args.has("--augment-logs")) o.log_augmentation = {coprocessor.get(), latents_from(args)};
  }
  qo.embedder = embed_model.embedder;
  std::unique_ptr<ProgressBar> bar;
  std::string current;
  // Called with each task's index as it starts: `started` tasks are done.
  o.progress = [&](const std::string& what, std::uint32_t started, std::uint32_t total) {
    if (what != current) {
      bar.reset();  // the finished phase's bar leaves its line before the next one draws
      bar = what == "logs" ? std::make_unique<ProgressBar>("running the seen tasks for logs",
                                                           ProgressUnit::items("tasks"))
                           : std::make_unique<ProgressBar>(what, ProgressUnit::items("questions"));
      current = what;
    }
    bar->update(started, total);
  };
  qo.progress = o.progress;
  const lag::EvalReport report =
      qa ? lag::run_qa_eval(*engine, qa_questions, *docs, qo) : lag::run_multihop_eval(*engine, *suite, o);
  bar.reset();
  const std::uint32_t max_steps = qa ? qo.agent.max_steps : o.max_steps;
  const std::uint32_t k = qa ? qo.agent.logs_per_query : o.logs_per_query;
  const std::uint32_t max_logs = qa ? qo.agent.max_logs : o.max_logs;
  const std::uint32_t store_max_steps = qa ? qo.store_max_steps : o.store_max_steps;

  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : report.rows) rows.push_back(row_json(r, args.has("--details")));
    nlohmann::json j{{"suite", suite_name},
                     {"model", *model},
                     {"max_steps", max_steps},
                     {"k", k},
                     {"max_logs", max_logs},
                     {"retrieval", o.embedder ? "dense" : "bm25"},
                     {"index", logstore::index_text_name(o.index_text)},
                     {"logs",
                      {{"tasks", report.log_tasks},
                       {"answered", report.log_tasks_answered},
                       {"correct", report.log_tasks_correct},
                       {"store_max_steps", store_max_steps},
                       {"seconds", report.log_seconds}}},
                     {"rows", rows}};
    if (coprocessor)
      j["augmentation"] = {{"coprocessor", coprocessor->path()},
                           {"latents", latents_from(args) ? latents_from(args) : coprocessor->latents()},
                           {"answering", o.augmentation.coprocessor == nullptr         ? "none"
                                         : o.augmentation.at == lag::AugmentAt::prompt ? "prompt"
                                                                                       : "each-step"},
                           {"logs", o.log_augmentation.coprocessor != nullptr}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  if (report.log_tasks)
    fmt::print(
        "logs: {} seen tasks run without logs (step limit {}), {} answered ({} correct) -> {} logs\n\n",
        report.log_tasks, store_max_steps, report.log_tasks_answered, report.log_tasks_correct,
        report.log_tasks_answered);
  fmt::print("{:<8} {:<28} {:>9} {:>7} {:>7} {:>7} {:>6} {:>8}\n", "split", "mode", "questions", "EM %",
             "F1 %", "steps", "logs", "seconds");
  auto describe = [](const std::string& m) -> std::string {
    if (m == "none") return "no logs";
    if (m == "text-full") return "text logs, whole trace";
    if (m == "text-last") return "text logs, last response";
    if (m == "kv-last") return "KV logs, last (LAG)";
    if (m == "kv-all") return "KV logs, all responses";
    if (m == "kv-answer") return "KV logs, final answer";
    if (m == "kv-full") return "KV logs, whole trace";
    return "semantic cache";
  };
  for (const auto& r : report.rows)
    fmt::print("{:<8} {:<28} {:>9} {:>7.1f} {:>7.1f} {:>7.2f} {:>6.2f} {:>8.1f}\n", r.split, describe(r.mode),
               r.questions, r.exact_match, r.f1, r.mean_steps, r.mean_logs, r.seconds);
  fmt::print("(step limit {}; k = {} logs per query, {} per task; {} over the logs' {}{})\n", max_steps, k,
             max_logs ? fmt::format("at most {}", max_logs) : "no limit", o.embedder ? "dense" : "BM25",
             o.index_text == logstore::IndexText::task ? "tasks" : "tasks and last responses",
             qa ? "; EM and F1 with the SQuAD normalisation" : "");
  return 0;
}

}  // namespace lagvk::cli
