#include "bench/support/bench_models.hpp"

#include <cstdio>
#include <filesystem>

#include "engine/core/error.hpp"
#include "engine/model/random_model.hpp"

namespace lagvk::bench {

std::string reference_model(const std::string& type) {
  const auto t = parse_ggml_type(type);
  if (!t) fail("unknown model type '{}'", type);
  const std::string path = "/tmp/lagvk-bench-" + type + ".gguf";
  if (std::filesystem::exists(path)) return path;
  RandomModelSpec s;
  s.type = *t;
  s.n_layers = 16;
  s.n_embd = 1024;
  s.n_head = 16;
  s.n_head_kv = 4;
  s.n_ff = 2816;
  s.n_vocab = 32000;
  s.n_ctx = 4096;
  s.seed = 42;
  std::printf("writing %s ...\n", path.c_str());
  make_random_model(s).write(path);
  return path;
}

}  // namespace lagvk::bench
