#include "engine/lag/embedder.hpp"

#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/text_embedding.hpp"
#include "engine/model/pooling.hpp"

namespace lagvk::lag {

TextEmbedder TextEmbedder::generator(Engine& generator) {
  return TextEmbedder(generator, logstore::EmbedderFingerprint{});
}

TextEmbedder TextEmbedder::model(Engine& embedding_model) {
  return TextEmbedder(embedding_model, embedder_fingerprint(embedding_model));
}

std::vector<float> TextEmbedder::embed(const std::string& text) const {
  std::vector<float> v = embed_text(*engine_, text);
  if (fingerprint_.kind == logstore::EmbedderFingerprint::kModel) l2_normalize(v);
  return v;
}

std::optional<TextEmbedder> embedder_for_new_logs(logstore::Store& store, Engine& generator,
                                                  const std::optional<TextEmbedder>& chosen, bool requested) {
  if (!chosen && !requested && !store.embedder()) return std::nullopt;
  TextEmbedder e = chosen ? *chosen : TextEmbedder::generator(generator);
  store.check_embedder(e.fingerprint());
  return e;
}

void embed_log(EncodedLog& log, const TextEmbedder& embedder) {
  log.embedding = embedder.embed(log.record.retrieval_text);
  log.embedder = embedder.fingerprint();
}

void index_log(const logstore::Store& store, EncodedLog& log, const std::optional<TextEmbedder>& embedder) {
  log.record.retrieval_text = log.record.task;
  if (store.index_text() == logstore::IndexText::task_and_response) {
    const nlohmann::json* last = nullptr;
    for (const auto& m : log.record.trace)
      if (m.value("role", "") == "assistant") last = &m;
    if (last) log.record.retrieval_text += "\n" + last->value("content", "");
  }
  if (embedder) embed_log(log, *embedder);
}

}  // namespace lagvk::lag
