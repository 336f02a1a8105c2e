// lagvk coprocessor: files for cache augmentation (engine/augment). `make` writes an untrained
// coprocessor for a decoder, the paper's starting point (the decoder's own weights, soft tokens taken
// from its token embeddings), which tools/train trains and which tests use to exercise the engine.
#include <cstdio>
#include <random>
#include <string_view>

#include "engine/augment/coprocessor_file.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/model/trained_weights.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {
namespace {

int coprocessor_make(int argc, char** argv) {
  Args args(
      "coprocessor make", "-m DECODER.gguf -o OUT.gguf [--latents N] [--seed S] [--weights DIR]",
      "Writes a cache-augmentation coprocessor for DECODER: the decoder's metadata, weights and\n"
      "weights hash (which 'lagvk run --coprocessor' checks), and N soft-token embeddings. Untrained\n"
      "(no --weights) the soft tokens are rows of the decoder's token embedding table at random tokens\n"
      "and its latents are noise to the decoder: the paper's starting point. With --weights DIR (what\n"
      "tools/train/coprocessor.py writes: every tensor and lagvk.soft_tokens) it writes the trained one.\n"
      "example: lagvk coprocessor make -m MODEL.gguf --latents 16 -o COPROCESSOR.gguf",
      {{"--model", "-m", "FILE", "the decoder GGUF the coprocessor is for (required)", ""},
       {"--output", "-o", "FILE", "where to write the coprocessor (required)", ""},
       {"--latents", "", "N", "soft tokens, so latents per augmentation (untrained only)", "16"},
       {"--seed", "", "S", "which token embeddings start the soft tokens (untrained only)", "0"},
       {"--weights", "", "DIR", "trained weights and soft tokens (weights.json + weights.bin)", ""}});
  if (!args.parse(argc, argv)) return 0;
  const auto decoder_path = args.get("--model");
  const auto out = args.get("--output");
  if (!decoder_path || !out)
    fail(Errc::invalid_argument, "coprocessor make: -m DECODER.gguf and -o OUT.gguf are required");
  const auto latents = std::uint32_t(args.get_int("--latents", 16, 1, augment::kMaxLatents));
  const Model decoder = Model::from_gguf(GgufFile::open(*decoder_path));
  if (decoder.config().traits.embedding_only())
    fail(Errc::unsupported_model,
         "coprocessor make: '{}' is an embedding model; a coprocessor augments a decoder", *decoder_path);
  if (const auto dir = args.get("--weights")) {
    if (args.has("--latents") || args.has("--seed"))
      fail(Errc::invalid_argument,
           "coprocessor make: --latents and --seed are for untrained coprocessors; "
           "--weights DIR holds its own soft tokens");
    const TrainedWeights trained = TrainedWeights::load(*dir);
    const std::uint64_t dim = decoder.config().n_embd;
    const auto shape = trained.shape(augment::kSoftTokensTensor);
    if (shape.size() != 2 || shape[0] != dim || shape[1] == 0)
      fail(Errc::bad_input, "coprocessor make: {} in '{}' must be [{}, latents] (width x latents)",
           augment::kSoftTokensTensor, *dir, dim);
    const std::vector<float> soft = trained.tensor(augment::kSoftTokensTensor, shape[0] * shape[1]);
    augment::write_coprocessor(decoder.gguf(), lag::weights_hash(decoder.gguf()), soft, *out, &trained);
    std::fprintf(stderr, "wrote %s: a trained coprocessor with %zu latents for %s\n", out->c_str(),
                 soft.size() / dim, decoder_path->c_str());
    return 0;
  }
  const std::vector<float> table = decoder.weights().token_embd.to_float();
  const std::size_t dim = decoder.config().n_embd, vocab = table.size() / dim;
  std::mt19937_64 rng(args.get_uint64("--seed", 0));
  std::uniform_int_distribution<std::size_t> pick(0, vocab - 1);
  std::vector<float> soft;
  soft.reserve(latents * dim);
  for (std::uint32_t i = 0; i < latents; ++i) {
    const std::size_t row = pick(rng);
    soft.insert(soft.end(), table.begin() + std::ptrdiff_t(row * dim),
                table.begin() + std::ptrdiff_t((row + 1) * dim));
  }
  augment::write_coprocessor(decoder.gguf(), lag::weights_hash(decoder.gguf()), soft, *out);
  std::fprintf(stderr, "wrote %s: an untrained coprocessor with %u latents for %s\n", out->c_str(), latents,
               decoder_path->c_str());
  return 0;
}

}  // namespace

int cmd_coprocessor(int argc, char** argv) {
  const std::string_view usage =
      "usage: lagvk coprocessor make -m DECODER.gguf -o OUT.gguf [--latents N] [--seed S]\n"
      "  make   write an untrained cache-augmentation coprocessor for a decoder (see 'lagvk coprocessor make "
      "--help')\n";
  if (argc < 1 || std::string_view(argv[0]) == "--help" || std::string_view(argv[0]) == "-h") {
    std::printf("%.*s", int(usage.size()), usage.data());
    return argc < 1 ? 2 : 0;
  }
  if (std::string_view(argv[0]) == "make") return coprocessor_make(argc - 1, argv + 1);
  fail(Errc::invalid_argument, "coprocessor: unknown subcommand '{}'\n{}", argv[0], usage);
}

}  // namespace lagvk::cli
