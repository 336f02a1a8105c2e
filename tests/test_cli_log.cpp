// 'lagvk log' end to end, one table per verb: add (every flag), ls, show, rm, stats, verify, export and
// import, with their JSON shapes and exit codes, and what they mean: rm removes exactly the ids given,
// an export imported into a new store gives the same logs, the q8_0 codec stores fewer bytes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::CliCase;
using test::JsonType;
using test::kExitError;
using test::kExitOk;

const std::vector<test::JsonField> kLsRow = {
    {"/0/id", JsonType::integer},       {"/0/task", JsonType::string}, {"/0/tokens", JsonType::integer},
    {"/0/selection", JsonType::string}, {"/0/tags", JsonType::array},  {"/0/created", JsonType::integer}};

/// An archive line without its log id (a header line is left as it is).
nlohmann::json without_id_line(nlohmann::json j) {
  j.erase("id");
  return j;
}

class CliLog : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(test::lagvk_binary())) return;
    scratch_.emplace("cli_log");
    dir_ = scratch_->path();
    values_ = {{"dir", dir_.string()},
               {"model", (dir_ / "m.gguf").string()},
               {"traces", (dir_ / "traces.jsonl").string()}};
    std::ofstream(dir_ / "traces.jsonl")
        << R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the glass harbor"}, {"role": "assistant", "content": "mara ellison"}], "tags": ["film"]})"
           "\n"
        << R"({"task": "where was mara ellison born", "messages": [{"role": "user", "content": "where was mara ellison born"}, {"role": "assistant", "content": "port alden"}], "tags": ["person"]})"
           "\n"
        << R"({"task": "which country is port alden in", "messages": [{"role": "user", "content": "which country is port alden in"}, {"role": "assistant", "content": "let me look"}, {"role": "tool", "content": "port alden country veloria"}, {"role": "assistant", "content": "veloria"}]})"
           "\n"
        << R"({"task": "what is the capital of veloria", "messages": [{"role": "user", "content": "what is the capital of veloria"}, {"role": "assistant", "content": "castell"}], "tags": ["place"]})"
           "\n";
    test::run_case({"model",
                    "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o {model}",
                    kExitOk,
                    {"wrote"}},
                   values_);
  }
  static void TearDownTestSuite() { scratch_.reset(); }
  void SetUp() override {
    if (!fs::exists(test::lagvk_binary())) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
  /// 'log ls --json' of a store.
  static nlohmann::json ls(const std::string& store) {
    return test::run_case(
               {"ls " + store, "log ls --json --store " + store, kExitOk, {}, {{"", JsonType::array}}},
               values_)
        .json;
  }
  static std::vector<int> ids(const nlohmann::json& rows) {
    std::vector<int> out;
    for (const auto& r : rows) out.push_back(r["id"].get<int>());
    return out;
  }
  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline test::Placeholders values_;
};

