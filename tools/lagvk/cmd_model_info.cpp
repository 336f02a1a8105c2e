// lagvk model-info: what a GGUF file holds (architecture, hyper-parameters, every tensor's type and
// shape, tokenizer), whether lagvk can run it, and if not, what it cannot run yet, why, and the command
// that would convert it where one exists. A file that parses is described and exits 0 even when lagvk
// cannot run it; only a file that cannot be parsed (not GGUF, corrupt, truncated) exits 1.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {
namespace {

using nlohmann::json;

// The quantization llama.cpp's llama-quantize is asked for when a file holds types lagvk cannot
// decode (and so cannot re-quantize itself): every type its Q4_K_M recipe writes (Q4_K, Q6_K, and
// Q5_0/Q8_0/IQ4_NL fallbacks) is one lagvk runs.
constexpr const char* kConversionTarget = "Q4_K_M";

json value_to_json(const GgufValue& v) {
  if (const auto* u = std::get_if<std::uint64_t>(&v.data)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&v.data)) return *i;
  if (const auto* d = std::get_if<double>(&v.data)) return *d;
  if (const auto* b = std::get_if<bool>(&v.data)) return *b;
  if (const auto* s = std::get_if<std::string>(&v.data)) return *s;
  return v.to_display_string();  // arrays: "[n x type]", their contents can be huge
}

/// `text` as one shell word: unchanged when it holds only safe characters, else in single quotes.
std::string shell_word(const std::string& text) {
  const bool safe = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) ||
           std::string_view("/._-+:=@%,").find(ch) != std::string_view::npos;
  });
  if (safe) return text;
  std::string quoted = "'";
  for (char ch : text) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

/// Every tensor in file order: {name, type, shape, bytes, supported}; foreign ones have supported false.
json tensor_list(const GgufFile& file) {
  const auto& foreign = file.foreign_tensors();
  std::vector<json> rows(file.tensors().size() + foreign.size());
  std::vector<bool> taken(rows.size(), false);
  for (const auto& f : foreign) {
    rows[f.position] = {{"name", f.name},
                        {"type", ggml_type_name(f.type_id)},
                        {"shape", f.dims},
                        {"bytes", f.n_bytes},
                        {"supported", false}};
    taken[f.position] = true;
  }
  std::size_t position = 0;  // the known tensors fill the other positions, in order
  for (const auto& t : file.tensors()) {
    while (taken[position]) ++position;
    rows[position++] = {{"name", t.name},
                        {"type", ggml_type_name(t.type)},
                        {"shape", t.dims},
                        {"bytes", t.n_bytes},
                        {"supported", true}};
  }
  return rows;
}

/// The metadata keys of the file's architecture ("gemma2.block_count", ...): the hyper-parameters as
/// the file states them, shown even for architectures lagvk cannot read.
json architecture_keys(const GgufFile& file, const std::string& arch) {
  json keys = json::object();
  if (arch.empty()) return keys;
  for (const auto& [key, value] : file.metadata())
    if (key.rfind(arch + ".", 0) == 0) keys[key] = value_to_json(value);
  return keys;
}

json hparams_json(const ModelConfig& c, bool tied_output) {
  if (c.traits.embedding_only())  // an encoder: no RoPE, no output; LayerNorm and pooling instead
    return {{"block_count", c.n_layers},
            {"embedding_length", c.n_embd},
            {"feed_forward_length", c.n_ff},
            {"head_count", c.n_head},
            {"head_count_kv", c.n_head_kv},
            {"head_dim", c.head_dim},
            {"vocab_size", c.n_vocab},
            {"context_length", c.n_ctx_train},
            {"layer_norm_eps", c.layer_norm_eps},
            {"pooling", pooling_name(c.pooling)},
            {"embedding_model", true}};
  return {{"block_count", c.n_layers},
          {"embedding_length", c.n_embd},
          {"feed_forward_length", c.n_ff},
          {"head_count", c.n_head},
          {"head_count_kv", c.n_head_kv},
          {"head_dim", c.head_dim},
          {"vocab_size", c.n_vocab},
          {"context_length", c.n_ctx_train},
          {"rms_eps", c.rms_eps},
          {"rope_freq_base", c.rope_freq_base},
          {"rope_dimension_count", c.rope_dims},
          {"rope_scaling_factor", c.rope_scaling_factor},
          {"rope_mode", c.traits.rope_mode == ref::RopeMode::neox ? "neox" : "normal"},
          {"tied_output", tied_output},
          {"rope_freqs", c.has_rope_freqs}};
}

