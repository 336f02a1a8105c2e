#include "engine/augment/coprocessor_file.hpp"

#include <cmath>
#include <cstring>

#include <fmt/ranges.h>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"
#include "engine/model/gguf_writer.hpp"

namespace lagvk::augment {

CoprocessorCard read_coprocessor_card(const Model& model) {
  const GgufFile& file = model.gguf();
  const std::string& path = file.path();
  const auto missing = [&](std::string_view what) {
    fail(
        Errc::bad_model_file,
        "'{}' is not a cache-augmentation coprocessor: it lacks {} (a coprocessor is its decoder's GGUF with "
        "soft tokens and the decoder's name; make one with 'lagvk coprocessor make' or tools/train)",
        path, what);
  };
  CoprocessorCard card;
  const auto name = file.get_string_opt(kDecoderNameKey);
  const auto hash = file.get_string_opt(kDecoderHashKey);
  const auto latents = file.get_u32_opt(kLatentsKey);
  if (!hash) missing(kDecoderHashKey);
  if (!latents) missing(kLatentsKey);
  card.decoder_name = name.value_or("");
  card.decoder_hash = *hash;
  card.latents = *latents;
  if (card.latents == 0 || card.latents > kMaxLatents)
    fail(Errc::bad_model_file, "'{}': {} is {}; a coprocessor has 1 to {} latents", path, kLatentsKey,
         card.latents, kMaxLatents);
  const GgufTensorInfo* info = file.find_tensor(kSoftTokensTensor);
  if (info == nullptr) missing(fmt::format("the tensor {}", kSoftTokensTensor));
  const std::uint64_t dim = model.config().n_embd;
  if (info->type != GgmlType::f32 || info->dims.size() != 2 || info->dims[0] != dim ||
      info->dims[1] != card.latents)
    fail(Errc::bad_model_file,
         "'{}': tensor {} is {} [{}]; this coprocessor needs F32 [{}, {}] (width x latents)", path,
         kSoftTokensTensor, ggml_type_name(info->type), fmt::join(info->dims, ", "), dim, card.latents);
  const auto bytes = file.tensor_data(*info);
  card.soft_tokens.resize(std::size_t(dim) * card.latents);
  if (bytes.size() != card.soft_tokens.size() * sizeof(float))
    fail(Errc::bad_model_file, "'{}': tensor {} holds {} bytes, not {}", path, kSoftTokensTensor,
         bytes.size(), card.soft_tokens.size() * sizeof(float));
  std::memcpy(card.soft_tokens.data(), bytes.data(), bytes.size());
  for (float v : card.soft_tokens)
    if (!std::isfinite(v))
      fail(Errc::bad_model_file, "'{}': tensor {} holds a value that is not finite", path, kSoftTokensTensor);
  return card;
}

namespace {

/// A trained tensor's values in the type its decoder tensor has.
std::vector<std::uint8_t> trained_bytes(const TrainedWeights& trained, const GgufTensorInfo& t) {
  const std::vector<float> values = trained.tensor(t.name, std::size_t(t.n_elements));
  std::vector<std::uint8_t> bytes;
  if (t.type == GgmlType::f32) {
    bytes.resize(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
  } else if (t.type == GgmlType::f16) {
    const std::vector<half_bits> halves = to_half(values);
    bytes.resize(halves.size() * sizeof(half_bits));
    std::memcpy(bytes.data(), halves.data(), bytes.size());
  } else {
    fail(Errc::unsupported_model,
         "the decoder's tensor {} is {}: write trained coprocessors from an F16 or F32 decoder (quantize the "
         "coprocessor afterwards)",
         t.name, ggml_type_name(t.type));
  }
  return bytes;
}

}  // namespace

void write_coprocessor(const GgufFile& decoder, std::string_view decoder_hash,
                       std::span<const float> soft_tokens, const std::string& path,
                       const TrainedWeights* trained) {
  const std::uint32_t dim = decoder.get_u32(decoder.get_string("general.architecture") + ".embedding_length");
  if (soft_tokens.empty() || soft_tokens.size() % dim != 0)
    fail(Errc::invalid_argument, "{} soft-token values are not whole embeddings of width {}",
         soft_tokens.size(), dim);
  const auto latents = std::uint32_t(soft_tokens.size() / dim);
  if (latents > kMaxLatents)
    fail(Errc::invalid_argument, "{} latents exceed the most a coprocessor may have, {}", latents,
         kMaxLatents);
  GgufWriter writer;
  for (const auto& [key, value] : decoder.metadata()) writer.set(key, value);
  writer.set_string(kDecoderNameKey, decoder.get_string_opt("general.name").value_or(""));
  writer.set_string(kDecoderHashKey, std::string(decoder_hash));
  writer.set_u32(kLatentsKey, latents);
  for (const auto& t : decoder.tensors()) {
    if (t.name == kSoftTokensTensor) continue;  // a coprocessor made from a coprocessor: new soft tokens
    writer.add_tensor_producer(t.name, t.dims, t.type, [&decoder, &t, trained] {
      if (trained != nullptr) return trained_bytes(*trained, t);
      const auto data = decoder.tensor_data(t);
      return std::vector<std::uint8_t>(data.begin(), data.end());
    });
  }
  std::vector<std::uint8_t> bytes(soft_tokens.size() * sizeof(float));
  std::memcpy(bytes.data(), soft_tokens.data(), bytes.size());
  writer.add_tensor(kSoftTokensTensor, {dim, latents}, GgmlType::f32, std::move(bytes));
  writer.write(path);
}

}  // namespace lagvk::augment
