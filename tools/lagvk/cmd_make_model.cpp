// lagvk make-model: writes a GGUF model with deterministic random weights and a synthetic
// SentencePiece vocabulary, loadable by lagvk and llama.cpp, for tests and benchmarks.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/model/hf_tokenizer.hpp"
#include "engine/model/random_model.hpp"
#include "engine/model/trained_weights.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {
namespace {

// Shapes: positive, and small enough that products of two of them (a weight matrix's elements) and the
// sizes derived from them stay far inside 64 bits; a model this wide would not fit in memory anyway.
std::uint32_t positive_u32(const Args& args, const std::string& name, std::uint32_t fallback) {
  return std::uint32_t(args.get_int(name, fallback, 1, 1 << 20));
}

/// The library's check of the sizes, its message followed by the flags that set them (the library's
/// messages name no flag).
void check_spec(const RandomModelSpec& s) {
  try {
    validate(s);
  } catch (const Error& e) {
    if (e.code() != Errc::invalid_argument) throw;
    fail(Errc::invalid_argument,
         "lagvk make-model: {} (--layers, --dim, --heads, --kv-heads, --ff, --ctx, --vocab and --type set "
         "them)",
         e.what());
  }
}

}  // namespace

int cmd_make_model(int argc, char** argv) {
  const RandomModelSpec d;
  Args args(
      "make-model", "[options] -o OUT.gguf",
      "Writes a GGUF model with deterministic random weights (same seed, same file) whose next-token\n"
      "distributions are peaked, with a synthetic SentencePiece vocabulary. It loads in lagvk and "
      "llama.cpp. A random model tests the engine end to end without downloads; its text is noise.\n"
      "example: lagvk make-model --type q8_0 --layers 4 --dim 256 -o OUT.gguf\n"
      "With --weights DIR it writes trained weights instead (tools/train/train.py writes DIR; the shape\n"
      "comes from DIR/weights.json), as tools/train/train.sh makes the shipped multihop model:\n"
      "  lagvk make-model --weights WEIGHTS_DIR --words WORDS.txt --type q8_0 -o OUT.gguf",
      {
          {"--output", "-o", "FILE", "where to write the model (required)", ""},
          {"--arch", "", "ARCH",
           "architecture: llama, qwen2, qwen3, gemma2, gemma3 (both always tied), phi3, or bert or "
           "nomic-bert "
           "(embedding models for 'lagvk embed': WordPiece vocabulary, mean pooling, as many kv heads as "
           "heads; nomic-bert with RoPE and a SwiGLU feed-forward, as nomic-embed-text)",
           d.arch},
          {"--pooling", "", "TYPE",
           "how token vectors become the sentence vector: mean or cls (bert), last or mean (a decoder "
           "embedding model, as Qwen3-Embedding files pool: last)",
           "mean for bert, none for a decoder"},
          {"--type", "", "TYPE",
           "type of the weight matrices: " + type_names(TypeList::writable_lower) +
               " (--dim and --ff must be multiples of the block: 32, or 256 for K-quants)",
           "f32"},
          {"--layers", "", "N", "transformer blocks", std::to_string(d.n_layers)},
          {"--dim", "", "D", "embedding width", std::to_string(d.n_embd)},
          {"--heads", "", "H", "query heads", std::to_string(d.n_head)},
          {"--kv-heads", "", "K", "key/value heads (GQA when fewer than --heads)",
           std::to_string(d.n_head_kv)},
          {"--ff", "", "F", "feed-forward width", std::to_string(d.n_ff)},
          {"--vocab", "", "V|FILE",
           "vocabulary size (at least 260; synthetic SentencePiece vocabulary), or a Hugging Face "
           "tokenizer.json whose byte-level BPE vocabulary and merges the model gets (Llama 3, Qwen2/3)",
           std::to_string(d.n_vocab)},
          {"--pre", "", "NAME", "BPE pre-tokenizer for --vocab FILE: llama-bpe or qwen2", "from the regex"},
          {"--ctx", "", "C", "training context length written to the file", std::to_string(d.n_ctx)},
          {"--seed", "", "S", "random seed", std::to_string(d.seed)},
          {"--rope-base", "", "B", "RoPE frequency base", "10000"},
          {"--logit-std", "", "X", "spread of the logits; larger is more peaked", "8"},
          {"--tied", "", "", "no output.weight: logits use token_embd", ""},
          {"--sliding-window", "", "N",
           "gemma2/gemma3: tokens each sliding-window layer (gemma2: every other one, gemma3: 5 of 6) sees",
           std::to_string(d.sliding_window)},
          {"--attn-softcap", "", "X", "gemma2: attention scores become X tanh(score / X)",
           fmt::format("{}", d.attn_softcap)},
          {"--final-softcap", "", "X", "gemma2: logits become X tanh(logit / X)",
           fmt::format("{}", d.final_softcap)},
          {"--rope-factors", "", "", "write rope_freqs.weight with llama3-style factors (1 to 8)", ""},
          {"--name", "", "NAME", "general.name", "derived from the shape"},
          {"--words", "", "FILE",
           "vocabulary of these words (one per line, spaces written as U+2581) with their prefix chains, "
           "instead of the synthetic one",
           ""},
          {"--weights", "", "DIR", "trained weights (weights.json + weights.bin) instead of random ones", ""},
      });
  if (!args.parse(argc, argv)) return 0;
  if (!args.positional().empty())
    fail("lagvk make-model: unexpected argument '{}' (see 'lagvk make-model --help')", args.positional()[0]);
  const auto out = args.get("--output");
  if (!out) fail("lagvk make-model: give the output file with -o FILE");

  RandomModelSpec s;
  s.arch = args.get_or("--arch", d.arch);
  const auto type_name = args.get_or("--type", "f32");
  const auto type = parse_ggml_type(type_name);
  if (!type)
    fail("lagvk make-model: unknown --type '{}' (use one of {})", type_name,
         type_names(TypeList::writable_lower));
  s.type = *type;
  s.n_layers = positive_u32(args, "--layers", d.n_layers);
  s.n_embd = positive_u32(args, "--dim", d.n_embd);
  s.n_head = positive_u32(args, "--heads", d.n_head);
  s.n_head_kv = positive_u32(args, "--kv-heads", d.n_head_kv);
  const bool encoder = s.arch == "bert" || s.arch == "nomic-bert";
  if (encoder && !args.has("--kv-heads")) s.n_head_kv = s.n_head;  // BERT has no grouped heads
  if (const auto pooling = args.get("--pooling")) {
    if (encoder) {
      if (*pooling == "mean")
        s.pooling = Pooling::mean;
      else if (*pooling == "cls")
        s.pooling = Pooling::cls;
      else
        fail("lagvk make-model: --pooling must be mean or cls for --arch {}, not '{}'", s.arch, *pooling);
    } else if (*pooling == "last") {
      s.decoder_pooling = Pooling::last;  // a decoder embedding model, as Qwen3-Embedding files are
    } else if (*pooling == "mean") {
      s.decoder_pooling = Pooling::mean;
    } else {
      fail("lagvk make-model: --pooling must be last or mean for a decoder (--arch {}), not '{}'", s.arch,
           *pooling);
    }
  }
  s.n_ff = positive_u32(args, "--ff", d.n_ff);
  // --vocab is a size, or a tokenizer.json (anything that is not a number).
  std::optional<HfTokenizer> hf;
  const std::string vocab_arg = args.get_or("--vocab", std::to_string(d.n_vocab));
  const bool vocab_is_number =
      vocab_arg.empty() || vocab_arg.find_first_not_of("0123456789") == std::string::npos;
  if (!vocab_is_number && !std::filesystem::exists(vocab_arg))
    fail("lagvk make-model: --vocab expects a vocabulary size or a tokenizer.json file, and '{}' is neither",
         vocab_arg);
  if (!vocab_is_number) {
    hf = read_hf_tokenizer(vocab_arg, args.get_or("--pre", ""));
    s.n_vocab = std::uint32_t(hf->tokens.size());
  } else {
    if (args.has("--pre")) fail("lagvk make-model: --pre needs --vocab tokenizer.json");
    s.n_vocab = positive_u32(args, "--vocab", d.n_vocab);
  }
  s.n_ctx = positive_u32(args, "--ctx", d.n_ctx);
  s.seed = args.get_uint64("--seed", d.seed);
  s.rope_freq_base = float(args.get_double("--rope-base", d.rope_freq_base, 1.0, 1e9, true));
  s.logit_std = float(args.get_double("--logit-std", d.logit_std, 0.0, 1e4, true));
  s.tied_output = args.has("--tied") || arch_traits(s.arch).tied_embeddings;
  s.rope_factors = args.has("--rope-factors");
  if (args.has("--sliding-window") && arch_traits(s.arch).swa_period == 0)
    fail("lagvk make-model: --sliding-window is for --arch gemma2 or gemma3");
  for (const char* flag : {"--attn-softcap", "--final-softcap"})
    if (args.has(flag) && !arch_traits(s.arch).logit_softcaps)
      fail("lagvk make-model: {} is for --arch gemma2", flag);
  s.sliding_window = positive_u32(args, "--sliding-window", d.sliding_window);
  s.attn_softcap = float(args.get_double("--attn-softcap", d.attn_softcap, 0.0, 1e6, true));
  s.final_softcap = float(args.get_double("--final-softcap", d.final_softcap, 0.0, 1e6, true));
  s.name = args.get_or("--name", "");
  if (const auto words = args.get("--words")) {
    if (hf) fail("lagvk make-model: give --words or --vocab FILE, not both");
    std::istringstream in(read_regular_file(*words));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) s.words.push_back(line);
    if (s.words.empty()) fail("lagvk make-model: the word list '{}' is empty", *words);
    s.n_vocab = vocabulary_size(s);
  }
  std::optional<TrainedWeights> trained;
  if (const auto dir = args.get("--weights")) {
    for (const char* flag : {"--arch", "--layers", "--dim", "--heads", "--kv-heads", "--ff", "--ctx",
                             "--tied", "--rope-base", "--rope-factors", "--vocab"})
      if (args.has(flag)) fail("lagvk make-model: {} comes from {}/weights.json with --weights", flag, *dir);
    trained = TrainedWeights::load(*dir);
    const std::uint32_t vocab = s.n_vocab;
    trained->apply_config(s);
    if (!s.words.empty() && vocab != s.n_vocab)
      fail("lagvk make-model: the weights were trained for {} tokens but --words gives {}", s.n_vocab, vocab);
    s.weights = [&trained](const std::string& name, std::size_t count) {
      return trained->tensor(name, count);
    };
  }

  check_spec(s);
  GgufWriter w = make_random_model(s);
  if (hf) write_tokenizer_metadata(w, *hf);
  w.write(*out);
  std::printf("wrote %s: %s, %u %s, dim %u, %u/%u heads, ff %u, vocab %u%s, %s%s%s\n", out->c_str(),
              s.arch.c_str(), s.n_layers, s.n_layers == 1 ? "layer" : "layers", s.n_embd, s.n_head,
              s.n_head_kv, s.n_ff, s.n_vocab, hf ? (" (" + hf->pre + " BPE)").c_str() : "",
              ggml_type_name(s.type).c_str(), s.tied_output ? ", tied output" : "",
              s.rope_factors ? ", rope factors" : "");
  return 0;
}

}  // namespace lagvk::cli
