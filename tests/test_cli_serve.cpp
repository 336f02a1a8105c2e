// 'lagvk serve' on the command line: every flag it documents, run. Bad flag values, a model that cannot
// be loaded and an address that cannot be bound are errors with exit status 1 and a message saying what
// to change; good flags start a server that answers as they say (its port, its key, its body limit, its
// queue). The HTTP behaviour itself is tests/test_server.cpp's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include <httplib.h>

#include "tests/server/server_process.hpp"
#include "tests/support/cli_cases.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::CliCase;
using test::kExitError;
using test::kExitOk;

class CliServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("lagvk_cli_serve_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    values_ = {{"model", (dir_ / "tiny.gguf").string()},
               {"other", (dir_ / "other.gguf").string()},
               {"missing", (dir_ / "missing.gguf").string()},
               {"store", (dir_ / "store").string()}};
    for (const auto& [name, seed] : {std::pair{"model", 1}, std::pair{"other", 2}}) {
      const auto r = test::run_lagvk(
          "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 "
          "--seed " +
          std::to_string(seed) + " -o " + values_[name]);
      ASSERT_EQ(r.status, 0) << r.out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static inline fs::path dir_;
  static inline test::Placeholders values_;
};

TEST_F(CliServe, BadFlagsAndUnloadableModelsAreErrors) {
  const std::vector<CliCase> cases = {
      {"help lists the flags",
       "serve --help",
       kExitOk,
       {"--host", "--port", "--api-key", "--queue", "--max-body-bytes", "--ctx", "--device", "--store",
        "--parallel", "127.0.0.1", "8080"}},
      {"short help", "serve -h", kExitOk, {"--max-body-bytes"}},
      {"no model", "serve --port 0", kExitError, {"-m MODEL is required"}},
      {"port out of range", "serve -m {model} --port 70000", kExitError, {"--port", "65535"}},
      {"negative queue", "serve -m {model} --port 0 --queue -1", kExitError, {"--queue"}},
      {"no slots", "serve -m {model} --port 0 --parallel 0", kExitError, {"--parallel"}},
      {"--index without --store",
       "serve -m {model} --port 0 --index task+response",
       kExitError,
       {"--index says what a new --store DIR indexes"}},
      {"too many slots", "serve -m {model} --port 0 -np 65", kExitError, {"--parallel", "64"}},
      {"empty body limit", "serve -m {model} --port 0 --max-body-bytes 0", kExitError, {"--max-body-bytes"}},
      {"empty key", "serve -m {model} --port 0 --api-key ''", kExitError, {"--api-key must not be empty"}},
      {"empty store", "serve -m {model} --port 0 --store ''", kExitError, {"--store needs a directory"}},
      {"coprocessor without a store",
       "serve -m {model} --port 0 --coprocessor {other}",
       kExitError,
       {"needs a log store: give --store DIR"}},
      {"latents without a coprocessor",
       "serve -m {model} --port 0 --latents 2",
       kExitError,
       {"--latents needs --coprocessor"}},
      {"context too large", "serve -m {model} --port 0 --ctx 99999999", kExitError, {"--ctx"}},
      {"missing model file", "serve --model {missing} --port 0", kExitError, {"missing.gguf"}},
      {"no such device", "serve -m {model} --port 0 -d 999", kExitError, {"999"}},
      {"not an address of this machine",
       "serve -m {model} --host 192.0.2.1 --port 0",
       kExitError,
       {"cannot listen on 192.0.2.1"}},
  };
  test::run_cases(cases, values_);
}

TEST_F(CliServe, AnAddressInUseIsAnError) {
  test::ServerProcess first(test::expand("-m {model} --host 127.0.0.1 --port 0", values_));
  ASSERT_GT(first.port(), 0) << first.output();
  // Under a time limit: a second server that binds the port anyway would serve until killed.
  const auto r = test::run_shell(
      "timeout 60 " + test::lagvk_binary() + " " +
      test::expand("serve -m {model} --host 127.0.0.1 --port " + std::to_string(first.port()), values_) +
      " 2>&1");
  test::expect_error(r, "cannot listen on 127.0.0.1:" + std::to_string(first.port()), "a port in use");
  EXPECT_EQ(first.stop(SIGTERM, std::chrono::seconds(20)), 0);
}

TEST_F(CliServe, TheFlagsShapeTheServer) {
  // A command line the coverage check reads: every flag of serve, together.
  const std::string args = test::expand(
      "serve -m {model} --host 127.0.0.1 --port 0 --ctx 128 --device -1 --api-key k1 --max-body-bytes 300 "
      "--queue 2 --store {store} --parallel 2",
      values_);
  test::ServerProcess server(args.substr(std::string("serve ").size()));
  ASSERT_GT(server.port(), 0) << server.output();
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(120, 0);
  c.set_bearer_token_auth("k1");
  // --api-key: the key opens /v1; --max-body-bytes: 300 bytes and more are refused.
  const auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200) << models->body;
  EXPECT_NE(models->body.find("tiny.gguf"), std::string::npos);
  const auto big =
      c.Post("/v1/completions", std::string(400, ' ') + R"({"prompt": [1]})", "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // --ctx 128: a prompt of 128 tokens leaves no room.
  std::string ids = "1";
  for (int i = 1; i < 128; ++i) ids += ",1";
  const auto full = c.Post("/v1/completions", "{\"prompt\": [" + ids + "]}", "application/json");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 400);
  EXPECT_NE(full->body.find("context_length_exceeded"), std::string::npos) << full->body;
  // --store: made for this model at start; its logs over REST.
  const auto logs = c.Get("/v1/logs");
  ASSERT_TRUE(logs);
  EXPECT_EQ(logs->status, 200) << logs->body;
  EXPECT_NE(logs->body.find(R"("data":[])"), std::string::npos) << logs->body;
  httplib::Client anonymous("127.0.0.1", server.port());
  const auto denied = anonymous.Get("/v1/models");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(server.stop(SIGINT, std::chrono::seconds(20)), 0);
  // The store now belongs to {model}: another model is refused at start (-s is --store).
  const auto r = test::run_shell("timeout 60 " + test::lagvk_binary() + " " +
                                 test::expand("serve -m {other} --port 0 -s {store}", values_) + " 2>&1");
  test::expect_error(r, "was made with another model", "a store of another model");
}

}  // namespace
}  // namespace lagvk
