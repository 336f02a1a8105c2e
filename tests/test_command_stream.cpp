// vk::CommandStream: one stream serves many passes (its command buffers and fence are reused), and it
// places a barrier only where data flows between commands: a read or write of a range an earlier
// command wrote, a write of a range an earlier command read. Kernels run for real, so wrong ordering or
// a stale recycled buffer shows in the results; ctest runs these under the validation layer.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/push_constants.hpp"
#include "engine/vk/command_stream.hpp"
#include "tests/support/gpu.hpp"

namespace lagvk::test {
namespace {

constexpr std::uint32_t kN = 100;  // not a multiple of the kernels' 64 threads

std::vector<float> ramp(float start) {
  std::vector<float> v(kN);
  for (std::uint32_t i = 0; i < kN; ++i) v[i] = start + float(i);
  return v;
}

void expect_scaled(const vk::Buffer& b, const std::vector<float>& x, float factor) {
  const auto got = download<float>(b, kN);
  for (std::uint32_t i = 0; i < kN; ++i) ASSERT_FLOAT_EQ(got[i], x[i] * factor) << "element " << i;
}

std::uint64_t barriers_during(vk::CommandStream& cs, const std::function<void()>& record) {
  const std::uint64_t before = cs.counts().barriers;
  record();
  return cs.counts().barriers - before;
}

TEST(CommandStream, OneStreamServesManyPassesAndSplitSubmits) {
  const auto x = ramp(1.0f);
  const vk::Buffer gx = upload(x);
  vk::Buffer gy = gpu().create_buffer(kN * 4);
  // Two dispatches per command buffer: each pass's chain of five spans three submissions.
  vk::CommandStream cs(gpu(), vk::StreamOptions{2});
  for (int pass = 1; pass <= 3; ++pass) {
    ops::scale(gpu(), cs, gx, gy, kN, float(pass));
    for (int i = 0; i < 4; ++i) ops::scale(gpu(), cs, gy, gy, kN, 2.0f);
    cs.finish();
    expect_scaled(gy, x, float(pass) * 16.0f);
  }
  EXPECT_EQ(cs.counts().dispatches, 15u);
  EXPECT_EQ(cs.counts().submits, 9u);
}

TEST(CommandStream, BarriersOnlyWhereDataFlows) {
  const auto x = ramp(-7.0f);
  const vk::Buffer a = upload(x), c = upload(x);
  vk::Buffer b = gpu().create_buffer(kN * 4), d = gpu().create_buffer(kN * 4),
             e = gpu().create_buffer(kN * 4);
  vk::Buffer halves = gpu().create_buffer(2 * kN * 4);
  const vk::BufferView low(halves, 0, kN * 4), high(halves, kN * 4, kN * 4);
  vk::CommandStream cs(gpu());
  // The first command waits for earlier submissions (the uploads).
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, a, b, kN, 2.0f); }), 1u);
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, c, d, kN, 3.0f); }), 0u) << "independent";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, b, e, kN, 5.0f); }), 1u)
      << "reads b after its write";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, a, low, kN, 7.0f); }), 0u) << "independent";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, c, high, kN, 11.0f); }), 0u) << "the other half";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, d, b, kN, 13.0f); }), 1u)
      << "writes b after a read";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, c, d, kN, 17.0f); }), 1u)
      << "writes d after a read";
  cs.finish();
  expect_scaled(e, x, 10.0f);
  expect_scaled(b, x, 39.0f);
  expect_scaled(d, x, 17.0f);
  const auto both = download<float>(halves, 2 * kN);
  for (std::uint32_t i = 0; i < kN; ++i) {
    ASSERT_FLOAT_EQ(both[i], x[i] * 7.0f);
    ASSERT_FLOAT_EQ(both[kN + i], x[i] * 11.0f);
  }
}

TEST(CommandStream, ADispatchWithoutDeclaredAccessesIsOrderedBothWays) {
  const auto x = ramp(0.5f);
  const vk::Buffer a = upload(x);
  vk::Buffer b = gpu().create_buffer(kN * 4), c = gpu().create_buffer(kN * 4);
  vk::CommandStream cs(gpu());
  ops::scale(gpu(), cs, a, c, kN, 1.0f);  // takes the barrier after the uploads
  const auto& scale = gpu().pipeline({"scale", {64}, sizeof(ops::push::Elementwise)});
  const ops::push::Elementwise push{a.address(), a.address(), b.address(), kN, kN, 3.0f};
  EXPECT_EQ(barriers_during(cs, [&] { cs.dispatch(scale, push, 2); }), 1u) << "c was written before";
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, b, b, kN, 2.0f); }), 1u)
      << "after unknown writes";
  cs.finish();
  expect_scaled(b, x, 6.0f);
}

TEST(CommandStream, AParallelGroupStillWaitsForTheDataItReads) {
  const auto x = ramp(2.0f);
  const vk::Buffer a = upload(x);
  vk::Buffer b = gpu().create_buffer(kN * 4), c = gpu().create_buffer(kN * 4),
             d = gpu().create_buffer(kN * 4);
  vk::CommandStream cs(gpu());
  ops::scale(gpu(), cs, a, b, kN, 2.0f);
  cs.begin_parallel();
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, a, c, kN, 3.0f); }), 0u);
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, b, d, kN, 5.0f); }), 1u) << "reads b";
  cs.end_parallel();
  EXPECT_EQ(barriers_during(cs, [&] { ops::scale(gpu(), cs, d, d, kN, 7.0f); }), 1u) << "reads the group's d";
  cs.finish();
  expect_scaled(c, x, 3.0f);
  expect_scaled(d, x, 70.0f);
}

TEST(CommandStream, DiscardRecoversFromAPassThatFailedHalfway) {
  const auto x = ramp(1.0f);
  const vk::Buffer a = upload(x);
  vk::Buffer b = gpu().create_buffer(kN * 4);
  vk::CommandStream cs(gpu(), vk::StreamOptions{1});
  ops::scale(gpu(), cs, a, b, kN, 100.0f);
  ops::scale(gpu(), cs, b, b, kN, 100.0f);  // submitted without waiting: the stream splits after one
  cs.begin_parallel();
  EXPECT_THROW(ops::softcap(gpu(), cs, b, b, kN, -1.0f), lagvk::Error);
  cs.discard();
  ops::scale(gpu(), cs, a, b, kN, 3.0f);
  cs.finish();
  expect_scaled(b, x, 3.0f);
}

}  // namespace
}  // namespace lagvk::test
