// Log records and export archives against hostile and careless input (issue 18): crafted and truncated
// archives are refused before the store is touched, a failed import says exactly which logs landed, a
// damaged record names its log and spares the others, records are checksummed, and an export never
// harms the store or an older file. Store-level checks run in-process; CLI checks run the lagvk binary
// on stores made here (no model and no GPU needed).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "logstore/archive.hpp"
#include "logstore/lmdb.hpp"
#include "logstore/store.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::logstore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using test::fresh_store_dir;
using test::put_raw;
using test::put_raw_record;
using test::small_fingerprint;
using test::synthetic_log;
using test::SyntheticLog;

/// A store at `dir` holding one log per task (ids 1, 2, ...).
void make_store(const std::string& dir, const std::vector<std::string>& tasks, std::uint32_t tokens = 5) {
  auto store = Store::open(dir, {true, small_fingerprint()});
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto log = synthetic_log(tokens, std::uint32_t(i + 1), tasks[i]);
    (void)store->put_log(log.record, log.input());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A valid archive as its header and log lines (parsed), from a store of `logs` synthetic logs.
struct Archive {
  json header;
  std::vector<json> entries;
  [[nodiscard]] std::string text() const {
    std::string out = header.dump() + "\n";
    for (const auto& e : entries) out += e.dump() + "\n";
    return out;
  }
};

Archive valid_archive(std::size_t logs = 2, std::uint32_t tokens = 5) {
  const auto dir = fresh_store_dir("archive_source");
  std::vector<std::string> tasks;
  for (std::size_t i = 0; i < logs; ++i) tasks.push_back("task number " + std::to_string(i + 1));
  make_store(dir, tasks, tokens);
  auto store = Store::open(dir, {false, small_fingerprint()});
  std::stringstream s;
  (void)export_logs(*store, s);
  Archive a;
  std::string line;
  std::getline(s, line);
  a.header = json::parse(line);
  while (std::getline(s, line)) a.entries.push_back(json::parse(line));
  return a;
}

/// Imports `text` into an existing empty store; returns the error message ("" when it succeeded) and
/// checks that nothing was written when it failed.
std::string import_into_empty_store(const std::string& text, std::size_t* logs_after = nullptr) {
  const auto dir = fresh_store_dir("import_target");
  auto store = Store::open(dir, {true, small_fingerprint()});
  std::istringstream in(text);
  std::string error;
  try {
    (void)import_logs(*store, in, "archive.jsonl");
  } catch (const Error& e) {
    error = e.what();
  }
  if (logs_after) *logs_after = store->read().ids().size();
  return error;
}

// ---- import: the header --------------------------------------------------------------------------

TEST(LogArchive, ImportValidatesEveryHeaderFieldBeforeWriting) {
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;
    const char* fragment;  // what the message must name
  };
  const std::vector<Case> cases = {
      {"empty fingerprint", [](json& h) { h["fingerprint"] = json::object(); }, "fingerprint"},
      {"page_tokens 0", [](json& h) { h["fingerprint"]["page_tokens"] = 0; }, "page_tokens"},
      {"page_tokens 2^32-1", [](json& h) { h["fingerprint"]["page_tokens"] = 4294967295u; }, "page_tokens"},
      {"layers 2^32", [](json& h) { h["fingerprint"]["layers"] = 4294967296ull; }, "layers"},
      {"layers negative", [](json& h) { h["fingerprint"]["layers"] = -2; }, "layers"},
      {"layers a string", [](json& h) { h["fingerprint"]["layers"] = "2"; }, "layers"},
      {"kv_heads 0", [](json& h) { h["fingerprint"]["kv_heads"] = 0; }, "kv_heads"},
      {"head_dim huge", [](json& h) { h["fingerprint"]["head_dim"] = 1u << 30; }, "head_dim"},
      {"rope_base negative", [](json& h) { h["fingerprint"]["rope_base"] = -1.0; }, "rope_base"},
      {"rope_mode unknown", [](json& h) { h["fingerprint"]["rope_mode"] = "sideways"; }, "rope_mode"},
      {"kv_dtype unknown", [](json& h) { h["fingerprint"]["kv_dtype"] = "f64"; }, "kv_dtype"},
      {"model_hash not hex", [](json& h) { h["fingerprint"]["model_hash"] = "not hex!"; }, "model_hash"},
      {"fingerprint an array", [](json& h) { h["fingerprint"] = json::array(); }, "fingerprint"},
      {"version 2", [](json& h) { h["lagvk_log_export"] = 2; }, "version"},
  };
  for (const auto& c : cases) {
    Archive a = valid_archive();
    c.mutate(a.header);
    std::size_t logs = 99;
    const std::string error = import_into_empty_store(a.text(), &logs);
    EXPECT_FALSE(error.empty()) << c.what << ": must be refused";
    EXPECT_TRUE(contains(error, c.fragment)) << c.what << ": " << error;
    EXPECT_TRUE(contains(error, "archive.jsonl")) << c.what << ": " << error;
    EXPECT_FALSE(contains(error, "json.exception")) << c.what << ": " << error;
    EXPECT_EQ(logs, 0u) << c.what;
  }
}

