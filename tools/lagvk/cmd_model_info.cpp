// lagvk model-info: what a GGUF file holds (architecture, hyper-parameters, tensor types, size,
// tokenizer) and whether it passes the model checks, for users and for diagnosing bad files.
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {
namespace {

nlohmann::json value_to_json(const GgufValue& v) {
  if (const auto* u = std::get_if<std::uint64_t>(&v.data)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&v.data)) return *i;
  if (const auto* d = std::get_if<double>(&v.data)) return *d;
  if (const auto* b = std::get_if<bool>(&v.data)) return *b;
  if (const auto* s = std::get_if<std::string>(&v.data)) return *s;
  return v.to_display_string();  // arrays: "[n x type]", their contents can be huge
}

}  // namespace

int cmd_model_info(int argc, char** argv) {
  Args args("model-info", "-m FILE [--json] [--metadata]",
            "Describes a GGUF model: architecture, hyper-parameters, tensors, size and tokenizer, and\n"
            "whether it passes lagvk's checks, the same ones every command runs before loading a model\n"
            "(if not, why: the description is printed and the command exits 1 with the problem).",
            {
                {"--model", "-m", "FILE", "the GGUF file (required)", ""},
                {"--json", "", "", "print JSON instead of text", ""},
                {"--metadata", "", "", "also list every metadata key", ""},
            });
  if (!args.parse(argc, argv)) return 0;
  const auto path = args.get("--model");
  if (!path) fail("lagvk model-info: give the model with -m FILE");

  const auto file = GgufFile::open(*path);
  nlohmann::json j;
  j["file"] = *path;
  j["file_size"] = file.file_size();
  j["gguf_version"] = file.version();
  j["alignment"] = file.alignment();
  j["architecture"] = file.get_string_opt("general.architecture").value_or("");
  j["name"] = file.get_string_opt("general.name").value_or("");

  std::map<std::string, std::uint64_t> count_by_type, bytes_by_type;
  std::uint64_t params = 0, tensor_bytes = 0;
  for (const auto& t : file.tensors()) {
    ++count_by_type[ggml_type_name(t.type)];
    bytes_by_type[ggml_type_name(t.type)] += t.n_bytes;
    params += t.n_elements;
    tensor_bytes += t.n_bytes;
  }
  j["tensor_count"] = file.tensors().size();
  j["parameters"] = params;
  j["tensor_bytes"] = tensor_bytes;
  for (const auto& [type, n] : count_by_type)
    j["tensor_types"][type] = {{"count", n}, {"bytes", bytes_by_type[type]}};

  // Whether the model layer accepts it: configuration and every tensor checked.
  try {
    const auto model = Model::open(*path);
    const auto& c = model.config();
    j["hparams"] = {{"block_count", c.n_layers},
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
                    {"tied_output", c.tied_output},
                    {"rope_freqs", c.has_rope_freqs}};
    j["valid"] = true;
  } catch (const Error& e) {
    j["valid"] = false;
    j["problem"] = e.what();
  }
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
                      {"problem", e.what()}};
    if (j["valid"].get<bool>()) {  // every command needs the tokenizer: the file is not usable
      j["valid"] = false;
      j["problem"] = e.what();
    }
  }
  if (args.has("--metadata"))
    for (const auto& [k, v] : file.metadata()) j["metadata"][k] = value_to_json(v);

  // A file that fails the checks is described as far as it can be, then reported as the error every
  // other command would give for it (exit 1).
  const auto verdict = [&j]() {
    if (!j["valid"].get<bool>()) throw Error(j["problem"].get<std::string>());
    return 0;
  };
  if (args.has("--json")) {
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return verdict();
  }
  std::printf("file:          %s (%.1f MiB, GGUF v%u)\n", path->c_str(), double(file.file_size()) / 1048576.0,
              file.version());
  std::printf("architecture:  %s%s%s\n", j["architecture"].get<std::string>().c_str(),
              j["name"].get<std::string>().empty() ? "" : "  name: ", j["name"].get<std::string>().c_str());
  if (j.contains("hparams")) {
    const auto& h = j["hparams"];
    std::printf("layers:        %u   dim %u   ff %u   heads %u/%u (head dim %u)\n",
                h["block_count"].get<unsigned>(), h["embedding_length"].get<unsigned>(),
                h["feed_forward_length"].get<unsigned>(), h["head_count"].get<unsigned>(),
                h["head_count_kv"].get<unsigned>(), h["head_dim"].get<unsigned>());
    std::printf("vocab:         %u   context %u   rms eps %g\n", h["vocab_size"].get<unsigned>(),
                h["context_length"].get<unsigned>(), h["rms_eps"].get<double>());
    std::printf("rope:          %s, base %g, %u dims%s%s\n", h["rope_mode"].get<std::string>().c_str(),
                h["rope_freq_base"].get<double>(), h["rope_dimension_count"].get<unsigned>(),
                h["rope_freqs"].get<bool>() ? ", rope_freqs" : "",
                h["tied_output"].get<bool>() ? "; tied output" : "");
  }
  std::printf("tensors:       %zu, %.1f M parameters, %.1f MiB\n", file.tensors().size(),
              double(params) / 1e6, double(tensor_bytes) / 1048576.0);
  for (const auto& [type, n] : count_by_type)
    std::printf("  %-6s       %llu tensors, %.1f MiB\n", type.c_str(), (unsigned long long)n,
                double(bytes_by_type[type]) / 1048576.0);
  const auto& t = j["tokenizer"];
  if (t.contains("problem"))
    std::printf("tokenizer:     %s (unusable: %s)\n", t["model"].get<std::string>().c_str(),
                t["problem"].get<std::string>().c_str());
  else
    std::printf("tokenizer:     %s, %zu tokens, bos %d, eos %d\n", t["model"].get<std::string>().c_str(),
                t["vocab_size"].get<std::size_t>(), t["bos"].get<int>(), t["eos"].get<int>());
  // "valid" is what the model layer checks; the GPU kernels may support fewer weight types.
  if (j["valid"].get<bool>())
    std::printf("checks:        passed (every tensor present, with the shape and a type lagvk can decode)\n");
  else
    std::printf("checks:        failed: %s\n", j["problem"].get<std::string>().c_str());
  if (j.contains("metadata"))
    for (const auto& [k, v] : file.metadata())
      std::printf("  %s = %s\n", k.c_str(), v.to_display_string().c_str());
  std::fflush(stdout);
  return verdict();
}

}  // namespace lagvk::cli
