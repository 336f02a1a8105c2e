// The context budget (lag::logs_that_fit) and what a store indexes of each log (logstore::IndexText,
// lag::index_log). No model: sizes are numbers, logs are synthetic.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/log_budget.hpp"
#include "logstore/store.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::test {
namespace {

using lag::LogMode;
using lag::LogSize;

std::vector<std::size_t> fit(const std::vector<LogSize>& logs, LogMode mode, std::uint32_t page,
                             std::uint64_t context, std::uint64_t task) {
  return lag::logs_that_fit(logs, mode, page, context, task);
}

TEST(LogBudget, EverythingFitsAndKeepsItsOrder) {
  EXPECT_EQ(fit({{0.2, 10}, {0.9, 10}, {0.5, 10}}, LogMode::text, 16, 100, 70),
            (std::vector<std::size_t>{0, 1, 2}));
}

TEST(LogBudget, DropsTheLowestScoredFirst) {
  // 100 tokens: the task takes 60, so two logs of 15 fit and the one scored 0.2 goes.
  EXPECT_EQ(fit({{0.2, 15}, {0.9, 15}, {0.5, 15}}, LogMode::text, 16, 100, 60),
            (std::vector<std::size_t>{1, 2}));
  // A tie keeps the earlier retrieved.
  EXPECT_EQ(fit({{0.5, 15}, {0.5, 15}, {0.5, 15}}, LogMode::text, 16, 100, 60),
            (std::vector<std::size_t>{0, 1}));
}

TEST(LogBudget, ALowerScoredLogThatStillFitsIsKept) {
  // The best (30) fits, the second (30) does not beside it, the third (5) does.
  EXPECT_EQ(fit({{0.9, 30}, {0.8, 30}, {0.1, 5}}, LogMode::text, 16, 100, 60),
            (std::vector<std::size_t>{0, 2}));
}

TEST(LogBudget, KvLogsTakeWholePages) {
  // Pages of 16: a log of 17 tokens takes 32. Two of them (64) and a task of 40 exceed 100.
  EXPECT_EQ(fit({{0.9, 17}, {0.8, 17}}, LogMode::kv, 16, 100, 40), (std::vector<std::size_t>{0}));
  // As text they take 34 and fit.
  EXPECT_EQ(fit({{0.9, 17}, {0.8, 17}}, LogMode::text, 16, 100, 40), (std::vector<std::size_t>{0, 1}));
}

TEST(LogBudget, NothingFitsBesideATaskThatFillsTheContext) {
  EXPECT_TRUE(fit({{0.9, 1}}, LogMode::kv, 16, 100, 100).empty());
  EXPECT_TRUE(fit({}, LogMode::kv, 16, 100, 10).empty());
}

logstore::StoreOptions options_with(logstore::IndexText text) {
  logstore::StoreOptions o{true, small_fingerprint()};
  o.index_text = text;
  return o;
}

/// A finished task whose last response names a word its question does not.
lag::EncodedLog finished_task(const std::string& task, const std::string& response) {
  lag::EncodedLog log;
  log.record = synthetic_log(4, 1, task).record;
  log.record.trace = nlohmann::json::array({{{"role", "user"}, {"content", task}},
                                            {{"role", "assistant"}, {"content", "thinking about it"}},
                                            {{"role", "assistant"}, {"content", response}}});
  return log;
}

TEST(IndexText, AStoreKeepsItsChoiceAndIndexesAccordingly) {
  for (const auto text : {logstore::IndexText::task, logstore::IndexText::task_and_response}) {
    const std::string dir = fresh_store_dir(std::string("index-") + logstore::index_text_name(text));
    {
      auto store = logstore::Store::open(dir, options_with(text));
      EXPECT_EQ(store->index_text(), text);
      auto log = finished_task("where was the director born", "Answer: Velmor");
      lag::index_log(*store, log, std::nullopt);
      EXPECT_EQ(log.record.retrieval_text, text == logstore::IndexText::task
                                               ? "where was the director born"
                                               : "where was the director born\nAnswer: Velmor");
      (void)store->put_log(log.record, synthetic_log(4, 1, "x").input());
      // The response's word finds the log only where the store indexes responses.
      EXPECT_EQ(store->search("velmor", 3).size(), text == logstore::IndexText::task ? 0u : 1u);
      EXPECT_EQ(store->search("director", 3).size(), 1u);
    }
    // Reopened (asking for the other choice), it keeps its own.
    auto again = logstore::Store::open(
        dir, options_with(text == logstore::IndexText::task ? logstore::IndexText::task_and_response
                                                            : logstore::IndexText::task));
    EXPECT_EQ(again->index_text(), text);
  }
}

TEST(IndexText, AnUnknownChoiceIsAClearError) {
  const std::string dir = fresh_store_dir("index-unknown");
  (void)logstore::Store::open(dir, options_with(logstore::IndexText::task));
  put_raw(dir, "meta", "index_text", "embeddings-of-the-future");
  try {
    (void)logstore::Store::open(dir, {false, small_fingerprint()});
    FAIL() << "an unknown index choice was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::store);
    EXPECT_NE(std::string(e.what()).find("embeddings-of-the-future"), std::string::npos) << e.what();
  }
}

TEST(IndexText, NamesRoundTrip) {
  for (const auto text : {logstore::IndexText::task, logstore::IndexText::task_and_response})
    EXPECT_EQ(logstore::parse_index_text(logstore::index_text_name(text)), text);
  EXPECT_FALSE(logstore::parse_index_text("response"));
}

}  // namespace
}  // namespace lagvk::test
