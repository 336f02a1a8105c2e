// Hostile and careless command-line input, end to end through the built lagvk binary: every numeric flag
// of every command is range-checked (no 32-bit wrap, no nan), log ids are parsed strictly, streamed text
// equals the --json text byte for byte, and stored text is escaped in human output.
#include <gtest/gtest.h>

#include "tests/support/cli.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <thread>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tools/lagvk/human_text.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::run_lagvk;

class CliInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_.emplace("cli_input");
    dir_ = scratch_->path();
    model_ = (dir_ / "m.gguf").string();
    const auto r = run_lagvk(
        "make-model --layers 2 --dim 64 --heads 4 --kv-heads 2 --ff 128 --vocab 400 "
        "--ctx 256 --seed 5 -o " +
        model_);
    ASSERT_EQ(r.status, 0) << r.out;
    traces_ = (dir_ / "traces.jsonl").string();
    std::ofstream(traces_) << R"({"task": "the first task", "messages": [{"role": "user", "content": "a"}, )"
                              R"({"role": "assistant", "content": "b"}]})"
                           << "\n";
  }
  static void TearDownTestSuite() { scratch_.reset(); }

  // A fresh store holding `count` logs (ids 1..count).
  static std::string store_with_logs(const std::string& name, int count) {
    const std::string store = (dir_ / name).string();
    for (int i = 0; i < count; ++i) {
      const auto r = run_lagvk("log add --store " + store + " -m " + model_ + " --trace " + traces_);
      EXPECT_EQ(r.status, 0) << r.out;
    }
    return store;
  }

  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline std::string model_, traces_;
};

struct NumericFlag {
  std::string command;  ///< everything before the flag, with %M for the model and %T for the trace file
  std::string flag;
  bool real;  ///< a floating-point flag (nan and inf are its special cases)
};

std::string expand(std::string s, const std::string& model, const std::string& traces,
                   const std::string& dir) {
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"%M", model}, {"%T", traces}, {"%D", dir}})
    for (std::size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

// Every numeric flag of every command.
const std::vector<NumericFlag> kNumericFlags = {
    {"run -m %M -p hi", "--n-predict", false},
    {"run -m %M -p hi", "-n", false},
    {"run -m %M -p hi", "--temp", true},
    {"run -m %M -p hi", "--top-k", false},
    {"run -m %M -p hi", "--top-p", true},
    {"run -m %M -p hi", "--min-p", true},
    {"run -m %M -p hi", "--repeat-penalty", true},
    {"run -m %M -p hi", "--seed", false},
    {"run -m %M -p hi", "--ctx", false},
    {"run -m %M -p hi", "--device", false},
    {"ask -m %M --store %D/ask_store q", "-n", false},
    {"ask -m %M --store %D/ask_store q", "--temp", true},
    {"ask -m %M --store %D/ask_store q", "--top-k", false},
    {"ask -m %M --store %D/ask_store q", "--top-p", true},
    {"ask -m %M --store %D/ask_store q", "--min-p", true},
    {"ask -m %M --store %D/ask_store q", "--repeat-penalty", true},
    {"ask -m %M --store %D/ask_store q", "--seed", false},
    {"ask -m %M --store %D/ask_store q", "--ctx", false},
    {"ask -m %M --store %D/ask_store q", "--device", false},
    {"ask -m %M --store %D/ask_store q", "-k", false},
    {"ask -m %M --store %D/ask_store --agent q", "--max-steps", false},
    {"ask -m %M --store %D/ask_store --agent q", "--max-logs", false},
    {"eval -m %M", "--limit", false},
    {"eval -m %M", "--max-steps", false},
    {"eval -m %M", "--store-limit", false},
    {"eval -m %M", "--store-max-steps", false},
    {"eval -m %M", "-k", false},
    {"eval -m %M", "--max-logs", false},
    {"eval -m %M", "--ctx", false},
    {"eval -m %M", "--device", false},
    {"log add --store %D/add_store -m %M --trace %T", "--ctx", false},
    {"log add --store %D/add_store -m %M --trace %T", "--device", false},
    {"make-model -o %D/never.gguf", "--layers", false},
    {"make-model -o %D/never.gguf", "--dim", false},
    {"make-model -o %D/never.gguf", "--heads", false},
    {"make-model -o %D/never.gguf", "--kv-heads", false},
    {"make-model -o %D/never.gguf", "--ff", false},
    {"make-model -o %D/never.gguf", "--vocab", false},
    {"make-model -o %D/never.gguf", "--ctx", false},
    {"make-model -o %D/never.gguf", "--seed", false},
    {"make-model -o %D/never.gguf", "--rope-base", true},
    {"make-model -o %D/never.gguf", "--logit-std", true},
    {"devices", "--device", false},
};

// Values no numeric flag may accept: out of every range, 2^32 and 2^64 (wrapped to 0 by a cast), junk
// after the digits, nan and inf.
const std::vector<std::string> kBadValues = {"4294967296",   "4294967301", "18446744073709551616",
                                             "-99999999999", "12abc",      "1,2",
                                             "nan",          "inf",        "-inf",
                                             "1e999",        "' 5'",       "''"};

TEST_F(CliInput, EveryNumericFlagRejectsOutOfRangeNanAndJunk) {
  for (const auto& f : kNumericFlags) {
    const std::string base = expand(f.command, model_, traces_, dir_.string());
    for (const auto& value : kBadValues) {
      // --seed takes the whole unsigned 64-bit range; only values beyond it are out of range.
      if (f.flag == "--seed" && value == "4294967296") continue;
      if (f.flag == "--seed" && value == "4294967301") continue;
      const auto r = run_lagvk(base + " " + f.flag + " " + value);
      EXPECT_EQ(r.status, 1) << base << " " << f.flag << " " << value << "\n" << r.out;
      EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(f.flag), std::string::npos) << base << " " << f.flag << " " << value << "\n"
                                                       << r.out;
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "never.gguf"));
  EXPECT_FALSE(fs::exists(dir_ / "add_store"));
}

