#include "tools/bench/reference_model.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "engine/core/error.hpp"
#include "engine/model/random_model.hpp"

namespace lagvk::bench {

namespace {

RandomModelSpec spec_of(ModelSize size) {
  RandomModelSpec s;
  switch (size) {
    case ModelSize::reference:
      s.n_layers = 16, s.n_embd = 1024, s.n_head = 16, s.n_head_kv = 4, s.n_ff = 2816, s.n_vocab = 32000;
      break;
    case ModelSize::small:
      s.n_layers = 4, s.n_embd = 512, s.n_head = 8, s.n_head_kv = 4, s.n_ff = 1536, s.n_vocab = 8192;
      break;
    case ModelSize::tiny:
      s.n_layers = 2, s.n_embd = 256, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 512, s.n_vocab = 512;
      break;
  }
  s.n_ctx = 4096;
  s.seed = 42;
  return s;
}

const char* size_name(ModelSize size) {
  return size == ModelSize::reference ? "" : size == ModelSize::small ? "small-" : "tiny-";
}

}  // namespace

std::string reference_model(const std::string& type, ModelSize size) {
  const auto t = parse_ggml_type(type);
  if (!t || !has_gpu_kernels(*t)) fail("unknown model type '{}' (f16, q8_0, q4_0, q4_k, ...)", type);
  const std::string path = fmt::format("/tmp/lagvk-bench-{}{}.gguf", size_name(size), type);
  if (std::filesystem::exists(path)) return path;
  RandomModelSpec s = spec_of(size);
  s.type = *t;
  std::fprintf(stderr, "writing %s (once; later runs reuse it) ...\n", path.c_str());
  // Written beside and renamed, so that a run (or test) starting meanwhile never reads half a file.
  const std::string partial = fmt::format("{}.{}.partial", path, getpid());
  make_random_model(s).write(partial);
  std::filesystem::rename(partial, path);
  return path;
}

}  // namespace lagvk::bench
