// lagvk serve --parallel N on the shipped multihop model: concurrent chats answer as `lagvk run --chat`
// does alone (greedy), and an agent's next step finds its transcript in a slot; clients that hang up free
// their slots at once; SIGTERM stops every running generation; 8 clients x 20 requests on 4 slots are all
// answered as alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"

namespace lagvk {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kModel = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf";
const std::vector<std::string> kQuestions = {
    "What is the mayor of the capital of the country of Calxar?",
    "Who founded the company that makes the Vondrel engine?",
    "What river flows through the birthplace of Ilsa Marrow?",
    "Which language is spoken in the country whose capital is Dunhallow?"};

json chat_body(const std::string& question, int max_tokens) {
  return {{"messages", json::array({{{"role", "user"}, {"content", question}}})},
          {"max_tokens", max_tokens},
          {"temperature", 0}};
}

/// The response body, or a description of what came back instead (in "error").
json post_chat(httplib::Client& c, const json& body) {
  const auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  if (!r) return {{"error", "transport error " + std::to_string(int(r.error()))}};
  if (r->status != 200) return {{"error", "status " + std::to_string(r->status) + ": " + r->body}};
  return json::parse(r->body);
}

std::string content_of(const json& response) {
  if (response.contains("error")) return response["error"].dump();
  return response["choices"][0]["message"]["content"];
}

TEST(ServerParallel, ConcurrentChatsAnswerAsLagvkRunAloneAndStepsReuseTheirSlot) {
  constexpr int kTokens = 12;
  std::vector<std::string> alone;
  for (const auto& q : kQuestions) {
    const auto r = test::run_lagvk(
        "run -m " + kModel + " --chat \"" + q + "\" --temp 0 -n " + std::to_string(kTokens) + " --json",
        false);
    ASSERT_EQ(r.status, 0) << r.out;
    alone.push_back(json::parse(r.out, nullptr, false).value("text", ""));
  }
  test::ServerProcess server("-m " + kModel + " --port 0 --parallel 4");
  ASSERT_GT(server.port(), 0) << server.output();
  std::vector<json> got(kQuestions.size());
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < kQuestions.size(); ++i)
    clients.emplace_back([&, i] {
      auto c = test::server_client(server.port(), "");
      got[i] = post_chat(c, chat_body(kQuestions[i], kTokens));
    });
  for (auto& t : clients) t.join();
  for (std::size_t i = 0; i < kQuestions.size(); ++i)
    EXPECT_EQ(content_of(got[i]), alone[i]) << kQuestions[i];

  // Each question's next step (its answer and a tool result appended) finds its transcript in a slot,
  // though the other three ran beside it.
  std::vector<json> next(kQuestions.size());
  clients.clear();
  for (std::size_t i = 0; i < kQuestions.size(); ++i)
    clients.emplace_back([&, i] {
      json body = chat_body(kQuestions[i], 4);
      body["messages"].push_back({{"role", "assistant"}, {"content", content_of(got[i])}});
      body["messages"].push_back({{"role", "user"}, {"content", "Observation: none"}});
      auto c = test::server_client(server.port(), "");
      next[i] = post_chat(c, body);
    });
  for (auto& t : clients) t.join();
  for (std::size_t i = 0; i < kQuestions.size(); ++i) {
    ASSERT_FALSE(next[i].contains("error")) << next[i].dump();
    const std::uint32_t first_prompt = got[i]["usage"]["prompt_tokens"];
    EXPECT_GE(std::uint32_t(next[i]["usage"]["prompt_tokens_details"]["cached_tokens"]), first_prompt)
        << kQuestions[i];
  }
  // llama-server's cache_prompt: false evaluates the whole prompt afresh, to the same answer.
  json afresh = chat_body(kQuestions[0], 4);
  afresh["messages"].push_back({{"role", "assistant"}, {"content", content_of(got[0])}});
  afresh["messages"].push_back({{"role", "user"}, {"content", "Observation: none"}});
  afresh["cache_prompt"] = false;
  auto c = test::server_client(server.port(), "");
  const json fresh = post_chat(c, afresh);
  EXPECT_EQ(fresh["usage"]["prompt_tokens_details"]["cached_tokens"], 0) << fresh.dump();
  EXPECT_EQ(content_of(fresh), content_of(next[0]));
  afresh["cache_prompt"] = "no";
  const json wrong = post_chat(c, afresh);
  EXPECT_NE(content_of(wrong).find("invalid_type"), std::string::npos) << wrong.dump();
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

TEST(ServerParallel, HangUpsFreeTheirSlotsAtOnceAndSigtermStopsEveryGeneration) {
  test::ServerProcess server("-m " + kModel + " --port 0 --parallel 2 --queue 0");
  ASSERT_GT(server.port(), 0) << server.output();
  std::atomic<bool> started_a{false}, started_b{false}, stop_reading{false};
  std::thread a = test::long_stream(server.port(), "", started_a, stop_reading);
  std::thread b = test::long_stream(server.port(), "", started_b, stop_reading);
  for (int i = 0; i < 600 && !(started_a && started_b); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(started_a && started_b);
  auto c = test::server_client(server.port(), "");
  const std::string small = R"({"prompt": "a", "max_tokens": 1})";
  const auto busy = c.Post("/v1/completions", small, "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << "both slots are generating and no request may wait";
  // Both clients hang up: their generations (1900 tokens each) stop, so a request is served within seconds.
  stop_reading = true;
  a.join();
  b.join();
  const int status = test::status_within(c, "/v1/completions", small, 10s);
  EXPECT_EQ(status, 200) << "the abandoned generations kept their slots";

  std::atomic<bool> again_a{false}, again_b{false}, never{false};
  std::thread x = test::long_stream(server.port(), "", again_a, never);
  std::thread y = test::long_stream(server.port(), "", again_b, never);
  for (int i = 0; i < 600 && !(again_a && again_b); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(again_a && again_b);
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.stop(SIGTERM, 10s, &took), 0);
  EXPECT_LT(took, 10s);
  x.join();
  y.join();
}

TEST(ServerParallel, EightClientsOfTwentyRequestsOnFourSlotsAreAllAnsweredAsAlone) {
  constexpr int kClients = 8, kRequests = 20;
  test::ServerProcess server("-m " + kModel + " --port 0 --parallel 4 --queue 8");
  ASSERT_GT(server.port(), 0) << server.output();
  const auto question = [](int client) { return "Who is the mayor of town " + std::to_string(client) + "?"; };
  std::vector<std::string> alone(kClients);
  {
    auto c = test::server_client(server.port(), "");
    for (int i = 0; i < kClients; ++i) alone[i] = content_of(post_chat(c, chat_body(question(i), 4)));
  }
  std::vector<std::vector<std::string>> got(kClients);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      auto c = test::server_client(server.port(), "");
      for (int r = 0; r < kRequests; ++r)
        got[i].push_back(content_of(post_chat(c, chat_body(question(i), 4))));
    });
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(got[i].size(), std::size_t(kRequests));
    for (const auto& a : got[i]) EXPECT_EQ(a, alone[i]) << "client " << i;
  }
  EXPECT_LT(seconds, 120.0);
  std::printf("160 requests from 8 clients on 4 slots in %.1f s\n", seconds);
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

}  // namespace
}  // namespace lagvk
