// Forward's logits scratch holds the rows that need logits, not max_batch x vocab: a large max_batch
// (prompt chunks) with a large vocabulary must not ask for a buffer the device cannot allocate, and the
// buffer grows when a pass needs more rows (a batched pass's segments, all_logits).
#include <gtest/gtest.h>

#include <vector>

#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"

namespace lagvk::test {
namespace {

TEST(ForwardScratch, LogitsAreSizedForTheRowsThatNeedThem) {
  RandomModelSpec spec;
  spec.n_layers = 1;
  spec.n_embd = 32;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 64;
  spec.n_vocab = 40000;
  spec.tied_output = true;
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(spec).to_bytes(), "scratch"));
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  const std::uint64_t row_bytes = std::uint64_t(spec.n_vocab) * 4;
  // Just past what one allocation may hold for max_batch rows of logits.
  const std::uint64_t max_batch = gpu().info().max_memory_allocation_size / row_bytes + 1;
  if (max_batch > (1u << 16)) GTEST_SKIP() << "the device allocates too much for this check to be cheap";
  lagvk::Forward big(gpu(), weights, std::uint32_t(max_batch));
  lagvk::Forward small(gpu(), weights, 4);

  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 8);
  KvSequence a(gpu(), pool, 32), b(gpu(), pool, 32);
  const std::vector<std::int32_t> prompt = {1, 300, 39999}, positions = {0, 1, 2};
  const auto every = big.eval(a, prompt, positions, /*all_logits=*/true);  // grows to three rows
  const auto last = small.eval(b, prompt, positions);
  ASSERT_EQ(every.size(), 3 * std::size_t(spec.n_vocab));
  ASSERT_EQ(last.size(), std::size_t(spec.n_vocab));
  // The last row of all_logits (a matrix multiply over three rows) against a matrix-vector product.
  const ErrorStats e = compare(std::vector<float>(every.end() - spec.n_vocab, every.end()), last);
  EXPECT_LT(e.max_rel, 1e-4);

  const std::int32_t next = 7, at = 3;
  const auto step_big = big.eval(a, std::span(&next, 1), std::span(&at, 1));
  const auto step_small = small.eval(b, std::span(&next, 1), std::span(&at, 1));
  EXPECT_EQ(step_big, step_small);
}

}  // namespace
}  // namespace lagvk::test
