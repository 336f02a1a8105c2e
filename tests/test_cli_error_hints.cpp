// The library's messages speak in library terms; the CLI adds its own advice, by error code, on a line
// after "error: ...": the flag to raise for a full context, where to look for devices.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/model/random_model.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/models.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

TEST(CliErrorHints, CodesGetTheCliAdviceTheLibraryLeavesOut) {
  const std::string model =
      (fs::path(::testing::TempDir()) / ("hints_" + std::to_string(::getpid()) + ".gguf")).string();
  make_random_model(small_model_spec(GgmlType::q8_0, 41)).write(model);
  const std::string not_gguf = model + ".txt";
  {
    FILE* f = std::fopen(not_gguf.c_str(), "w");
    std::fputs("not a model\n", f);
    std::fclose(f);
  }
  std::string long_prompt;
  for (int i = 0; i < 20; ++i) long_prompt += "the glass harbor ";
  run_cases({{"a prompt longer than --ctx",
              "run -m {model} -p '" + long_prompt + "' --ctx 16 -n 1",
              kExitError,
              {"error: the prompt has ", "load the model with a larger context", "\nhint: raise --ctx"}},
             {"a device that is not there",
              "run -m {model} -p hi -n 1 --device 4000",
              kExitError,
              {"error: device 4000 does not exist", "\nhint: 'lagvk devices' lists the devices"}},
             {"not a GGUF file",
              "run -m {bad} -p hi -n 1",
              kExitError,
              {"error: ", "is not a GGUF file", "\nhint: 'lagvk model-info -m FILE'"}},
             {"a missing file has a message that says enough",
              "run -m {model}.missing -p hi -n 1",
              kExitError,
              {"error: cannot open"},
              {},
              {"hint:"}}},
            {{"model", model}, {"bad", not_gguf}});
  fs::remove(model);
  fs::remove(not_gguf);
}

}  // namespace
}  // namespace lagvk::test
