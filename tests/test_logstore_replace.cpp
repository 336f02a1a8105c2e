// Store::replace_log, the store's half of augmenting logs in place ('lagvk log augment'): a log's record
// and pages swapped in one transaction, keeping its id, dense vector and place in retrieval; a failed
// replacement (a full store) and a writer killed mid-replacement leave every log whole, old or new.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "engine/core/error.hpp"
#include "logstore/store.hpp"
#include "tests/support/synthetic_logs.hpp"
#include "tests/support/thrown_error.hpp"

namespace lagvk::logstore {
namespace {

using test::fresh_store_dir;
using test::small_fingerprint;
using test::synthetic_log;
using test::SyntheticLog;

/// `log` with `latents` random KV entries after its tokens, as an augmented log keeps them.
SyntheticLog with_latents(SyntheticLog log, std::uint32_t latents, std::uint32_t seed) {
  std::mt19937 rng(seed);
  log.record.latents = latents;
  const std::int32_t end = log.record.positions.back() + 1;
  for (std::uint32_t i = 0; i < latents; ++i) log.record.positions.push_back(end + std::int32_t(i));
  for (std::size_t l = 0; l < log.k.size(); ++l)
    for (std::uint32_t i = 0; i < latents * 8; ++i) {
      log.k[l].push_back(std::uint16_t(rng()));
      log.v[l].push_back(std::uint16_t(rng()));
    }
  return log;
}

LogKvInput input_of(const SyntheticLog& log) {
  LogKvInput in = log.input();
  in.tokens = std::uint32_t(log.record.kv_tokens());
  return in;
}

/// The log's pages, joined per layer, as [layer] K then V.
std::vector<std::vector<std::uint16_t>> pages_of(Store& store, LogId id) {
  auto r = store.read();
  const auto rec = r.log(id);
  if (!rec) return {};
  std::vector<std::vector<std::uint16_t>> out(2 * store.fingerprint().layers);
  for (std::uint32_t l = 0; l < store.fingerprint().layers; ++l)
    for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->kv_tokens())); ++p) {
      const PageView page = r.page(id, l, p);
      out[2 * l].insert(out[2 * l].end(), page.k.begin(), page.k.end());
      out[2 * l + 1].insert(out[2 * l + 1].end(), page.v.begin(), page.v.end());
    }
  return out;
}

std::vector<std::vector<std::uint16_t>> pages_of(const SyntheticLog& log) {
  std::vector<std::vector<std::uint16_t>> out;
  for (std::size_t l = 0; l < log.k.size(); ++l) {
    out.push_back(log.k[l]);
    out.push_back(log.v[l]);
  }
  return out;
}

