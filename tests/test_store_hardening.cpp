// The log store against a hostile or careless environment (issue 18): a full disk, damaged and
// truncated files, symbolic links inside a store, directories that are not stores, two writers growing
// the map at once, readers killed mid-read, read-only stores. Nothing may end in a signal or lose a
// committed log; every refusal is an error naming the store.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/model/random_model.hpp"
#include "logstore/store.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/models.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::logstore {
namespace {

namespace fs = std::filesystem;

using test::fresh_store_dir;
using test::small_fingerprint;
using test::synthetic_log;
using test::SyntheticLog;

/// Every page of every listed log reads back (checksums verified).
void expect_logs_intact(Store& store, const std::vector<LogId>& ids) {
  auto r = store.read();
  for (LogId id : ids) {
    const auto rec = r.log(id);
    ASSERT_TRUE(rec) << "committed log " << id << " lost";
    for (std::uint32_t l = 0; l < 2; ++l)
      for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->token_ids.size())); ++p)
        (void)r.page(id, l, p);
  }
}

/// Runs `body` in a child process; what it writes to the pipe comes back, with how the child ended.
struct ChildResult {
  bool exited = false;
  int status = -1;  ///< exit status, or the signal when !exited
  std::string out;
};

/// A forked child running a body that reports on a pipe.
struct Child {
  pid_t pid = -1;
  int fd = -1;  ///< the read end of the child's pipe
};

/// Forks a child that runs body(write end of a pipe) and exits with its result; an exception is written
/// to the pipe as "ERROR <what>" and exits 7.
template <typename Body>
Child start_child(Body body) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    try {
      code = body(fds[1]);
    } catch (const std::exception& e) {
      const std::string msg = std::string("ERROR ") + e.what();
      (void)!write(fds[1], msg.data(), msg.size());
      code = 7;
    }
    _exit(code);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

/// Everything the child wrote, and how it ended.
ChildResult finish_child(Child child) {
  ChildResult r;
  if (child.pid < 0) return r;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = read(child.fd, buf.data(), buf.size())) > 0;) r.out.append(buf.data(), std::size_t(n));
  close(child.fd);
  int raw = 0;
  waitpid(child.pid, &raw, 0);
  r.exited = WIFEXITED(raw);
  r.status = r.exited ? WEXITSTATUS(raw) : WTERMSIG(raw);
  return r;
}

template <typename Body>
ChildResult in_child(Body body) {
  return finish_child(start_child(body));
}

/// A writer child reports each id once put_log returned; false when the pipe is gone.
bool report_committed(int out, LogId id) {
  const std::string line = "ID " + std::to_string(id) + "\n";
  return write(out, line.data(), line.size()) == ssize_t(line.size());
}

/// The ids a child reported with report_committed.
std::vector<LogId> committed_ids(const std::string& out) {
  std::vector<LogId> ids;
  std::istringstream lines(out);
  for (std::string word; lines >> word;)
    if (word == "ID") {
      LogId id = 0;
      lines >> id;
      ids.push_back(id);
    }
  return ids;
}

void limit_file_size(rlim_t bytes) {
  signal(SIGXFSZ, SIG_IGN);  // writes past the limit then fail with EFBIG instead of killing
  const rlimit limit{bytes, bytes};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(9);
}

// --- full disk --------------------------------------------------------------------------------------