bool is_foreign(const GgufFile& file, const std::string& name) {
  return std::any_of(file.foreign_tensors().begin(), file.foreign_tensors().end(),
                     [&](const GgufForeignTensor& f) { return f.name == name; });
}

/// One entry of "unsupported": a tensor type, the architecture, the hyper-parameters, the tokenizer or
/// the model's tensors (missing, misshapen, norms not F32), with lagvk's reason.
json limitation(const std::string& kind, const std::string& reason) {
  return {{"kind", kind}, {"reason", reason}};
}

/// One entry per type lagvk cannot decode, naming its tensors.
void add_foreign_types(const GgufFile& file, json& unsupported) {
  std::map<std::string, std::vector<std::string>> tensors_by_type;
  for (const auto& f : file.foreign_tensors()) tensors_by_type[ggml_type_name(f.type_id)].push_back(f.name);
  for (const auto& [type, names] : tensors_by_type) {
    auto entry =
        limitation("tensor_type", fmt::format("{} tensor(s) of type {}, which lagvk cannot decode yet "
                                              "(it runs {})",
                                              names.size(), type, type_names(TypeList::readable)));
    entry["type"] = type;
    entry["tensors"] = names;
    unsupported.push_back(std::move(entry));
  }
}

/// Checks the architecture and hyper-parameters (filling j["hparams"] when lagvk reads them), then,
/// when everything so far can be run, every tensor the model layer binds, as every command does.
void add_model_limitations(const GgufFile& file, const std::string& path, json& j, json& unsupported) {
  const auto arch = j["architecture"].get<std::string>();
  try {
    (void)arch_traits(arch);
  } catch (const Error& e) {
    unsupported.push_back(limitation("architecture", e.what()));
    return;
  }
  // read_model_config takes the vocabulary size from token_embd.weight, which it cannot see when it
  // is of a foreign type (that limitation is already listed).
  if (is_foreign(file, "token_embd.weight")) return;
  try {
    const auto config = read_model_config(file);
    j["hparams"] =
        hparams_json(config, !file.find_tensor("output.weight") && !is_foreign(file, "output.weight"));
  } catch (const Error& e) {
    unsupported.push_back(limitation("hyper_parameters", e.what()));
    return;
  }
  if (!file.foreign_tensors().empty() || !file.damage().empty()) return;
  try {
    (void)Model::open(path);  // the checks every command runs: each tensor present, its shape and type
  } catch (const Error& e) {
    unsupported.push_back(limitation("tensors", e.what()));
  }
}

void add_tokenizer(const GgufFile& file, json& j, json& unsupported) {
  try {
    const auto tok = make_tokenizer(file);
    j["tokenizer"] = {{"model", file.get_string("tokenizer.ggml.model")},
                      {"pre", file.get_string_opt("tokenizer.ggml.pre").value_or("")},
                      {"vocab_size", tok->vocab_size()},
                      {"bos", tok->bos()},
                      {"eos", tok->eos()},
                      {"add_bos", tok->add_bos_by_default()}};
  } catch (const Error& e) {
    j["tokenizer"] = {{"model", file.get_string_opt("tokenizer.ggml.model").value_or("")},
                      {"pre", file.get_string_opt("tokenizer.ggml.pre").value_or("")},
                      {"problem", e.what()}};
    unsupported.push_back(limitation("tokenizer", e.what()));
  }
}

/// `path` without ".gguf", with "-<suffix>.gguf": where a conversion writes its result.
std::string converted_path(const std::string& path, const std::string& suffix) {
  std::string out = path;
  if (out.size() > 5 && out.compare(out.size() - 5, 5, ".gguf") == 0) out.resize(out.size() - 5);
  return out + "-" + suffix + ".gguf";
}

/// True when every limitation is of this kind.
bool only_kind(const json& unsupported, const char* kind) {
  return std::all_of(unsupported.begin(), unsupported.end(),
                     [&](const json& u) { return u["kind"] == kind; });
}

/// Vectors (norms, biases, rope factors: one dimension above 1) stored in another type than F32, which
/// the model layer refuses and `lagvk quantize` rewrites as F32.
bool has_non_f32_vectors(const GgufFile& file) {
  return std::any_of(file.tensors().begin(), file.tensors().end(), [](const GgufTensorInfo& t) {
    const auto wide = std::count_if(t.dims.begin(), t.dims.end(), [](std::uint64_t d) { return d > 1; });
    return wide <= 1 && t.type != GgmlType::f32;
  });
}

