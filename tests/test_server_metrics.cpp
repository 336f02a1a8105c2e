// GET /metrics of lagvk serve: scraped around real requests, its counters must move by what those requests
// did (requests by route and status, prompt and generated tokens as their usage reports them, one
// time-to-first-token observation per generation), the queue depth must show a request waiting behind a
// running generation, and the text must be Prometheus' exposition format.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "metrics-key";

httplib::Client client_for(int port) {
  return test::server_client(port, kKey);
}

/// Every sample of an exposition, by its name with labels as written ("a{b=\"c\"}"); fails the test on a
/// line that is neither a comment nor "NAME[{LABELS}] VALUE", or a sample of a family without # TYPE.
std::map<std::string, double> scrape(int port) {
  auto c = client_for(port);
  const auto r = c.Get("/metrics");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    const auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const std::string key = line.substr(0, space);
    const std::string family = key.substr(0, key.find('{'));
    const bool typed = types.count(family) || types.count(family.substr(0, family.rfind('_')));
    EXPECT_TRUE(typed) << "no # TYPE for " << line;
    samples[key] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double get(const std::map<std::string, double>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? 0.0 : it->second;
}

std::string requests(const std::string& route, int status) {
  return "lagvk_requests_total{route=\"" + route + "\",status=\"" + std::to_string(status) + "\"}";
}

class ServerMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = (dir_.path() / "tiny.gguf").string();
    ASSERT_EQ(test::run_lagvk(
                  "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o " + model_)
                  .status,
              0);
  }
  test::ScratchDir dir_{"server_metrics"};
  std::string model_;
  std::map<std::string, double> after_;  ///< the last scrape
};

TEST_F(ServerMetrics, CountersMoveByWhatTheRequestsDid) {
  test::ServerProcess server("-m " + model_ + " --port 0 --ctx 256 --api-key " + kKey);
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = client_for(server.port());
  const auto before = scrape(server.port());
  std::uint64_t prompt = 0, generated = 0, cached = 0;
  auto add_usage = [&](const json& usage) {
    prompt += usage["prompt_tokens"].get<std::uint64_t>();
    generated += usage["completion_tokens"].get<std::uint64_t>();
    cached += usage["prompt_tokens_details"]["cached_tokens"].get<std::uint64_t>();
  };
  const auto chat = c.Post("/v1/chat/completions",
                           R"({"messages": [{"role": "user", "content": "the glass harbor"}], "max_tokens": 4,
                               "temperature": 0})",
                           "application/json");
  ASSERT_TRUE(chat);
  ASSERT_EQ(chat->status, 200) << chat->body;
  add_usage(json::parse(chat->body)["usage"]);
  const auto streamed =
      c.Post("/v1/chat/completions",
             R"({"messages": [{"role": "user", "content": "who"}], "max_tokens": 3, "stream": true,
                                   "stream_options": {"include_usage": true}})",
             "application/json");
  ASSERT_TRUE(streamed);
  ASSERT_EQ(streamed->status, 200);
  // The usage chunk is the last event before [DONE].
  const std::string body = streamed->body;
  const auto usage_at = body.rfind("data: {");
  add_usage(json::parse(body.substr(usage_at + 6, body.find('\n', usage_at) - usage_at - 6))["usage"]);
  const auto text =
      c.Post("/v1/completions", R"({"prompt": [1, 5, 9], "max_tokens": 2})", "application/json");
  ASSERT_TRUE(text);
  ASSERT_EQ(text->status, 200) << text->body;
  add_usage(json::parse(text->body)["usage"]);
  const auto bad =
      c.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": 7})",
             "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  const auto missing = c.Get("/v1/nothing/here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  // A request is counted once its response is written, which the client may see first (each on its own
  // server thread): wait until the last of them is in.
  auto delta = [&](const std::string& key) { return get(after_, key) - get(before, key); };
  auto all_counted = [&] {
    return delta(requests("/v1/chat/completions", 200)) >= 2 &&
           delta(requests("/v1/completions", 200)) >= 1 &&
           delta(requests("/v1/chat/completions", 400)) >= 1 && delta(requests("other", 404)) >= 1;
  };
  for (int i = 0; i < 100 && (after_ = scrape(server.port()), !all_counted()); ++i)
    std::this_thread::sleep_for(20ms);
  const auto& after = after_;
  EXPECT_EQ(delta(requests("/v1/chat/completions", 200)), 2);
  EXPECT_EQ(delta(requests("/v1/completions", 200)), 1);
  EXPECT_EQ(delta(requests("/v1/chat/completions", 400)), 1);
  EXPECT_EQ(delta(requests("other", 404)), 1) << "an unknown path is counted under one label";
  EXPECT_GE(delta(requests("/metrics", 200)), 1);
  EXPECT_EQ(delta("lagvk_prompt_tokens_total"), double(prompt));
  EXPECT_EQ(delta("lagvk_generated_tokens_total"), double(generated));
  EXPECT_GT(generated, 0u);
  // Prefix reuse: the requests share their template's opening with the one before.
  EXPECT_EQ(delta("lagvk_cached_tokens_total"), double(cached));
  EXPECT_LT(cached, prompt);
  EXPECT_EQ(get(after, "lagvk_queue_depth"), 0);
  EXPECT_EQ(delta("lagvk_time_to_first_token_seconds_count"), 3) << "one observation per generation";
  EXPECT_GT(delta("lagvk_time_to_first_token_seconds_sum"), 0);
  EXPECT_EQ(get(after, "lagvk_time_to_first_token_seconds_bucket{le=\"+Inf\"}"),
            get(after, "lagvk_time_to_first_token_seconds_count"));
  double previous = 0;
  for (const char* le : {"0.005", "0.05", "0.5", "5", "30", "+Inf"}) {
    const double v = get(after, std::string("lagvk_time_to_first_token_seconds_bucket{le=\"") + le + "\"}");
    EXPECT_GE(v, previous) << "buckets are cumulative: le " << le;
    previous = v;
  }
  // The key guards the metrics like every other route but /health.
  httplib::Client stranger("127.0.0.1", server.port());
  const auto refused = stranger.Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

TEST_F(ServerMetrics, TheQueueDepthCountsARequestWaitingBehindAGeneration) {
  test::ServerProcess server("-m " + model_ + " --port 0 --ctx 2048 --api-key " + kKey);
  ASSERT_GT(server.port(), 0) << server.output();
  std::atomic<bool> started{false}, stop_reading{false};
  std::thread streaming = test::long_stream(server.port(), kKey, started, stop_reading);
  for (int i = 0; i < 600 && !started; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(started);
  std::thread waiting([&] {
    auto c = client_for(server.port());
    (void)c.Post("/v1/completions", R"({"prompt": [1, 2], "max_tokens": 1})", "application/json");
  });
  double depth = 0;
  for (int i = 0; i < 100 && depth < 1; ++i) {
    depth = get(scrape(server.port()), "lagvk_queue_depth");
    if (depth < 1) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(depth, 1) << "the second request waits while the first generates";
  stop_reading = true;  // the first client hangs up: its generation stops, the waiting one runs
  streaming.join();
  waiting.join();
  EXPECT_EQ(get(scrape(server.port()), "lagvk_queue_depth"), 0);
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

}  // namespace
}  // namespace lagvk