TEST_F(CliInput, NegativeCountsAndUnitRangesAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ask -m %M --store %D/ask_store --agent --max-steps -1 q", "--max-steps"},
      {"ask -m %M --store %D/ask_store --agent --max-steps 0 q", "--max-steps"},
      {"run -m %M -p hi --top-p 1.5", "--top-p"},
      {"run -m %M -p hi --top-p 0", "--top-p"},
      {"run -m %M -p hi --min-p -0.1", "--min-p"},
      {"run -m %M -p hi --temp -1", "--temp"},
      {"run -m %M -p hi --repeat-penalty 0", "--repeat-penalty"},
      {"run -m %M -p hi --seed -1", "--seed"},
      {"run -m %M -p hi -n -1", "-n"},
      {"run -m %M -p hi --ctx -5", "--ctx"},
      {"make-model -o %D/never.gguf --layers 0", "--layers"},
      {"run -m %M --tokens 4294967297", "--tokens"},
      {"run -m %M --tokens 1,-2", "--tokens"},
      {"run -m %M --tokens 1,2x", "--tokens"},
  };
  for (const auto& [command, fragment] : cases) {
    const auto r = run_lagvk(expand(command, model_, traces_, dir_.string()));
    EXPECT_EQ(r.status, 1) << command << "\n" << r.out;
    EXPECT_NE(r.out.find(fragment), std::string::npos) << command << "\n" << r.out;
  }
}

TEST_F(CliInput, InRangeValuesAreAccepted) {
  const auto r = run_lagvk("run -m " + model_ +
                           " -p hi -n 2 --temp 0.5 --top-k 0 --top-p 1 --min-p 0 --repeat-penalty 1.1 "
                           "--seed 18446744073709551615 --ctx 64 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out.substr(r.out.find('{')))["seed"].get<std::uint64_t>(),
            18446744073709551615ull);
}

TEST_F(CliInput, LogIdsAreParsedStrictly) {
  const std::string store = store_with_logs("ids_store", 3);
  for (const std::string junk :
       {"1,2", "1abc", "2.9", "2e0", "0", "-1", "+1", "' 1'", "''", "0x1", "18446744073709551616"}) {
    auto r = run_lagvk("log rm --store " + store + " " + junk);
    EXPECT_EQ(r.status, 1) << junk << "\n" << r.out;
    EXPECT_NE(r.out.find("is not a log id"), std::string::npos) << junk << "\n" << r.out;
    r = run_lagvk("log show --store " + store + " " + junk);
    EXPECT_EQ(r.status, 1) << junk << "\n" << r.out;
    EXPECT_NE(r.out.find("is not a log id"), std::string::npos) << junk << "\n" << r.out;
  }
  // A bad id among good ones removes nothing: every id is checked first.
  auto r = run_lagvk("log rm --store " + store + " 1 2x");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("is not a log id"), std::string::npos) << r.out;
  r = run_lagvk("log ls --json --store " + store);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 3u) << r.out;
  // Several ids as separate arguments.
  r = run_lagvk("log rm --json --store " + store + " 1 3");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["removed"], nlohmann::json({1, 3}));
  r = run_lagvk("log show --json --store " + store + " 2");
  EXPECT_EQ(r.status, 0) << r.out;
}

