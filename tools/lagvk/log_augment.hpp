#pragma once
// lagvk log augment: cache augmentation of the logs a store already holds (engine/lag/
// stored_log_augmentation.hpp), one verb of 'lagvk log' (cmd_log.cpp).
#include "engine/vk/instance.hpp"

namespace lagvk::cli {

int log_augment(int argc, char** argv, const vk::InstanceOptions& vulkan);

}  // namespace lagvk::cli