// ---- import: the entries -------------------------------------------------------------------------

TEST(LogArchive, ImportValidatesEveryEntryAndWritesNothingWhenOneIsBad) {
  struct Case {
    const char* what;
    std::function<void(json&)> mutate;  // applied to the second (last) entry
    const char* fragment;
  };
  const auto layer_k = [](json& e) -> json& { return e["layers"][1]["k"]; };
  const std::vector<Case> cases = {
      {"token_ids a string", [](json& e) { e["record"]["token_ids"] = "x"; }, "token_ids"},
      {"token id a float", [](json& e) { e["record"]["token_ids"][0] = 1.5; }, "token_ids"},
      {"token id beyond 32 bits", [](json& e) { e["record"]["token_ids"][0] = 1ll << 40; }, "token_ids"},
      {"positions shorter", [](json& e) { e["record"]["positions"].erase(0); }, "positions"},
      {"no tokens",
       [](json& e) {
         e["record"]["token_ids"] = json::array();
         e["record"]["positions"] = json::array();
       },
       "no tokens"},
      {"task a number", [](json& e) { e["record"]["task"] = 7; }, "task"},
      {"tags not strings", [](json& e) { e["record"]["tags"] = json::array({1}); }, "tags"},
      {"trace message not an object", [](json& e) { e["record"]["trace"] = json::array({"hi"}); }, "trace"},
      {"record not an object", [](json& e) { e["record"] = "x"; }, "record"},
      {"one layer short", [](json& e) { e["layers"].erase(1); }, "layers"},
      {"layer without v", [](json& e) { e["layers"][0].erase("v"); }, "'v'"},
      {"K one token short", [&](json& e) { layer_k(e) = layer_k(e).get<std::string>().substr(4); },
       "layer 1"},
      {"K invalid base64", [&](json& e) { layer_k(e) = "*" + layer_k(e).get<std::string>().substr(1); },
       "base64"},
      {"K not a string", [&](json& e) { layer_k(e) = 12; }, "'k'"},
      {"one token more in the record",
       [](json& e) {
         e["record"]["token_ids"].push_back(1);
         e["record"]["positions"].push_back(9);
       },
       "layer 0"},
      {"embedding not numbers", [](json& e) { e["embedding"] = json::array({"x"}); }, "embedding"},
      {"embedding too large for a float", [](json& e) { e["embedding"] = json::array({1e300}); },
       "embedding"},
      {"id a string", [](json& e) { e["id"] = "2"; }, "'id'"},
      {"no layers", [](json& e) { e.erase("layers"); }, "not a log entry"},
      {"an array",
       [](json& e) {
         e = json::array({1, 2});
       },
       "not a log entry"},
  };
  for (const auto& c : cases) {
    Archive a = valid_archive();
    c.mutate(a.entries[1]);
    std::size_t logs = 99;
    const std::string error = import_into_empty_store(a.text(), &logs);
    EXPECT_TRUE(contains(error, "archive.jsonl line 3")) << c.what << ": " << error;
    EXPECT_TRUE(contains(error, c.fragment)) << c.what << ": " << error;
    EXPECT_FALSE(contains(error, "json.exception")) << c.what << ": " << error;
    EXPECT_EQ(logs, 0u) << c.what << ": the valid first entry must not land either (all or nothing)";
  }
}

