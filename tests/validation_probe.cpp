// The probe behind ctest's ValidationPolicy tests (tests/CMakeLists.txt): each test provokes a real
// validation message and asserts nothing itself, so it passes unless the machinery of
// tests/support/validation.hpp fails it. ctest requires each to fail where that machinery must fail it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/model/random_model.hpp"
#include "engine/vk/command_stream.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

/// A buffer of size 0, which the layer reports on any driver (VUID-VkBufferCreateInfo-size-00912).
void create_empty_buffer(VkDevice device) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 0;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  if (vkCreateBuffer(device, &info, nullptr, &buffer) == VK_SUCCESS) vkDestroyBuffer(device, buffer, nullptr);
}

/// A small model written into `dir` (removed with it when the test ends).
std::string small_model(const ScratchDir& dir) {
  const auto path = dir.path() / "model.gguf";
  make_random_model(small_model_spec(GgmlType::f16, 5)).write(path.string());
  return path.string();
}

// The shared context of the test binary, no fixture: the listener fails the test.
TEST(ValidationProbe, RawVulkanError) {
  create_empty_buffer(gpu().device());
}

// An engine's context: the message is made while the engine lives and checked after it is gone.
TEST(ValidationProbe, EngineErrorAfterTheEngineIsGone) {
  const ScratchDir dir{"validation_probe"};
  LoadOptions o;
  o.context = 64;
  auto engine = load_engine(small_model(dir), o);
  create_empty_buffer(engine->context().device());
  engine.reset();
}

// An engine loaded around test support: its own log has the message, which the listener cannot see;
// ctest's check of the output must fail the run.
TEST(ValidationProbe, EngineLoadedOutsideTestSupport) {
  const ScratchDir dir{"validation_probe"};
  LoadOptions o;
  o.context = 64;
  auto engine = Engine::load(small_model(dir), o);
  create_empty_buffer(engine->context().device());
  EXPECT_EQ(engine->context().validation_log().message_count(), 1u);
}

// Two writes to one buffer inside a parallel group, which CommandStream leaves unordered (its contract
// forbids this): a write-after-write hazard only synchronization validation reports.
TEST(ValidationProbe, UnorderedWritesInACommandStream) {
  const vk::Buffer buffer = gpu().create_buffer(256);
  vk::CommandStream stream(gpu());
  stream.begin_parallel();
  stream.fill(buffer, 1);
  stream.fill(buffer, 2);
  stream.end_parallel();
  stream.finish();
}

}  // namespace
}  // namespace lagvk::test
