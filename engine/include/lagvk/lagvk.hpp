#pragma once
// The one header a native application includes to use lagvk: devices, models, generation.
#include "engine/api/engine.hpp"
#include "engine/vk/device_info.hpp"
