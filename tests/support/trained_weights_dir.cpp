#include "tests/support/trained_weights_dir.hpp"

#include <fstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lagvk::test {

void write_trained_weights(const std::filesystem::path& dir, const RandomModelSpec& s,
                           const WeightValue& value, std::size_t drop_bytes) {
  std::filesystem::create_directories(dir);
  const std::uint32_t kv = s.n_head_kv * (s.n_embd / s.n_head);
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> shapes = {
      {"token_embd.weight", {s.n_embd, s.n_vocab}}, {"output_norm.weight", {s.n_embd}}};
  for (std::uint32_t i = 0; i < s.n_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    shapes.push_back({b + "attn_norm.weight", {s.n_embd}});
    shapes.push_back({b + "attn_q.weight", {s.n_embd, s.n_embd}});
    shapes.push_back({b + "attn_k.weight", {s.n_embd, kv}});
    shapes.push_back({b + "attn_v.weight", {s.n_embd, kv}});
    shapes.push_back({b + "attn_output.weight", {s.n_embd, s.n_embd}});
    shapes.push_back({b + "ffn_norm.weight", {s.n_embd}});
    shapes.push_back({b + "ffn_gate.weight", {s.n_embd, s.n_ff}});
    shapes.push_back({b + "ffn_up.weight", {s.n_embd, s.n_ff}});
    shapes.push_back({b + "ffn_down.weight", {s.n_ff, s.n_embd}});
  }
  nlohmann::json tensors = nlohmann::json::object();
  std::vector<float> data;
  for (const auto& [name, shape] : shapes) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    tensors[name] = {{"shape", shape}, {"offset", data.size() * 4}};
    for (std::uint64_t i = 0; i < n; ++i) data.push_back(value(name, i, data.size()));
  }
  const nlohmann::json meta{{"format", "lagvk-weights-1"},
                            {"config",
                             {{"arch", "llama"},
                              {"n_layers", s.n_layers},
                              {"n_embd", s.n_embd},
                              {"n_head", s.n_head},
                              {"n_head_kv", s.n_head_kv},
                              {"n_ff", s.n_ff},
                              {"n_vocab", s.n_vocab},
                              {"n_ctx", s.n_ctx},
                              {"rope_freq_base", s.rope_freq_base},
                              {"rms_eps", s.rms_eps},
                              {"tied_output", true}}},
                            {"tensors", tensors}};
  std::ofstream(dir / "weights.json") << meta.dump();
  std::ofstream(dir / "weights.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * 4 - drop_bytes));
}

}  // namespace lagvk::test