TEST(LogArchive, ALineThatIsNotJsonNamesItsLine) {
  // A cut object, and a number beyond a double (the JSON library throws another kind of exception).
  for (const std::string bad : {"{\"id\": 1, \"record\": ", "{\"id\": 1e999, \"record\": {}}"}) {
    std::string text = valid_archive().text();
    text.insert(text.find('\n') + 1, bad + "\n");
    std::size_t logs = 99;
    const std::string error = import_into_empty_store(text, &logs);
    EXPECT_TRUE(contains(error, "archive.jsonl line 2: not valid JSON")) << bad << ": " << error;
    EXPECT_FALSE(contains(error, "json.exception")) << error;
    EXPECT_EQ(logs, 0u);
  }
}

TEST(LogArchive, ATruncatedArchiveIsAnError) {
  const std::string text = valid_archive(3).text();
  // Cut inside the last line, and cut only its newline: both are archives that did not finish writing.
  for (const std::size_t cut : {text.size() - 40, text.size() - 1}) {
    std::size_t logs = 99;
    const std::string error = import_into_empty_store(text.substr(0, cut), &logs);
    EXPECT_TRUE(contains(error, "archive.jsonl line 4")) << "cut at " << cut << ": " << error;
    EXPECT_TRUE(contains(error, "truncated")) << "cut at " << cut << ": " << error;
    EXPECT_EQ(logs, 0u) << "cut at " << cut;
  }
  EXPECT_EQ(import_into_empty_store(text), "") << "the whole archive imports";
}

// A store that fills up midway: the error lists exactly the logs that landed, old id -> new id.
TEST(LogArchive, AFailedWriteReportsExactlyWhichLogsLanded) {
  const Archive a = valid_archive(40, 2000);  // about 64 KB of pages per log
  const auto dir = fresh_store_dir("import_full");
  StoreOptions o{true, small_fingerprint(), 1 << 20, 1 << 20};
  auto store = Store::open(dir, o);
  {  // one log already there, so that new ids differ from the archive's
    const auto log = synthetic_log(3, 77, "resident");
    (void)store->put_log(log.record, log.input());
  }
  std::istringstream in(a.text());
  std::string error;
  try {
    (void)import_logs(*store, in, "archive.jsonl");
  } catch (const Error& e) {
    error = e.what();
  }
  ASSERT_FALSE(error.empty()) << "40 logs of 64 KB cannot fit in 1 MiB";
  EXPECT_TRUE(contains(error, "store full")) << error;
  const auto ids = store->read().ids();
  ASSERT_GT(ids.size(), 2u) << "some logs should have landed";
  const std::size_t landed = ids.size() - 1;
  EXPECT_TRUE(contains(error, std::to_string(landed) + " of 40 logs were imported")) << error;
  // Archive log i (old id i) landed as store id i + 1, for every log in the store but the resident one.
  for (std::size_t i = 1; i <= landed; ++i)
    EXPECT_TRUE(contains(error, std::to_string(i) + "->" + std::to_string(i + 1))) << error;
  EXPECT_FALSE(contains(error, std::to_string(landed + 1) + "->")) << error;
  EXPECT_TRUE(store->verify().ok());
}