TEST_F(CliLog, AddListsShowsAndChecksLogs) {
  const auto added = test::run_case({"add --json",
                                     "log add --store {dir}/a -m {model} --trace {traces} --json",
                                     kExitOk,
                                     {},
                                     {{"/added", JsonType::array},
                                      {"/added/0/id", JsonType::integer},
                                      {"/added/0/task", JsonType::string},
                                      {"/added/0/tokens", JsonType::integer}}},
                                    values_)
                         .json;
  ASSERT_EQ(added["added"].size(), 4u);
  const auto rows = ls("{dir}/a");
  ASSERT_EQ(rows.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rows[i]["id"], added["added"][i]["id"]);
    EXPECT_EQ(rows[i]["task"], added["added"][i]["task"]);
    EXPECT_EQ(rows[i]["tokens"], added["added"][i]["tokens"]);
    EXPECT_EQ(rows[i]["selection"], "last");
  }
  EXPECT_EQ(rows[0]["tags"], nlohmann::json::array({"film"}));
  test::run_case({"ls shape", "log ls -s {dir}/a --json", kExitOk, {}, kLsRow}, values_);
  test::run_case(
      {"ls text",
       "log ls --store {dir}/a",
       kExitOk,
       {"     1  ", " tokens  last    ", "who directed the glass harbor", "what is the capital of veloria"}},
      values_);

  const auto show = test::run_case({"show --json",
                                    "log show --store {dir}/a --json 3",
                                    kExitOk,
                                    {},
                                    {{"/id", JsonType::integer},
                                     {"/task", JsonType::string},
                                     {"/trace", JsonType::array},
                                     {"/token_ids", JsonType::array},
                                     {"/positions", JsonType::array},
                                     {"/selection", JsonType::string},
                                     {"/tags", JsonType::array},
                                     {"/created", JsonType::integer}}},
                                   values_)
                        .json;
  EXPECT_EQ(show["id"], 3);
  EXPECT_EQ(show["task"], "which country is port alden in");
  EXPECT_EQ(show["trace"].size(), 4u) << "the whole trace is kept";
  EXPECT_EQ(show["token_ids"].size(), rows[2]["tokens"].get<std::size_t>());
  EXPECT_EQ(show["positions"].size(), show["token_ids"].size());
  test::run_cases(
      {{"show text",
        "log show -s {dir}/a 3",
        kExitOk,
        {"log 3: which country is port alden in", "selection: last (", "  tool: port alden country veloria",
         "  assistant: veloria"}},
       {"show missing", "log show --store {dir}/a 99", kExitError, {"error: no log 99 in"}},
       {"show two ids", "log show --store {dir}/a 1 2", kExitError, {"error: log show: give one log id"}},
       {"stats --json",
        "log stats --store {dir}/a --json",
        kExitOk,
        {},
        {{"/logs", JsonType::integer},
         {"/pages", JsonType::integer},
         {"/stored_tokens", JsonType::integer},
         {"/page_bytes", JsonType::integer},
         {"/bytes_per_stored_token", JsonType::number},
         {"/file_bytes", JsonType::integer},
         {"/map_size", JsonType::integer},
         {"/map_free", JsonType::integer},
         {"/page_codec", JsonType::string},
         {"/fingerprint", JsonType::object}}},
       {"stats text", "log stats -s {dir}/a", kExitOk, {"  logs: 4  pages: ", "page codec f16)"}},
       {"verify --json",
        "log verify --store {dir}/a --json",
        kExitOk,
        {},
        {{"/ok", JsonType::boolean},
         {"/logs", JsonType::integer},
         {"/pages", JsonType::integer},
         {"/problems", JsonType::array},
         {"/notes", JsonType::array}}},
       {"verify text", "log verify -s {dir}/a", kExitOk, {"ok: 4 logs, "}},
       {"ls of no store", "log ls --store {dir}/none", kExitError, {"error: "}}},
      values_);
  const auto stats =
      test::run_case(
          {"stats", "log stats --store {dir}/a --json", kExitOk, {}, {{"/logs", JsonType::integer}}}, values_)
          .json;
  EXPECT_EQ(stats["logs"], 4);
  std::size_t tokens = 0;
  for (const auto& r : rows) tokens += r["tokens"].get<std::size_t>();
  EXPECT_EQ(stats["stored_tokens"], tokens);
}

// On a terminal (script(1) gives lagvk one) the progress bars redraw in place, count in their own units,
// and erase themselves before each output line: no line starts with a bar's text.
TEST_F(CliLog, AddOnATerminalKeepsTheBarOffTheOutputLines) {
  const std::string command =
      test::lagvk_binary() + " " + test::expand("log add -s {dir}/tty -m {model} -t {traces}", values_);
  const auto r = test::run_shell("script -qec '" + command + "' /dev/null");
  ASSERT_EQ(r.status, kExitOk) << r.out;
  EXPECT_NE(r.out.find("encoding traces ["), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" logs"), std::string::npos) << "the traces bar counts logs:\n" << r.out;
  EXPECT_EQ(r.out.find("0.0 / 0.0 MB"), std::string::npos) << r.out;
  int lines = 0;
  for (std::size_t at = r.out.find("added log"); at != std::string::npos;
       at = r.out.find("added log", at + 1)) {
    ++lines;
    const std::size_t line_start = r.out.rfind('\n', at) == std::string::npos ? 0 : r.out.rfind('\n', at) + 1;
    std::string before = r.out.substr(line_start, at - line_start);
    for (std::size_t erase; (erase = before.find("\r\033[K")) != std::string::npos;)
      before.erase(0, erase + 4);
    EXPECT_EQ(before, "") << "output line " << lines << " shares its line with a bar:\n" << r.out;
  }
  EXPECT_EQ(lines, 4) << r.out;
}

