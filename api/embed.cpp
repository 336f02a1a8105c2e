// Embeddings: the vector dense retrieval uses (lag::embed_text), written to the caller's buffer.
#include <algorithm>

#include "api/model_access.hpp"
#include "engine/lag/text_embedding.hpp"

using namespace lagvk;

extern "C" {

lagvk_status lagvk_embed(lagvk_model* model, const char* text, size_t len, float* vector, size_t capacity,
                         size_t* dim) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    api::require(text, "text");
    api::require(dim, "dim");
    if (vector == nullptr && capacity > 0)
      throw Error(Errc::invalid_argument, "vector is NULL but capacity is not 0");
    if (len == 0) throw Error(Errc::invalid_argument, "text is empty: there is nothing to embed");
    const std::size_t need = m.handle().info.embedding_size;
    *dim = need;
    if (capacity < need)
      return api::set_error(
          LAGVK_ERROR_BUFFER_TOO_SMALL,
          fmt::format("the embedding has {} values but the buffer holds {}", need, capacity));
    const std::string t(text, len);
    // lag::embed_text tokenizes the same way; a text the context cannot hold is the caller's to shorten.
    const Tokenizer& tok = m.engine().tokenizer();
    const std::size_t tokens = tok.encode(t, tok.add_bos_by_default(), false).size();
    if (tokens > m.engine().context_tokens())
      fail(Errc::context_full, "the text has {} tokens but the context holds {}", tokens,
           m.engine().context_tokens());
    const std::vector<float> v = lag::embed_text(m.engine(), t);
    if (v.size() != need)
      fail(Errc::internal, "the embedding has {} values, not the model's {}", v.size(), need);
    std::copy(v.begin(), v.end(), vector);
    return LAGVK_OK;
  });
}

}  // extern "C"