TEST(LogArchive, CheckExportNeedsNoStoreAndRewinds) {
  const Archive a = valid_archive(3);
  std::istringstream in(a.text());
  const ExportSummary s = check_export(in, "archive.jsonl");
  EXPECT_EQ(s.logs, 3u);
  EXPECT_EQ(s.fingerprint, small_fingerprint());
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(json::parse(first), a.header) << "the stream is rewound for the second pass";
  const ExportEntry e = parse_export_entry(a.entries[0].dump(), s.fingerprint, "archive.jsonl", 2);
  EXPECT_EQ(e.record.task, "task number 1");
  ASSERT_EQ(e.k.size(), 2u);
  EXPECT_EQ(e.k[0].size(), 5u * 8);
}

// ---- records -------------------------------------------------------------------------------------

TEST(LogRecords, AWrongShapedRecordNamesTheLogAndSparesTheOthers) {
  const auto dir = fresh_store_dir("wrong_shape");
  make_store(dir, {"alpha harbor", "beta harbor", "gamma harbor"});
  put_raw_record(dir, 2, R"({"task": "beta harbor", "token_ids": "x"})");
  auto store = Store::open(dir, {false, small_fingerprint()});
  auto r = store->read();
  EXPECT_EQ(r.log(1)->task, "alpha harbor");
  EXPECT_EQ(r.log(3)->task, "gamma harbor");
  try {
    (void)r.log(2);
    FAIL() << "a damaged record must be an error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "log 2")) << e.what();
    EXPECT_TRUE(contains(e.what(), "token_ids")) << e.what();
  }
  // Retrieval goes on over the others.
  const auto hits = store->search("harbor", 5);
  ASSERT_EQ(hits.size(), 2u);
  for (const auto& h : hits) EXPECT_NE(h.id, 2u);
  EXPECT_EQ(store->stats().logs, 3u);
  const auto report = store->verify();
  EXPECT_FALSE(report.ok());
  ASSERT_EQ(report.problems.size(), 1u) << "its pages are not orphans: " << report.problems.back();
  EXPECT_TRUE(contains(report.problems[0], "log 2")) << report.problems[0];
}

TEST(LogRecords, UnreadableLogsAreListedForWarnings) {
  const auto dir = fresh_store_dir("unreadable");
  make_store(dir, {"alpha", "beta"});
  put_raw_record(dir, 1, "{not json");
  auto store = Store::open(dir, {false, small_fingerprint()});
  const auto unreadable = store->unreadable_logs();
  ASSERT_EQ(unreadable.size(), 1u);
  EXPECT_EQ(unreadable[0].id, 1u);
  EXPECT_TRUE(contains(unreadable[0].reason, "log 1")) << unreadable[0].reason;
}

