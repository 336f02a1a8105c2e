// The log store under attack. Writers, readers, `lagvk log verify/ls` and `lagvk log import` run at once
// on one store whose map starts at 1 MiB, so the writers keep growing it under each other, and are
// SIGKILLed at random moments, round after round (stale reader slots pile up, writers die holding the
// write lock). Afterwards every log whose commit a writer reported is intact, every import that exited 0
// landed whole, and verify is clean. Then copies of a store are truncated and bit-flipped: every command
// on a damaged copy exits 0 or 1 with a message, never by a signal, and the original is untouched.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "engine/core/error.hpp"
#include "logstore/store.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;
using logstore::LogId;
using logstore::Store;
using logstore::StoreOptions;

StoreOptions small_map_options() {
  StoreOptions o;
  o.fingerprint = small_fingerprint();
  o.initial_map_size = 1u << 20;
  // A killed process loses nothing without fsync (the kernel has its writes); fsync would only slow the
  // rounds down.
  o.durable = false;
  return o;
}

/// A forked or exec'd process of one round, and what it may end in.
struct Proc {
  pid_t pid = -1;
  std::string what;
  std::string log_path;  ///< its stderr (and stdout)
  int report_fd = -1;    ///< writers: ids after each commit
  bool killed = false;
  bool reaped = false;  ///< waitpid has returned its status
  int status = 0;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void redirect_output(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) _exit(4);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
}

/// Writes logs forever, reporting each id on the pipe once its commit returned.
Proc spawn_writer(const std::string& dir, std::uint32_t seed, const std::string& log_path) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  Proc p{-1, "writer " + std::to_string(seed), log_path, fds[0]};
  p.pid = fork();
  if (p.pid == 0) {
    close(fds[0]);
    redirect_output(log_path);
    try {
      auto store = Store::open(dir, small_map_options());
      for (std::uint32_t i = 0;; ++i) {
        const auto log =
            synthetic_log(1 + (seed + i) % 45, seed * 100000 + i, "written " + std::to_string(i));
        const LogId id = store->put_log(log.record, log.input());
        if (write(fds[1], &id, sizeof id) != sizeof id) _exit(3);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer failed: %s\n", e.what());
      _exit(2);
    }
  }
  close(fds[1]);
  return p;
}

/// Reads every page of every log, and verifies, forever.
Proc spawn_reader(const std::string& dir, const std::string& log_path) {
  Proc p{-1, "reader", log_path};
  p.pid = fork();
  if (p.pid == 0) {
    redirect_output(log_path);
    try {
      auto store = Store::open(dir, small_map_options());
      for (;;) {
        {
          auto r = store->read();
          for (LogId id : r.ids()) {
            const auto rec = r.log(id);
            if (!rec) throw std::runtime_error("a listed log vanished inside one read transaction");
            for (std::uint32_t l = 0; l < 2; ++l)
              for (std::uint32_t pg = 0; pg < r.pages_of(std::uint32_t(rec->token_ids.size())); ++pg)
                (void)r.page(id, l, pg);
          }
        }
        const auto report = store->verify();
        if (!report.ok()) throw std::runtime_error("verify: " + report.problems.front());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "reader failed: %s\n", e.what());
      _exit(2);
    }
  }
  return p;
}

Proc spawn_cli(const std::vector<std::string>& args, const std::string& log_path) {
  Proc p{-1, "lagvk", log_path};
  for (const auto& a : args) p.what += " " + a;
  p.pid = fork();
  if (p.pid == 0) {
    redirect_output(log_path);
    std::vector<char*> argv;
    const std::string bin = lagvk_binary();
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(5);
  }
  return p;
}

