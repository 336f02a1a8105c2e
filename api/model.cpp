// Loading and freeing models, and what a loaded model is. lagvk_model_params_default reads
// lagvk::LoadOptions{} so the C API, the CLI and the engine share one definition of each default.

#include "api/model_access.hpp"

namespace lagvk::api {
namespace {

constexpr std::uint32_t kMaxBatch = 1u << 16;  ///< prompt tokens per forward pass: far beyond any use
constexpr std::uint32_t kMaxParallel = 256;    ///< generations at once: far beyond what a device batches well

LoadOptions load_options(const std::string& path, const lagvk_model_params& p) {
  if (p.device < -1)
    fail(Errc::invalid_argument, "device index {} is invalid: use -1 or a device index", p.device);
  if (p.page_tokens == 0) fail(Errc::invalid_argument, "page_tokens must be at least 1");
  if (p.max_batch == 0 || p.max_batch > kMaxBatch)
    fail(Errc::invalid_argument, "max_batch is {}: it must be from 1 to {}", p.max_batch, kMaxBatch);
  if (p.context_tokens > kMaxContextTokens)
    fail(Errc::invalid_argument, "context_tokens is {}: at most {} are supported", p.context_tokens,
         kMaxContextTokens);
  LoadOptions o;
  o.device = p.device;
  o.context = p.context_tokens;
  o.page_tokens = p.page_tokens;
  o.max_batch = p.max_batch;
  if (p.n_parallel == 0 || p.n_parallel > kMaxParallel)
    fail(Errc::invalid_argument, "n_parallel is {}: it must be from 1 to {}", p.n_parallel, kMaxParallel);
  if (p.n_parallel > p.max_batch)
    fail(Errc::invalid_argument, "n_parallel is {} but max_batch is {}: a pass must hold every slot's token",
         p.n_parallel, p.max_batch);
  // Each slot keeps a context; one more is for the calls that run one at a time.
  o.sequences = p.n_parallel > 1 ? p.n_parallel + 1 : 1;
  if (p.progress) {
    o.progress = [&p, path](std::uint64_t done, std::uint64_t total) {
      // Thrown out of the weight upload: everything made so far is released by its owner.
      if (p.progress(p.progress_user_data, done, total) != 0)
        fail(Errc::cancelled, "loading '{}' was cancelled by the progress callback", path);
    };
  }
  return o;
}

void describe(lagvk_model& m) {
  const Engine& e = *m.engine;
  const ModelConfig& c = e.model().config();
  m.architecture = c.arch;
  m.name = c.name;
  m.chat_format = std::string(chat_format_name(e.chat_template().format));
  m.device_name = m.engine->context().info().name;
  lagvk_model_info& i = m.info;
  i.architecture = m.architecture.c_str();
  i.name = m.name.c_str();
  i.chat_format = m.chat_format.c_str();
  i.device_name = m.device_name.c_str();
  i.vocab_size = c.n_vocab;
  i.layers = c.n_layers;
  i.embedding_size = c.n_embd;
  i.heads = c.n_head;
  i.kv_heads = c.n_head_kv;
  i.head_dim = c.head_dim;
  i.context_tokens = e.context_tokens();
  i.trained_context = c.n_ctx_train;
  i.bos_token = e.tokenizer().bos();
  i.eos_token = e.tokenizer().eos();
  i.weight_bytes = m.engine->weight_bytes();
  i.load_ms = e.load_ms();
}

/// Deletes a model whose handle is already unregistered.
void destroy(lagvk_model* model) {
  delete model;
}

}  // namespace

void retain_model(lagvk_model* model) {
  ++model->open_stores;
}

void release_model(lagvk_model* model) {
  bool last = false;
  {
    const std::lock_guard guard(model->lock);
    last = --model->open_stores == 0 && model->freed;
  }
  if (last) destroy(model);
}

}  // namespace lagvk::api

using namespace lagvk;

extern "C" {

lagvk_model_params lagvk_model_params_default(void) {
  const LoadOptions d{};
  lagvk_model_params p{};
  p.device = d.device;
  p.context_tokens = d.context;
  p.page_tokens = d.page_tokens;
  p.max_batch = d.max_batch;
  p.n_parallel = 1;
  p.progress = nullptr;
  p.progress_user_data = nullptr;
  return p;
}

lagvk_status lagvk_model_load(const char* path, const lagvk_model_params* params, lagvk_model** out) {
  return api::guarded([&] {
    api::clear_output(out);
    api::require(path, "path");
    api::require(params, "params");
    auto model = std::make_unique<lagvk_model>();
    model->engine = Engine::load(path, api::load_options(path, *params));
    if (params->n_parallel > 1 && !model->engine->is_embedding_model())
      model->batched = std::make_unique<BatchedGenerator>(*model->engine, params->n_parallel, model->lock);
    api::describe(*model);
    *out = api::adopt(std::move(model));
  });
}

void lagvk_model_free(lagvk_model* model) {
  if (!api::is_live(model, api::HandleKind::model)) return;
  bool now = false;
  {
    // Waits for a call running in another thread; stores keep the model until the last one closes.
    const std::lock_guard guard(model->lock);
    api::unregister_handle(model);
    model->freed = true;
    now = model->open_stores == 0;
  }
  if (now) api::destroy(model);
}

const lagvk_model_info* lagvk_model_get_info(const lagvk_model* model) {
  // The info is written once at load and never changes: reading it needs no lock.
  if (!api::is_live(model, api::HandleKind::model)) return nullptr;
  return &model->info;
}

}  // extern "C"
