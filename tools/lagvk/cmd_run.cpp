// lagvk run: generate text from a prompt with a GGUF model on the GPU.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/vk/device_info.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {

namespace {

// Each id all digits and within int32 (std::stol and a cast turned 4294967297 into 1).
std::vector<std::int32_t> parse_token_list(const std::string& s) {
  std::vector<std::int32_t> ids;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::int32_t v = -1;
    const char* end = item.data() + item.size();
    const auto [ptr, ec] = std::from_chars(item.data(), end, v);
    if (item.empty() || ec != std::errc() || ptr != end || v < 0)
      fail("--tokens expects comma-separated token ids from 0 to {}, got '{}'",
           std::numeric_limits<std::int32_t>::max(), item);
    ids.push_back(v);
  }
  return ids;
}

}  // namespace

int cmd_run(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  std::vector<OptionSpec> options = {
      {"--model", "-m", "FILE", "GGUF model to run (required)", ""},
      {"--prompt", "-p", "TEXT",
       "prompt text (tokenized with the model's tokenizer, BOS added as the model asks)", ""},
      {"--tokens", "", "IDS", "prompt as comma-separated token ids, used exactly as given", ""},
      {"--chat", "", "TEXT",
       "a user message, formatted with the model's chat template (tokenizer.chat_template; a plain "
       "'User: ... Assistant:' transcript without one) and followed by the assistant's turn",
       ""},
      {"--system", "", "TEXT", "system message before the --chat message", ""},
      {"--no-bos", "", "", "do not add the BOS token to a text prompt", ""},
      {"--json", "", "", "print one JSON object (tokens, text, timings) instead of streaming text", ""}};
  for (auto& o : load_option_specs()) options.push_back(o);
  for (auto& o : generation_options()) options.push_back(o);
  for (auto& o : coprocessor_options()) options.push_back(o);
  Args args("run", "-m MODEL (-p TEXT | --tokens 1,2,3 | --chat TEXT [--system TEXT]) [options]",
            "Generates text with a GGUF model on the GPU, streaming it as it is produced.\n"
            "MODEL.gguf is any GGUF file; 'lagvk make-model -o MODEL.gguf' writes a random one (its text is\n"
            "noise: it tests the engine without downloads). example:\n"
            "  lagvk run -m MODEL.gguf -p \"Once upon a time\" -n 32 --temp 0",
            options);
  if (!args.parse(argc, argv)) return 0;
  const auto model_path = args.get("--model");
  if (!model_path) fail("run: -m MODEL is required (see 'lagvk run --help')");
  if (int(args.has("--prompt")) + int(args.has("--tokens")) + int(args.has("--chat")) != 1)
    fail("run: give exactly one of -p TEXT, --tokens IDS or --chat TEXT");
  if (args.has("--system") && !args.has("--chat")) fail("run: --system needs --chat");
  std::uint64_t seed = 0;
  const GenerateOptions gen = generation_from(args, seed);
  LoadOptions load = load_options_from(args, vulkan);
  const bool json = args.has("--json");
  ProgressBar bar("loading " + *model_path, ProgressUnit::bytes());
  load.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  auto engine = Engine::load(*model_path, load);
  bar.finish();
  const auto coprocessor = coprocessor_from(args, *engine, "run");

  std::vector<std::int32_t> prompt;
  std::string chat_format;
  if (auto ids = args.get("--tokens")) {
    prompt = parse_token_list(*ids);
  } else if (auto chat = args.get("--chat")) {
    // The template's markup holds the format's control tokens as text ("<|im_start|>"), parsed as
    // special tokens; the messages are plain text (a --chat text cannot forge a turn). BOS is left to
    // the tokenizer, as the templates' own bos_token would add it.
    const ChatTemplate tmpl = detect_chat_template(engine->model().gguf());
    chat_format = chat_format_name(tmpl.format);
    if (!json) {
      const bool unrecognised =
          tmpl.format == ChatFormat::plain && engine->model().gguf().has("tokenizer.chat_template");
      std::fprintf(stderr, "[chat format: %s%s]\n", chat_format.c_str(),
                   unrecognised ? " (the model's chat template is not one lagvk recognises)" : "");
    }
    std::vector<ChatMessage> messages;
    if (auto system = args.get("--system")) messages.push_back({"system", *system});
    messages.push_back({"user", *chat});
    const Tokenizer& tok = engine->tokenizer();
    prompt = encode_chat(tok, render_chat_segments(tmpl, messages, true),
                         tok.add_bos_by_default() && !args.has("--no-bos"));
  } else {
    const Tokenizer& tok = engine->tokenizer();
    prompt = tok.encode(*args.get("--prompt"), tok.add_bos_by_default() && !args.has("--no-bos"), false);
  }
  auto seq = engine->new_sequence();
  TokenCallback stream;
  if (!json) {
    stream = [](std::int32_t, std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  GenerateResult r;
  std::uint32_t latents = 0;
  double augment_ms = 0;
  if (coprocessor) {
    // The prompt, then the latents after it, then the answer after them.
    if (prompt.empty()) fail(Errc::invalid_argument, "the prompt is empty: give some text or token ids");
    std::vector<std::int32_t> positions(prompt.size());
    for (std::size_t i = 0; i < positions.size(); ++i) positions[i] = std::int32_t(i);
    const auto t0 = std::chrono::steady_clock::now();
    (void)engine->forward().eval(*seq, prompt, positions);
    const double prefill_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const auto t1 = std::chrono::steady_clock::now();
    Augmentation augmented = coprocessor->augment(*seq, std::int32_t(prompt.size()), latents_from(args));
    augment_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    latents = std::uint32_t(augmented.latents.size() / engine->config().dim);
    r = generate_from(*engine, *seq, std::move(augmented.logits), std::int32_t(prompt.size() + latents), gen,
                      stream, prompt);
    r.timings.prompt_tokens = std::uint32_t(prompt.size());
    r.timings.prefill_ms = prefill_ms;
    r.timings.time_to_first_token_ms += prefill_ms + augment_ms;
  } else {
    r = generate(*engine, *seq, prompt, gen, stream);
  }
  if (json) {
    nlohmann::json j{{"tokens", r.tokens},
                     {"text", r.text},
                     {"prompt_tokens", prompt},
                     {"chat_template", chat_format},
                     {"stop_reason", r.stop_reason},
                     {"seed", seed},
                     {"device", engine->context().info().name},
                     {"timings",
                      {{"load_ms", engine->load_ms()},
                       {"prefill_ms", r.timings.prefill_ms},
                       {"prefill_tokens_per_s", r.timings.prefill_tokens_per_s()},
                       {"decode_ms", r.timings.decode_ms},
                       {"decode_tokens_per_s", r.timings.decode_tokens_per_s()},
                       {"time_to_first_token_ms", r.timings.time_to_first_token_ms}}}};
    if (coprocessor)
      j["augmentation"] = {{"coprocessor", coprocessor->path()}, {"latents", latents}, {"ms", augment_ms}};
    // Generated text may end inside a multi-byte character or hold byte tokens: invalid UTF-8 is
    // replaced (U+FFFD) rather than failing the whole report.
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr,
                 "[%u prompt tokens, %.1f tok/s prefill; %u generated, %.2f tok/s decode; stop: %s]\n",
                 r.timings.prompt_tokens, r.timings.prefill_tokens_per_s(), r.timings.generated_tokens,
                 r.timings.decode_tokens_per_s(), r.stop_reason.c_str());
    if (coprocessor) std::fprintf(stderr, "[augmented with %u latents in %.1f ms]\n", latents, augment_ms);
  }
  return 0;
}

}  // namespace lagvk::cli