/// The type every matrix of the file shares, if they share one.
std::optional<GgmlType> common_matrix_type(const GgufFile& file) {
  std::optional<GgmlType> common;
  for (const auto& t : file.tensors()) {
    if (std::count_if(t.dims.begin(), t.dims.end(), [](std::uint64_t d) { return d > 1; }) < 2) continue;
    if (common && *common != t.type) return std::nullopt;
    common = t.type;
  }
  return common;
}

/// A conversion that makes the file runnable: the command (null when there is none), which tool runs
/// it, and what it does or why there is none.
struct Conversion {
  json command;
  std::string tool;  ///< "lagvk", "llama.cpp" or "" (none)
  std::string note;
};

/// lagvk quantize IN OUT TYPE, when only vectors stored in another type than F32 stop the file: it
/// rewrites them as F32 and, with the matrices' own type as TYPE, copies the matrices unchanged.
std::optional<Conversion> lagvk_conversion(const GgufFile& file, const std::string& path,
                                           const json& unsupported) {
  // The model layer names the first tensor it refuses: the conversion fixes a vector's type only.
  if (!only_kind(unsupported, "tensors") || !file.foreign_tensors().empty() || !has_non_f32_vectors(file) ||
      unsupported[0]["reason"].get<std::string>().find("must be F32") == std::string::npos)
    return std::nullopt;
  const auto type = common_matrix_type(file);
  if (!type) return std::nullopt;
  const std::string type_name(type_info(*type).lower_name);
  return Conversion{fmt::format("lagvk quantize {}{} {} {}", is_quantized(*type) ? "--allow-requantize " : "",
                                shell_word(path), shell_word(converted_path(path, "f32-vectors")), type_name),
                    "lagvk",
                    fmt::format("rewrites the norms and biases as F32 and copies the {} matrices unchanged",
                                ggml_type_name(*type))};
}

/// The command that makes the file runnable, when re-quantizing or rewriting tensors is all it lacks;
/// none otherwise (no conversion changes an architecture or a tokenizer, or restores missing tensors).
Conversion conversion(const GgufFile& file, const std::string& path, const json& unsupported) {
  if (unsupported.empty()) return {nullptr, "", ""};
  if (auto lagvk = lagvk_conversion(file, path, unsupported)) return *lagvk;
  if (!only_kind(unsupported, "tensor_type"))
    return {nullptr, "",
            "none: no conversion changes an architecture or a tokenizer, or restores a file's missing "
            "tensors"};
  std::vector<std::string> types;
  for (const auto& u : unsupported) types.push_back(u["type"].get<std::string>());
  return {fmt::format("llama-quantize --allow-requantize {} {} {}", shell_word(path),
                      shell_word(converted_path(path, kConversionTarget)), kConversionTarget),
          "llama.cpp",
          fmt::format("lagvk quantize cannot convert this file: lagvk cannot decode {}. llama.cpp's "
                      "llama-quantize can, losing quality a second time; from the model's F16/BF16/F32 "
                      "original, 'lagvk quantize ORIGINAL.gguf OUT.gguf q4_k_m' is better",
                      fmt::join(types, ", "))};
}

json describe(const GgufFile& file, const std::string& path, bool with_metadata) {
  json j;
  j["file"] = path;
  j["file_size"] = file.file_size();
  j["gguf_version"] = file.version();
  j["alignment"] = file.alignment();
  j["architecture"] = file.get_string_opt("general.architecture").value_or("");
  j["name"] = file.get_string_opt("general.name").value_or("");
  j["architecture_keys"] = architecture_keys(file, j["architecture"].get<std::string>());

  j["tensors"] = tensor_list(file);
  std::uint64_t params = 0, tensor_bytes = 0;
  j["tensor_types"] = json::object();
  for (const auto& t : j["tensors"]) {
    auto& per_type = j["tensor_types"][t["type"].get<std::string>()];
    if (per_type.is_null()) per_type = {{"count", 0}, {"bytes", 0}, {"supported", t["supported"]}};
    per_type["count"] = per_type["count"].get<std::uint64_t>() + 1;
    per_type["bytes"] = per_type["bytes"].get<std::uint64_t>() + t["bytes"].get<std::uint64_t>();
  }
  for (const auto& t : file.tensors()) params += t.n_elements, tensor_bytes += t.n_bytes;
  for (const auto& f : file.foreign_tensors()) params += f.n_elements, tensor_bytes += f.n_bytes;
  j["tensor_count"] = j["tensors"].size();
  j["parameters"] = params;
  j["tensor_bytes"] = tensor_bytes;

  json unsupported = json::array();
  add_foreign_types(file, unsupported);
  add_model_limitations(file, path, j, unsupported);
  add_tokenizer(file, j, unsupported);
  if (!file.damage().empty()) j["damage"] = file.damage();
  j["runnable"] = unsupported.empty() && file.damage().empty();
  j["valid"] = j["runnable"];
  if (!file.damage().empty())
    j["problem"] = file.damage();
  else if (!unsupported.empty())
    j["problem"] = unsupported[0]["reason"];
  j["unsupported"] = unsupported;
  const auto convert = conversion(file, path, unsupported);
  j["convert"] = convert.command;
  j["convert_tool"] = convert.tool.empty() ? json(nullptr) : json(convert.tool);
  j["convert_note"] = convert.note.empty() ? json(nullptr) : json(convert.note);
  if (with_metadata)
    for (const auto& [k, v] : file.metadata()) j["metadata"][k] = value_to_json(v);
  return j;
}

