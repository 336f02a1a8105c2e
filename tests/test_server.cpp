// lagvk serve over HTTP: the official OpenAI SDK against it (tests/server/openai_sdk.test.mjs: models,
// chat streamed and not, completions from token ids, embeddings, stop strings, SDK errors, greedy output
// equal to `lagvk run --temp 0`), and hand-written requests for what the SDK cannot send: malformed
// bodies, wrong types, a body over the limit, a missing key, a full queue, a client that hangs up, a
// SIGTERM during a generation. Each error must have OpenAI's shape and leave the server serving.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/real_models.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "test-key";
constexpr int kMaxBody = 65536;
/// The model tests/support/models.hpp's small_model_spec describes: 2 layers, width 128, vocabulary 600.
constexpr const char* kModelShape = "--layers 2 --dim 128 --heads 4 --kv-heads 2 --ff 256 --vocab 600";

fs::path make_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

/// A small random model in dir (made once per suite).
std::string make_model(const fs::path& dir) {
  const std::string path = (dir / "tiny.gguf").string();
  const auto r = test::run_lagvk(std::string("make-model ") + kModelShape + " -o " + path);
  EXPECT_EQ(r.status, 0) << r.out;
  return path;
}

httplib::Client client_for(int port, const std::string& key = kKey) {
  return test::server_client(port, key);
}

/// The error of an OpenAI-shaped error body; fails the test when the body has another shape.
json error_of(const httplib::Result& r) {
  if (!r) return json();
  const json body = json::parse(r->body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << r->body;
  if (!body.is_object() || !body.contains("error")) return json();
  const json& e = body["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty()) << r->body;
  EXPECT_TRUE(e["type"].is_string()) << r->body;
  EXPECT_TRUE(e["code"].is_string()) << r->body;
  EXPECT_TRUE(e.contains("param")) << r->body;
  return e;
}

class ServerHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = make_dir("lagvk_server_http");
    model_ = make_model(dir_);
    server_ = new test::ServerProcess("-m " + model_ + " --port 0 --ctx 256 --api-key " + kKey +
                                      " --max-body-bytes " + std::to_string(kMaxBody) + " --queue 4");
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->stop(SIGTERM, 20s), 0);
    }
    delete server_;
    server_ = nullptr;
    fs::remove_all(dir_);
  }
  void SetUp() override {
    ASSERT_GT(server_->port(), 0) << "lagvk serve did not start:\n" << server_->output();
  }

  static httplib::Client client(const std::string& key = kKey) { return client_for(server_->port(), key); }

  /// POSTs body to path; expects an error with this status and code.
  static void expect_error(const std::string& path, const std::string& body, int status,
                           const std::string& code, const std::string& key = kKey) {
    auto c = client(key);
    const auto r = c.Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, status) << path << " " << body << "\n" << r->body;
    EXPECT_EQ(error_of(r)["code"], code) << body;
  }

  static inline fs::path dir_;
  static inline std::string model_;
  static inline test::ServerProcess* server_ = nullptr;
};

TEST_F(ServerHttp, HealthIsOkWithoutAKeyAndModelsListTheFile) {
  auto anonymous = client("");
  const auto health = anonymous.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "ok"}}));
  const auto models = client().Get("/v1/models");
  ASSERT_TRUE(models);
  ASSERT_EQ(models->status, 200) << models->body;
  const json list = json::parse(models->body);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], "tiny.gguf");
  EXPECT_EQ(list["data"][0]["object"], "model");
}