TEST_F(CliLog, AddFlagsSelectCodecEmbedContextDevice) {
  // --select: the whole trace keeps more tokens than every response, which keeps more than the last.
  std::vector<std::size_t> kept;
  for (const std::string select : {"last", "all", "full"}) {
    const auto j = test::run_case({"--select " + select,
                                   "log add -s {dir}/sel-" + select +
                                       " --model {model} -t {traces} --select " + select + " --json",
                                   kExitOk,
                                   {},
                                   {{"/added/2/tokens", JsonType::integer}}},
                                  values_)
                       .json;
    kept.push_back(j["added"][2]["tokens"].get<std::size_t>());  // the trace with two responses
    EXPECT_EQ(ls("{dir}/sel-" + select)[2]["selection"], select);
  }
  EXPECT_LT(kept[0], kept[1]);
  EXPECT_LT(kept[1], kept[2]);
  test::run_case({"--select answer",
                  "log add -s {dir}/sel-answer -m {model} -t {traces} --select answer",
                  kExitOk,
                  {"added log 1 (", "added log 4 ("}},
                 values_);
  EXPECT_EQ(ls("{dir}/sel-answer")[0]["selection"], "answer");

  // --codec q8_0 stores about half the bytes of f16 for the same logs.
  // Its stderr is a pipe: no progress bar (tools/lagvk/progress.hpp) reaches it.
  test::run_case({"f16",
                  "log add -s {dir}/f16 --model {model} -t {traces} --codec f16",
                  kExitOk,
                  {"added log 4"},
                  {},
                  {"\r", "encoding traces", "loading "}},
                 values_);
  test::run_case(
      {"q8_0", "log add -s {dir}/q8 -m {model} -t {traces} --codec q8_0", kExitOk, {"added log 4"}}, values_);
  // --index: a new store's choice of what retrieval indexes; an existing store keeps its own.
  test::run_cases({{"--index task+response",
                    "log add -s {dir}/ix -m {model} -t {traces} --index task+response",
                    kExitOk,
                    {"added log 4"}},
                   {"--index again",
                    "log add -s {dir}/ix -m {model} -t {traces} --index task+response",
                    kExitOk,
                    {"added log 8"}},
                   {"--index other",
                    "log add -s {dir}/ix -m {model} -t {traces} --index task",
                    kExitError,
                    {"indexes the task+response of its logs; --index task applies only to a new store"}},
                   {"--index bad",
                    "log add -s {dir}/ix2 -m {model} -t {traces} --index answers",
                    kExitError,
                    {"--index must be task or task+response, not 'answers'"}}},
                  values_);
  const auto stats = [](const std::string& store) {
    return test::run_case({"stats",
                           "log stats --json --store " + store,
                           kExitOk,
                           {},
                           {{"/page_bytes", JsonType::integer}}},
                          values_)
        .json;
  };
  const auto f16 = stats("{dir}/f16"), q8 = stats("{dir}/q8");
  EXPECT_EQ(f16["stored_tokens"], q8["stored_tokens"]);
  EXPECT_EQ(f16["page_codec"], "f16");
  EXPECT_EQ(q8["page_codec"], "q8_0");
  EXPECT_LT(q8["page_bytes"].get<double>(), 0.6 * f16["page_bytes"].get<double>());
  // The model line says how this store keeps its pages, not the KV cache's type alone as if it were.
  test::run_case({"q8_0 stats text",
                  "log stats --store {dir}/q8",
                  kExitOk,
                  {"page codec q8_0)", "stored as q8_0 pages"},
                  {},
                  {"f16 pages"}},
                 values_);
  test::run_case({"f16 stats text", "log stats --store {dir}/f16", kExitOk, {"stored as f16 pages"}},
                 values_);
  test::run_cases({{"codec of an existing store",
                    "log add -s {dir}/q8 -m {model} -t {traces} --codec f16",
                    kExitError,
                    {"error: log add: the store '", "keeps its page codec q8_0"}},
                   {"bad codec",
                    "log add -s {dir}/x -m {model} -t {traces} --codec f8",
                    kExitError,
                    {"error: log add: --codec must be f16 or q8_0"}},
                   {"no trace",
                    "log add -s {dir}/x -m {model}",
                    kExitError,
                    {"error: log add: -m MODEL and --trace FILE are required"}},
                   {"bad select",
                    "log add -s {dir}/x -m {model} -t {traces} --select most",
                    kExitError,
                    {"error: ", "most"}}},
                  values_);
  EXPECT_FALSE(fs::exists(dir_ / "x"));

  // --embed stores each task's embedding, one value per model dimension (the export carries it).
  test::run_case({"--embed", "log add -s {dir}/emb -m {model} -t {traces} --embed", kExitOk, {"added log 4"}},
                 values_);
  const auto embeddings = [](const std::string& store) {
    test::run_case(
        {"export", "log export --store " + store + " {dir}/emb.jsonl", kExitOk, {"exported 4 logs"}},
        values_);
    std::ifstream in(dir_ / "emb.jsonl");
    std::vector<std::size_t> sizes;
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line))
      sizes.push_back(nlohmann::json::parse(line).value("embedding", nlohmann::json::array()).size());
    return sizes;
  };
  EXPECT_EQ(embeddings("{dir}/emb"), (std::vector<std::size_t>{64, 64, 64, 64}));
  EXPECT_EQ(embeddings("{dir}/f16"), (std::vector<std::size_t>{0, 0, 0, 0}));

  // --ctx bounds the encoding context (a trace longer than it is an error); --device / -d choose the device.
  test::run_cases(
      {{"--ctx", "log add -s {dir}/ctx -m {model} -t {traces} --ctx 128 -d 0", kExitOk, {"added log 4"}},
       {"--ctx too small for the third",
        "log add -s {dir}/ctx64 -m {model} -t {traces} --ctx 64",
        kExitError,
        {"added log 2 (", "error: trace 'which country is port alden in' has ",
         " tokens but the context holds 64; load the model with a larger context"}},
       {"--ctx too small for any",
        "log add -s {dir}/ctx8 -m {model} -t {traces} --ctx 8",
        kExitError,
        {"error: trace 'who directed the glass harbor' has "}},
       {"--device",
        "log add -s {dir}/dev -m {model} -t {traces} --device 0 --json",
        kExitOk,
        {},
        {{"/added/3/id", JsonType::integer}}},
       {"missing device",
        "log add -s {dir}/x -m {model} -t {traces} --device 4000",
        kExitError,
        {"error: ", "device 4000 does not exist"}}},
      values_);
  EXPECT_EQ(ids(ls("{dir}/ctx64")), (std::vector<int>{1, 2})) << "the logs added before the error stay";
  EXPECT_FALSE(fs::exists(dir_ / "ctx8")) << "a store that got no log is not left behind";
}

