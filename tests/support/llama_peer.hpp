// llama.cpp reference peer for tests: runs tools/peer/llama_ref.mjs (node-llama-cpp's prebuilt
// llama.cpp, installed by scripts/setup_peer.sh) in a child process and returns typed results.
// Free of other lagvk dependencies (only the standard library and nlohmann_json).
//
//   if (!lagvk::test::llama_peer_available()) GTEST_SKIP() << lagvk::test::llama_peer_unavailable_reason();
//   auto ref = lagvk::test::llama_peer_greedy(model, prompt, 32);
//   auto judged = lagvk::test::llama_peer_score(model, prompt, our_tokens);   // teacher-forced
//   for (size_t i = 0; i < our_tokens.size(); ++i)
//     EXPECT_TRUE(lagvk::test::llama_peer_accepts(judged.steps[i])) << "step " << i;
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lagvk::test {

enum class PeerBackend { cpu, vulkan };

struct PeerOptions {
  PeerBackend backend = PeerBackend::cpu;
  int ctx = 0;      // context size; 0: the script's default (tokens needed, rounded up to 256)
  int threads = 0;  // CPU threads; 0: the script's default (env LAGVK_PEER_THREADS, else all cores <= 8)
  int top = 5;      // entries in each Step::top
  double timeout_s = 600;  // the child is killed (SIGKILL) after this long
};

// One next-token distribution of llama.cpp (probabilities = softmax of the raw logits).
struct PeerStep {
  int32_t token = -1;      // greedy: the token llama.cpp picked; score: the given token (-1 after the end)
  double token_prob = 0;   // llama.cpp's probability of `token` (0 when token == -1)
  int32_t top_token = -1;  // llama.cpp's argmax
  double top_prob = 0;     // its probability
  std::vector<std::pair<int32_t, double>> top;         // best `top` entries, highest first
  std::vector<std::pair<int32_t, double>> candidates;  // score --candidates: (id, prob) in the given order
};

struct PeerGreedy {
  std::vector<int32_t> tokens;  // the n greedy tokens (EOS/EOG included; generation never stops early)
  std::vector<PeerStep> steps;  // steps[i].token == tokens[i]
  nlohmann::json raw;           // the whole JSON answer (device, warnings, eval_ms, ...)
};

struct PeerScore {
  // steps[i] is llama.cpp's distribution after prompt + continuation[0..i): steps.size() ==
  // continuation.size() + 1; the last one (token == -1) is the prediction after the whole sequence.
  std::vector<PeerStep> steps;
  nlohmann::json raw;
};

struct PeerBench {
  double prefill_tps = 0;  // median over reps of prompt_tokens / prefill time
  double decode_tps = 0;   // median over reps of gen_tokens / decode time
  double load_ms = 0;      // model load + context creation (excludes the backend/pipeline warm-up)
  std::string backend;     // "cpu" or "vulkan"
  std::string device;      // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
  nlohmann::json raw;
};

// The script failed: exit_code is its exit status (2 usage, 3 model missing, 4 llama.cpp cannot load
// the model, 5 backend unavailable, 1 other, 128+N killed by signal N, -1 could not run);
// code is the script's error code string ("usage", "model_missing", "model_load", "backend",
// "internal", or "spawn"/"signal"/"timeout"/"bad_output" from this helper).
class PeerError : public std::runtime_error {
 public:
  PeerError(int exit_code, std::string code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code), code_(std::move(code)) {}
  [[nodiscard]] int exit_code() const { return exit_code_; }
  [[nodiscard]] const std::string& code() const { return code_; }

 private:
  int exit_code_;
  std::string code_;
};

// Cheap check (no model loaded): `node` runs and tools/peer/node_modules holds node-llama-cpp and
// the prebuilt binaries for the backend. Results are cached per backend.
bool llama_peer_available(PeerBackend backend = PeerBackend::cpu);
// Why llama_peer_available(backend) is false ("" when it is true), for GTEST_SKIP().
std::string llama_peer_unavailable_reason(PeerBackend backend = PeerBackend::cpu);

// Runs `node tools/peer/llama_ref.mjs ARGS...` and returns its parsed JSON; throws PeerError.
nlohmann::json llama_peer_run(const std::vector<std::string>& args, double timeout_s = 600);

// Greedy-decodes n tokens after `prompt` (ids used exactly as given: no BOS is added).
PeerGreedy llama_peer_greedy(const std::filesystem::path& model, std::span<const int32_t> prompt, int n,
                             const PeerOptions& options = {});

// Teacher-forced evaluation of prompt + continuation in one pass (see PeerScore::steps).
PeerScore llama_peer_score(const std::filesystem::path& model, std::span<const int32_t> prompt,
                           std::span<const int32_t> continuation, std::span<const int32_t> candidates = {},
                           const PeerOptions& options = {});

struct PeerSequence {
  std::vector<int32_t> prompt;
  std::vector<int32_t> continuation;
};
// llama_peer_score for many sequences in one run of the peer (each in a fresh context); result[i]
// scores sequences[i].
std::vector<PeerScore> llama_peer_score_all(const std::filesystem::path& model,
                                            const std::vector<PeerSequence>& sequences,
                                            const PeerOptions& options = {});

// llama.cpp's tokenizer. special: text like "<s>" becomes special tokens; bos: prepend the BOS id.
// Never adds a BOS on its own.
std::vector<int32_t> llama_peer_tokenize(const std::filesystem::path& model, const std::string& text,
                                         bool special = false, bool bos = false,
                                         const PeerOptions& options = {});

// llama_peer_tokenize for many texts in one run of the peer (a run costs seconds: node and llama.cpp
// start each time); result[i] is the ids of texts[i].
std::vector<std::vector<int32_t>> llama_peer_tokenize_all(const std::filesystem::path& model,
                                                          const std::vector<std::string>& texts,
                                                          bool special = false,
                                                          const PeerOptions& options = {});

// llama.cpp's sentence embeddings (node-llama-cpp's embedding context: [CLS] text [SEP] for a bert
// model, pooled as the file says), each scaled to unit length; result[i] is that of texts[i] (non-empty).
std::vector<std::vector<float>> llama_peer_embed_all(const std::filesystem::path& model,
                                                     const std::vector<std::string>& texts,
                                                     const PeerOptions& options = {});

struct PeerMessage {
  std::string role;
  std::string content;
};
struct PeerChat {
  std::string text;             // the conversation rendered by the GGUF's Jinja template
  std::vector<int32_t> tokens;  // llama.cpp's tokens of `text`, special-token text parsed
};
// Renders each conversation with the model's own tokenizer.chat_template (Jinja, through the engine
// node-llama-cpp applies GGUF templates with) and tokenizes it with llama.cpp; one peer run for all.
std::vector<PeerChat> llama_peer_chat(const std::filesystem::path& model,
                                      const std::vector<std::vector<PeerMessage>>& conversations,
                                      bool add_generation_prompt = true, const PeerOptions& options = {});

PeerBench llama_peer_bench(const std::filesystem::path& model, int prompt_tokens, int gen_tokens,
                           int reps = 3, const PeerOptions& options = {});

// The agreement rule for one step: our token is acceptable when llama.cpp gives it at least
// `ratio` times its top probability (always true when it is llama.cpp's argmax).
inline bool llama_peer_accepts(const PeerStep& step, double ratio = 0.8) {
  return step.token == step.top_token || step.token_prob >= ratio * step.top_prob;
}

}  // namespace lagvk::test