TEST(LogStoreReplace, SwapsRecordAndPagesKeepingIdVectorAndRetrieval) {
  const auto dir = fresh_store_dir("replace");
  auto store = Store::open(dir, {true, small_fingerprint()});
  SyntheticLog a = synthetic_log(5, 1, "who directed the glass harbor");  // 2 pages per layer
  a.record.tags = {"film"};
  a.record.created = 1700000000;
  const SyntheticLog b = synthetic_log(4, 2, "where is the red tower");
  const std::vector<float> va = {1, 0, 0}, vb = {0, 1, 0};
  const LogId ia = store->put_log(a.record, a.input(), va);
  const LogId ib = store->put_log(b.record, b.input(), vb);
  ASSERT_EQ(store->stats().pages, 8u);
  ASSERT_EQ(store->search("glass harbor", 5).size(), 1u);  // builds the retrieval index before the swap

  // Longer: the tokens and 4 latents, 3 pages per layer.
  const SyntheticLog longer = with_latents(a, 4, 9);
  ASSERT_EQ(store->replace_log(ia, longer.record, input_of(longer)), Store::Replacement::replaced);
  {
    auto r = store->read();
    const auto rec = r.log(ia);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->latents, 4u);
    EXPECT_EQ(rec->token_ids, a.record.token_ids);
    EXPECT_EQ(rec->positions, longer.record.positions);
    EXPECT_EQ(rec->tags, a.record.tags);
    EXPECT_EQ(rec->created, a.record.created);
    EXPECT_EQ(r.embedding(ia), va) << "the dense vector is the log's, and stays";
    EXPECT_EQ(r.ids(), (std::vector<LogId>{ia, ib}));
  }
  EXPECT_EQ(pages_of(*store, ia), pages_of(longer));
  EXPECT_EQ(pages_of(*store, ib), pages_of(b));
  EXPECT_EQ(store->stats().pages, 6u + 4u);
  const auto lexical = store->search("glass harbor", 5);
  ASSERT_EQ(lexical.size(), 1u);
  EXPECT_EQ(lexical[0].id, ia);
  EXPECT_EQ(store->search_dense(va, 1).at(0).id, ia);
  EXPECT_TRUE(store->verify().ok());

  // Shorter: none of the longer log's pages may be left behind (verify names orphans and extra pages).
  SyntheticLog shorter = synthetic_log(2, 3, a.record.task);
  shorter.record.tags = {"film", "short"};
  ASSERT_EQ(store->replace_log(ia, shorter.record, input_of(shorter)), Store::Replacement::replaced);
  EXPECT_EQ(pages_of(*store, ia), pages_of(shorter));
  EXPECT_EQ(store->stats().pages, 2u + 4u);
  const auto report = store->verify();
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems.front());
  EXPECT_EQ(store->search("glass", 5, {}, {"short"}).size(), 1u) << "retrieval sees the new tags at once";

  // A missing log, and a record that would leave the kept vector stale, change nothing.
  EXPECT_EQ(store->replace_log(ib + 1, shorter.record, input_of(shorter)), Store::Replacement::not_found);
  SyntheticLog renamed = shorter;
  renamed.record.retrieval_text = "something else";
  EXPECT_EQ(test::error_of([&] { (void)store->replace_log(ia, renamed.record, input_of(renamed)); }).first,
            Errc::invalid_argument);
  EXPECT_EQ(pages_of(*store, ia), pages_of(shorter));
  EXPECT_GT(store->put_log(b.record, b.input(), vb), ib) << "ids still advance";
}

TEST(LogStoreReplace, AReplacementThatDoesNotFitLeavesTheOldLog) {
  const auto dir = fresh_store_dir("replace_full");
  StoreOptions o{true, small_fingerprint(), 1 << 20, 2 << 20};
  auto store = Store::open(dir, o);
  const SyntheticLog a = synthetic_log(7, 1, "who directed the glass harbor");
  const LogId id = store->put_log(a.record, a.input());
  // About 2.6 MB of pages: more than the store may ever hold.
  const SyntheticLog huge = with_latents(synthetic_log(40000, 2, a.record.task), 16, 3);
  const auto [code, message] =
      test::error_of([&] { (void)store->replace_log(id, huge.record, input_of(huge)); });
  EXPECT_EQ(code, Errc::store);
  EXPECT_NE(message.find("store full"), std::string::npos) << message;
  const auto rec = store->read().log(id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->latents, 0u);
  EXPECT_EQ(rec->token_ids, a.record.token_ids);
  EXPECT_EQ(pages_of(*store, id), pages_of(a));
  EXPECT_TRUE(store->verify().ok());
  // The store goes on working.
  const SyntheticLog small = with_latents(a, 2, 4);
  EXPECT_EQ(store->replace_log(id, small.record, input_of(small)), Store::Replacement::replaced);
  EXPECT_EQ(pages_of(*store, id), pages_of(small));
}

// A replacement decided from a record read earlier (log augment's "already augmented?") is made only when
// the log is still that record, checked inside the write: a log another writer replaced meanwhile is left
// as that writer left it.
TEST(LogStoreReplace, AnExpectedRecordThatChangedMeanwhileLeavesTheLog) {
  const auto dir = fresh_store_dir("replace_expected");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const SyntheticLog a = synthetic_log(5, 1, "who directed the glass harbor");
  const LogId id = store->put_log(a.record, a.input());
  const auto read = store->read().log(id);
  ASSERT_TRUE(read);
  // Another writer augments it after the read.
  const SyntheticLog theirs = with_latents(a, 3, 7);
  ASSERT_EQ(store->replace_log(id, theirs.record, input_of(theirs)), Store::Replacement::replaced);
  const SyntheticLog mine = with_latents(a, 2, 8);
  EXPECT_EQ(store->replace_log(id, mine.record, input_of(mine), &*read), Store::Replacement::changed);
  EXPECT_EQ(store->read().log(id)->latents, 3u);
  EXPECT_EQ(pages_of(*store, id), pages_of(theirs));
  // Still the record it expects: replaced.
  const auto now = store->read().log(id);
  EXPECT_EQ(store->replace_log(id, mine.record, input_of(mine), &*now), Store::Replacement::replaced);
  EXPECT_EQ(pages_of(*store, id), pages_of(mine));
  EXPECT_EQ(store->replace_log(id + 1, mine.record, input_of(mine), &*now), Store::Replacement::not_found);
  EXPECT_TRUE(store->verify().ok());
}

