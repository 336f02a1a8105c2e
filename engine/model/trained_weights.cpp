#include "engine/model/trained_weights.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"

namespace lagvk {

namespace {

std::string read_all(const std::string& path) {
  return read_regular_file(path);
}

}  // namespace

TrainedWeights TrainedWeights::load(const std::string& dir) {
  TrainedWeights t;
  t.dir_ = dir;
  const std::string meta_path = dir + "/weights.json", bin_path = dir + "/weights.bin";
  const auto j = nlohmann::json::parse(read_all(meta_path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "lagvk-weights-1" ||
      !j.contains("config") || !j["config"].is_object() || !j.contains("tensors") ||
      !j["tensors"].is_object())
    fail("'{}' is not a lagvk-weights-1 file (an object with format, config and tensors)", meta_path);
  t.config_json_ = j["config"].dump();
  const std::string bin = read_all(bin_path);
  if (bin.size() % 4 != 0)
    fail("'{}' holds {} bytes, not a whole number of float32 values", bin_path, bin.size());
  t.data_.resize(bin.size() / 4);
  std::memcpy(t.data_.data(), bin.data(), bin.size());
  for (const auto& [name, e] : j["tensors"].items()) {
    if (!e.is_object() || !e.contains("shape") || !e["shape"].is_array() || !e.contains("offset") ||
        !e["offset"].is_number_unsigned())
      fail("'{}': tensor {} needs a shape array and a byte offset", meta_path, name);
    Entry entry;
    entry.count = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() == 0)
        fail("'{}': tensor {} has a bad dimension {}", meta_path, name, d.dump());
      entry.shape.push_back(d.get<std::uint64_t>());
      entry.count *= entry.shape.back();
    }
    entry.offset = e["offset"].get<std::uint64_t>();
    if (entry.offset % 4 != 0 || entry.offset / 4 + entry.count > t.data_.size())
      fail("'{}': tensor {} ({} values at byte {}) lies outside '{}' ({} bytes)", meta_path, name,
           entry.count, entry.offset, bin_path, bin.size());
    t.tensors_[name] = std::move(entry);
  }
  return t;
}

void TrainedWeights::apply_config(RandomModelSpec& s) const {
  const auto c = nlohmann::json::parse(config_json_);
  auto u32 = [&](const char* key) {
    if (!c.contains(key) || !c[key].is_number_unsigned())
      fail("'{}/weights.json': config needs a positive integer '{}'", dir_, key);
    return c[key].get<std::uint32_t>();
  };
  s.arch = c.value("arch", "llama");
  s.n_layers = u32("n_layers");
  s.n_embd = u32("n_embd");
  s.n_head = u32("n_head");
  s.n_head_kv = u32("n_head_kv");
  s.n_ff = u32("n_ff");
  s.n_vocab = u32("n_vocab");
  s.n_ctx = u32("n_ctx");
  s.rope_freq_base = c.value("rope_freq_base", 10000.0f);
  s.rms_eps = c.value("rms_eps", 1e-5f);
  s.tied_output = c.value("tied_output", false);
}

std::vector<std::uint64_t> TrainedWeights::shape(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("'{}/weights.json' has no tensor {}", dir_, name);
  return it->second.shape;
}

std::vector<float> TrainedWeights::tensor(const std::string& name, std::size_t count) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("'{}/weights.json' has no tensor {}", dir_, name);
  if (it->second.count != count)
    fail("tensor {} in '{}' has {} values; the model's shape needs {}", name, dir_, it->second.count, count);
  const float* p = data_.data() + it->second.offset / 4;
  return {p, p + count};
}

}  // namespace lagvk
