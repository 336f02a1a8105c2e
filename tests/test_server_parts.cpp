// The parts of lagvk serve that need no model: the stop-string filter (what a stream may send, and when)
// and the request queue (order, bound, shutdown). The HTTP behaviour is tests/test_server.cpp's.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "server/request_queue.hpp"
#include "server/requests.hpp"
#include "server/stop_filter.hpp"

namespace lagvk::server {
namespace {

using namespace std::chrono_literals;

TEST(StopFilter, HoldsBackWhatMayStartAStopStringAndCutsAtTheFirstOne) {
  StopFilter f({"END", "\n\n"});
  EXPECT_EQ(f.push("hello E"), "hello ");  // "E" may start "END"
  EXPECT_EQ(f.push("N"), "");              // "EN" still may
  EXPECT_EQ(f.push("x"), "ENx");           // it did not
  EXPECT_EQ(f.push(" a\n"), " a");
  EXPECT_EQ(f.push("\nmore"), "");  // "\n\n" across two pieces: stop, and drop what follows
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.push("later"), "");
  EXPECT_EQ(f.finish(), "");
}

TEST(StopFilter, AStopStringInsideOnePieceEndsTheTextThere) {
  StopFilter f({"b"});
  EXPECT_EQ(f.push("aab ccb"), "aa");
  EXPECT_TRUE(f.stopped());
}

TEST(StopFilter, WithoutAStopTheHeldBackTextComesAtTheEnd) {
  StopFilter f({"xyz"});
  EXPECT_EQ(f.push("abcxy"), "abc");
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.finish(), "xy");
  StopFilter none({});
  EXPECT_EQ(none.push("all of it"), "all of it");
}

TEST(RequestQueue, TurnsComeInArrivalOrderAndAFullQueueRefusesAtOnce) {
  RequestQueue queue(2);
  auto first = queue.wait_for_turn();
  ASSERT_TRUE(first);
  std::mutex m;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&, i] {
      auto turn = queue.wait_for_turn();
      ASSERT_TRUE(turn);
      const std::lock_guard lock(m);
      order.push_back(i);
    });
    while (queue.waiting() != std::size_t(i + 1)) std::this_thread::sleep_for(1ms);
  }
  EXPECT_FALSE(queue.wait_for_turn()) << "two wait already: the queue is full";
  EXPECT_FALSE(queue.closed());
  first.reset();  // the generation ends: the waiters go, in order
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_TRUE(queue.wait_for_turn());
}

TEST(RequestQueue, SlotsTurnsRunAtOnceAndTheNextWaitsForAFreeOne) {
  RequestQueue queue(1, /*slots=*/3);
  std::vector<RequestQueue::Turn> running;
  for (int i = 0; i < 3; ++i) {
    auto turn = queue.wait_for_turn();
    ASSERT_TRUE(turn) << "slot " << i << " is free: no wait";
    running.push_back(std::move(*turn));
  }
  EXPECT_EQ(queue.running(), 3u);
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto turn = queue.wait_for_turn();
    got = turn.has_value();
  });
  while (queue.waiting() != 1) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(queue.wait_for_turn()) << "one waits already: the queue is full";
  EXPECT_FALSE(got.load());
  running.pop_back();  // a slot frees: the waiter goes
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(queue.running(), 2u);
}

TEST(RequestQueue, ClosingWakesEveryWaiterWithoutATurn) {
  RequestQueue queue(4);
  auto running = queue.wait_for_turn();
  ASSERT_TRUE(running);
  std::atomic<int> refused{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      if (!queue.wait_for_turn()) ++refused;
    });
  while (queue.waiting() != 3) std::this_thread::sleep_for(1ms);
  queue.close();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(refused, 3);
  EXPECT_TRUE(queue.closed());
  EXPECT_FALSE(queue.wait_for_turn());
}

TEST(ServerRequests, ParsedFieldsKeepTheirMeaning) {
  const ChatRequest c = parse_chat_request(
      R"({"model": "m.gguf", "messages": [{"role": "developer", "content": "be brief"},
          {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
          {"role": "assistant", "content": null}], "max_tokens": 5, "temperature": 0, "seed": -1,
          "stop": "\n", "stream": true, "stream_options": {"include_usage": true}, "user": "ignored"})");
  EXPECT_EQ(c.model, "m.gguf");
  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(c.messages[0].role, "system");
  EXPECT_EQ(c.messages[1].content, "ab");
  EXPECT_EQ(c.messages[2].content, "");
  EXPECT_EQ(c.sampling.max_tokens, 5u);
  EXPECT_EQ(c.sampling.temperature, 0.0f);
  EXPECT_EQ(c.sampling.seed, ~std::uint64_t(0));
  EXPECT_EQ(c.sampling.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  const CompletionRequest t = parse_completion_request(R"({"prompt": [[3, 4]], "max_completion_tokens": 2})");
  EXPECT_EQ(std::get<std::vector<std::int32_t>>(t.prompt), (std::vector<std::int32_t>{3, 4}));
  EXPECT_EQ(t.sampling.max_tokens, 2u);
  const EmbeddingRequest e = parse_embedding_request(R"({"input": "x", "encoding_format": "base64"})");
  EXPECT_EQ(e.input, std::vector<std::string>{"x"});
  EXPECT_TRUE(e.base64);
}

TEST(ServerLayout, TheServerIncludesOnlyThePublicApiOfLagvk) {
  // docs/ARCHITECTURE.md: the CLI and the server use only the public API. Engine internals in server/
  // would tie it to what the library may change.
  const std::regex include(R"re(#include\s+"([^"]+)")re");
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(LAGVK_SOURCE_DIR) / "server")) {
    if (entry.path().extension() != ".cpp" && entry.path().extension() != ".hpp") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string source = text.str();
    for (std::sregex_iterator it(source.begin(), source.end(), include), end; it != end; ++it) {
      const std::string header = (*it)[1];
      EXPECT_TRUE(header.rfind("lagvk/", 0) == 0 || header.rfind("server/", 0) == 0)
          << entry.path().filename() << " includes " << header;
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace lagvk::server