// Reader::lookup reports a damaged record as the log's damage instead of throwing (log() throws it).
TEST(LogStoreReplace, LookupReportsADamagedRecordAsDamage) {
  const auto dir = fresh_store_dir("lookup_damaged");
  LogId id = 0;
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    const SyntheticLog a = synthetic_log(4, 1, "a task");
    id = store->put_log(a.record, a.input());
  }
  test::put_raw_record(dir, id, "LGRC not a record");
  auto store = Store::open(dir, {false, small_fingerprint()});
  const auto found = store->read().lookup(id);
  EXPECT_FALSE(found.record);
  EXPECT_NE(found.damage.find("log " + std::to_string(id)), std::string::npos) << found.damage;
  EXPECT_EQ(test::error_of([&] { (void)store->read().log(id); }).first, Errc::store);
  const auto missing = store->read().lookup(id + 1);
  EXPECT_FALSE(missing.record);
  EXPECT_TRUE(missing.damage.empty());
}

/// Variant `i` of log `slot`: its task, a length and latents of its own, tagged with i (0: the original).
SyntheticLog variant(std::uint32_t slot, std::uint32_t i) {
  const std::string task = "task " + std::to_string(slot);
  if (i == 0) return synthetic_log(6, slot, task);
  SyntheticLog log = with_latents(synthetic_log(1 + (i * 7) % 40, 1000 + i, task), i % 4, 2000 + i);
  log.record.tags = {"v" + std::to_string(i)};
  return log;
}

TEST(LogStoreReplace, AWriterKilledMidReplacementLeavesEveryLogWhole) {
  const auto dir = fresh_store_dir("replace_kill");
  constexpr std::uint32_t kLogs = 5;
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    for (std::uint32_t s = 0; s < kLogs; ++s) {
      const auto log = variant(s, 0);
      ASSERT_EQ(store->put_log(log.record, log.input()), LogId(s + 1));
    }
  }
  std::mt19937 rng(5);
  std::uint32_t replaced = 0;
  for (int round = 0; round < 20; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      try {
        auto store = Store::open(dir, {false, small_fingerprint()});
        for (std::uint32_t i = std::uint32_t(round) * 100000 + 1;; ++i) {
          const auto log = variant(i % kLogs, i);
          if (store->replace_log(i % kLogs + 1, log.record, input_of(log)) != Store::Replacement::replaced)
            _exit(4);
          if (write(fds[1], &i, sizeof i) != sizeof i) _exit(3);
        }
      } catch (...) {
        _exit(2);
      }
    }
    close(fds[1]);
    std::uint32_t i = 0;
    if (read(fds[0], &i, sizeof i) == sizeof i) ++replaced;
    usleep(1000 + rng() % 20000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself with exit " << WEXITSTATUS(status);
    while (read(fds[0], &i, sizeof i) == sizeof i) ++replaced;
    close(fds[0]);
  }
  ASSERT_GT(replaced, 20u);
  auto store = Store::open(dir, {false, small_fingerprint()});
  const auto report = store->verify();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  for (std::uint32_t s = 0; s < kLogs; ++s) {
    const auto rec = store->read().log(s + 1);
    ASSERT_TRUE(rec) << "log " << s + 1 << " lost";
    // Whichever variant it holds, its record and pages are that variant's, whole.
    const std::uint32_t i = rec->tags.empty() ? 0 : std::uint32_t(std::stoul(rec->tags[0].substr(1)));
    const SyntheticLog want = variant(s, i);
    EXPECT_EQ(rec->token_ids, want.record.token_ids) << "log " << s + 1;
    EXPECT_EQ(rec->latents, want.record.latents) << "log " << s + 1;
    EXPECT_EQ(pages_of(*store, s + 1), pages_of(want)) << "log " << s + 1;
  }
  std::printf("replace kill test: %u replacements over 20 kills, every log whole\n", replaced);
}

}  // namespace
}  // namespace lagvk::logstore