TEST(LogRecords, AFlippedByteInARecordFailsVerifyAndReading) {
  const auto dir = fresh_store_dir("record_flip");
  make_store(dir, {"ordinary task", "quartz zeppelin marmalade", "another task"});
  {  // Alter one letter of log 2's text inside the data file (still valid JSON). Every copy: stale
     // copies of the record may remain in pages LMDB has freed.
    std::fstream f(fs::path(dir) / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    std::size_t copies = 0;
    for (auto at = bytes.find("zeppelin"); at != std::string::npos;
         at = bytes.find("zeppelin", at + 1), ++copies) {
      f.seekp(std::streamoff(at));
      f.put('Z');
    }
    ASSERT_GT(copies, 0u);
  }
  auto store = Store::open(dir, {false, small_fingerprint()});
  const auto report = store->verify();
  EXPECT_FALSE(report.ok()) << "an altered record must not verify";
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_TRUE(contains(report.problems[0], "log 2")) << report.problems[0];
  EXPECT_TRUE(contains(report.problems[0], "checksum")) << report.problems[0];
  auto r = store->read();
  EXPECT_THROW((void)r.log(2), Error);
  EXPECT_EQ(r.log(3)->task, "another task");
}

TEST(LogRecords, LegacyRecordsWithoutAChecksumStillReadAndVerifySaysSo) {
  const auto dir = fresh_store_dir("legacy");
  make_store(dir, {"old one", "new one"});
  // Log 1 as an older lagvk stored it: the bare JSON record.
  const auto legacy = synthetic_log(5, 1, "old one");
  put_raw_record(dir, 1, json(legacy.record).dump());
  auto store = Store::open(dir, {false, small_fingerprint()});
  EXPECT_EQ(store->read().log(1)->task, "old one");
  EXPECT_EQ(store->read().log(1)->token_ids, legacy.record.token_ids);
  const auto report = store->verify();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_TRUE(contains(report.notes[0], "1 of 2")) << report.notes[0];
}

// A schema-1 store (bare JSON records) opens, and its first new log marks it schema 2, so that an older
// lagvk refuses it by version instead of calling the checksummed records damaged; an unknown newer
// schema is refused with a message.
TEST(LogRecords, ASchemaOneStoreBecomesSchemaTwoWithItsFirstNewLog) {
  const auto dir = fresh_store_dir("schema");
  make_store(dir, {"first"});
  EXPECT_EQ(put_raw(dir, "meta", "schema", "1"), "2");  // new stores are schema 2
  {
    auto store = Store::open(dir, {false, small_fingerprint()});
    EXPECT_EQ(store->read().log(1)->task, "first");
    const auto log = synthetic_log(4, 7, "second");
    (void)store->put_log(log.record, log.input());
  }
  EXPECT_EQ(put_raw(dir, "meta", "schema", "3"), "2");
  try {
    (void)Store::open(dir, {false, small_fingerprint()});
    FAIL() << "a store of a newer schema must be refused";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "schema version 3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "newer lagvk")) << e.what();
  }
}

TEST(LogRecords, RecordsRoundTripThroughTheirStoredBytes) {
  const auto log = synthetic_log(4, 9, "round trip");
  const std::string bytes = encode_record_value(log.record);
  const DecodedRecord d = decode_record_value(bytes);
  EXPECT_FALSE(d.legacy);
  EXPECT_EQ(json(d.record), json(log.record));
  // Every single-byte change is caught (header, length, checksum or text).
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = char(bad[i] ^ 0x01);
    EXPECT_THROW((void)decode_record_value(bad), Error) << "byte " << i;
  }
  EXPECT_THROW((void)decode_record_value(bytes.substr(0, bytes.size() - 1)), Error);
  EXPECT_THROW((void)decode_record_value(""), Error);
}

TEST(LogRecords, AStoreWithADamagedFingerprintIsRefused) {
  const auto dir = fresh_store_dir("bad_fingerprint");
  make_store(dir, {"a"});
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi meta = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    json fp = small_fingerprint();
    fp["page_tokens"] = 0;
    const std::string value = fp.dump();
    MDB_val k{11, const_cast<char*>("fingerprint")}, v{value.size(), const_cast<char*>(value.data())};
    ASSERT_EQ(mdb_put(txn, meta, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  try {
    (void)Store::open(dir, {});
    FAIL() << "a page_tokens of 0 would divide by zero later";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "is damaged (its fingerprint record is unreadable")) << e.what();
    EXPECT_TRUE(contains(e.what(), "page_tokens")) << e.what();
  }
}

// ---- the CLI -------------------------------------------------------------------------------------

using test::lagvk_binary;
using test::run_lagvk;
using test::run_shell;

