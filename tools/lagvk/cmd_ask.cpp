// lagvk ask: answer a question with Log-Augmented Generation — retrieve logs from a store, splice their
// KV pages (or re-read them as text, or use none, for comparison) in front of the question, generate.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/agent.hpp"
#include "engine/lag/embedding.hpp"
#include "engine/lag/fingerprint.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/store_library.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/human_text.hpp"
#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {

namespace {

nlohmann::json logs_json(const std::vector<lag::RetrievedLog>& logs,
                         const std::vector<lag::PlacedLog>& placed) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < logs.size(); ++i) {
    nlohmann::json j{{"id", logs[i].id}, {"score", logs[i].score}, {"task", logs[i].task}};
    if (i < placed.size()) {
      j["tokens"] = placed[i].tokens;
      j["first_position"] = placed[i].first_position;
    }
    out.push_back(j);
  }
  return out;
}

}  // namespace

int cmd_ask(int argc, char** argv) {
  std::vector<OptionSpec> options = {
      {"--model", "-m", "FILE", "GGUF model (required)", ""},
      {"--store", "-s", "DIR", "log store (required; made with this model by 'lagvk log add')", ""},
      {"--logs", "", "MODE", "kv (LAG: splice stored KV), text (re-read the logs' tokens), none", "kv"},
      {"-k", "", "K", "logs retrieved per query", "3"},
      {"--tag", "", "TAG", "only logs with this tag", ""},
      {"--retrieval", "", "R",
       "bm25 over the logs' tasks, or dense: cosine between the model's embeddings (logs "
       "added with --embed)",
       "bm25"},
      {"--save", "", "",
       "store the finished task as a new log (the store grows online; a missing store is created)", ""},
      {"--select", "", "S", "tokens --save keeps: last, all, answer, full", "last"},
      {"--agent", "", "", "run the ReAct agent loop with the lookup tool instead of one answer", ""},
      {"--kb", "", "FILE", "knowledge base for the agent's lookup tool", "assets/kb/demo.json"},
      {"--max-steps", "", "N", "agent step limit", "6"},
      {"--max-logs", "", "N", "agent: at most N logs in the context (0: no limit)", "0"},
      {"--json", "", "", "print one JSON object: answer, tokens, logs used, timings", ""}};
  for (auto& o : load_option_specs()) options.push_back(o);
  for (auto& o : generation_options()) options.push_back(o);
  Args args(
      "ask", "-m MODEL --store DIR [--logs kv|text|none] [-k K] [--save] [--json] QUESTION",
      "Answers QUESTION using logs retrieved from the store (BM25 over their tasks): their KV pages are\n"
      "spliced in front of the question with RoPE re-applied at the new positions (--logs kv), or their\n"
      "tokens re-read as text (--logs text), or ignored (--logs none). Shows the logs used and the time to\n"
      "first token. example:\n"
      "  lagvk ask -m model.gguf --store logs/ -k 3 --temp 0 \"who directed the glass harbor?\"",
      options);
  if (!args.parse(argc, argv)) return 0;
  const auto model = args.get("--model");
  const auto store_dir = args.get("--store");
  if (!model || !store_dir) fail("ask: -m MODEL and --store DIR are required (see 'lagvk ask --help')");
  if (args.positional().empty()) fail("ask: give the question as the last argument");
  std::string question;
  for (const auto& p : args.positional()) question += (question.empty() ? "" : " ") + p;
  const lag::LogMode mode = lag::parse_log_mode(args.get_or("--logs", "kv"));
  // Every flag is read before the model is loaded: a bad value fails at once, with nothing allocated.
  const auto k = std::uint32_t(args.get_int("-k", 3, 0, kMaxCount));
  const auto max_steps = std::uint32_t(args.get_int("--max-steps", 6, 1, kMaxCount));
  const auto max_logs = std::uint32_t(args.get_int("--max-logs", 0, 0, kMaxCount));
  std::uint64_t seed = 0;
  GenerateOptions gen = generation_from(args, seed);
  if (!args.has("--temp")) gen.sampling.temperature = 0.0f;  // answers are greedy unless asked otherwise
  const bool json = args.has("--json");

  LoadOptions load = load_options_from(args);
  ProgressBar bar("loading " + *model);
  load.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  auto engine = Engine::load(*model, load);
  bar.finish();
  // --save may start a store; without it a missing store is an error (a typo should not look empty).
  auto store = logstore::Store::open(*store_dir, {args.has("--save"), lag::model_fingerprint(*engine)});
  std::vector<std::string> tags;
  if (auto t = args.get("--tag")) tags.push_back(*t);
  const std::string retrieval = args.get_or("--retrieval", "bm25");
  if (retrieval != "bm25" && retrieval != "dense") fail("ask: --retrieval must be bm25 or dense");
  lag::Embedder embedder;
  if (retrieval == "dense")
    embedder = [&engine](const std::string& text) { return lag::embed_text(*engine, text); };
  lag::StoreLibrary library(*store, tags, embedder);

  if (args.has("--agent")) {
    const auto kb =
        lag::KnowledgeBaseLookup::load(args.get_or("--kb", std::string(LAGVK_ASSETS_DIR) + "/kb/demo.json"));
    lag::AgentOptions a;
    a.max_steps = max_steps;
    a.max_step_tokens = gen.max_tokens;
    a.logs_per_query = k;
    a.max_logs = max_logs;
    a.mode = mode;
    a.sampling = gen.sampling;
    const auto r = lag::run_agent(*engine, &library, question, {kb.get()}, a);
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"output", s.output},
                       {"observation", s.observation},
                       {"new_logs", logs_json(s.new_logs, {})},
                       {"time_to_first_token_ms", s.time_to_first_token_ms}});
      if (!json) {
        fmt::print("step: {}\n", printable(s.output));
        if (!s.observation.empty()) fmt::print("  tool: {}\n", printable(s.observation));
      }
    }
    std::optional<logstore::LogId> saved;
    if (args.has("--save"))
      saved = lag::store_log(
          *store, lag::encode_trace(*engine, r.trace, lag::parse_selection(args.get_or("--select", "last"))));
    if (json) {
      nlohmann::json j{{"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json(nullptr)},
                       {"steps", steps},
                       {"step_count", r.steps.size()},
                       {"logs", logs_json(r.logs, {})},
                       {"mode", lag::log_mode_name(mode)}};
      if (saved) j["saved_log"] = *saved;
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      for (const auto& l : r.logs)
        fmt::print("log used: #{} \"{}\" (score {:.2f})\n", l.id, printable(l.task, true), l.score);
      fmt::print("answer: {}\n[{} steps, {} logs used ({}){}]\n",
                 printable(r.answer.value_or("(none within the step limit)")), r.steps.size(), r.logs.size(),
                 lag::log_mode_name(mode), saved ? fmt::format(", saved as log {}", *saved) : "");
    }
    return 0;
  }

  const auto retrieved =
      mode == lag::LogMode::none ? std::vector<lag::RetrievedLog>{} : library.retrieve(question, k, {});
  std::vector<lag::LogId> ids;
  for (const auto& l : retrieved) ids.push_back(l.id);
  const std::vector<lag::Message> messages = {{"user", question}};
  const auto prompt =
      lag::render_prompt(messages, engine->tokenizer(), ids.empty(), &engine->chat_template());
  lag::BuiltContext ctx = lag::build_context(*engine, &library, ids, mode, prompt);
  if (!json && !retrieved.empty()) {
    for (std::size_t i = 0; i < retrieved.size(); ++i)
      fmt::print(stderr, "[log {} score {:.2f}, {} tokens at {}..: {}]\n", retrieved[i].id,
                 retrieved[i].score, ctx.logs[i].tokens, ctx.logs[i].first_position,
                 printable(retrieved[i].task, true));
  }
  const std::uint32_t answer_start = ctx.sequence->length();
  const std::int32_t answer_position = ctx.next_position;
  TokenCallback stream;
  if (!json)
    stream = [](std::int32_t, std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  GenerateResult r =
      generate_from(*engine, *ctx.sequence, ctx.logits, ctx.next_position, gen, stream, prompt);
  const double ttft = ctx.logs_ms + ctx.suffix_ms + r.timings.time_to_first_token_ms;

  std::optional<logstore::LogId> saved;
  if (args.has("--save") && !r.tokens.empty()) {
    lag::Trace trace{question, {{"user", question}, {"assistant", r.text}}, tags};
    const auto selection = lag::parse_selection(args.get_or("--select", "last"));
    if (selection == lag::Selection::last) {
      // Capture from the live session: the answer's keys and values are already in the cache (they
      // attended to the spliced logs and the question); only the last token still needs its pass.
      const std::int32_t last = r.tokens.back(), pos = answer_position + std::int32_t(r.tokens.size()) - 1;
      if (ctx.sequence->length() == answer_start + r.tokens.size() - 1)
        (void)engine->forward().eval(*ctx.sequence, std::span<const std::int32_t>(&last, 1),
                                     std::span<const std::int32_t>(&pos, 1));
      std::vector<std::int32_t> entries(r.tokens.size()), positions(r.tokens.size());
      for (std::size_t i = 0; i < r.tokens.size(); ++i) {
        entries[i] = std::int32_t(answer_start + i);
        positions[i] = answer_position + std::int32_t(i);
      }
      saved = lag::store_log(
          *store, lag::capture_live(*engine, *ctx.sequence, trace, selection, entries, positions, r.tokens));
    } else {
      saved = lag::store_log(*store, lag::encode_trace(*engine, trace, selection));
    }
  }
  if (json) {
    nlohmann::json j{{"answer", r.text},
                     {"tokens", r.tokens},
                     {"stop_reason", r.stop_reason},
                     {"mode", lag::log_mode_name(mode)},
                     {"logs", logs_json(retrieved, ctx.logs)},
                     {"seed", seed},
                     {"timings",
                      {{"load_ms", engine->load_ms()},
                       {"logs_ms", ctx.logs_ms},
                       {"prompt_prefill_ms", ctx.suffix_ms},
                       {"time_to_first_token_ms", ttft},
                       {"decode_tokens_per_s", r.timings.decode_tokens_per_s()}}}};
    if (saved) j["saved_log"] = *saved;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    fmt::print(
        stderr,
        "[{} logs ({}), time to first token {:.0f} ms (logs {:.0f} ms, prompt {:.0f} ms); {} tokens at "
        "{:.2f} tok/s{}]\n",
        retrieved.size(), lag::log_mode_name(mode), ttft, ctx.logs_ms, ctx.suffix_ms, r.tokens.size(),
        r.timings.decode_tokens_per_s(), saved ? fmt::format("; saved as log {}", *saved) : "");
  }
  return 0;
}

}  // namespace lagvk::cli
