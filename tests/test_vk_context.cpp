// vk::Context's constructor frees what it made when a later step throws: the validation layer reports a
// VkDevice (or any object of it) still alive when the instance is destroyed, so a constructor that
// leaks leaves messages in the log.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/vk/context.hpp"

namespace lagvk::test {
namespace {

/// Every step the constructor reports through ContextOptions::after_step, in order.
const char* const kSteps[] = {"device", "pipeline cache", "command pool", "allocator"};

struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(VkContext, AConstructorFailingAfterAnyStepLeavesNothingBehind) {
  for (const std::string step : kSteps) {
    // A log of this context's own, with the layer required: the check must not pass for want of it.
    auto log = std::make_shared<vk::ValidationLog>();
    vk::ContextOptions options;
    options.instance.validation = true;
    options.instance.require_validation = true;
    options.instance.log = log;
    bool reached = false;
    options.after_step = [&](std::string_view done) {
      if (done != step) return;
      reached = true;
      throw StepFailure("injected failure after " + step);
    };
    EXPECT_THROW(vk::Context context(options), StepFailure) << step;
    EXPECT_TRUE(reached) << "the constructor never reported step " << step;
    for (const auto& message : log->take()) ADD_FAILURE() << "after a failure at " << step << ": " << message;
  }
}

TEST(VkContext, EveryStepIsReportedOnceInOrder) {
  std::string seen;
  vk::ContextOptions options;
  options.after_step = [&](std::string_view step) { seen += std::string(step) + ";"; };
  vk::Context context(options);
  std::string expected;
  for (const std::string step : kSteps) expected += step + ";";
  EXPECT_EQ(seen, expected);
}

TEST(VkContext, TexelBindingsRespectAlignmentTheBindingLimitAndTheViewCap) {
  vk::Context context;
  context.set_texel_reads(true);
  if (!context.texel_reads()) GTEST_SKIP() << "no push descriptors or texel formats on this device";
  auto buffer = context.create_buffer(4096);
  const vk::BufferView whole(buffer);
  ASSERT_TRUE(context.texel_binding(whole, vk::TexelFormat::u32x4));
  // Asked twice, the same view: the buffer keeps one per offset and format.
  EXPECT_EQ(context.texel_binding(whole, vk::TexelFormat::u32x4)->texels,
            context.texel_binding(whole, vk::TexelFormat::u32x4)->texels);
  // An offset that is not a whole texel (nor the device's alignment) cannot start a view.
  EXPECT_FALSE(context.texel_binding(whole.sub(4, 64), vk::TexelFormat::u32x4));
  // The test hook's limit applies to texel views as to storage descriptors.
  const VkDeviceSize before = context.limit_bindings(64);
  EXPECT_FALSE(context.texel_binding(whole.sub(0, 128), vk::TexelFormat::u32));
  EXPECT_TRUE(context.texel_binding(whole.sub(0, 64), vk::TexelFormat::u32));
  context.limit_bindings(before);
  // Past Buffer::kMaxTexelViews views a buffer makes no more, and the kernels fall back.
  std::size_t made = 0;
  for (VkDeviceSize offset = 256; offset < 4096 && made < 2 * vk::Buffer::kMaxTexelViews; offset += 128)
    made += context.texel_binding(whole.sub(offset, 64), vk::TexelFormat::f32x4).has_value();
  EXPECT_LT(made, 2 * vk::Buffer::kMaxTexelViews);
  EXPECT_LE(made, vk::Buffer::kMaxTexelViews);
  // Turned off, nothing is bound through texels.
  context.set_texel_reads(false);
  EXPECT_FALSE(context.texel_binding(whole, vk::TexelFormat::u32x4));
}

}  // namespace
}  // namespace lagvk::test
