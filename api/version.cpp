// The library's version and the commit it was built from (LAGVK_BUILD_COMMIT, set by api/CMakeLists.txt).
#include "lagvk/lagvk.h"

#ifndef LAGVK_BUILD_COMMIT
#define LAGVK_BUILD_COMMIT "unknown"
#endif

extern "C" {
const char* lagvk_version_string(void) {
  return LAGVK_VERSION_STRING;
}
const char* lagvk_build_commit(void) {
  return LAGVK_BUILD_COMMIT;
}
}