// The text `run` streams is the text of the generated tokens, byte for byte (multi-byte characters
// split over tokens included): the first bytes used to be a NUL from a view into a moved-from string.
TEST_F(CliInput, StreamedTextEqualsTheGeneratedTokensText) {
  const auto file = GgufFile::open(model_);
  const auto tok = make_tokenizer(file);
  int multibyte = 0;
  for (const std::string prompt : {"hello there", "the cat", "a", "zebra crossing at dawn"}) {
    for (int seed : {1, 2, 3}) {
      const std::string common = "run -m " + model_ + " -p '" + prompt +
                                 "' -n 12 --temp 1.5 --ignore-eos --seed " + std::to_string(seed);
      const auto streamed = run_lagvk(common, false);
      ASSERT_EQ(streamed.status, 0) << streamed.out;
      const auto json = run_lagvk(common + " --json", false);
      ASSERT_EQ(json.status, 0) << json.out;
      const auto j = nlohmann::json::parse(json.out);
      const std::string expected = tok->decode(j["tokens"].get<std::vector<std::int32_t>>());
      EXPECT_EQ(streamed.out, expected + "\n") << prompt << " seed " << seed;
      // Where the text is valid UTF-8 (dump throws otherwise), --json carries it unchanged too.
      bool valid_utf8 = true;
      try {
        (void)nlohmann::json(expected).dump();
      } catch (const nlohmann::json::exception&) {
        valid_utf8 = false;
      }
      if (valid_utf8) {
        EXPECT_EQ(streamed.out, j["text"].get<std::string>() + "\n");
      }
      for (unsigned char c : expected) multibyte += c >= 0x80;
    }
  }
  EXPECT_GT(multibyte, 0) << "no multi-byte characters were generated; the test lost its edge";
}

TEST_F(CliInput, AskStreamsTheSameTextAsJson) {
  const std::string store = store_with_logs("ask_stream_store", 1);
  const auto file = GgufFile::open(model_);
  const auto tok = make_tokenizer(file);
  for (int seed : {1, 2}) {
    const std::string common = "ask -m " + model_ + " --store " + store +
                               " -n 10 --temp 1.5 --ignore-eos --seed " + std::to_string(seed) +
                               " 'the first task'";
    const auto streamed = run_lagvk(common, false);
    ASSERT_EQ(streamed.status, 0) << streamed.out;
    const auto json = run_lagvk(common + " --json", false);
    ASSERT_EQ(json.status, 0) << json.out;
    const auto j = nlohmann::json::parse(json.out);
    EXPECT_EQ(streamed.out, tok->decode(j["tokens"].get<std::vector<std::int32_t>>()) + "\n");
  }
}

// Stored text reaches a terminal escaped: an ESC sequence, a C1 CSI, a BEL or a carriage return in a
// task cannot recolour, retitle or overwrite the listing; newlines in one-line listings show as "\n".
// JSON output keeps the text exactly.
TEST_F(CliInput, ControlCharactersInStoredTextAreEscapedInHumanOutput) {
  const std::string task =
      "red \x1b[31mtask\x1b]0;title\x07 \xc2\x9b"
      "2J back\rline\nnext";
  const auto traces = (dir_ / "escapes.jsonl").string();
  std::ofstream(traces) << nlohmann::json{{"task", task},
                                          {"messages",
                                           {{{"role", "user"}, {"content", task}},
                                            {{"role", "assistant"}, {"content", "Answer: \x1b[2J"}}}}}
                               .dump()
                        << "\n";
  const std::string store = (dir_ / "escape_store").string();
  auto r = run_lagvk("log add --store " + store + " -m " + model_ + " --trace " + traces);
  ASSERT_EQ(r.status, 0) << r.out;
  auto expect_escaped = [](const std::string& out, const std::string& what) {
    for (const char raw : {'\x1b', '\x07', '\r'})
      EXPECT_EQ(out.find(raw), std::string::npos) << what << ": raw control character " << int(raw) << "\n"
                                                  << out;
    EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << what << ": raw C1 CSI";
    EXPECT_NE(out.find("red \\x1b[31mtask"), std::string::npos) << what << "\n" << out;
    EXPECT_NE(out.find("\\u009b"
                       "2J"),
              std::string::npos)
        << what << "\n"
        << out;
  };
  r = run_lagvk("log ls --store " + store);
  ASSERT_EQ(r.status, 0) << r.out;
  expect_escaped(r.out, "log ls");
  EXPECT_NE(r.out.find("line\\nnext"), std::string::npos) << "one line per log\n" << r.out;
  r = run_lagvk("log show --store " + store + " 1");
  ASSERT_EQ(r.status, 0) << r.out;
  expect_escaped(r.out, "log show");
  r = run_lagvk("ask -m " + model_ + " --store " + store + " -n 2 'red task back line next'");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string log_line = r.out.substr(r.out.find("[log 1"));
  expect_escaped(log_line.substr(0, log_line.find('\n')), "ask");
  // JSON keeps the text exactly.
  r = run_lagvk("log show --json --store " + store + " 1", false);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["task"], task);
}

