// The C API's lagvk_react: the general ReAct agent (engine/lag/react_agent.hpp) on a store's model and
// logs, with the tools `lagvk ask --react` gives it (the search tool over a passage file, external
// programs), its result as JSON.
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "api/coprocessor_handle.hpp"
#include "api/log_mode.hpp"
#include "api/model_access.hpp"
#include "api/status.hpp"
#include "api/store_handle.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/react_agent.hpp"

namespace lagvk::api {

namespace {

nlohmann::json result_json(const lag::AgentResult& r, std::optional<lag::LogId> saved) {
  nlohmann::json steps = nlohmann::json::array(), logs = nlohmann::json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"output", s.output},
                     {"action", s.call ? nlohmann::json(s.call->name) : nlohmann::json(nullptr)},
                     {"input", s.call && !s.call->args.empty() ? nlohmann::json(s.call->args[0])
                                                               : nlohmann::json(nullptr)},
                     {"observation", s.observation}});
  for (const auto& l : r.logs) logs.push_back({{"id", l.id}, {"task", l.task}, {"score", l.score}});
  return {{"answer", r.answer ? nlohmann::json(*r.answer) : nlohmann::json(nullptr)},
          {"steps", steps},
          {"logs", logs},
          {"saved_log", saved ? nlohmann::json(*saved) : nlohmann::json(nullptr)},
          {"latents", r.latents}};
}

}  // namespace

}  // namespace lagvk::api

namespace api = lagvk::api;
namespace lag = lagvk::lag;

extern "C" {

lagvk_react_params lagvk_react_params_default(void) {
  const lag::ReactOptions defaults;
  lagvk_react_params p{};
  p.mode = LAGVK_LOGS_KV;
  p.retrieve = lagvk_retrieve_params_default();
  p.retrieve.k = defaults.logs_per_query;
  p.max_logs = defaults.max_logs;
  p.max_steps = defaults.max_steps;
  p.max_step_tokens = defaults.max_step_tokens;
  p.tool_timeout_ms = std::uint32_t(lag::ExternalToolLimits{}.timeout.count());
  p.selection = LAGVK_SELECT_LAST;
  p.coprocessor = nullptr;
  p.latents = defaults.augmentation.latents;
  p.augment_at =
      defaults.augmentation.at == lag::AugmentAt::prompt ? LAGVK_AUGMENT_PROMPT : LAGVK_AUGMENT_EACH_STEP;
  return p;
}

lagvk_status lagvk_react(lagvk_store* store, const char* question, const lagvk_react_params* params,
                         char** result_json) {
  if (result_json) *result_json = nullptr;
  return api::guarded([&] {
    api::checked_store(store);
    api::require(question, "question");
    api::require(result_json, "result_json");
    const lagvk_react_params p = *api::require(params, "params");
    if (p.tools == nullptr && p.n_tools > 0)
      lagvk::fail(lagvk::Errc::invalid_argument, "n_tools is {} but tools is NULL", p.n_tools);
    if (p.max_steps == 0 || p.max_step_tokens == 0 || p.tool_timeout_ms == 0)
      lagvk::fail(lagvk::Errc::invalid_argument,
                  "max_steps, max_step_tokens and tool_timeout_ms must be at least 1");
    // The tools first: a bad one fails before anything runs.
    lag::ExternalToolLimits limits;
    limits.timeout = std::chrono::milliseconds(p.tool_timeout_ms);
    std::unique_ptr<lag::DocCollection> docs;
    std::vector<lag::AgentTool> tools;
    if (p.docs_path) {
      docs = std::make_unique<lag::DocCollection>(lag::DocCollection::load(p.docs_path));
      tools.push_back(lag::search_tool(*docs));
    }
    for (std::size_t i = 0; i < p.n_tools; ++i) {
      if (p.tools[i] == nullptr) lagvk::fail(lagvk::Errc::invalid_argument, "tools[{}] is NULL", i);
      const auto spec = lag::parse_external_tool_spec(p.tools[i]);
      for (const auto& t : tools)
        if (t.name == spec.name)
          lagvk::fail(lagvk::Errc::invalid_argument, "tools[{}]: a tool named {} is already given", i,
                      spec.name);
      tools.push_back(lag::external_tool(spec, limits));
    }
    if (tools.empty())
      lagvk::fail(lagvk::Errc::invalid_argument, "lagvk_react: give the agent a tool (docs_path or tools)");
    if (p.save) api::require_writable(*store, "lagvk_react with save");
    const lag::Selection selection = api::selection_of(p.selection);
    if (p.augment_at != LAGVK_AUGMENT_EACH_STEP && p.augment_at != LAGVK_AUGMENT_PROMPT)
      lagvk::fail(lagvk::Errc::invalid_argument,
                  "augment_at {} is not a lagvk_augment_at (EACH_STEP or PROMPT)", int(p.augment_at));

    api::ModelLocks locks(*store);
    lagvk::Engine& engine = *store->model->engine;
    std::vector<std::string> tags;
    const auto library = api::library_for(*store, p.retrieve, tags);
    lag::ReactOptions o;
    o.mode = api::log_mode_of(p.mode);
    o.logs_per_query = p.retrieve.k;
    o.max_logs = p.max_logs;
    o.max_steps = p.max_steps;
    o.max_step_tokens = p.max_step_tokens;
    o.augmentation.coprocessor = api::coprocessor_for(p.coprocessor, store->model, p.latents, "lagvk_react");
    o.augmentation.latents = p.latents;
    o.augmentation.at =
        p.augment_at == LAGVK_AUGMENT_PROMPT ? lag::AugmentAt::prompt : lag::AugmentAt::each_step;
    auto r = lag::run_react_agent(engine, library.get(), question, tools, o);
    std::optional<lag::LogId> saved;
    if (p.save && r.answer) {  // an unanswered task is not kept (as lagvk ask --save)
      r.trace.tags = tags;
      auto log = lag::encode_trace(engine, r.trace, selection);
      lag::index_log(*store->store, log,
                     lag::embedder_for_new_logs(*store->store, engine, store->embedder, false));
      saved = lag::store_log(*store->store, log);
    }
    const std::string text =
        api::result_json(r, saved).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (!out) lagvk::fail(lagvk::Errc::out_of_host_memory, "no memory for lagvk_react's result");
    std::memcpy(out, text.c_str(), text.size() + 1);
    *result_json = out;
  });
}

void lagvk_string_free(char* text) {
  std::free(text);
}

}  // extern "C"
