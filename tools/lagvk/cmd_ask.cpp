// lagvk ask: answer a question with Log-Augmented Generation — retrieve logs from a store, splice their
// KV pages (or re-read them as text, or use none, for comparison) in front of the question, generate.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/agent.hpp"
#include "engine/lag/ask.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "tools/eval/knowledge_base.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/assets.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/embed_model_flag.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/human_text.hpp"
#include "tools/lagvk/index_text_flag.hpp"
#include "tools/lagvk/progress.hpp"
#include "tools/lagvk/react_flags.hpp"
#include "tools/lagvk/store_guard.hpp"

namespace lagvk::cli {

namespace {

/// The retrieved logs that were placed in the context (a skipped log is not among `placed`).
nlohmann::json logs_json(const std::vector<lag::RetrievedLog>& logs,
                         const std::vector<lag::PlacedLog>& placed,
                         const std::vector<lag::SkippedLog>& skipped) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& log : logs) {
    const auto is_this = [&](const auto& other) { return other.id == log.id; };
    if (std::any_of(skipped.begin(), skipped.end(), is_this)) continue;
    nlohmann::json j{{"id", log.id}, {"score", log.score}, {"task", log.task}};
    if (const auto p = std::find_if(placed.begin(), placed.end(), is_this); p != placed.end()) {
      j["tokens"] = p->tokens;
      j["first_position"] = p->first_position;
    }
    out.push_back(j);
  }
  return out;
}

/// Logs left out: damaged records retrieval could not index, and retrieved logs the context could not
/// take. Warned about on stderr; listed under "skipped_logs" in --json output.
std::vector<lag::SkippedLog> skipped_logs(logstore::Store& store,
                                          const std::vector<lag::SkippedLog>& from_context) {
  std::vector<lag::SkippedLog> out;
  for (const auto& u : store.unreadable_logs()) out.push_back({u.id, u.reason});
  out.insert(out.end(), from_context.begin(), from_context.end());
  return out;
}

void warn_skipped(const std::vector<lag::SkippedLog>& skipped) {
  for (const auto& s : skipped) fmt::print(stderr, "warning: skipped log {}: {}\n", s.id, s.reason);
}

nlohmann::json skipped_json(const std::vector<lag::SkippedLog>& skipped) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : skipped) out.push_back({{"id", s.id}, {"reason", s.reason}});
  return out;
}

}  // namespace

