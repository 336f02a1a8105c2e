#include "engine/core/error.hpp"
#include "tools/lagvk/commands.hpp"
namespace lagvk::cli {
int cmd_devices(int, char**) {
  fail("devices: not implemented yet");
}
}  // namespace lagvk::cli