TEST_F(CliLog, RmRemovesExactlyTheIdsGiven) {
  test::run_case({"add", "log add -s {dir}/rm -m {model} -t {traces}", kExitOk, {"added log 4"}}, values_);
  const auto before = ls("{dir}/rm");
  test::run_case({"rm two", "log rm --store {dir}/rm 2 4", kExitOk, {"removed log 2\n", "removed log 4\n"}},
                 values_);
  auto after = ls("{dir}/rm");
  EXPECT_EQ(ids(after), (std::vector<int>{1, 3}));
  // The others are untouched.
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[2]);
  // An id the store does not hold: the others are removed, the missing one reported, exit 1.
  const auto r = test::run_case({"rm with a missing id",
                                 "log rm -s {dir}/rm --json 1 9",
                                 kExitError,
                                 {},
                                 {{"/removed", JsonType::array}, {"/missing", JsonType::array}}},
                                values_)
                     .json;
  EXPECT_EQ(r["removed"], nlohmann::json::array({1}));
  EXPECT_EQ(r["missing"], nlohmann::json::array({9}));
  EXPECT_EQ(ids(ls("{dir}/rm")), (std::vector<int>{3}));
  test::run_cases(
      {{"rm text, missing", "log rm --store {dir}/rm 2", kExitError, {"no log 2"}},
       {"rm junk id: nothing removed",
        "log rm --store {dir}/rm 3 x",
        kExitError,
        {"error: ", "is not a log id"}},
       {"rm no id", "log rm --store {dir}/rm", kExitError, {"error: log rm: give at least one log id"}},
       {"verify after rm", "log verify --store {dir}/rm", kExitOk, {"ok: 1 logs"}}},
      values_);
  EXPECT_EQ(ids(ls("{dir}/rm")), (std::vector<int>{3}));
}

