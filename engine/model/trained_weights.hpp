#pragma once
// Weights trained outside lagvk (tools/train/train.py) in the plain form the trainer writes:
//   DIR/weights.json  {"format": "lagvk-weights-1", "config": {...}, "tensors": {NAME: {"shape": [ne0, ...],
//                      "offset": BYTES}}}   names and shapes as GGUF has them (ne0 = row length)
//   DIR/weights.bin   the tensors as little-endian float32
// `lagvk make-model --weights DIR` turns them into a GGUF file with the project's own writer.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/model/random_model.hpp"

namespace lagvk {

class TrainedWeights {
 public:
  /// Reads and checks both files (every tensor inside weights.bin); errors name the file and problem.
  [[nodiscard]] static TrainedWeights load(const std::string& dir);

  /// The model shape from config (arch, layers, dim, heads, kv heads, ff, vocab, ctx, rope base, eps, tied).
  void apply_config(RandomModelSpec& spec) const;
  /// The values of one tensor; fails when the name is missing or its element count differs.
  [[nodiscard]] std::vector<float> tensor(const std::string& name, std::size_t count) const;
  /// A tensor's shape as weights.json gives it (ne0 first); fails when the name is missing.
  [[nodiscard]] std::vector<std::uint64_t> shape(const std::string& name) const;
  [[nodiscard]] std::size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Entry {
    std::vector<std::uint64_t> shape;
    std::uint64_t offset = 0, count = 0;
  };
  std::string dir_;
  std::string config_json_;
  std::map<std::string, Entry> tensors_;
  std::vector<float> data_;
};

}  // namespace lagvk
