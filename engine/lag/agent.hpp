#pragma once
// The ReAct-style agent loop of the LAG paper. Each step the model writes one line after "Assistant:"
// — a thought with an action ("Action: lookup(relation, entity)") or a final "Answer: ...". The host
// runs the tool and appends its result as a Tool message. Logs are retrieved with the question and with
// each step's output as the query (each query adds its k best logs not yet taken), and every step runs
// on a context of [retrieved logs..., transcript so far] assembled in the chosen log mode.
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/lag/context_builder.hpp"
#include "engine/lag/log_budget.hpp"
#include "engine/lag/tools.hpp"
#include "engine/lag/trace.hpp"
#include "engine/lag/turn_augmentation.hpp"

namespace lagvk::lag {

struct AgentOptions {
  std::uint32_t max_steps = 6;
  std::uint32_t max_step_tokens = 48;
  std::uint32_t logs_per_query = RetrievalDefaults::logs_per_query;  ///< k
  std::uint32_t max_logs =
      RetrievalDefaults::max_logs;  ///< at most this many logs in the context (0: no cap)
  LogMode mode = LogMode::kv;
  TurnAugmentation augmentation;
  SamplerParams sampling = [] {
    SamplerParams p;
    p.temperature = 0.0f;  // greedy: evaluations and demos are reproducible
    return p;
  }();
};

struct AgentStep {
  std::string output;  ///< what the model wrote
  std::optional<ToolCall> call;
  std::string observation;
  std::vector<RetrievedLog> new_logs;  ///< logs this step's query added
  double time_to_first_token_ms = 0;
};

struct AgentResult {
  std::optional<std::string> answer;
  std::vector<AgentStep> steps;
  std::vector<RetrievedLog> logs;   ///< every log retrieved, in context order
  std::vector<SkippedLog> skipped;  ///< retrieved logs left out of the context (damaged, too long), once each
  Trace trace;                      ///< the finished task (user, assistant and tool messages)
  std::uint32_t context_tokens = 0;
  std::uint32_t latents = 0;  ///< cache-augmentation latents appended over all its turns
};

/// Adds to `all` the `logs_per_query` best logs for `query` not in `taken` (the paper's per-step retrieval,
/// accumulating), stopping at `max_logs` in all (0: no cap); those added are also appended to `added`.
void add_retrieved_logs(LogLibrary* library, const std::string& query, LogMode mode,
                        std::uint32_t logs_per_query, std::uint32_t max_logs, std::set<LogId>& taken,
                        std::vector<RetrievedLog>& all, std::vector<RetrievedLog>* added);

/// One turn of an agent loop: the logs `result` has gathered (placed in `mode`), the transcript, then
/// `turn_start` (tokens the host begins the model's turn with), and the model's continuation. Records the
/// logs left out and the context's length in `result`; nullopt when the transcript no longer fits the
/// context (the task then ends unanswered, as at a step limit).
struct AgentTurn {
  GenerateResult out;
  double time_to_first_token_ms = 0;  ///< placing the logs and the prompt (and latents), then the first token
  std::uint32_t latents = 0;          ///< latents the coprocessor appended before the model wrote
};
/// With `augmentation` (null: none), the coprocessor's latents follow the prompt before the model writes;
/// a turn whose latents do not fit the context runs without them.
[[nodiscard]] std::optional<AgentTurn> run_agent_turn(Engine& engine, LogLibrary* library, LogMode mode,
                                                      const std::vector<Message>& messages,
                                                      std::span<const std::int32_t> turn_start,
                                                      const GenerateOptions& gen, AgentResult& result,
                                                      const TurnAugmentation* augmentation = nullptr);

/// Runs the loop for `question`. `library` may be null (no logs). Tools are looked up by name; an unknown
/// tool or bad arguments come back to the model as an observation, not an exception.
[[nodiscard]] AgentResult run_agent(Engine& engine, LogLibrary* library, const std::string& question,
                                    const std::vector<const Tool*>& tools, const AgentOptions& options);

}  // namespace lagvk::lag
