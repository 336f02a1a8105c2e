// The library's version and the commit it was built from (lagvk_build_commit.h, regenerated at build time
// by api/CMakeLists.txt when HEAD moves).
#include "lagvk/lagvk.h"
#include "lagvk_build_commit.h"

extern "C" {
const char* lagvk_version_string(void) {
  return LAGVK_VERSION_STRING;
}
const char* lagvk_build_commit(void) {
  return LAGVK_BUILD_COMMIT;
}
}