TEST_F(CliLog, ExportThenImportGivesTheSameLogs) {
  test::run_case({"add", "log add -s {dir}/src -m {model} -t {traces} --embed", kExitOk, {"added log 4"}},
                 values_);
  test::run_case({"rm", "log rm -s {dir}/src 2", kExitOk, {"removed log 2"}}, values_);
  test::run_case({"export",
                  "log export --store {dir}/src {dir}/logs.jsonl",
                  kExitOk,
                  {"exported 3 logs to " + dir_.string() + "/logs.jsonl"}},
                 values_);
  test::run_case({"import", "log import -s {dir}/dst {dir}/logs.jsonl", kExitOk, {"imported 3 logs into"}},
                 values_);
  // Imported logs get new ids (in order); everything else is the same.
  const auto without_id = [](nlohmann::json j) {
    j.erase("id");
    return j;
  };
  const auto src = ls("{dir}/src"), dst = ls("{dir}/dst");
  ASSERT_EQ(src.size(), 3u);
  ASSERT_EQ(dst.size(), 3u);
  EXPECT_EQ(ids(src), (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(ids(dst), (std::vector<int>{1, 2, 3}));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(without_id(dst[i]), without_id(src[i]))
        << "task, token count, selection, tags and time of log " << i;
    const auto show = [&](const nlohmann::json& row, const std::string& store) {
      return test::run_case({"show",
                             "log show --json --store " + store + " " + std::to_string(row["id"].get<int>()),
                             kExitOk,
                             {},
                             {{"/token_ids", JsonType::array}}},
                            values_)
          .json;
    };
    const auto a = without_id(show(src[i], "{dir}/src")), b = without_id(show(dst[i], "{dir}/dst"));
    EXPECT_TRUE(a == b) << "log " << src[i]["id"] << " shows the same as its import " << dst[i]["id"];
  }
  // The pages and embeddings came across too: the stores verify, hold the same bytes, and export the same
  // archive but for the ids.
  test::run_case({"verify", "log verify --store {dir}/dst", kExitOk, {"ok: 3 logs"}}, values_);
  const auto stats = [](const std::string& store) {
    auto j = test::run_case(
                 {"stats", "log stats --json -s " + store, kExitOk, {}, {{"/page_bytes", JsonType::integer}}},
                 values_)
                 .json;
    return std::make_pair(j["stored_tokens"], j["page_bytes"]);
  };
  EXPECT_EQ(stats("{dir}/dst"), stats("{dir}/src"));
  test::run_case({"export again", "log export -s {dir}/dst {dir}/again.jsonl", kExitOk, {"exported 3 logs"}},
                 values_);
  const auto lines = [](const fs::path& p) {
    std::ifstream in(p);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(without_id_line(nlohmann::json::parse(line)));
    return out;
  };
  const auto again = lines(dir_ / "again.jsonl"), first = lines(dir_ / "logs.jsonl");
  ASSERT_EQ(again.size(), 4u);
  EXPECT_TRUE(again == first) << "the archives differ beyond the ids";
  test::run_cases({{"export, no file",
                    "log export --store {dir}/src",
                    kExitError,
                    {"error: log export: give the output file"}},
                   {"import, no file",
                    "log import --store {dir}/x",
                    kExitError,
                    {"error: log import: give the export file"}},
                   {"import, missing file",
                    "log import --store {dir}/x {dir}/none.jsonl",
                    kExitError,
                    {"error: ", "none.jsonl"}}},
                  values_);
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

}  // namespace
}  // namespace lagvk