std::string shape_text(const json& shape) {
  return fmt::format("[{}]", fmt::join(shape.get<std::vector<std::uint64_t>>(), ", "));
}

void print_text(const json& j, const GgufFile& file, bool with_tensors) {
  std::printf("file:          %s (%.1f MiB, GGUF v%u)\n", j["file"].get<std::string>().c_str(),
              double(file.file_size()) / 1048576.0, file.version());
  std::printf("architecture:  %s%s%s\n", j["architecture"].get<std::string>().c_str(),
              j["name"].get<std::string>().empty() ? "" : "  name: ", j["name"].get<std::string>().c_str());
  if (j.contains("hparams")) {
    const auto& h = j["hparams"];
    std::printf("layers:        %u   dim %u   ff %u   heads %u/%u (head dim %u)\n",
                h["block_count"].get<unsigned>(), h["embedding_length"].get<unsigned>(),
                h["feed_forward_length"].get<unsigned>(), h["head_count"].get<unsigned>(),
                h["head_count_kv"].get<unsigned>(), h["head_dim"].get<unsigned>());
    if (h.contains("embedding_model")) {
      std::printf("vocab:         %u   positions %u   layer norm eps %g\n", h["vocab_size"].get<unsigned>(),
                  h["context_length"].get<unsigned>(), h["layer_norm_eps"].get<double>());
      std::printf(
          "embeddings:    %s pooling, bidirectional attention: an embedding model for 'lagvk embed'\n",
          h["pooling"].get<std::string>().c_str());
    } else {
      std::printf("vocab:         %u   context %u   rms eps %g\n", h["vocab_size"].get<unsigned>(),
                  h["context_length"].get<unsigned>(), h["rms_eps"].get<double>());
      std::printf("rope:          %s, base %g, %u dims%s%s\n", h["rope_mode"].get<std::string>().c_str(),
                  h["rope_freq_base"].get<double>(), h["rope_dimension_count"].get<unsigned>(),
                  h["rope_freqs"].get<bool>() ? ", rope_freqs" : "",
                  h["tied_output"].get<bool>() ? "; tied output" : "");
    }
  } else if (!j["architecture_keys"].empty()) {
    std::printf("hyper-parameters as the file states them:\n");
    for (const auto& [key, value] : j["architecture_keys"].items())
      std::printf("  %s = %s\n", key.c_str(), value.dump().c_str());
  }
  std::printf("tensors:       %zu, %.1f M parameters, %.1f MiB\n", j["tensors"].size(),
              double(j["parameters"].get<std::uint64_t>()) / 1e6,
              double(j["tensor_bytes"].get<std::uint64_t>()) / 1048576.0);
  for (const auto& [type, t] : j["tensor_types"].items())
    std::printf("  %-8s     %llu tensors, %.1f MiB%s\n", type.c_str(),
                (unsigned long long)t["count"].get<std::uint64_t>(),
                double(t["bytes"].get<std::uint64_t>()) / 1048576.0,
                t["supported"].get<bool>() ? "" : "  (lagvk cannot decode this type)");
  if (with_tensors)
    for (const auto& t : j["tensors"])
      std::printf("    %-32s %-8s %s%s\n", t["name"].get<std::string>().c_str(),
                  t["type"].get<std::string>().c_str(), shape_text(t["shape"]).c_str(),
                  t["supported"].get<bool>() ? "" : "  (unsupported type)");
  const auto& tok = j["tokenizer"];
  if (tok.contains("problem"))
    std::printf("tokenizer:     %s (unusable: %s)\n", tok["model"].get<std::string>().c_str(),
                tok["problem"].get<std::string>().c_str());
  else
    std::printf("tokenizer:     %s, %zu tokens, bos %d, eos %d\n", tok["model"].get<std::string>().c_str(),
                tok["vocab_size"].get<std::size_t>(), tok["bos"].get<int>(), tok["eos"].get<int>());
  if (j["runnable"].get<bool>()) {
    std::printf("checks:        passed (every tensor present, with the shape and a type lagvk can decode)\n");
  } else {
    if (j["unsupported"].empty())  // only damage: the error after the description says what
      std::printf("checks:        failed: %s\n", j["problem"].get<std::string>().c_str());
    else
      std::printf("checks:        failed; lagvk cannot run this file yet:\n");
    for (const auto& u : j["unsupported"])
      std::printf("  - %s: %s\n", u["kind"].get<std::string>().c_str(),
                  u["reason"].get<std::string>().c_str());
    if (j["convert"].is_string())
      std::printf("convert:       %s\n               (%s)\n", j["convert"].get<std::string>().c_str(),
                  j["convert_note"].get<std::string>().c_str());
    else if (!j["unsupported"].empty())
      std::printf("convert:       %s\n", j["convert_note"].get<std::string>().c_str());
  }
  if (j.contains("metadata"))
    for (const auto& [k, v] : file.metadata())
      std::printf("  %s = %s\n", k.c_str(), v.to_display_string().c_str());
}

}  // namespace