/// Waits up to `seconds` for p; SIGKILLs (and marks) it after that, which the caller treats as a hang.
bool wait_for(Proc& p, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (p.reaped || waitpid(p.pid, &p.status, WNOHANG) == p.pid) return p.reaped = true;
    if (std::chrono::steady_clock::now() > until) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, &p.status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::map<std::string, int> count_tasks(Store& store) {
  std::map<std::string, int> n;
  auto r = store.read();
  for (LogId id : r.ids()) ++n[r.log(id)->task];
  return n;
}

TEST(StoreTorture, RandomKillsOfWritersReadersAndImportersLoseNoCommittedLog) {
  const auto dir = fresh_store_dir("torture");
  const auto work = fresh_store_dir("torture_work");
  fs::create_directories(work);
  // The archive every importer brings: 8 logs whose tasks say they were imported.
  const auto archive_src = fresh_store_dir("torture_archive");
  {
    auto src = Store::open(archive_src, {true, small_fingerprint()});
    for (std::uint32_t i = 0; i < 8; ++i) {
      const auto log = synthetic_log(5 + 7 * i, 900 + i, "imported " + std::to_string(i));
      (void)src->put_log(log.record, log.input());
    }
  }
  const std::string archive = work + "/archive.jsonl";
  const auto exported = run_lagvk("log export --store " + archive_src + " " + archive);
  ASSERT_EQ(exported.status, 0) << exported.out;
  {
    auto o = small_map_options();
    o.create = true;
    auto store = Store::open(dir, o);
  }

  std::mt19937 rng(2026);
  std::vector<LogId> committed;
  int imports_done = 0, kills = 0, finished = 0;
  const int rounds = 30;
  for (int round = 0; round < rounds; ++round) {
    const auto log_of = [&](const std::string& name) {
      return work + "/r" + std::to_string(round) + "_" + name + ".log";
    };
    std::vector<Proc> procs;
    procs.push_back(spawn_writer(dir, std::uint32_t(2 * round), log_of("w1")));
    procs.push_back(spawn_writer(dir, std::uint32_t(2 * round + 1), log_of("w2")));
    procs.push_back(spawn_reader(dir, log_of("reader")));
    procs.push_back(spawn_cli({"log", "verify", "--store", dir}, log_of("verify")));
    procs.push_back(spawn_cli({"log", "ls", "--store", dir}, log_of("ls")));
    // Importers open the map at the CLI's 64 MiB and record that size in the store; before they join,
    // the writers grow it from 1 MiB under each other.
    if (round >= rounds / 2)
      procs.push_back(spawn_cli({"log", "import", "--store", dir, archive}, log_of("import")));
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    // Kill a random subset at a random moment; writers and readers never stop by themselves, so they
    // are killed last in any case.
    for (auto& p : procs) {
      if (rng() % 3 == 0) continue;
      if (waitpid(p.pid, &p.status, WNOHANG) == p.pid) {
        p.reaped = true;  // it finished first
        continue;
      }
      kill(p.pid, SIGKILL);
      p.killed = true;
      ++kills;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    for (auto& p : procs) {
      if (p.killed) {
        waitpid(p.pid, &p.status, 0);
        continue;
      }
      if (!p.reaped && (p.what.rfind("writer", 0) == 0 || p.what == "reader")) {
        kill(p.pid, SIGKILL);
        p.killed = true;
        waitpid(p.pid, &p.status, 0);
        continue;
      }
      ASSERT_TRUE(wait_for(p, 60)) << p.what << " hung in round " << round << ":\n" << slurp(p.log_path);
      ++finished;
    }
    for (auto& p : procs) {
      if (p.report_fd >= 0) {
        LogId id = 0;
        while (read(p.report_fd, &id, sizeof id) == sizeof id) committed.push_back(id);
        close(p.report_fd);
      }
      // A process we killed may die of SIGKILL or have exited just before; any other ending is a failure.
      const bool by_our_kill = p.killed && WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL;
      if (!by_our_kill) {
        ASSERT_TRUE(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0)
            << p.what << " in round " << round << " ended with status " << p.status << ":\n"
            << slurp(p.log_path);
      }
      if (!by_our_kill && p.what.find(" import ") != std::string::npos) ++imports_done;
    }
  }
  std::printf(
      "%d rounds: %zu logs reported committed, %d processes killed, %d commands finished, %d imports\n",
      rounds, committed.size(), kills, finished, imports_done);
  ASSERT_GT(committed.size(), 100u);

  auto store = Store::open(dir, small_map_options());
  {
    auto r = store->read();
    for (LogId id : committed) {
      const auto rec = r.log(id);
      ASSERT_TRUE(rec) << "committed log " << id << " lost";
      for (std::uint32_t l = 0; l < 2; ++l)
        for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->token_ids.size())); ++p)
          (void)r.page(id, l, p);
    }
  }
  const auto tasks = count_tasks(*store);
  for (int i = 0; i < 8; ++i) {
    const auto it = tasks.find("imported " + std::to_string(i));
    EXPECT_GE(it == tasks.end() ? 0 : it->second, imports_done)
        << "an import that exited 0 is missing log " << i;
  }
  const auto report = store->verify();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  const auto cli_verify = run_lagvk("log verify --store " + dir);
  EXPECT_EQ(cli_verify.status, 0) << cli_verify.out;
  fs::remove_all(work);
}

