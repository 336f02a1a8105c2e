// The paged KV pool and sequences: page accounting, sharing, context limits, and that two sequences in
// one pool do not disturb each other's attention results.
#include <gtest/gtest.h>

#include "engine/core/error.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/kv/kv_pool.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"

namespace lagvk::test {
namespace {

class KvPoolTest : public GpuTest {};

TEST_F(KvPoolTest, SequencesAllocateAndReleasePages) {
  KvPool pool(gpu(), {2, 2, 16, 4}, 10);
  EXPECT_EQ(pool.free_pages(), 10u);
  {
    KvSequence a(gpu(), pool, 40);
    a.reserve(9);  // 3 pages of 4
    a.advance(9);
    EXPECT_EQ(a.table().size(), 3u);
    EXPECT_EQ(pool.free_pages(), 7u);
    a.truncate(4);
    EXPECT_EQ(a.table().size(), 1u);
    EXPECT_EQ(pool.free_pages(), 9u);
  }
  EXPECT_EQ(pool.free_pages(), 10u);
}

TEST_F(KvPoolTest, ContextLimitIsAClearError) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 10);
  KvSequence s(gpu(), pool, 8);
  s.reserve(8);
  s.advance(8);
  try {
    s.reserve(1);
    FAIL() << "reserve past the context must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full"), std::string::npos) << e.what();
  }
}

TEST_F(KvPoolTest, PoolExhaustionIsAClearError) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 2);
  KvSequence a(gpu(), pool, 100);
  a.reserve(8);
  KvSequence b(gpu(), pool, 100);
  EXPECT_THROW(b.reserve(1), Error);
}

TEST_F(KvPoolTest, AReserveThatFailsTakesNoPage) {
  // The pool has 3 free pages and the reserve needs 4: it must take none of them (a push_back failing
  // after a page was taken cannot be forced without replacing the global allocator; the pool running out
  // part-way is the same path through reserve).
  KvPool pool(gpu(), {1, 1, 8, 4}, 5);
  KvSequence a(gpu(), pool, 100);
  a.reserve(4);
  KvSequence b(gpu(), pool, 100);
  b.reserve(2);
  b.advance(2);
  const auto table_before = b.table();
  EXPECT_THROW(b.reserve(2 + 16), Error);  // needs 4 more pages, 3 are free
  EXPECT_EQ(pool.free_pages(), 3u);
  EXPECT_EQ(b.table(), table_before);
  EXPECT_EQ(b.length(), 2u);
  b.reserve(2 + 12);  // the 3 free pages are all still there to take
  EXPECT_EQ(pool.free_pages(), 0u);
}

TEST_F(KvPoolTest, SharedPagesAreReferenceCountedAndLeaveHoles) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 10);
  {
    const KvPages log = pool.allocate(2);  // a "log" of 6 tokens
    const std::uint32_t p0 = log.ids()[0];
    {
      KvSequence a(gpu(), pool, 100), b(gpu(), pool, 100);
      a.append_shared_pages(log.ids(), 6);
      b.reserve(3);
      b.advance(3);
      b.append_shared_pages(log.ids(), 6);  // b's partly used page is closed: slot 3 becomes a hole
      EXPECT_EQ(pool.ref_count(p0), 3u);
      EXPECT_EQ(a.length(), 8u);  // the next entry starts on a fresh page
      EXPECT_EQ(b.length(), 12u);
    }
    EXPECT_EQ(pool.ref_count(p0), 1u);
  }
  EXPECT_EQ(pool.free_pages(), 10u);
}

TEST_F(KvPoolTest, PageHandleReturnsItsPagesWhenItGoesOutOfScope) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 10);
  {
    const KvPages pages = pool.allocate(3);
    EXPECT_EQ(pages.size(), 3u);
    EXPECT_EQ(pool.free_pages(), 7u);
  }
  EXPECT_EQ(pool.free_pages(), 10u);
  // A moved handle hands its references on once: nothing is released twice, nothing is kept.
  {
    KvPages first = pool.allocate(2);
    KvPages second = std::move(first);
    EXPECT_EQ(pool.free_pages(), 8u);
    first = pool.allocate(1);
    second = std::move(first);  // second's two pages go back, first's one moves over
    EXPECT_EQ(pool.free_pages(), 9u);
  }
  EXPECT_EQ(pool.free_pages(), 10u);
}

TEST_F(KvPoolTest, PageHandleReturnsItsPagesWhenAnExceptionUnwindsPastIt) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 10);
  try {
    const KvPages log = pool.allocate(2);
    KvSequence seq(gpu(), pool, 100);
    seq.append_shared_pages(log.ids(), 6);
    EXPECT_EQ(pool.free_pages(), 8u);
    seq.reserve(1000);  // past the sequence's context: throws with the log's and the sequence's pages held
    FAIL() << "reserve past the context must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.free_pages(), 10u);
}

TEST_F(KvPoolTest, AllocationThePoolCannotSupplyKeepsNoPages) {
  KvPool pool(gpu(), {1, 1, 8, 4}, 4);
  const KvPages held = pool.allocate(1);
  EXPECT_THROW((void)pool.allocate(4), Error);  // three are taken before the pool runs dry
  EXPECT_EQ(pool.free_pages(), 3u);
}

TEST_F(KvPoolTest, InterleavedSequencesMatchSeparateRuns) {
  RandomModelSpec spec;
  spec.n_layers = 2;
  spec.n_embd = 64;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 96;
  spec.n_vocab = 300;
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(spec).to_bytes()));
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {2, 2, 16, 4}, 32);
  Forward forward(gpu(), weights, 16);
  const std::vector<std::int32_t> pa = {1, 50, 60, 70, 80}, pb = {1, 200, 201};
  auto positions = [](std::size_t n) {
    std::vector<std::int32_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = std::int32_t(i);
    return p;
  };
  // Alone.
  KvSequence alone(gpu(), pool, 64);
  const auto ref_a = forward.eval(alone, pa, positions(pa.size()));
  // Interleaved with another sequence in the same pool.
  KvSequence a(gpu(), pool, 64), b(gpu(), pool, 64);
  (void)forward.eval(b, pb, positions(pb.size()));
  const auto got_a = forward.eval(a, pa, positions(pa.size()));
  EXPECT_LE(compare(got_a, ref_a).max_rel, 1e-6);
}

}  // namespace
}  // namespace lagvk::test