/// Runs a shell command line; its exit status, or -1 when a signal ended it.
int shell(const std::string& command) {
  const int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

void expect_store_intact(const std::string& dir, std::size_t logs) {
  auto r = run_lagvk("log verify --store " + dir);
  EXPECT_EQ(r.status, 0) << r.out;
  r = run_lagvk("log ls --json --store " + dir, false);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(json::parse(r.out).size(), logs) << r.out;
}

TEST(LogExportCli, RefusesEveryPathThatResolvesIntoTheStore) {
  const auto dir = fresh_store_dir("export_into_store");
  make_store(dir, {"first", "second"});
  const fs::path base = fs::path(dir).parent_path();
  const std::string name = fs::path(dir).filename().string();
  const auto link = (base / (name + "_link")).string(), dir_link = (base / (name + "_dirlink")).string();
  fs::remove(link);
  fs::remove(dir_link);
  fs::create_symlink(fs::path(dir) / "data.mdb", link);
  fs::create_directory_symlink(dir, dir_link);
  const auto size = fs::file_size(fs::path(dir) / "data.mdb");
  for (const std::string& target : {dir + "/data.mdb", dir + "/lock.mdb", dir + "/../" + name + "/data.mdb",
                                    link, dir_link + "/lock.mdb", dir + "/backup.jsonl"}) {
    const auto r = run_lagvk("log export --store " + dir + " " + target);
    EXPECT_EQ(r.status, 1) << target << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "refusing")) << target << ": " << r.out;
    EXPECT_EQ(fs::file_size(fs::path(dir) / "data.mdb"), size) << target;
    expect_store_intact(dir, 2);
  }
  // While a hard link to data.mdb exists the store itself refuses to open (a file shared with another
  // path), so nothing is written through it either.
  const auto hard = (base / (name + "_hard")).string();
  fs::remove(hard);
  fs::create_hard_link(fs::path(dir) / "data.mdb", hard);
  const auto r = run_lagvk("log export --store " + dir + " " + hard);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "hard links")) << r.out;
  EXPECT_EQ(fs::file_size(fs::path(dir) / "data.mdb"), size);
  fs::remove(hard);
  expect_store_intact(dir, 2);
  EXPECT_FALSE(fs::exists(fs::path(dir) / "backup.jsonl"));
  fs::remove(link);
  fs::remove(dir_link);
}

TEST(LogExportCli, AFailedExportLeavesTheOldFileAsItWas) {
  const auto dir = fresh_store_dir("export_fails");
  make_store(dir, {"first", "second", "third"});
  put_raw_record(dir, 3, "{damaged");
  const auto out_dir = fresh_store_dir("export_fails_out");
  fs::create_directories(out_dir);
  const auto out = out_dir + "/backup.jsonl";
  write_file(out, "the previous backup\n");
  const auto r = run_lagvk("log export --store " + dir + " " + out);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "log 3")) << r.out;
  EXPECT_EQ(read_file(out), "the previous backup\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(out_dir), fs::directory_iterator()), 1)
      << "no temporary file may be left behind";
  // Once the damaged log is gone, the export replaces the file and imports.
  ASSERT_EQ(run_lagvk("log rm --store " + dir + " 3").status, 0);
  const auto ok = run_lagvk("log export --store " + dir + " " + out);
  EXPECT_EQ(ok.status, 0) << ok.out;
  const auto dst = fresh_store_dir("export_fails_dst");
  const auto imported = run_lagvk("log import --store " + dst + " " + out);
  EXPECT_EQ(imported.status, 0) << imported.out;
  expect_store_intact(dst, 2);
}

TEST(LogExportCli, ExportToStdoutKeepsTheStatusLineOutOfTheArchive) {
  const auto dir = fresh_store_dir("export_stdout");
  make_store(dir, {"first", "second"});
  const auto out = dir + "_out.jsonl", err = dir + "_err.txt";
  ASSERT_EQ(
      shell(test::lagvk_binary() + " log export --store " + dir + " /dev/stdout > " + out + " 2> " + err), 0)
      << read_file(err);
  EXPECT_TRUE(contains(read_file(err), "exported 2 logs")) << read_file(err);
  const auto dst = fresh_store_dir("export_stdout_dst");
  const auto r = run_lagvk("log import --store " + dst + " " + out);
  EXPECT_EQ(r.status, 0) << r.out;
  expect_store_intact(dst, 2);
  // Through a pipe as well.
  const auto dst2 = fresh_store_dir("export_pipe_dst");
  ASSERT_EQ(shell(test::lagvk_binary() + " log export --store " + dir + " /dev/stdout 2>/dev/null | " +
                  test::lagvk_binary() + " log import --store " + dst2 + " /dev/stdin > /dev/null 2>&1"),
            0);
  expect_store_intact(dst2, 2);
  fs::remove(out);
  fs::remove(err);
}