// Truncations and byte flips of a store file, 60 of them: each command exits 0 or 1 (1 with "error:" or a
// reported problem), never by a signal, a sanitizer report or an internal error.
TEST(StoreTorture, DamagedCopiesAreReportedNeverCrash) {
  const auto dir = fresh_store_dir("damage_src");
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    for (std::uint32_t i = 0; i < 12; ++i) {
      const auto log = synthetic_log(1 + 4 * i, 300 + i, "task number " + std::to_string(i));
      (void)store->put_log(log.record, log.input());
    }
  }
  const auto original = run_lagvk("log export --store " + dir + " /dev/stdout", false);
  ASSERT_EQ(original.status, 0);
  const std::string data = dir + "/data.mdb";
  const auto size = fs::file_size(data);
  std::mt19937 rng(7);
  int reported = 0, clean = 0;
  for (int seed = 0; seed < 60; ++seed) {
    const auto copy = fresh_store_dir("damage_" + std::to_string(seed));
    fs::create_directories(copy);
    fs::copy_file(data, copy + "/data.mdb");
    std::string how;
    if (seed % 3 == 0) {
      const auto len = rng() % size;
      fs::resize_file(copy + "/data.mdb", len);
      how = "truncated to " + std::to_string(len) + " of " + std::to_string(size) + " bytes";
    } else {
      // Every third flip set aims at the two meta pages (the first 8 KiB) LMDB starts from.
      const std::uint64_t span = seed % 3 == 1 ? std::min<std::uint64_t>(size, 8192) : size;
      std::fstream f(copy + "/data.mdb", std::ios::in | std::ios::out | std::ios::binary);
      const int flips = 1 + int(rng() % 16);
      how = std::to_string(flips) + " bytes flipped at";
      for (int i = 0; i < flips; ++i) {
        const auto at = rng() % span;
        f.seekg(std::streamoff(at));
        char c = 0;
        f.read(&c, 1);
        c = char(c ^ char(1 + rng() % 255));
        f.seekp(std::streamoff(at));
        f.write(&c, 1);
        how += " " + std::to_string(at);
      }
    }
    for (const std::string cmd : {"log verify --store ", "log ls --store ", "log show --store ",
                                  "log export --store ", "log stats --store "}) {
      std::string args = cmd + copy;
      if (cmd.find("show") != std::string::npos) args += " 3";
      if (cmd.find("export") != std::string::npos) args += " /dev/null";
      const auto r = run_lagvk(args);
      SCOPED_TRACE("lagvk " + args + " on a copy " + how);
      ASSERT_TRUE(r.status == 0 || r.status == 1) << "exit " << r.status << ":\n" << r.out;
      EXPECT_EQ(r.out.find("AddressSanitizer"), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
      if (r.status == 1) {
        EXPECT_TRUE(r.out.find("error:") != std::string::npos || r.out.find("problem") != std::string::npos)
            << r.out;
      }
      if (cmd.find("verify") != std::string::npos) ++(r.status == 0 ? clean : reported);
    }
    fs::remove_all(copy);
  }
  std::printf("60 damaged copies: verify reported %d, found %d clean (damage in unused space)\n", reported,
              clean);
  EXPECT_GT(reported, 30);
  // The original was only read: byte-identical export, verify clean.
  const auto after = run_lagvk("log export --store " + dir + " /dev/stdout", false);
  EXPECT_EQ(after.out, original.out);
  EXPECT_EQ(run_lagvk("log verify --store " + dir).status, 0);
}

}  // namespace
}  // namespace lagvk::test
