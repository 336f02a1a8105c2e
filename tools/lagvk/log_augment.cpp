#include "tools/lagvk/log_augment.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/stored_log_augmentation.hpp"
#include "logstore/store.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/human_text.hpp"
#include "tools/lagvk/progress.hpp"
#include "tools/lagvk/store_guard.hpp"

namespace lagvk::cli {

int log_augment(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  const auto copro = coprocessor_options();
  Args args(
      "log augment", "--store DIR -m MODEL --coprocessor FILE [--latents N] [--force] [--json]",
      "Cache augmentation of stored logs (arXiv 2412.17747): each log is encoded again from the trace\n"
      "and selection its record keeps (from its trace alone: a log 'ask --save' captured while other\n"
      "logs were in its context no longer reflects them), and a coprocessor trained for MODEL appends\n"
      "latent embeddings after the whole trace; the log then keeps the KV of its selected tokens\n"
      "followed by the latents' KV, exactly as 'log add --coprocessor' would have stored it. 'ask' and\n"
      "'eval' splice a log's latents with its tokens, so every answer that retrieves it reads what the\n"
      "coprocessor wrote.\n"
      "Each log is replaced in place, in one transaction: its id, task, tags, creation time, retrieval\n"
      "text and dense vector stay; its pages and record become those of the augmented encoding. A log\n"
      "whose trace is missing or does not fit the context, or that another process replaced after it was\n"
      "read, is skipped with a warning; a process killed part way leaves the logs done augmented and the\n"
      "others as they were (run it again to finish).\n"
      "Logs that already have latents are left alone unless --force replaces them.\n"
      "example: lagvk log augment --store logs/ -m MODEL.gguf --coprocessor COPROCESSOR.gguf --latents 8",
      {{"--store", "-s", "DIR", "the log store directory (required)", ""},
       {"--model", "-m", "FILE", "the store's model, the coprocessor's decoder (required)", ""},
       {copro[0].name, copro[0].short_name, copro[0].value_name,
        "the cache-augmentation coprocessor trained for MODEL (required; 'lagvk coprocessor make')", ""},
       copro[1],
       {"--force", "", "", "also encode again the logs that already have latents, replacing them", ""},
       {"--json", "", "", "print a summary as JSON for scripts", ""},
       load_option_specs()[0],
       load_option_specs()[1]});
  if (!args.parse(argc, argv)) return 0;
  const auto model = args.get("--model");
  const auto dir = args.get("--store");
  if (!dir) fail(Errc::invalid_argument, "log augment: --store DIR is required");
  if (!model) fail(Errc::invalid_argument, "log augment: -m MODEL is required (the store's model)");
  if (!args.has("--coprocessor"))
    fail(Errc::invalid_argument, "log augment: --coprocessor FILE is required (the coprocessor for MODEL)");
  const auto started = std::chrono::steady_clock::now();
  LoadOptions load = load_options_from(args, vulkan);
  std::unique_ptr<Engine> engine;
  {
    ProgressBar loading("loading " + *model, ProgressUnit::bytes());
    load.progress = [&](std::uint64_t done, std::uint64_t total) { loading.update(done, total); };
    engine = Engine::load(*model, load);
  }
  const auto coprocessor = coprocessor_from(args, *engine, "log augment");
  const lag::LogAugmentation augmentation{coprocessor.get(), latents_from(args)};
  std::unique_ptr<logstore::Store> store;
  std::vector<logstore::LogId> ids;
  {
    const StoreFaultGuard guard(*dir);
    // An existing store of this model only: another model's is refused as every command refuses it.
    store = logstore::Store::open(*dir, {false, lag::model_fingerprint(*engine)});
    ids = store->read().ids();
  }
  const bool json = args.has("--json");
  const lag::StoreCallWrapper guarded = [&](const std::function<void()>& call) {
    const StoreFaultGuard guard(*dir);
    call();
  };
  std::uint64_t augmented = 0, already = 0;
  nlohmann::json skipped = nlohmann::json::array();
  const auto summary = [&] {
    return nlohmann::json{
        {"augmented", augmented},
        {"skipped", skipped.size()},
        {"already_augmented", already},
        {"latents", coprocessor->latents_for(augmentation.latents)},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
        {"skipped_logs", skipped}};
  };
  const auto print_json = [](const nlohmann::json& j) {
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  };
  ProgressBar bar("augmenting logs", ProgressUnit::items("logs"));
  bar.update(0, ids.size());
  try {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto r =
          lag::augment_stored_log(*engine, *store, ids[i], augmentation, args.has("--force"), guarded);
      bar.clear();  // a line goes above the bar, not into it
      switch (r.outcome) {
        case lag::StoredLogAugmentation::Outcome::augmented:
          ++augmented;
          if (!json) fmt::print("augmented log {} ({} tokens + {} latents)\n", ids[i], r.tokens, r.latents);
          break;
        case lag::StoredLogAugmentation::Outcome::already_augmented:
          ++already;
          break;
        case lag::StoredLogAugmentation::Outcome::skipped:
          skipped.push_back({{"id", ids[i]}, {"reason", r.reason}});
          fmt::print(stderr, "warning: skipped {}\n", printable(r.reason));
          break;
      }
      std::fflush(stdout);
      bar.update(i + 1, ids.size());
    }
  } catch (const std::exception& e) {
    // The logs augmented before the failure are committed (each in its own transaction); the rest are
    // as they were.
    bar.finish();
    if (!json) throw;
    nlohmann::json j = summary();
    j["error"] = e.what();
    print_json(j);
    if (dynamic_cast<const Error*>(&e) == nullptr) throw;  // an internal error keeps its exit code
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  bar.finish();
  const nlohmann::json s = summary();
  if (json) {
    print_json(s);
  } else {
    fmt::print(
        "{} of {} logs augmented with {} latents each in {:.1f} s; {} already augmented{}, {} skipped\n",
        augmented, ids.size(), s["latents"].get<std::uint32_t>(), s["seconds"].get<double>(), already,
        already > 0 && !args.has("--force") ? " (--force encodes them again)" : "", skipped.size());
  }
  return 0;
}

}  // namespace lagvk::cli