TEST_F(ServerHttp, MalformedOrMistypedRequestsAre400WithTheirCode) {
  const std::string chat = "/v1/chat/completions";
  const std::string msgs = R"("messages": [{"role": "user", "content": "hi"}])";
  expect_error(chat, "{\"messages\": [", 400, "invalid_json");
  expect_error(chat, "[1, 2]", 400, "invalid_json");
  expect_error(chat, "", 400, "invalid_json");
  expect_error(chat, "{}", 400, "missing_required_parameter");
  expect_error(chat, R"({"messages": "hi"})", 400, "invalid_type");
  expect_error(chat, R"({"messages": []})", 400, "invalid_value");
  expect_error(chat, R"({"messages": [{"content": "hi"}]})", 400, "missing_required_parameter");
  expect_error(chat, R"({"messages": [{"role": "wizard", "content": "hi"}]})", 400, "invalid_value");
  expect_error(chat, R"({"messages": [{"role": "user", "content": 5}]})", 400, "invalid_type");
  expect_error(chat, "{" + msgs + R"(, "max_tokens": "ten"})", 400, "invalid_type");
  expect_error(chat, "{" + msgs + R"(, "max_tokens": 0})", 400, "invalid_value");
  expect_error(chat, "{" + msgs + R"(, "temperature": -1})", 400, "invalid_value");
  expect_error(chat, "{" + msgs + R"(, "top_p": 0})", 400, "invalid_value");
  expect_error(chat, "{" + msgs + R"(, "stop": 3})", 400, "invalid_type");
  expect_error(chat, "{" + msgs + R"(, "stop": [""]})", 400, "invalid_value");
  expect_error(chat, "{" + msgs + R"(, "stream": "yes"})", 400, "invalid_type");
  expect_error(chat, "{" + msgs + R"(, "n": 2})", 400, "unsupported_value");
  expect_error(chat, "{" + msgs + R"(, "model": "gpt-4o"})", 404, "model_not_found");
  expect_error("/v1/completions", R"({"prompt": 12})", 400, "invalid_type");
  expect_error("/v1/completions", R"({"prompt": [1, -2]})", 400, "invalid_value");
  expect_error("/v1/completions", R"({"prompt": [1, 600]})", 400, "invalid_value");
  expect_error("/v1/completions", R"({"prompt": ["a", "b"]})", 400, "unsupported_value");
  expect_error("/v1/embeddings", R"({"input": 7})", 400, "invalid_type");
  expect_error("/v1/embeddings", R"({"input": "a", "encoding_format": "int8"})", 400, "invalid_value");
  expect_error("/v1/nothing", "{}", 404, "not_found");
  // Still serving.
  const auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerHttp, APromptLongerThanTheContextIs400ContextLengthExceeded) {
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word ";
  const json chat{{"messages", {{{"role", "user"}, {"content", words}}}}};
  expect_error("/v1/chat/completions", chat.dump(), 400, "context_length_exceeded");
  json streamed = chat;
  streamed["stream"] = true;  // refused before the stream starts: a status, not an event
  expect_error("/v1/chat/completions", streamed.dump(), 400, "context_length_exceeded");
  expect_error("/v1/completions", json{{"prompt", std::vector<int>(256, 7)}}.dump(), 400,
               "context_length_exceeded");
  expect_error("/v1/completions", json{{"prompt", words}}.dump(), 400, "context_length_exceeded");
}

TEST_F(ServerHttp, ABodyOverTheLimitIs413) {
  const json chat{{"messages", {{{"role", "user"}, {"content", std::string(kMaxBody, 'a')}}}}};
  expect_error("/v1/chat/completions", chat.dump(), 413, "request_too_large");
}

TEST_F(ServerHttp, AMissingOrWrongKeyIs401) {
  const std::string body = R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})";
  expect_error("/v1/chat/completions", body, 401, "invalid_api_key", "");
  expect_error("/v1/chat/completions", body, 401, "invalid_api_key", "wrong");
  auto anonymous = client("");
  const auto models = anonymous.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  EXPECT_EQ(error_of(models)["code"], "invalid_api_key");
}

/// `lagvk run ... --temp 0 -n N --json`'s text.
std::string greedy_run(const std::string& model, const std::string& prompt_args, int n) {
  const auto r = test::run_lagvk(
      "run -m " + model + " --ctx 256 " + prompt_args + " --temp 0 -n " + std::to_string(n) + " --json",
      false);
  EXPECT_EQ(r.status, 0) << r.out;
  return json::parse(r.out, nullptr, false).value("text", "");
}