TEST(StoreHardening, CreatingAStoreOnAFullDiskSaysNoSpace) {
  const auto dir = fresh_store_dir("create_full");
  const auto r = in_child([&](int) {
    limit_file_size(4096);  // not even LMDB's two meta pages fit
    (void)Store::open(dir, {true, small_fingerprint()});
    return 0;
  });
  ASSERT_TRUE(r.exited) << "killed by signal " << r.status;
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_NE(r.out.find("no space left on device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir), std::string::npos) << r.out;
  // Nothing half-made is left: the next (unlimited) attempt makes a sound store.
  auto store = Store::open(dir, {true, small_fingerprint()});
  EXPECT_TRUE(store->verify().ok());
}

/// A small tmpfs at `path`, unmounted at the end; unavailable without the right to mount.
struct SmallTmpfs {
  std::string path;
  bool mounted = false;
  SmallTmpfs(std::string p, const std::string& size) : path(std::move(p)) {
    fs::create_directories(path);
    mounted = mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted) umount2(path.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// On a really full file system LMDB's first write into its mapped lock file was a SIGBUS.
TEST(StoreHardening, CreatingAStoreOnAFullTmpfsSaysNoSpace) {
  SmallTmpfs tmpfs(fresh_store_dir("tmpfs_full"), "64k");
  if (!tmpfs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  {
    std::ofstream filler(tmpfs.path + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), std::streamsize(block.size()))) filler.flush();
  }
  const auto dir = tmpfs.path + "/store";
  const auto r = in_child([&](int) {
    (void)Store::open(dir, {true, small_fingerprint()});
    return 0;
  });
  ASSERT_TRUE(r.exited) << "killed by signal " << r.status;
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_NE(r.out.find("no space left on device"), std::string::npos) << r.out;
}

TEST(StoreHardening, FillingATmpfsKeepsEveryCommittedLog) {
  SmallTmpfs tmpfs(fresh_store_dir("tmpfs_fill"), "2m");
  if (!tmpfs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  const auto dir = tmpfs.path + "/store";
  const auto r = in_child([&](int out) {
    auto store = Store::open(dir, {true, small_fingerprint(), 1 << 20});
    for (std::uint32_t i = 0; i < 1000; ++i) {
      const auto log = synthetic_log(600, i, "task");
      const LogId id = store->put_log(log.record, log.input());
      if (!report_committed(out, id)) return 3;
    }
    return 0;
  });
  ASSERT_TRUE(r.exited) << "killed by signal " << r.status;
  EXPECT_EQ(r.status, 7) << r.out;
  EXPECT_NE(r.out.find("no space left on device"), std::string::npos) << r.out;
  const std::vector<LogId> committed = committed_ids(r.out);
  EXPECT_GT(committed.size(), 5u);
  StoreOptions read_only;
  read_only.read_only = true;  // the full file system has no room for anything more
  auto store = Store::open(dir, read_only);
  expect_logs_intact(*store, committed);
  EXPECT_EQ(store->read().ids().size(), committed.size());
  EXPECT_TRUE(store->verify().ok());
}

TEST(StoreHardening, FillingTheDiskKeepsEveryCommittedLog) {
  const auto dir = fresh_store_dir("fill");
  std::vector<LogId> before;
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    for (std::uint32_t i = 0; i < 5; ++i)
      before.push_back(
          store->put_log(synthetic_log(300, i, "task").record, synthetic_log(300, i, "task").input()));
  }
  const auto size = fs::file_size(fs::path(dir) / "data.mdb");
  const auto r = in_child([&](int out) {
    limit_file_size(size + (400 << 10));  // room for a few more 40 KB logs, then the "disk" is full
    auto store = Store::open(dir, {false, small_fingerprint()});
    for (std::uint32_t i = 100; i < 1000; ++i) {
      const auto log = synthetic_log(600, i, "task");
      const LogId id = store->put_log(log.record, log.input());
      if (!report_committed(out, id)) return 3;
    }
    return 0;
  });
  ASSERT_TRUE(r.exited) << "killed by signal " << r.status;
  EXPECT_EQ(r.status, 7) << "the writer must fail with an error once the disk is full: " << r.out;
  EXPECT_NE(r.out.find("no space left on device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir), std::string::npos) << r.out;
  std::vector<LogId> committed = before;
  for (const LogId id : committed_ids(r.out)) committed.push_back(id);
  EXPECT_GT(committed.size(), before.size()) << "some logs fit before the disk filled";
  auto store = Store::open(dir, {false, small_fingerprint()});
  expect_logs_intact(*store, committed);
  EXPECT_EQ(store->read().ids().size(), committed.size());
  EXPECT_TRUE(store->verify().ok());
}

// --- damaged files ----------------------------------------------------------------------------------

class StoreDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    pristine_ = fresh_store_dir("pristine");
    auto store = Store::open(pristine_, {true, small_fingerprint()});
    for (std::uint32_t i = 0; i < 30; ++i)
      (void)store->put_log(synthetic_log(40 + i * 7, i, "task").record,
                           synthetic_log(40 + i * 7, i, "task").input());
  }
  void TearDown() override { fs::remove_all(pristine_); }

  /// A copy of the store whose data.mdb `damage` changed.
  template <typename Damage>
  std::string damaged_copy(const std::string& name, Damage damage) {
    const auto dir = fresh_store_dir(name);
    fs::create_directories(dir);
    fs::copy_file(fs::path(pristine_) / "data.mdb", fs::path(dir) / "data.mdb");
    std::string bytes;
    {
      std::ifstream in(fs::path(dir) / "data.mdb", std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    damage(bytes);
    std::ofstream out(fs::path(dir) / "data.mdb", std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return dir;
  }

  /// Every reading command on `dir`: exit 0 or 1 (1 with a message), never a signal or an internal error.
  /// Returns how many exited 1.
  static int run_readers(const std::string& dir, const std::string& what) {
    const std::string out = dir + "_export.jsonl";
    int failures = 0;
    for (const std::string cmd : {"log ls", "log show 3", "log verify", "log stats", "log export"}) {
      const auto r = test::run_lagvk(cmd + " --store " + dir + (cmd == "log export" ? " " + out : ""));
      EXPECT_TRUE(r.status == 0 || r.status == 1)
          << what << ": '" << cmd << "' ended with " << r.status << "\n"
          << r.out;
      if (r.status == 1) {
        ++failures;
        EXPECT_TRUE(r.out.find("error:") != std::string::npos || r.out.find("DAMAGED") != std::string::npos)
            << what << ": '" << cmd << "' failed without a message:\n"
            << r.out;
      }
    }
    std::error_code ec;
    fs::remove(out, ec);
    return failures;
  }
  std::string pristine_;
};

TEST_F(StoreDamage, TruncatedFilesAreReportedNeverASignal) {
  const auto full = fs::file_size(fs::path(pristine_) / "data.mdb");
  std::mt19937 rng(5);
  std::vector<std::size_t> lengths = {1, 100, 4096, 4096 + 200, 8192, full / 2, full - 4096, full - 1};
  for (int i = 0; i < 4; ++i) lengths.push_back(8192 + rng() % (full - 8192));
  for (std::size_t length : lengths) {
    const auto dir = damaged_copy("truncated", [&](std::string& b) { b.resize(length); });
    const std::string what =
        "truncated to " + std::to_string(length) + " of " + std::to_string(full) + " bytes";
    // The file no longer holds the pages its meta page claims: every command must say so.
    EXPECT_EQ(run_readers(dir, what), 5) << what;
    const auto r = test::run_lagvk("log verify --store " + dir);
    EXPECT_NE(r.out.find("damaged"), std::string::npos) << what << "\n" << r.out;
    fs::remove_all(dir);
  }
}

TEST_F(StoreDamage, DamagedMetaPagesAreReported) {
  // LMDB's meta pages: page 0 and page 1 (the page size is in page 0 at byte 40). Offsets in a meta page:
  // magic 16, main database root 128, last page in use 136.
  std::uint32_t page_size = 0;
  {
    std::ifstream in(fs::path(pristine_) / "data.mdb", std::ios::binary);
    in.seekg(40);
    in.read(reinterpret_cast<char*>(&page_size), 4);
  }
  ASSERT_GE(page_size, 512u);
  const auto flip_at = [&](std::vector<std::size_t> offsets) {
    return [offsets](std::string& b) {
      for (std::size_t offset : offsets)
        for (std::size_t i = 0; i < 4; ++i) b[offset + i] = char(b[offset + i] ^ 0x5a);
    };
  };
  // Both meta pages damaged alike: nothing can be trusted, every command must say the store is damaged.
  for (std::size_t field : {16u, 128u, 136u}) {
    const auto dir = damaged_copy("meta_both", flip_at({field, page_size + field}));
    const std::string what = "meta field at " + std::to_string(field) + " flipped in both meta pages";
    EXPECT_EQ(run_readers(dir, what), 5) << what;
    const auto r = test::run_lagvk("log ls --store " + dir);
    EXPECT_NE(r.out.find("damaged"), std::string::npos) << what << "\n" << r.out;
    fs::remove_all(dir);
  }
  // One meta page damaged: no signal, whatever the rest says.
  for (std::size_t offset : {16u, 128u, 136u, 40u}) {
    for (std::size_t page : {0u, 1u}) {
      const auto dir = damaged_copy("meta_one", flip_at({page * page_size + offset}));
      (void)run_readers(dir, "meta byte " + std::to_string(offset) + " of page " + std::to_string(page));
      fs::remove_all(dir);
    }
  }
}

TEST_F(StoreDamage, FlippedBytesAreReportedNeverASignal) {
  const auto full = fs::file_size(fs::path(pristine_) / "data.mdb");
  int reported = 0;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    const auto dir = damaged_copy("flipped", [&](std::string& b) {
      for (int i = 0; i < 40; ++i) b[rng() % full] = char(rng());
    });
    reported += run_readers(dir, "40 random bytes changed, seed " + std::to_string(seed));
    fs::remove_all(dir);
  }
  std::printf("random byte flips: %d of %d commands reported damage\n", reported, 12 * 5);
}

// --- links and foreign directories ------------------------------------------------------------------

TEST(StoreHardening, ALockFileLinkIsRefusedAndItsTargetUntouched) {
  const auto dir = fresh_store_dir("lock_link");
  { auto store = Store::open(dir, {true, small_fingerprint()}); }
  const auto target = dir + "_precious.txt";
  { std::ofstream(target) << std::string(10000, 'p'); }
  fs::remove(fs::path(dir) / "lock.mdb");
  fs::create_symlink(target, fs::path(dir) / "lock.mdb");
  try {
    (void)Store::open(dir, {false, small_fingerprint()});
    FAIL() << "a store whose lock.mdb is a link must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
  std::ifstream in(target);
  const std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, std::string(10000, 'p')) << "the link's target was written";
  const auto r = test::run_lagvk("log ls --store " + dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("symbolic link"), std::string::npos) << r.out;
  fs::remove(target);
}

// A hard link is another name for the same bytes: a store file shared with another path is refused
// before LMDB writes to it.
TEST(StoreHardening, AHardLinkedLockFileIsRefusedAndItsOtherNameUntouched) {
  const auto dir = fresh_store_dir("lock_hard_link");
  { auto store = Store::open(dir, {true, small_fingerprint()}); }
  const auto victim = dir + "_victim.txt";
  { std::ofstream(victim) << std::string(10000, 'v'); }
  fs::remove(fs::path(dir) / "lock.mdb");
  fs::create_hard_link(victim, fs::path(dir) / "lock.mdb");
  const auto r = test::run_lagvk("log ls --store " + dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("hard links"), std::string::npos) << r.out;
  std::ifstream in(victim);
  const std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, std::string(10000, 'v')) << "the other name's bytes were written";
  fs::remove(victim);
}

TEST(StoreHardening, ADanglingDataFileLinkIsRefusedAndNothingIsCreatedWhereItPoints) {
  const auto dir = fresh_store_dir("data_link");
  const auto target = dir + "_elsewhere.mdb";
  fs::create_directories(dir);
  fs::create_symlink(target, fs::path(dir) / "data.mdb");
  EXPECT_THROW((void)Store::open(dir, {true, small_fingerprint()}), Error);
  EXPECT_FALSE(fs::exists(target)) << "the database was created where the link points";
}

TEST(StoreHardening, OnlyAnEmptyDirectoryBecomesANewStore) {
  // A directory with other files in it.
  const auto busy = fresh_store_dir("busy");
  fs::create_directories(busy);
  std::ofstream(fs::path(busy) / "notes.txt") << "mine";
  try {
    (void)Store::open(busy, {true, small_fingerprint()});
    FAIL() << "a directory with other files must not become a store";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not empty"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(fs::path(busy) / "data.mdb"));

  // Another application's LMDB environment.
  const auto foreign = fresh_store_dir("foreign");
  fs::create_directories(foreign);
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_open(env, foreign.c_str(), 0, 0644), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    std::string key = "their key", value = "their value";
    MDB_val k{key.size(), key.data()}, v{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  const auto before = fs::file_size(fs::path(foreign) / "data.mdb");
  try {
    (void)Store::open(foreign, {true, small_fingerprint()});
    FAIL() << "another application's LMDB must not be adopted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a lagvk log store"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fs::file_size(fs::path(foreign) / "data.mdb"), before);
  const auto r = test::run_lagvk("log ls --store " + foreign);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("not a lagvk log store"), std::string::npos) << r.out;

  // An empty directory does.
  const auto empty = fresh_store_dir("empty");
  fs::create_directories(empty);
  auto store = Store::open(empty, {true, small_fingerprint()});
  EXPECT_TRUE(store->created());
}

// --- concurrency ------------------------------------------------------------------------------------

// Two processes start from a 1 MiB map and write about 5 MB between them: each must grow the map past
// the other's (MDB_MAP_RESIZED), and a reader that opened the store at 1 MiB must follow.
TEST(StoreHardening, TwoWritersGrowingTheMapAtOnceBothSucceed) {
  const auto dir = fresh_store_dir("two_writers");
  StoreOptions small{true, small_fingerprint(), 1 << 20};
  { auto store = Store::open(dir, small); }
  StoreOptions reopen = small;
  reopen.create = false;
  auto reader_store = Store::open(dir, reopen);  // mapped at 1 MiB before anyone grows it
  (void)reader_store->read().ids();
  const auto writer = [&](std::uint32_t first) {
    return [&, first](int out) {
      auto store = Store::open(dir, reopen);
      for (std::uint32_t i = first; i < first + 60; ++i) {
        const auto log = synthetic_log(600, i, "task");  // about 40 KB of pages
        const LogId id = store->put_log(log.record, log.input());
        if (!report_committed(out, id)) return 3;
      }
      return 0;
    };
  };
  // Both run at once: the second child starts while the first writes.
  const Child children[2] = {start_child(writer(1000)), start_child(writer(2000))};
  std::vector<LogId> committed;
  for (int w = 0; w < 2; ++w) {
    const ChildResult r = finish_child(children[w]);
    EXPECT_TRUE(r.exited && r.status == 0) << "writer " << w << ": " << r.out;
    for (const LogId id : committed_ids(r.out)) committed.push_back(id);
  }
  EXPECT_EQ(committed.size(), 120u);
  EXPECT_EQ(std::set<LogId>(committed.begin(), committed.end()).size(), committed.size()) << "ids are unique";
  // The reader mapped at 1 MiB follows the grown map.
  EXPECT_EQ(reader_store->read().ids().size(), 120u);
  expect_logs_intact(*reader_store, committed);
  EXPECT_TRUE(reader_store->verify().ok());
}

TEST(StoreHardening, ReadersKilledMidReadLeaveNoStaleSlots) {
  const auto dir = fresh_store_dir("killed_readers");
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    (void)store->put_log(synthetic_log(10, 1, "task").record, synthetic_log(10, 1, "task").input());
  }
  // A long-running process keeps the store open (as 'ask' in a loop would): LMDB then never starts its
  // reader table afresh, and only reclaiming dead readers' slots keeps it from filling.
  auto holder = Store::open(dir, {false, small_fingerprint()});
  for (int round = 0; round < 200; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      try {
        auto store = Store::open(dir, {false, small_fingerprint()});
        auto r = store->read();  // holds a reader slot
        (void)r.ids();
        const char ready = 'r';
        if (write(fds[1], &ready, 1) != 1) _exit(3);
        pause();
      } catch (const std::exception& e) {
        const std::string msg = e.what();
        (void)!write(fds[1], msg.data(), msg.size());
      }
      _exit(2);
    }
    close(fds[1]);
    std::string got(4096, '\0');
    const ssize_t n = read(fds[0], got.data(), got.size());
    got.resize(n > 0 ? std::size_t(n) : 0);
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ASSERT_EQ(got, "r") << "reader " << round << " could not read: " << got;
  }
  // The long-running process still reads (LMDB forbids opening the same store twice in one process).
  EXPECT_EQ(holder->read().ids().size(), 1u);
}

// Splicing copies the log out of the map and ends its read, so the store can grow its map afterwards
// (LMDB forbids resizing while this process holds a read) and the spliced data stays valid.
TEST(StoreHardening, SplicingKeepsNoReadOpenSoTheStoreCanGrow) {
  const auto dir = fresh_store_dir("library_grow");
  auto store = Store::open(dir, {true, small_fingerprint(), 1 << 20});
  const auto first = synthetic_log(30, 1, "task");
  const LogId id = store->put_log(first.record, first.input());
  lag::StoreLibrary library(*store);
  const auto source = library.kv(id);
  EXPECT_EQ(store->open_readers(), 0) << "kv() must not leave a read of the store open";
  // Another process grows the map well past this one's 1 MiB ...
  const auto child = in_child([&](int) {
    auto other = Store::open(dir, {false, small_fingerprint(), 1 << 20});
    for (std::uint32_t i = 0; i < 40; ++i)
      (void)other->put_log(synthetic_log(600, 100 + i, "task").record,
                           synthetic_log(600, 100 + i, "task").input());
    return 0;
  });
  ASSERT_TRUE(child.exited && child.status == 0) << child.out;
  // ... and this one, which spliced a log, follows it (MDB_MAP_RESIZED) to write and grows further itself.
  for (std::uint32_t i = 0; i < 40; ++i)
    (void)store->put_log(synthetic_log(600, 200 + i, "task").record,
                         synthetic_log(600, 200 + i, "task").input());
  std::vector<std::uint16_t> k;
  for (std::uint32_t p = 0; p < 10; ++p) {
    const auto page = source.page(1, p, false);
    k.insert(k.end(), page.begin(), page.end());
  }
  EXPECT_EQ(k, first.k[1]);
  EXPECT_EQ(store->read().ids().size(), 81u);
  EXPECT_EQ(library.tokens(id), first.record.token_ids);
}

// --- read-only stores -------------------------------------------------------------------------------

/// Runs lagvk as an unprivileged user (root ignores file permissions), through setpriv.
test::CliResult run_lagvk_unprivileged(const std::string& args) {
  const std::string cmd = (geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "") +
                          test::lagvk_binary() + " " + args + " 2>&1";
  return test::run_shell(cmd);
}

TEST(StoreHardening, AStoreWithoutWritePermissionCanBeListedVerifiedAndExported) {
  if (geteuid() == 0 && std::system("setpriv --version > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs setpriv (util-linux) to drop root";
  const auto dir = fresh_store_dir("read_only");
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    for (std::uint32_t i = 0; i < 3; ++i)
      (void)store->put_log(synthetic_log(5, i, "task").record, synthetic_log(5, i, "task").input());
  }
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  for (const char* f : {"data.mdb", "lock.mdb"})
    fs::permissions(fs::path(dir) / f,
                    fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto out_dir = fresh_store_dir("read_only_out");
  fs::create_directories(out_dir);
  fs::permissions(out_dir, fs::perms::all);
  for (const std::string cmd : {"log ls", "log show 2", "log verify", "log stats", "log export"}) {
    const auto r = run_lagvk_unprivileged(cmd + " --store " + dir +
                                          (cmd == "log export" ? " " + out_dir + "/x.jsonl" : ""));
    EXPECT_EQ(r.status, 0) << cmd << "\n" << r.out;
  }
  EXPECT_TRUE(fs::exists(out_dir + "/x.jsonl"));
  // Writing is refused with a message, not a crash.
  const auto rm = run_lagvk_unprivileged("log rm --store " + dir + " 1");
  EXPECT_EQ(rm.status, 1) << rm.out;
  EXPECT_NE(rm.out.find("permission denied"), std::string::npos) << rm.out;
  fs::permissions(dir, fs::perms::owner_all);
  fs::remove_all(dir);
  fs::remove_all(out_dir);
}

TEST(StoreHardening, AStoreOnAReadOnlyFileSystemCanBeRead) {
  SmallTmpfs tmpfs(fresh_store_dir("ro_fs"), "4m");
  if (!tmpfs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  const auto dir = tmpfs.path + "/store";
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    (void)store->put_log(synthetic_log(5, 1, "task").record, synthetic_log(5, 1, "task").input());
  }
  ASSERT_EQ(mount(nullptr, tmpfs.path.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  const auto out = fresh_store_dir("ro_fs_export") + ".jsonl";
  for (const std::string cmd : {"log ls", "log verify", "log stats", "log export"}) {
    const auto r = test::run_lagvk(cmd + " --store " + dir + (cmd == "log export" ? " " + out : ""));
    EXPECT_EQ(r.status, 0) << cmd << "\n" << r.out;
  }
  const auto rm = test::run_lagvk("log rm --store " + dir + " 1");
  EXPECT_EQ(rm.status, 1) << rm.out;
  EXPECT_NE(rm.out.find("read-only file system"), std::string::npos) << rm.out;
  std::error_code ec;
  fs::remove(out, ec);
}

// --- log add -----------------------------------------------------------------------------------------

TEST(StoreHardening, LogAddLeavesNoEmptyStoreAndRefusesACodecItCannotApply) {
  const auto work = fresh_store_dir("log_add");
  fs::create_directories(work);
  const auto model = work + "/m.gguf";
  make_random_model(test::small_model_spec(GgmlType::q8_0, 7)).write(model);
  const auto write_trace = [&](const std::string& name, const nlohmann::json& messages) {
    const auto path = work + "/" + name;
    std::ofstream(path) << nlohmann::json{{"task", "q"}, {"messages", messages}}.dump() << "\n";
    return path;
  };
  const nlohmann::json question = {{"role", "user"}, {"content", "who directed the glass harbor"}};
  const nlohmann::json answer = {{"role", "assistant"}, {"content", "Answer: Mara"}};
  // A trace without an answer to keep fails after the store was opened: no store is left behind.
  const auto store = work + "/store";
  auto r = test::run_lagvk("log add --store " + store + " -m " + model + " --trace " +
                           write_trace("bad.jsonl", nlohmann::json::array({question})));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(fs::exists(store)) << "a failed 'log add' left an empty store:\n" << r.out;
  // An existing store keeps its codec: asking for another one is an error, not silently ignored.
  r = test::run_lagvk("log add --store " + store + " -m " + model + " --trace " +
                      write_trace("ok.jsonl", nlohmann::json::array({question, answer})));
  ASSERT_EQ(r.status, 0) << r.out;
  r = test::run_lagvk("log add --store " + store + " -m " + model + " --codec q8_0 --trace " + work +
                      "/ok.jsonl");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("codec"), std::string::npos) << r.out;
  r = test::run_lagvk("log add --store " + store + " -m " + model + " --codec f16 --trace " + work +
                      "/ok.jsonl");
  EXPECT_EQ(r.status, 0) << "the store's own codec is fine: " << r.out;
  // 'ask --save' that fails after creating its store leaves no store behind either.
  const auto ask_store = work + "/ask_store";
  r = test::run_lagvk("ask -m " + model + " --store " + ask_store +
                      " --save --agent --max-logs -1 -n 2 'who directed the glass harbor'");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(fs::exists(ask_store)) << "a failed 'ask --save' left an empty store:\n" << r.out;
  // 'ask' on a damaged store: an error naming the store, not a signal.
  fs::resize_file(store + "/data.mdb", fs::file_size(store + "/data.mdb") / 2);
  r = test::run_lagvk("ask -m " + model + " --store " + store + " -n 2 'who directed the glass harbor'");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("damaged"), std::string::npos) << r.out;
  fs::remove_all(work);
}

}  // namespace
}  // namespace lagvk::logstore
