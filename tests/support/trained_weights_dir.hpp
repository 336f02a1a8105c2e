#pragma once
// Trained weights as tools/train writes them (weights.json and weights.bin, read by
// engine/model/trained_weights.hpp), for tests of `make-model --weights` and TrainedWeights.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/model/random_model.hpp"

namespace lagvk::test {

/// Value of element `index` of tensor `name`; `offset` is its element index in weights.bin.
using WeightValue = std::function<float(const std::string& name, std::uint64_t index, std::uint64_t offset)>;

/// Writes a tied llama of `spec`'s shape, context, rope base and epsilon into `dir` (created). With
/// `drop_bytes`, weights.bin ends that many bytes short (a truncated file).
void write_trained_weights(const std::filesystem::path& dir, const RandomModelSpec& spec,
                           const WeightValue& value, std::size_t drop_bytes = 0);

}  // namespace lagvk::test
