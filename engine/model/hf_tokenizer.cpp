#include "engine/model/hf_tokenizer.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/model/gguf_writer.hpp"

namespace lagvk {

namespace {

constexpr std::int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

nlohmann::json read_json(const std::filesystem::path& path) {
  const std::string text = read_regular_file(path.string());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("'{}' is not valid JSON: {}", path.string(), e.what());
  }
}

/// The pre-tokenizer's Split regex, wherever it sits (alone or inside a Sequence).
std::string split_regex(const nlohmann::json& pre) {
  if (!pre.is_object()) return {};
  if (pre.value("type", "") == "Split" && pre.contains("pattern") && pre["pattern"].contains("Regex"))
    return pre["pattern"]["Regex"].get<std::string>();
  if (pre.contains("pretokenizers"))
    for (const auto& p : pre["pretokenizers"])
      if (auto r = split_regex(p); !r.empty()) return r;
  return {};
}

/// Llama 3 splits digits in runs of up to three, Qwen2/3 one digit at a time; both otherwise use the
/// same expression, which lagvk's llama-bpe and qwen2 pre-tokenizers implement.
std::string recognise_pre(const std::string& regex, const std::string& path) {
  const bool words = regex.find("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+") != std::string::npos;
  if (words && regex.find("\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
  if (words && regex.find("\\p{N}|") != std::string::npos) return "qwen2";
  fail("'{}': pre-tokenizer regex '{}' is not one lagvk recognises (llama-bpe, qwen2); name it explicitly",
       path, regex);
}

/// tokenizer_config.json names special tokens as strings or as {"content": ...} objects.
std::string token_name(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return {};
}

}  // namespace

HfTokenizer read_hf_tokenizer(const std::string& tokenizer_json, const std::string& pre) {
  const nlohmann::json j = read_json(tokenizer_json);
  if (!j.contains("model") || j["model"].value("type", "") != "BPE")
    fail("'{}' is not a BPE tokenizer.json (model.type must be BPE)", tokenizer_json);
  const auto& model = j["model"];
  HfTokenizer t;
  std::size_t n = 0;
  for (const auto& [text, id] : model["vocab"].items()) n = std::max(n, id.get<std::size_t>() + 1);
  if (j.contains("added_tokens"))
    for (const auto& a : j["added_tokens"]) n = std::max(n, a["id"].get<std::size_t>() + 1);
  t.tokens.resize(n);
  t.types.assign(n, kUnused);
  for (const auto& [text, id] : model["vocab"].items()) {
    t.tokens[id.get<std::size_t>()] = text;
    t.types[id.get<std::size_t>()] = kNormal;
  }
  if (j.contains("added_tokens"))
    for (const auto& a : j["added_tokens"]) {
      const auto id = a["id"].get<std::size_t>();
      t.tokens[id] = a["content"].get<std::string>();
      t.types[id] = a.value("special", false) ? kControl : kUserDefined;
    }
  for (std::size_t i = 0; i < n; ++i)  // ids no entry names (none in real vocabularies)
    if (t.types[i] == kUnused) t.tokens[i] = "[PAD" + std::to_string(i) + "]";

  // Older files write merges as "a b", newer ones as ["a", "b"].
  for (const auto& m : model["merges"]) {
    if (m.is_string())
      t.merges.push_back(m.get<std::string>());
    else
      t.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  t.pre = pre.empty() ? recognise_pre(split_regex(j.value("pre_tokenizer", nlohmann::json())), tokenizer_json)
                      : pre;

  const auto config = std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config)) {
    const nlohmann::json c = read_json(config);
    auto find = [&](const char* key) -> std::int32_t {
      if (!c.contains(key)) return -1;
      const std::string name = token_name(c[key]);
      for (std::size_t i = 0; i < n && !name.empty(); ++i)
        if (t.tokens[i] == name) return std::int32_t(i);
      return -1;
    };
    t.bos = find("bos_token");
    t.eos = find("eos_token");
    // Llama 3's post-processor prepends BOS although its config does not say add_bos_token.
    t.add_bos = c.contains("add_bos_token") && c["add_bos_token"].is_boolean()
                    ? c["add_bos_token"].get<bool>()
                    : t.pre == "llama-bpe";
  }
  if (t.bos < 0) t.add_bos = false;
  return t;
}

void write_tokenizer_metadata(GgufWriter& w, const HfTokenizer& t) {
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", t.pre);
  w.set_string_array("tokenizer.ggml.tokens", t.tokens);
  w.set_i32_array("tokenizer.ggml.token_type", t.types);
  w.set_string_array("tokenizer.ggml.merges", t.merges);
  w.erase("tokenizer.ggml.scores");
  w.erase("tokenizer.ggml.unknown_token_id");
  w.erase("tokenizer.ggml.bos_token_id");
  w.erase("tokenizer.ggml.eos_token_id");
  if (t.bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", std::uint32_t(t.bos));
  if (t.eos >= 0) w.set_u32("tokenizer.ggml.eos_token_id", std::uint32_t(t.eos));
  w.set_bool("tokenizer.ggml.add_bos_token", t.add_bos);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
}

}  // namespace lagvk
