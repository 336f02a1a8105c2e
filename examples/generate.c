/* generate MODEL PROMPT N: loads a GGUF model and streams N tokens of greedy text for PROMPT to stdout,
 * through lagvk's per-token callback. The same text as `lagvk run -m MODEL -p PROMPT -n N --temp 0`.
 * Exit status: 0 on success, 1 on a lagvk error (its status name and message on stderr), 2 on bad usage.
 * A C99 program using only the installed package: see examples/README.md to build it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <lagvk/lagvk.h>

/* The token callback: write each piece of text as it comes (len is 0 inside a multi-byte character). */
static int print_token(void* user_data, int32_t token, const char* text, size_t len) {
  (void)user_data;
  (void)token;
  if (len > 0 && fwrite(text, 1, len, stdout) != len) return 1; /* stdout failed: stop generating */
  fflush(stdout);
  return 0;
}

static int fail(const char* what, lagvk_status status) {
  fprintf(stderr, "generate: %s failed: %s: %s\n", what, lagvk_status_name(status), lagvk_last_error());
  return 1;
}

/* N as a whole number from 1 to 100000. */
static int parse_count(const char* s, uint32_t* n) {
  char* end = NULL;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 100000) return 0;
  *n = (uint32_t)v;
  return 1;
}

int main(int argc, char** argv) {
  lagvk_model* model = NULL;
  lagvk_completion* completion = NULL;
  lagvk_model_params model_params = lagvk_model_params_default();
  lagvk_generate_params params = lagvk_generate_params_default();
  lagvk_status status;
  uint32_t n = 0;

  if (argc != 4 || !parse_count(argv[3], &n)) {
    fprintf(stderr, "usage: generate MODEL PROMPT N   (N: tokens to generate, 1 to 100000; lagvk %s)\n",
            lagvk_version_string());
    return 2;
  }
  status = lagvk_model_load(argv[1], &model_params, &model);
  if (status != LAGVK_OK) return fail("loading the model", status);

  params.max_tokens = n;
  params.temperature = 0.0f; /* greedy: the same text every time */
  params.on_token = print_token;
  status = lagvk_generate(model, argv[2], &params, &completion);
  if (status != LAGVK_OK) {
    const int exit_status = fail("generating", status);
    lagvk_model_free(model);
    return exit_status;
  }
  printf("\n");
  lagvk_completion_free(completion);
  lagvk_model_free(model);
  return 0;
}
