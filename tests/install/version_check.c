/* ctest's Library.VersionIsDefinedOnce: the version macros of lagvk.h, the project's version (which CMake
 * reads from that header: cmake/HeaderVersion.cmake) and the loaded library's lagvk_version_string() are
 * one version. Built as C99 against the shared library; prints lagvk_build_commit() for
 * check_build_commit.cmake. */
#include <stdio.h>
#include <string.h>

#include "lagvk/lagvk.h"

#if LAGVK_VERSION_NUMBER != LAGVK_VERSION_MAJOR * 10000 + LAGVK_VERSION_MINOR * 100 + LAGVK_VERSION_PATCH
#error "LAGVK_VERSION_NUMBER does not follow from the version macros"
#endif

int main(void) {
  char numbers[64];
  int failures = 0;
  snprintf(numbers, sizeof numbers, "%d.%d.%d", LAGVK_VERSION_MAJOR, LAGVK_VERSION_MINOR,
           LAGVK_VERSION_PATCH);
  if (strcmp(numbers, LAGVK_VERSION_STRING) != 0) {
    fprintf(stderr, "FAIL: LAGVK_VERSION_STRING is %s, the version macros say %s\n", LAGVK_VERSION_STRING,
            numbers);
    ++failures;
  }
  if (strcmp(LAGVK_PROJECT_VERSION, LAGVK_VERSION_STRING) != 0) {
    fprintf(stderr, "FAIL: the CMake project's version is %s, lagvk.h's is %s\n", LAGVK_PROJECT_VERSION,
            LAGVK_VERSION_STRING);
    ++failures;
  }
  if (strcmp(lagvk_version_string(), LAGVK_VERSION_STRING) != 0) {
    fprintf(stderr, "FAIL: the library says %s, its header %s\n", lagvk_version_string(),
            LAGVK_VERSION_STRING);
    ++failures;
  }
  printf("version %s\ncommit %s\n", lagvk_version_string(), lagvk_build_commit());
  return failures == 0 ? 0 : 1;
}
