// libFuzzer target: a GGUF file as `lagvk model-info` reads it, without a GPU. The reader parses the
// bytes; then everything model-info derives from them: metadata rendering, tensor sizes, the model
// checks (configuration and every weight view), the tokenizer and a short encode/decode, the chat
// template. Bad input must end in lagvk::Error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace lagvk;

void describe(const GgufFile& file) {
  std::uint64_t bytes = 0;
  for (const auto& t : file.tensors()) {
    bytes += t.n_bytes;
    (void)ggml_type_name(t.type);
    (void)file.tensor_data(t);
  }
  for (const auto& [key, value] : file.metadata()) (void)value.to_display_string();
  (void)bytes;
}

void check_model(const std::uint8_t* data, std::size_t size) {
  // Model::from_gguf takes the file by value; parse a second copy as `lagvk model-info` opens twice.
  const auto model = Model::from_gguf(GgufFile::from_bytes({data, data + size}, "fuzz.gguf"));
  const auto& weights = model.weights();
  (void)weights.token_embd.n_elements();
  (void)model.config().rope_params();
}

void check_tokenizer(const GgufFile& file) {
  const auto tokenizer = make_tokenizer(file);
  const auto ids = tokenizer->encode("Hello world <s> 123 \xc3\xa9", true, true);
  (void)tokenizer->decode(ids, true);
  for (std::size_t id = 0; id < tokenizer->vocab_size() && id < 64; ++id)
    (void)tokenizer->token_to_piece(std::int32_t(id), true);
}

void check_chat_template(const GgufFile& file) {
  const auto tmpl = detect_chat_template(file);
  const std::vector<ChatMessage> chat = {{"system", "be brief"}, {"user", "hi"}, {"assistant", "hello"}};
  (void)render_chat(tmpl, chat, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::expect_only_lagvk_errors([&] {
    const auto file = GgufFile::from_bytes({data, data + size}, "fuzz.gguf");
    describe(file);
    fuzz::expect_only_lagvk_errors([&] { check_model(data, size); });
    fuzz::expect_only_lagvk_errors([&] { check_tokenizer(file); });
    fuzz::expect_only_lagvk_errors([&] { check_chat_template(file); });
  });
  return 0;
}