TEST(LogImportCli, ACraftedHeaderLeavesNoStoreBehind) {
  const Archive valid = valid_archive(3);
  for (const auto& [what, value] :
       std::vector<std::pair<std::string, json>>{{"empty fingerprint", json::object()},
                                                 {"page_tokens 0",
                                                  [] {
                                                    json f = small_fingerprint();
                                                    f["page_tokens"] = 0;
                                                    return f;
                                                  }()},
                                                 {"page_tokens 2^32-1", [] {
                                                    json f = small_fingerprint();
                                                    f["page_tokens"] = 4294967295u;
                                                    return f;
                                                  }()}}) {
    Archive a = valid;
    a.header["fingerprint"] = value;
    const auto file = fresh_store_dir("crafted") + ".jsonl", dst = fresh_store_dir("crafted_dst");
    write_file(file, a.text());
    const auto r = run_lagvk("log import --store " + dst + " " + file);
    EXPECT_EQ(r.status, 1) << what << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "error: " + file + " line 1")) << what << ": " << r.out;
    EXPECT_FALSE(fs::exists(dst)) << what << ": the store must not be created";
    fs::remove(file);
  }
}

TEST(LogImportCli, ABadEntryLeavesAnExistingStoreUntouched) {
  const auto dst = fresh_store_dir("bad_entry_dst");
  make_store(dst, {"resident"});
  Archive a = valid_archive(3);
  a.entries[2]["record"]["token_ids"] = "x";
  const auto file = fresh_store_dir("bad_entry") + ".jsonl";
  write_file(file, a.text());
  const auto r = run_lagvk("log import --store " + dst + " " + file);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, file + " line 4 (log 3): record field 'token_ids'")) << r.out;
  expect_store_intact(dst, 1);
  fs::remove(file);
}

// The archive may come through a pipe; a directory is refused and a FIFO that no writer holds reads as
// empty instead of blocking the open forever.
TEST(LogImportCli, ADirectoryIsRefusedAndAFifoWithoutAWriterDoesNotBlock) {
  const auto dst = fresh_store_dir("nonregular_dst"), dir = fresh_store_dir("nonregular");
  fs::create_directories(dir);
  auto r = run_lagvk("log import --store " + dst + " " + dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "'" + dir + "' is a directory")) << r.out;
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  r = run_shell("timeout 20 " + lagvk_binary() + " log import --store " + dst + " " + fifo + " 2>&1");
  EXPECT_EQ(r.status, 1) << "124 means the open blocked: " << r.out;
  EXPECT_TRUE(contains(r.out, "error: '" + fifo + "' is a pipe with nothing written to it")) << r.out;
  EXPECT_FALSE(fs::exists(dst)) << "nothing imported: no store";
  // Exporting into a FIFO nobody reads is refused at once instead of blocking.
  make_store(dst, {"one"});
  r = run_shell("timeout 20 " + lagvk_binary() + " log export --store " + dst + " " + fifo + " 2>&1");
  EXPECT_EQ(r.status, 1) << "124 means the open blocked: " << r.out;
  EXPECT_TRUE(contains(r.out, "no process is reading")) << r.out;
  fs::remove_all(dst);
  // Standard input redirected from a file is a regular file and imports.
  write_file(dir + "/a.jsonl", valid_archive(2).text());
  r = run_lagvk("log import --store " + dst + " /dev/stdin < " + dir + "/a.jsonl");
  EXPECT_EQ(r.status, 0) << r.out;
  fs::remove_all(dir);
}