// Whether some file below dir is named name.
bool holds_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename() == name) return true;
  return false;
}

// An evaluation stopped by SIGINT, SIGTERM, SIGHUP or SIGQUIT removes its scratch stores (it used to leave
// them in the work directory) and still ends as killed by that signal, promptly.
TEST_F(CliInput, InterruptedEvalRemovesItsScratchStores) {
  for (const int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) {
    const fs::path work = dir_ / ("work_" + std::to_string(signal));
    fs::create_directories(work);
    const std::string binary = test::lagvk_binary(), work_dir = work.string();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      const struct rlimit no_core {};  // SIGQUIT's default action would dump core
      ::setrlimit(RLIMIT_CORE, &no_core);
      ::execl(binary.c_str(), binary.c_str(), "eval", "-m", model_.c_str(), "--work-dir", work_dir.c_str(),
              "--store-limit", "2", "--store-max-steps", "1", "--limit", "0", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until the stores exist and questions are being answered.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!holds_file(work, "data.mdb") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(holds_file(work, "data.mdb")) << "the evaluation made no store";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(::kill(pid, signal), 0);
    int status = 0;
    const auto stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > stop_deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL() << "the evaluation did not stop within 10 s of signal " << signal;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signal) << "status " << status;
    EXPECT_TRUE(fs::is_empty(work)) << "scratch left in " << work;
  }
}

// Output that cannot be written is a failure (it used to exit 0 with the output lost), and a file-size
// limit ends make-model with a message and no half-written file, not SIGXFSZ.
TEST(CliOutput, UnwritableOutputFailsAndAFileSizeLimitIsAnError) {
  auto r = test::run_shell(test::lagvk_binary() + " make-model --help 2>&1 > /dev/full");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: writing the output failed"), std::string::npos) << r.out;
  const test::ScratchDir scratch("cli_output");
  const fs::path& dir = scratch.path();
  r = test::run_shell("ulimit -f 100; " + test::lagvk_binary() +
                      " make-model --type q8_0 --layers 2 --dim 256 -o " + (dir / "m.gguf").string() +
                      " 2>&1");
  EXPECT_EQ(r.status, 1) << "153 is SIGXFSZ: " << r.out;
  EXPECT_NE(r.out.find("error: cannot write"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_empty(dir)) << "a half-written model was left";
}

TEST(HumanText, PrintableEscapesControlsAndInvalidUtf8Only) {
  EXPECT_EQ(cli::printable("plain ünïcödé 日本 \\ text"), "plain ünïcödé 日本 \\ text");
  EXPECT_EQ(cli::printable("a\tb\nc"), "a\tb\nc");
  EXPECT_EQ(cli::printable("a\tb\nc", true), "a\\tb\\nc");
  EXPECT_EQ(cli::printable("\x1b[0m\x7f\x01"), "\\x1b[0m\\x7f\\x01");
  EXPECT_EQ(cli::printable("\xc2\x85\xc2\xa0"), "\\u0085\xc2\xa0");  // NEL is C1, NBSP is text
  EXPECT_EQ(cli::printable("\xff\xe2\x82"), "\\xff\\xe2\\x82");      // not UTF-8
  // Bidirectional overrides and isolates reorder the rest of a line; other format characters stay.
  EXPECT_EQ(cli::printable("a\xe2\x80\xae"
                           "b\xe2\x81\xa6"
                           "c\xe2\x80\x8b"
                           "d"),
            "a\\u202e"
            "b\\u2066"
            "c\xe2\x80\x8b"
            "d");
}

}  // namespace
}  // namespace lagvk
