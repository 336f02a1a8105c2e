/* lagvk.h is C: this file is compiled as C99 with -Wall -Wextra -Wpedantic -Werror (tests/CMakeLists.txt)
 * and links against liblagvk. It calls what needs no GPU and returns 0 when the answers are right. */
#include <stdio.h>
#include <string.h>

#include "lagvk/lagvk.h"

#if LAGVK_VERSION_NUMBER != LAGVK_VERSION_MAJOR * 10000 + LAGVK_VERSION_MINOR * 100 + LAGVK_VERSION_PATCH
#error "LAGVK_VERSION_NUMBER does not match its parts"
#endif

static int check(int ok, const char* what) {
  if (!ok) fprintf(stderr, "c_api_header: %s\n", what);
  return ok ? 0 : 1;
}

int main(void) {
  int failures = 0;
  lagvk_model* model = NULL;
  lagvk_completion* completion = NULL;
  lagvk_model_params params = lagvk_model_params_default();
  lagvk_generate_params generate = lagvk_generate_params_default();
  lagvk_status status;

  failures += check(strcmp(lagvk_version_string(), LAGVK_VERSION_STRING) == 0, "version string");
  failures += check(strcmp(lagvk_status_name(LAGVK_ERROR_CONTEXT_FULL), "LAGVK_ERROR_CONTEXT_FULL") == 0,
                    "status name");
  failures += check(params.device == -1, "default device");
  failures += check(generate.max_tokens > 0, "default max_tokens");
  status = lagvk_model_load(NULL, &params, &model);
  failures += check(status == LAGVK_ERROR_INVALID_ARGUMENT && model == NULL, "NULL path");
  failures += check(strlen(lagvk_last_error()) > 0, "a message for the NULL path");
  status = lagvk_generate(model, "hi", &generate, &completion);
  failures += check(status == LAGVK_ERROR_INVALID_ARGUMENT && completion == NULL, "NULL model");
  failures += check(lagvk_model_get_info(NULL) == NULL, "info of NULL");
  lagvk_model_free(NULL);
  return failures == 0 ? 0 : 1;
}
