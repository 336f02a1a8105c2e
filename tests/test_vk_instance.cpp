// vk::Instance's constructor frees what it made when a later step throws. An instance that is never
// destroyed leaves no validation message (nothing is left to report it), so these tests give the
// instance host allocation callbacks and count what is still allocated once the constructor has thrown:
// the loader and the layers allocate the instance's memory through them and free it in vkDestroyInstance.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/vk/instance.hpp"

namespace lagvk::test {
namespace {

/// Host allocation callbacks that remember every live allocation.
class CountingAllocator {
 public:
  CountingAllocator() {
    callbacks_.pUserData = this;
    callbacks_.pfnAllocation = [](void* self, std::size_t size, std::size_t alignment,
                                  VkSystemAllocationScope) {
      return static_cast<CountingAllocator*>(self)->allocate(size, alignment);
    };
    callbacks_.pfnReallocation = [](void* self, void* old, std::size_t size, std::size_t alignment,
                                    VkSystemAllocationScope) {
      return static_cast<CountingAllocator*>(self)->reallocate(old, size, alignment);
    };
    callbacks_.pfnFree = [](void* self, void* memory) {
      static_cast<CountingAllocator*>(self)->free(memory);
    };
  }
  CountingAllocator(const CountingAllocator&) = delete;
  CountingAllocator& operator=(const CountingAllocator&) = delete;

  [[nodiscard]] const VkAllocationCallbacks* callbacks() const { return &callbacks_; }
  [[nodiscard]] std::size_t live() const {
    std::lock_guard lock(mutex_);
    return sizes_.size();
  }

 private:
  void* allocate(std::size_t size, std::size_t alignment) {
    if (size == 0) return nullptr;
    alignment = std::max(alignment, alignof(std::max_align_t));
    void* memory = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (memory == nullptr) return nullptr;
    std::lock_guard lock(mutex_);
    sizes_[memory] = size;
    return memory;
  }
  void* reallocate(void* old, std::size_t size, std::size_t alignment) {
    if (old == nullptr) return allocate(size, alignment);
    if (size == 0) {
      free(old);
      return nullptr;
    }
    void* memory = allocate(size, alignment);
    if (memory == nullptr) return nullptr;
    std::size_t old_size = 0;
    {
      std::lock_guard lock(mutex_);
      old_size = sizes_.at(old);
    }
    std::memcpy(memory, old, std::min(old_size, size));
    free(old);
    return memory;
  }
  void free(void* memory) {
    if (memory == nullptr) return;
    {
      std::lock_guard lock(mutex_);
      sizes_.erase(memory);
    }
    std::free(memory);
  }

  VkAllocationCallbacks callbacks_{};
  mutable std::mutex mutex_;
  std::map<void*, std::size_t> sizes_;
};

/// Every step the constructor reports through InstanceOptions::after_step with validation on, in order.
const char* const kSteps[] = {"instance", "messenger"};

struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

vk::InstanceOptions validating(const CountingAllocator& allocator) {
  vk::InstanceOptions options;
  options.validation = true;
  options.require_validation = true;  // the messenger step must not be skipped for want of the layer
  options.log = std::make_shared<vk::ValidationLog>();
  options.allocator = allocator.callbacks();
  return options;
}

TEST(VkInstance, ADestroyedInstanceLeavesNoAllocationBehind) {
  // The baseline the failure test relies on: what the instance allocates through the callbacks, its
  // destruction frees.
  CountingAllocator allocator;
  {
    vk::Instance instance(validating(allocator));
    EXPECT_GT(allocator.live(), 0u) << "the instance allocates nothing through the callbacks";
  }
  EXPECT_EQ(allocator.live(), 0u);
}

TEST(VkInstance, AConstructorFailingAfterAnyStepLeavesNothingBehind) {
  for (const std::string step : kSteps) {
    CountingAllocator allocator;
    auto options = validating(allocator);
    bool reached = false;
    options.after_step = [&](std::string_view done) {
      if (done != step) return;
      reached = true;
      throw StepFailure("injected failure after " + step);
    };
    EXPECT_THROW(vk::Instance instance(options), StepFailure) << step;
    EXPECT_TRUE(reached) << "the constructor never reported step " << step;
    EXPECT_EQ(allocator.live(), 0u) << "allocations still live after a failure at " << step;
  }
}

TEST(VkInstance, EveryStepIsReportedOnceInOrder) {
  CountingAllocator allocator;
  auto options = validating(allocator);
  std::string seen;
  options.after_step = [&](std::string_view step) { seen += std::string(step) + ";"; };
  vk::Instance instance(options);
  std::string expected;
  for (const std::string step : kSteps) expected += step + ";";
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace lagvk::test
