// Exactness of log capture and splicing, the core of Log-Augmented Generation: any error in RoPE
// re-rotation, page placement, holes or ordering changes the next-token logits.
//  (a) a full trace captured and spliced back at the same positions gives the logits of prefilling it;
//  (b) spliced at an offset, it gives the same logits (attention depends only on relative positions);
//  (c) un-rotating and re-rotating keys reproduces them (capture after splice == capture before);
//  (d) two logs spliced in either order take the documented positions (retrieval order, contiguous).
#include <gtest/gtest.h>

#include <numeric>

#include "engine/core/error.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/kv/log_kv.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"

namespace lagvk::test {
namespace {

// K goes through fp16 twice more than in a plain prefill (un-rotated, then re-rotated), about 1e-3
// relative each; logits move by about 1e-4 of their range (measured 2e-5 to 7e-5). A misplaced page or
// a wrong angle moves them by O(1) (two logs in swapped order differ by 0.16).
constexpr double kTolerance = 1e-3;

class LagSplice : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    RandomModelSpec spec = small_model_spec(GgmlType::f16, 5, 300);
    spec.rope_factors = true;
    model_ =
        std::make_unique<Model>(Model::from_gguf(GgufFile::from_bytes(make_random_model(spec).to_bytes())));
    host_ = host_weights(*model_);
    weights_ = std::make_unique<GpuWeights>(gpu(), host_);
    pool_ = std::make_unique<KvPool>(gpu(), KvShape{2, 2, 32, 16}, 128);
    forward_ = std::make_unique<Forward>(gpu(), *weights_, 64);
  }

  std::unique_ptr<KvSequence> sequence() { return std::make_unique<KvSequence>(gpu(), *pool_, 512); }

  std::vector<float> eval(KvSequence& seq, const std::vector<std::int32_t>& tokens,
                          std::int32_t first_position) {
    std::vector<std::int32_t> pos(tokens.size());
    std::iota(pos.begin(), pos.end(), first_position);
    return forward_->eval(seq, tokens, pos);
  }

  /// Prefills `tokens` alone at first_position.. and captures all of them.
  HostLogKv capture(const std::vector<std::int32_t>& tokens, std::int32_t first_position) {
    auto seq = sequence();
    (void)eval(*seq, tokens, first_position);
    std::vector<std::int32_t> entries(tokens.size()), pos(tokens.size());
    std::iota(entries.begin(), entries.end(), 0);
    std::iota(pos.begin(), pos.end(), first_position);
    return capture_log_kv(gpu(), *seq, entries, pos, rope_args(*weights_), 2);
  }

  /// A new sequence holding the given logs spliced in order from position 0, then the prompt.
  std::vector<float> lag(const std::vector<const HostLogKv*>& logs, const std::vector<std::int32_t>& prompt,
                         std::int32_t first_position = 0) {
    auto seq = sequence();
    std::int32_t position = first_position;
    for (const HostLogKv* log : logs) {
      const KvPages pages =
          splice_log_kv(gpu(), *pool_, source_of(*log, pool_->shape()), position, rope_args(*weights_));
      seq->append_shared_pages(pages.ids(), log->tokens);
      position += std::int32_t(log->tokens);
    }
    return eval(*seq, prompt, position);
  }

  std::unique_ptr<Model> model_;
  HostWeights host_;
  std::unique_ptr<GpuWeights> weights_;
  std::unique_ptr<KvPool> pool_;
  std::unique_ptr<Forward> forward_;
};

const std::vector<std::int32_t> kTrace = {1,   17, 260, 261, 5,  99, 123, 45, 200, 201,
                                          202, 7,  259, 33,  34, 35, 80,  81, 90,  91};
const std::vector<std::int32_t> kPrompt = {44, 45, 46, 120, 121};

TEST_F(LagSplice, FullTraceSplicedBackEqualsPrefill) {
  auto ref_seq = sequence();
  std::vector<std::int32_t> all = kTrace;
  all.insert(all.end(), kPrompt.begin(), kPrompt.end());
  const auto expected = eval(*ref_seq, all, 0);
  const HostLogKv log = capture(kTrace, 0);
  const auto got = lag({&log}, kPrompt);
  const ErrorStats e = compare(got, expected);
  std::printf("splice at the same positions: normalised logit error %.3e\n", e.max_rel);
  EXPECT_LE(e.max_rel, kTolerance);
  EXPECT_EQ(std::max_element(got.begin(), got.end()) - got.begin(),
            std::max_element(expected.begin(), expected.end()) - expected.begin());
}

TEST_F(LagSplice, SplicedAtAnOffsetGivesTheSameLogits) {
  auto ref_seq = sequence();
  std::vector<std::int32_t> all = kTrace;
  all.insert(all.end(), kPrompt.begin(), kPrompt.end());
  const auto expected = eval(*ref_seq, all, 0);
  const HostLogKv log = capture(kTrace, 0);
  for (std::int32_t delta : {37, 301}) {
    const auto got = lag({&log}, kPrompt, delta);
    const ErrorStats e = compare(got, expected);
    std::printf("splice at offset %d: normalised logit error %.3e\n", delta, e.max_rel);
    EXPECT_LE(e.max_rel, kTolerance) << "offset " << delta;
  }
}