int cmd_model_info(int argc, char** argv) {
  Args args(
      "model-info", "-m FILE [--json] [--tensors] [--metadata]",
      "Describes a GGUF model: architecture, hyper-parameters, tensors, size and tokenizer, and\n"
      "whether lagvk can run it (the checks every command runs before loading a model). If not, it\n"
      "lists what lagvk cannot run yet and why (a tensor type, the architecture, the hyper-parameters,\n"
      "the tokenizer, missing or misshapen tensors) and, where a conversion would fix it, the\n"
      "conversion command: 'lagvk quantize' when lagvk can rewrite the file (norms or biases not\n"
      "F32), llama.cpp's llama-quantize for types lagvk cannot decode. Exit 0 for any file it can\n"
      "parse, runnable or not; exit 1 for a file it cannot parse (not GGUF, corrupt or truncated; one\n"
      "cut off in its tensor data is described first).\n"
      "JSON keys: file, file_size, gguf_version, alignment, architecture, name, architecture_keys\n"
      "(the file's <architecture>.* metadata), hparams (when lagvk reads them), tensors [{name, type,\n"
      "shape, bytes, supported}], tensor_types {TYPE: {count, bytes, supported}}, tensor_count,\n"
      "parameters, tensor_bytes, tokenizer, runnable (valid: the same), problem (the first reason it\n"
      "cannot run), unsupported [{kind: tensor_type|architecture|hyper_parameters|tokenizer|tensors,\n"
      "reason; type and tensors for tensor_type}], convert (a command, or null), convert_tool (lagvk,\n"
      "llama.cpp or null), convert_note (what the conversion does, or why there is none), damage (why the\n"
      "tensor data cannot be read), metadata (with --metadata).",
      {
          {"--model", "-m", "FILE", "the GGUF file (required)", ""},
          {"--json", "", "", "print JSON instead of text (it always lists every tensor)", ""},
          {"--tensors", "", "", "also list every tensor's name, type and shape", ""},
          {"--metadata", "", "", "also list every metadata key", ""},
      });
  if (!args.parse(argc, argv)) return 0;
  const auto path = args.get("--model");
  if (!path) fail("lagvk model-info: give the model with -m FILE");

  const auto file = GgufFile::open(*path, GgufOpenMode::describe);  // fails (exit 1) when it cannot parse
  const auto j = describe(file, *path, args.has("--metadata"));
  if (args.has("--json"))
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else
    print_text(j, file, args.has("--tensors"));
  std::fflush(stdout);
  // A truncated file is described as far as it was read, then reported as the error every other command
  // gives for it.
  if (!file.damage().empty()) fail(Errc::bad_model_file, "{}", file.damage());
  return 0;
}

}  // namespace lagvk::cli