int cmd_ask(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  const lag::AskOptions ask_defaults;  // shared with the C API's lagvk_ask_params_default
  std::vector<OptionSpec> options = {
      {"--model", "-m", "FILE", "GGUF model (required)", ""},
      {"--store", "-s", "DIR", "log store (required; made with this model by 'lagvk log add')", ""},
      {"--logs", "", "MODE", "kv (LAG: splice stored KV), text (re-read the logs' tokens), none",
       std::string(lag::log_mode_name(ask_defaults.mode))},
      {"-k", "", "K", "logs retrieved per query", std::to_string(ask_defaults.k)},
      {"--tag", "", "TAG", "only logs with this tag", ""},
      {"--retrieval", "", "R",
       "bm25 over the logs' tasks, or dense: cosine between the store's embeddings (logs added with "
       "--embed or --embed-model)",
       "bm25; dense with --embed-model"},
      embed_model_option(
          "for dense retrieval and the vector --save stores (the one the store was made with)"),
      {"--save", "", "",
       "store the finished task as a new log (the store grows online; a missing store is created); the "
       "agents keep only answered tasks",
       ""},
      {"--select", "", "S", "tokens --save keeps: last, all, answer, full",
       std::string(lag::selection_name(ask_defaults.selection))},
      index_text_option(),
      {"--agent", "", "", "run the ReAct agent loop with the lookup tool instead of one answer", ""},
      {"--kb", "", "FILE", "knowledge base for the agent's lookup tool", "assets/kb/demo.json"},
      {"--max-steps", "", "N", "agent step limit", "6; 8 with --react"},
      {"--max-logs", "", "N", "agent: at most N logs in the context (0: no cap)",
       std::to_string(lag::RetrievalDefaults::max_logs)},
      {"--json", "", "", "print one JSON object: answer, tokens, logs used, timings", ""}};
  for (auto& o : coprocessor_options()) options.push_back(o);
  options.push_back({"--augment-at", "", "WHEN",
                     "--agent or --react, with --coprocessor: the latents follow every step's prompt "
                     "(each-step) or the question's only (prompt)",
                     "each-step"});
  for (auto& o : react_option_specs()) options.push_back(o);
  for (auto& o : load_option_specs()) options.push_back(o);
  for (auto& o : generation_options(ask_defaults.generate)) options.push_back(o);
  Args args(
      "ask", "-m MODEL --store DIR [--logs kv|text|none] [-k K] [--save] [--json] QUESTION",
      "Answers QUESTION using logs retrieved from the store (BM25 over what it indexes: --index): their KV "
      "pages are\n"
      "spliced in front of the question with RoPE re-applied at the new positions (--logs kv), or their\n"
      "tokens re-read as text (--logs text), or ignored (--logs none). Shows the logs used and the time to\n"
      "first token. example, with the shipped multihop model (--save makes the store STORE_DIR):\n"
      "  lagvk ask -m assets/models/multihop-q8_0.gguf --store STORE_DIR --save --agent\n"
      "    --kb assets/multihop/world.json \"What is the capital of the country of Ullor?\"",
      options);
  if (!args.parse(argc, argv)) return 0;
  const auto model = args.get("--model");
  const auto store_dir = args.get("--store");
  if (!model || !store_dir) fail("ask: -m MODEL and --store DIR are required (see 'lagvk ask --help')");
  if (args.positional().empty()) fail("ask: give the question as the last argument");
  std::string question;
  for (const auto& p : args.positional()) question += (question.empty() ? "" : " ") + p;
  const lag::LogMode mode =
      lag::parse_log_mode(args.get_or("--logs", std::string(lag::log_mode_name(ask_defaults.mode))));
  // Every flag is read before the model is loaded: a bad value fails at once, with nothing allocated.
  const auto k = std::uint32_t(args.get_int("-k", ask_defaults.k, 0, kMaxCount));
  const bool react = wants_react(args);
  if (react && args.has("--agent"))
    fail("ask: --agent (the multihop agent) and --react (the general agent) exclude each other");
  const auto max_steps =
      std::uint32_t(args.get_int("--max-steps", react ? lag::ReactOptions{}.max_steps : 6, 1, kMaxCount));
  const auto react_tools = react ? react_tools_from(args) : ReactTools{};
  const auto max_logs =
      std::uint32_t(args.get_int("--max-logs", lag::RetrievalDefaults::max_logs, 0, kMaxCount));
  const lag::Selection selection =
      lag::parse_selection(args.get_or("--select", std::string(lag::selection_name(ask_defaults.selection))));
  std::uint64_t seed = 0;
  GenerateOptions gen = generation_from(args, seed, ask_defaults.generate);
  const bool json = args.has("--json");
  const logstore::IndexText index_text = index_text_from(args, "ask");
  const bool agent = args.has("--agent") || react;
  const lag::AugmentAt augment_at = augment_at_from(args, "ask");
  if (args.has("--augment-at") && !agent)
    fail(
        "ask: --augment-at places the latents in an agent's steps (--agent or --react); one answer is "
        "augmented after its prompt");
  if (args.has("--augment-at") && !args.has("--coprocessor"))
    fail("ask: --augment-at needs --coprocessor FILE");

  LoadOptions load = load_options_from(args, vulkan);
  ProgressBar bar("loading " + *model, ProgressUnit::bytes());
  load.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  auto engine = Engine::load(*model, load);
  bar.finish();
  const EmbedModel embed_model = load_embed_model(args, load);
  const auto coprocessor = coprocessor_from(args, *engine, "ask");
  const lag::TurnAugmentation augmentation{coprocessor.get(), latents_from(args), augment_at};
  // --save may start a store; without it a missing store is an error (a typo should not look empty).
  // Without --save the store is only read (so a read-only store can be asked).
  logstore::StoreOptions store_options{args.has("--save"), lag::model_fingerprint(*engine)};
  store_options.read_only = !args.has("--save");
  store_options.index_text = index_text;
  std::unique_ptr<logstore::Store> store;
  {
    const StoreFaultGuard guard(*store_dir);
    store = logstore::Store::open(*store_dir, store_options);
  }
  const DiscardNewStoreOnFailure discard_on_failure(store);  // declared before what refers to the store
  check_index_text(args, *store, "ask");
  std::vector<std::string> tags;
  if (auto t = args.get("--tag")) tags.push_back(*t);
  const std::string retrieval = args.get_or("--retrieval", embed_model.embedder ? "dense" : "bm25");
  if (retrieval != "bm25" && retrieval != "dense") fail("ask: --retrieval must be bm25 or dense");
  // A wrong embedder is refused before anything runs, even where it would only embed a saved task.
  if (embed_model.embedder) store->check_embedder(embed_model.embedder->fingerprint());
  std::optional<lag::TextEmbedder> embedder;
  // An empty store (one --save has just made) finds nothing either way: only a store with logs is checked.
  const bool empty_store = store->read().ids().empty();
  if (retrieval == "dense" && !empty_store) {
    embedder = embed_model.embedder ? *embed_model.embedder : lag::TextEmbedder::generator(*engine);
    store->check_embedder(embedder->fingerprint());
    // The library refuses too (Errc::invalid_argument); here the message can name the command to run.
    if (store->dense_vector_count() == 0)
      fail(Errc::invalid_argument,
           "ask --retrieval dense: no log in the store '{}' has a dense vector, so nothing could be found; "
           "add logs with their embeddings ('lagvk log add --embed' or '--embed-model') or retrieve with "
           "--retrieval bm25",
           *store_dir);
  }
  lag::StoreLibrary store_library(*store, tags, embedder);
  GuardedLibrary library(store_library, *store_dir);

  if (agent) {
    lag::AgentResult r;
    if (react) {
      lag::ReactOptions a;
      a.max_steps = max_steps;
      if (args.has("--n-predict")) a.max_step_tokens = gen.max_tokens;
      a.logs_per_query = k;
      a.max_logs = max_logs;
      a.mode = mode;
      a.sampling = gen.sampling;
      a.augmentation = augmentation;
      r = lag::run_react_agent(*engine, &library, question, react_tools.tools, a);
    } else {
      const auto kb = lag::KnowledgeBaseLookup::load(args.get_or("--kb", assets_dir() + "/kb/demo.json"));
      lag::AgentOptions a;
      a.max_steps = max_steps;
      a.max_step_tokens = gen.max_tokens;
      a.logs_per_query = k;
      a.max_logs = max_logs;
      a.mode = mode;
      a.sampling = gen.sampling;
      a.augmentation = augmentation;
      r = lag::run_agent(*engine, &library, question, {kb.get()}, a);
    }
    const auto skipped = skipped_logs(*store, r.skipped);
    if (!json) warn_skipped(skipped);
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"output", s.output},
                       {"observation", s.observation},
                       {"new_logs", logs_json(s.new_logs, {}, r.skipped)},
                       {"time_to_first_token_ms", s.time_to_first_token_ms}});
      if (!json) {
        fmt::print("step: {}\n", printable(s.output));
        if (!s.observation.empty()) fmt::print("  tool: {}\n", printable(s.observation));
      }
    }
    std::optional<logstore::LogId> saved;
    // A task that ended without an answer (step limit, context) is not kept: its trace would teach later
    // tasks a chain that leads nowhere.
    if (args.has("--save") && r.answer) {
      const auto vectors = lag::embedder_for_new_logs(*store, *engine, embed_model.embedder, false);
      auto log = lag::encode_trace(*engine, r.trace, selection);
      lag::index_log(*store, log, vectors);
      const StoreFaultGuard guard(*store_dir);
      saved = lag::store_log(*store, log);
    }
    if (json) {
      nlohmann::json j{{"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json(nullptr)},
                       {"steps", steps},
                       {"step_count", r.steps.size()},
                       {"logs", logs_json(r.logs, {}, r.skipped)},
                       {"skipped_logs", skipped_json(skipped)},
                       {"mode", lag::log_mode_name(mode)}};
      if (saved) j["saved_log"] = *saved;
      if (coprocessor) j["augmentation"] = {{"coprocessor", coprocessor->path()}, {"latents", r.latents}};
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::size_t used = 0;
      for (const auto& l : r.logs) {
        const auto is_this = [&](const lag::SkippedLog& sk) { return sk.id == l.id; };
        if (std::any_of(r.skipped.begin(), r.skipped.end(), is_this)) continue;
        fmt::print("log used: #{} \"{}\" (score {:.2f})\n", l.id, printable(l.task, true), l.score);
        ++used;
      }
      fmt::print("answer: {}\n[{} steps, {} logs used ({}){}{}]\n",
                 printable(r.answer.value_or("(none within the step limit)")), r.steps.size(), used,
                 lag::log_mode_name(mode), coprocessor ? fmt::format(", {} latents", r.latents) : "",
                 saved                ? fmt::format(", saved as log {}", *saved)
                 : args.has("--save") ? ", not saved: no answer"
                                      : "");
    }
    return 0;
  }

  lag::AskOptions ask_options;
  ask_options.mode = mode;
  ask_options.k = k;
  ask_options.tags = tags;
  ask_options.save = args.has("--save");
  ask_options.selection = selection;
  ask_options.generate = gen;
  ask_options.embedder = embed_model.embedder;
  ask_options.augmentation = augmentation;
  lag::AskHooks hooks;
  if (!json) {
    hooks.on_context = [](const lag::AskResult& placed) {
      warn_skipped(placed.skipped);
      for (const auto& p : placed.placed) {
        const auto log = std::find_if(placed.retrieved.begin(), placed.retrieved.end(),
                                      [&](const lag::RetrievedLog& l) { return l.id == p.id; });
        fmt::print(stderr, "[log {} score {:.2f}, {} tokens at {}..: {}]\n", p.id, log->score, p.tokens,
                   p.first_position, printable(log->task, true));
      }
    };
    hooks.on_token = [](std::int32_t, std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  hooks.save = [&](const lag::EncodedLog& log) {
    const StoreFaultGuard guard(*store_dir);
    return lag::store_log(*store, log);
  };
  const lag::AskResult answer = lag::ask(*engine, *store, library, question, ask_options, hooks);
  const GenerateResult& r = answer.generation;
  const auto& saved = answer.saved;
  const double ttft = answer.time_to_first_token_ms;
  if (json) {
    nlohmann::json j{{"answer", r.text},
                     {"tokens", r.tokens},
                     {"stop_reason", r.stop_reason},
                     {"mode", lag::log_mode_name(mode)},
                     {"logs", logs_json(answer.retrieved, answer.placed, answer.skipped_by_context)},
                     {"skipped_logs", skipped_json(answer.skipped)},
                     {"seed", seed},
                     {"timings",
                      {{"load_ms", engine->load_ms()},
                       {"logs_ms", answer.logs_ms},
                       {"prompt_prefill_ms", answer.prompt_prefill_ms},
                       {"time_to_first_token_ms", ttft},
                       {"decode_tokens_per_s", r.timings.decode_tokens_per_s()}}}};
    if (saved) j["saved_log"] = *saved;
    if (coprocessor)
      j["augmentation"] = {{"coprocessor", coprocessor->path()},
                           {"latents", answer.augmentation.latents},
                           {"ms", answer.augmentation.ms}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    if (coprocessor)
      fmt::print(stderr, "[augmented with {} latents in {:.1f} ms]\n", answer.augmentation.latents,
                 answer.augmentation.ms);
    fmt::print(
        stderr,
        "[{} logs ({}), time to first token {:.0f} ms (logs {:.0f} ms, prompt {:.0f} ms); {} tokens at "
        "{:.2f} tok/s{}]\n",
        answer.placed.size(), lag::log_mode_name(mode), ttft, answer.logs_ms, answer.prompt_prefill_ms,
        r.tokens.size(), r.timings.decode_tokens_per_s(),
        saved ? fmt::format("; saved as log {}", *saved) : "");
  }
  return 0;
}

}  // namespace lagvk::cli