// At the shell's file-size limit (ulimit -f) writes fail with EFBIG instead of a SIGXFSZ that killed the
// process mid-write: an import reports no space and leaves no store, an export leaves no temporary file.
TEST(LogImportCli, AFileSizeLimitIsNoSpaceNotASignal) {
  const auto dir = fresh_store_dir("fsize"), dst = fresh_store_dir("fsize_dst");
  fs::create_directories(dir);
  write_file(dir + "/a.jsonl", valid_archive(3).text());
  auto r = run_shell("ulimit -f 4; " + lagvk_binary() + " log import --store " + dst + " " + dir +
                     "/a.jsonl 2>&1");
  EXPECT_EQ(r.status, 1) << "153 is SIGXFSZ: " << r.out;
  EXPECT_TRUE(contains(r.out, "no space left on device")) << r.out;
  EXPECT_FALSE(fs::exists(dst)) << "a store that could not be made is not left behind";
  make_store(dst, {"one", "two", "three"}, 400);
  r = run_shell("ulimit -f 4; " + lagvk_binary() + " log export --store " + dst + " " + dir +
                "/out.jsonl 2>&1");
  EXPECT_EQ(r.status, 1) << "153 is SIGXFSZ: " << r.out;
  EXPECT_TRUE(contains(r.out, "error: writing ") && contains(r.out, " failed (disk full?)")) << r.out;
  std::size_t left = 0;
  for (const auto& e : fs::directory_iterator(dir)) left += e.path().filename() != "a.jsonl";
  EXPECT_EQ(left, 0u) << "a failed export leaves nothing beside its target";
  fs::remove_all(dir);
  fs::remove_all(dst);
}

// An export over another store's data.mdb or lock.mdb would destroy that store.
TEST(LogExportCli, RefusesToOverwriteAnotherStoresFiles) {
  const auto src = fresh_store_dir("other_src"), other = fresh_store_dir("other_dst");
  make_store(src, {"exported"});
  make_store(other, {"kept one", "kept two"});
  for (const std::string name : {"data.mdb", "lock.mdb"}) {
    const auto r = run_lagvk("log export --store " + src + " " + other + "/" + name);
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(contains(r.out, "is the name of an LMDB database file")) << r.out;
  }
  expect_store_intact(other, 2);
}

TEST(LogRecordsCli, ADamagedRecordIsFlaggedAndTheOthersStayUsable) {
  const auto dir = fresh_store_dir("damaged_cli");
  make_store(dir, {"first", "second", "third"});
  put_raw_record(dir, 2, R"({"task": "second", "token_ids": "x"})");
  auto r = run_lagvk("log ls --store " + dir, false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "first")) << r.out;
  EXPECT_TRUE(contains(r.out, "third")) << r.out;
  EXPECT_TRUE(contains(r.out, "     2  DAMAGED: log 2")) << r.out;
  r = run_lagvk("log verify --store " + dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "problem: log 2")) << r.out;
  r = run_lagvk("log show --store " + dir + " 2");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: log 2")) << r.out;
  r = run_lagvk("log show --store " + dir + " 3");
  EXPECT_EQ(r.status, 0) << r.out;
  r = run_lagvk("log stats --store " + dir);
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST(LogRecordsCli, AnAlteredRecordFailsVerifyAndShow) {
  const auto dir = fresh_store_dir("altered_cli");
  make_store(dir, {"first", "quartz zeppelin marmalade", "third"});
  {  // every copy of the text, as in AFlippedByteInARecordFailsVerifyAndReading
    std::fstream f(fs::path(dir) / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    for (auto at = bytes.find("zeppelin"); at != std::string::npos; at = bytes.find("zeppelin", at + 1)) {
      f.seekp(std::streamoff(at));
      f.put('Z');
    }
  }
  auto r = run_lagvk("log verify --store " + dir);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "problem: log 2")) << r.out;
  EXPECT_TRUE(contains(r.out, "checksum")) << r.out;
  r = run_lagvk("log show --store " + dir + " 2");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "error: log 2")) << r.out;
  EXPECT_FALSE(contains(r.out, "Zeppelin")) << "the altered text must not be shown as the log's";
}

}  // namespace
}  // namespace lagvk::logstore