TEST_F(LagSplice, UnrotateThenRotateReproducesKeys) {
  const HostLogKv first = capture(kTrace, 11);
  // Splice at position 11 again and capture: keys went through rotate(11..) and un-rotate(11..).
  auto seq = sequence();
  const KvPages pages =
      splice_log_kv(gpu(), *pool_, source_of(first, pool_->shape()), 11, rope_args(*weights_));
  seq->append_shared_pages(pages.ids(), first.tokens);
  std::vector<std::int32_t> entries(first.tokens), pos(first.tokens);
  std::iota(entries.begin(), entries.end(), 0);
  std::iota(pos.begin(), pos.end(), 11);
  const HostLogKv again = capture_log_kv(gpu(), *seq, entries, pos, rope_args(*weights_), 2);
  for (std::uint32_t l = 0; l < 2; ++l) {
    const ErrorStats k = compare(from_half(again.k[l]), from_half(first.k[l]));
    const ErrorStats v = compare(from_half(again.v[l]), from_half(first.v[l]));
    EXPECT_LE(k.max_rel, 2e-3) << "layer " << l;  // two fp16 roundings of rotated values
    EXPECT_EQ(v.max_abs, 0.0) << "values are copied, never rotated";
  }
}

TEST_F(LagSplice, TwoLogsTakeRetrievalOrderPositions) {
  const std::vector<std::int32_t> a(kTrace.begin(), kTrace.begin() + 9), b(kTrace.begin() + 9, kTrace.end());
  const HostLogKv log_a = capture(a, 0), log_b = capture(b, 0);
  // Reference for [A, B]: A computed alone at 0.., B computed alone at |A|.., both placed in one sequence.
  auto reference = [&](const std::vector<std::int32_t>& first, const std::vector<std::int32_t>& second) {
    auto x = sequence(), y = sequence(), z = sequence();
    (void)eval(*x, first, 0);
    (void)eval(*y, second, std::int32_t(first.size()));
    std::vector<std::uint32_t> xp(x->table().begin(), x->table().end()),
        yp(y->table().begin(), y->table().end());
    z->append_shared_pages(xp, x->length());
    z->append_shared_pages(yp, y->length());
    return eval(*z, kPrompt, std::int32_t(first.size() + second.size()));
  };
  const auto ab = lag({&log_a, &log_b}, kPrompt), ba = lag({&log_b, &log_a}, kPrompt);
  const double e_ab = compare(ab, reference(a, b)).max_rel, e_ba = compare(ba, reference(b, a)).max_rel;
  std::printf("two logs: [A,B] error %.3e, [B,A] error %.3e, [A,B] vs [B,A] differ by %.3e\n", e_ab, e_ba,
              compare(ab, ba).max_rel);
  EXPECT_LE(e_ab, kTolerance);
  EXPECT_LE(e_ba, kTolerance);
  EXPECT_GT(compare(ab, ba).max_rel, 10 * kTolerance) << "order must matter, or this test cannot fail";
}

TEST_F(LagSplice, SplicedPagesReturnToThePoolOnEveryPath) {
  const HostLogKv log = capture(kTrace, 0);
  const std::uint32_t free_before = pool_->free_pages();
  {  // success: the handle's and the sequence's references both go
    auto seq = sequence();
    const KvPages pages =
        splice_log_kv(gpu(), *pool_, source_of(log, pool_->shape()), 0, rope_args(*weights_));
    seq->append_shared_pages(pages.ids(), log.tokens);
    EXPECT_LT(pool_->free_pages(), free_before);
  }
  EXPECT_EQ(pool_->free_pages(), free_before);
  // A page of the wrong size on the last layer: splice_log_kv throws after taking its pages.
  LogKvSource damaged = source_of(log, pool_->shape());
  damaged.page = [inner = damaged.page](std::uint32_t layer, std::uint32_t page, bool values) {
    const auto data = inner(layer, page, values);
    return layer == 1 && values ? data.first(data.size() - 1) : data;
  };
  EXPECT_THROW((void)splice_log_kv(gpu(), *pool_, damaged, 0, rope_args(*weights_)), Error);
  EXPECT_EQ(pool_->free_pages(), free_before);
  // A caller that throws between splicing and handing the pages to a sequence loses none either.
  try {
    const KvPages pages =
        splice_log_kv(gpu(), *pool_, source_of(log, pool_->shape()), 0, rope_args(*weights_));
    fail("a failure before the pages reach a sequence");
  } catch (const Error&) {
  }
  EXPECT_EQ(pool_->free_pages(), free_before);
}

}  // namespace
}  // namespace lagvk::test
