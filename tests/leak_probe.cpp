// Leaks on purpose. The sanitizer build's ctest runs it with the environment every test that loads no
// Vulkan driver gets (tests/CMakeLists.txt) and passes only when LeakSanitizer reports the leak: leak
// checking stays on for those tests whatever ASAN_OPTIONS the caller set.
#include <cstdio>

namespace {
int* volatile g_block = nullptr;  // volatile: the allocation cannot be optimised away
}

int main() {
  g_block = new int[16];
  g_block[3] = 7;
  std::printf("allocated %d\n", g_block[3]);
  g_block = nullptr;  // the only pointer to the block is gone: a leak
  return 0;
}