TEST_F(ServerHttp, TheOpenAiSdkPassesItsSuiteWithGreedyOutputEqualToLagvkRun) {
  const fs::path clients = fs::path(LAGVK_SOURCE_DIR) / "tests/server";
  if (!fs::exists(clients / "node_modules/openai"))
    LAGVK_REFERENCE_MISSING("the openai npm SDK is not installed: run scripts/setup_server_clients.sh");
  constexpr int kTokens = 12;
  const std::string chat = "Tell me about the glass harbor";
  const std::string tokens = "1,17,42,99,5";
  const std::string chat_expected = greedy_run(model_, "--chat '" + chat + "'", kTokens);
  const std::string tokens_expected = greedy_run(model_, "--tokens " + tokens, kTokens);
  // The expected texts go through the environment: written to files and read back by the shell keeps
  // every byte as lagvk run printed it.
  const auto write = [&](const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    FILE* f = std::fopen(p.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p.string();
  };
  const std::string command =
      "cd " + clients.string() + " && LAGVK_URL=http://127.0.0.1:" + std::to_string(server_->port()) +
      "/v1 LAGVK_API_KEY=" + kKey + " LAGVK_MODEL_ID=tiny.gguf LAGVK_CHAT='" + chat +
      "' LAGVK_CHAT_EXPECTED=\"$(cat " + write("chat.txt", chat_expected) + ")\" LAGVK_TOKENS=" + tokens +
      " LAGVK_TOKENS_EXPECTED=\"$(cat " + write("tokens.txt", tokens_expected) +
      ")\" LAGVK_MAX_TOKENS=" + std::to_string(kTokens) +
      " LAGVK_EMBEDDING_SIZE=128 node --test --test-reporter=spec openai_sdk.test.mjs 2>&1";
  const auto r = test::run_shell(command);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pass 7"), std::string::npos) << r.out;
}

TEST(ServerLifecycle, AFullQueueIs503AndAClientThatHangsUpCancelsItsGeneration) {
  const fs::path dir = make_dir("lagvk_server_queue");
  const std::string model = make_model(dir);
  // No queue: while one generates, every other request is refused at once.
  test::ServerProcess server("-m " + model + " --port 0 --ctx 2048 --queue 0");
  ASSERT_GT(server.port(), 0) << server.output();
  std::atomic<bool> started{false}, stop_reading{false};
  std::thread streaming = test::long_stream(server.port(), "", started, stop_reading);
  for (int i = 0; i < 600 && !started; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(started);
  const std::string small = R"({"prompt": [1, 2], "max_tokens": 1})";
  auto c = client_for(server.port(), "");
  const auto busy = c.Post("/v1/completions", small, "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_EQ(error_of(busy)["code"], "server_busy");
  // The client hangs up: its generation (1900 tokens, a minute on a CPU device) must stop, so the next
  // request gets its turn within seconds.
  stop_reading = true;
  streaming.join();
  const int status = test::status_within(c, "/v1/completions", small, 10s);
  EXPECT_EQ(status, 200) << "the abandoned generation was not cancelled";
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
  fs::remove_all(dir);
}

TEST(ServerLifecycle, SigtermDuringAGenerationStopsTheServerWithStatus0WithinSeconds) {
  const fs::path dir = make_dir("lagvk_server_sigterm");
  const std::string model = make_model(dir);
  test::ServerProcess server("-m " + model + " --port 0 --ctx 2048");
  ASSERT_GT(server.port(), 0) << server.output();
  std::atomic<bool> started{false}, stop_reading{false};
  std::thread streaming = test::long_stream(server.port(), "", started, stop_reading);
  for (int i = 0; i < 600 && !started; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(started);
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.stop(SIGTERM, 10s, &took), 0);
  EXPECT_LT(took, 10s);
  streaming.join();
  fs::remove_all(dir);
}

TEST(ServerLifecycle, AModelThatFailsToLoadEndsTheCommandWithStatus1) {
  // The server listens before it loads; a load that fails at once must still stop the listener it had
  // just started (it hung, listening, when the stop came before the listener ran).
  const fs::path dir = make_dir("lagvk_server_bad_model");
  const fs::path fifo = dir / "pipe.gguf";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // The race lost about one run in three: ten runs catch it.
  for (int i = 0; i < 10; ++i) {
    const auto r = test::run_shell("timeout 10 " + test::lagvk_binary() + " serve -m " + fifo.string() +
                                   " --port 0 2>&1");
    test::expect_error(r, "FIFO", "a model that is not a regular file");
  }
  fs::remove_all(dir);
}

// An embedding model (all-MiniLM-L6-v2, the real one) behind the server: /v1/embeddings gives the vectors
// `lagvk embed` prints (unit length), and a request to generate is a 400 naming what the model is.
TEST(ServerEmbeddingModel, ServesTheVectorsOfLagvkEmbedAndRefusesToGenerate) {
  const test::RealModelFile minilm = test::minilm_f16();
  if (!minilm.available()) LAGVK_REFERENCE_MISSING(minilm.missing_reason);
  const std::vector<std::string> texts = {"a cat sits on the mat", "the weather is cold today"};
  const auto cli =
      test::run_lagvk("embed -m '" + minilm.path.string() + "' --json '" + texts[0] + "' '" + texts[1] + "'");
  ASSERT_EQ(cli.status, 0) << cli.out;
  const auto expected = nlohmann::json::parse(cli.out)["embeddings"];
  test::ServerProcess server("-m '" + minilm.path.string() + "' --port 0");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  const auto r = c.Post("/v1/embeddings", nlohmann::json{{"input", texts}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto data = nlohmann::json::parse(r->body)["data"];
  ASSERT_EQ(data.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto got = data[i]["embedding"].get<std::vector<float>>();
    const auto want = expected[i].get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    double norm = 0, worst = 0;
    for (std::size_t j = 0; j < got.size(); ++j) {
      norm += double(got[j]) * got[j];
      worst = std::max(worst, double(std::abs(got[j] - want[j])));
    }
    EXPECT_NEAR(norm, 1.0, 1e-4);
    EXPECT_LT(worst, 1e-5) << "text " << i;
  }
  const auto chat = c.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})",
                           "application/json");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->status, 400) << chat->body;
  const auto error = nlohmann::json::parse(chat->body)["error"];
  EXPECT_EQ(error["code"], "unsupported_model");
  EXPECT_NE(error["message"].get<std::string>().find("embedding model"), std::string::npos) << chat->body;
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace lagvk
