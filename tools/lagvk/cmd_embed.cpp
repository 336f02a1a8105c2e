// lagvk embed: prints the sentence embedding of each text under a model.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/text_embedding.hpp"
#include "engine/model/pooling.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {

namespace {

/// "0.0123 -0.4567 ...": floats with enough digits to round-trip.
std::string format_vector(const std::vector<float>& v) {
  std::string line;
  char buf[32];
  for (float x : v) {
    std::snprintf(buf, sizeof buf, "%.9g", double(x));
    line += (line.empty() ? "" : " ") + std::string(buf);
  }
  return line;
}

}  // namespace

int cmd_embed(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  Args args(
      "embed", "-m MODEL [--json] [--no-normalize] [--device N] TEXT...",
      "Prints one embedding per TEXT argument: a vector that places texts of similar meaning near each\n"
      "other, for search and retrieval (compare two with their dot product: the cosine similarity).\n"
      "\n"
      "MODEL is an embedding model of the BERT family (arch bert, such as all-MiniLM-L6-v2, which\n"
      "scripts/setup_embed_models.sh installs, or nomic-bert, as nomic-embed-text files are): the text is\n"
      "wrapped in [CLS] ... [SEP], every token attends to every other, and the token vectors are\n"
      "pooled as the file's pooling_type says (mean or cls). A decoder\n"
      "model (llama, qwen2, qwen3) works too: its vector is the mean of its final normalised hidden\n"
      "states, what 'lagvk log add --embed' stores for dense retrieval; a decoder embedding model whose\n"
      "file says pooling_type last (as Qwen3-Embedding files do) takes the last token's instead.\n"
      "Either kind makes a store's vectors with 'lagvk log add/ask/eval --embed-model MODEL'.\n"
      "\n"
      "Vectors are scaled to unit length unless --no-normalize is given. Output: one line per text\n"
      "of space-separated floats, or with --json one object {\"model\": NAME, \"dim\": N,\n"
      "\"embeddings\": [[...], ...]} in the order of the texts.\n"
      "\n"
      "example: lagvk embed -m all-MiniLM-L6-v2.F16.gguf --json \"a cat sat\" \"a kitten was sitting\"",
      {
          {"--model", "-m", "FILE", "GGUF embedding (or decoder) model (required)", ""},
          {"--json", "", "", "print one JSON object with every embedding", ""},
          {"--no-normalize", "", "", "print the pooled vectors as they are, not scaled to unit length", ""},
          {"--device", "-d", "N", "Vulkan device index (see 'lagvk devices'; -1: the best)", "best"},
      });
  if (!args.parse(argc, argv)) return 0;
  const auto path = args.get("--model");
  if (!path) fail(Errc::invalid_argument, "lagvk embed: give the model with -m FILE");
  if (args.positional().empty())
    fail(Errc::invalid_argument, "lagvk embed: give at least one text to embed (each argument is one text)");
  for (const auto& text : args.positional())
    if (text.empty()) fail(Errc::invalid_argument, "lagvk embed: a text is empty; there is nothing to embed");

  LoadOptions load;
  load.instance = vulkan;
  load.device = int(args.get_int("--device", -1, -1, 1 << 20));
  auto engine = Engine::load(*path, load);
  const bool normalize = !args.has("--no-normalize");
  std::vector<std::vector<float>> vectors;
  for (const auto& text : args.positional()) {
    auto v = lag::embed_text(*engine, text);
    if (normalize) l2_normalize(v);
    vectors.push_back(std::move(v));
  }

  if (args.has("--json")) {
    const auto& c = engine->model().config();
    const nlohmann::json j{{"model", c.name.empty() ? *path : c.name},
                           {"dim", vectors.front().size()},
                           {"normalized", normalize},
                           {"embeddings", vectors}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    for (const auto& v : vectors) std::printf("%s\n", format_vector(v).c_str());
  }
  return 0;
}

}  // namespace lagvk::cli
