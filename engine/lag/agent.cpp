#include "engine/lag/agent.hpp"

#include <algorithm>
#include <set>

#include "engine/lag/log_budget.hpp"

namespace lagvk::lag {

void add_retrieved_logs(LogLibrary* library, const std::string& query, LogMode mode,
                        std::uint32_t logs_per_query, std::uint32_t max_logs, std::set<LogId>& taken,
                        std::vector<RetrievedLog>& all, std::vector<RetrievedLog>* added) {
  if (!library || mode == LogMode::none || logs_per_query == 0 || query.empty()) return;
  for (auto& log : library->retrieve(query, logs_per_query, taken)) {
    if (max_logs && all.size() >= max_logs) break;
    taken.insert(log.id);
    all.push_back(log);
    if (added) added->push_back(log);
  }
}

std::optional<AgentTurn> run_agent_turn(Engine& engine, LogLibrary* library, LogMode mode,
                                        const std::vector<Message>& messages,
                                        std::span<const std::int32_t> turn_start, const GenerateOptions& gen,
                                        AgentResult& result, const TurnAugmentation* augmentation) {
  auto prompt = render_prompt(messages, engine.tokenizer(), &engine.chat_template());
  prompt.insert(prompt.end(), turn_start.begin(), turn_start.end());
  // A transcript that has outgrown the context ends the task unanswered, as a step limit would: one
  // long task must not abort an evaluation or a session of many.
  if (prompt.size() + 1 >= engine.context_tokens()) return std::nullopt;
  // The context budget: the transcript and the step first; logs that do not fit beside them go, lowest
  // score first.
  std::vector<SkippedLog> dropped;
  const std::vector<LogId> ids =
      library ? fit_logs(engine, *library, result.logs, mode, prompt.size(), gen.max_tokens, dropped)
              : std::vector<LogId>{};
  BuiltContext ctx = build_context(engine, library, ids, mode, prompt);
  ctx.skipped.insert(ctx.skipped.begin(), dropped.begin(), dropped.end());
  for (auto& skipped : ctx.skipped)
    if (std::none_of(result.skipped.begin(), result.skipped.end(),
                     [&](const SkippedLog& s) { return s.id == skipped.id; }))
      result.skipped.push_back(std::move(skipped));
  const AppliedAugmentation augmented =
      augmentation != nullptr ? augment_context(ctx, *augmentation) : AppliedAugmentation{};
  AgentTurn turn{generate_from(engine, *ctx.sequence, std::move(ctx.logits), ctx.next_position, gen), 0.0,
                 augmented.latents};
  turn.time_to_first_token_ms =
      ctx.logs_ms + ctx.suffix_ms + augmented.ms + turn.out.timings.time_to_first_token_ms;
  result.context_tokens = ctx.sequence->length();
  return turn;
}

AgentResult run_agent(Engine& engine, LogLibrary* library, const std::string& question,
                      const std::vector<const Tool*>& tools, const AgentOptions& options) {
  AgentResult result;
  result.trace.task = question;
  std::vector<Message>& messages = result.trace.messages;
  messages.push_back({"user", question});
  std::set<LogId> taken;
  add_retrieved_logs(library, question, options.mode, options.logs_per_query, options.max_logs, taken,
                     result.logs, nullptr);

  GenerateOptions gen;
  gen.max_tokens = options.max_step_tokens;
  gen.sampling = options.sampling;
  gen.stop_strings = {"\n"};  // one step is one line

  for (std::uint32_t step = 0; step < options.max_steps; ++step) {
    const auto turn = run_agent_turn(engine, library, options.mode, messages, {}, gen, result,
                                     options.augmentation.applies(step) ? &options.augmentation : nullptr);
    if (!turn) break;
    const GenerateResult& out = turn->out;
    result.latents += turn->latents;

    AgentStep s;
    // The model writes its line after "Assistant:" with a leading space; the message content is the line
    // itself (the rendering adds that space back), or the next prompt would hold two.
    s.output = out.text.substr(0, out.text.find('\n'));
    s.output.erase(0, s.output.find_first_not_of(" \t"));
    s.output.erase(s.output.find_last_not_of(" \t\r") + 1);
    s.time_to_first_token_ms = turn->time_to_first_token_ms;
    messages.push_back({"assistant", s.output});
    if (auto answer = parse_answer(s.output)) {
      result.answer = answer;
      result.steps.push_back(std::move(s));
      break;
    }
    s.call = parse_tool_call(s.output);
    if (s.call) {
      s.observation = "unknown tool '" + s.call->name + "'";
      for (const Tool* t : tools)
        if (t->name() == s.call->name) s.observation = t->call(s.call->args);
    } else {
      s.observation = "no action: write Action: lookup(relation, entity) or Answer: ...";
    }
    messages.push_back({"tool", s.observation});
    // The step's query: what the action looks up (its arguments), else what the step says.
    std::string query;
    if (s.call)
      for (const auto& a : s.call->args) query += (query.empty() ? "" : " ") + a;
    add_retrieved_logs(library, query.empty() ? s.output : query, options.mode, options.logs_per_query,
                       options.max_logs, taken, result.logs, &s.new_logs);
    result.steps.push_back(std::move(s));
  }
  return result;
}

}  // namespace lagvk::lag
