// The general ReAct agent (engine/lag/react_agent.hpp) and what it stands on: the external-tool protocol
// (a tool that fails, hangs, prints junk or too much gives an error observation; no child is left behind),
// the search tool's BM25 ranking over tests/qa_fixture, the step grammar, the QA metrics against
// hand-computed cases, and the evaluation runner (seen tasks become logs; the semantic-cache baseline
// answers with the most similar seen task's answer) with a scripted agent on a small random model.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/react_agent.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tools/eval/eval_runner.hpp"
#include "tools/eval/qa_metrics.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kFixture = LAGVK_SOURCE_DIR "/tests/qa_fixture";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// No child of this process is left, running or a zombie.
void expect_no_children() {
  int status = 0;
  errno = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

lag::ToolRun run_tool(const std::string& command, const std::string& input = "q",
                      lag::ExternalToolLimits limits = {}) {
  return lag::run_external_tool("t", command, input, limits);
}

TEST(ExternalTool, PassesTheRequestAndReadsTheOutput) {
  const auto r = run_tool(
      "python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({\"output\": "
      "r[\"tool\"]+\"|\"+r[\"input\"]}))'",
      "capital of \"Ostrand\"\n2nd line");
  EXPECT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "t|capital of \"Ostrand\"\n2nd line");
  const auto structured = run_tool("cat >/dev/null; echo '{\"output\": {\"n\": 3}}'");
  EXPECT_TRUE(structured.ok);
  EXPECT_EQ(structured.text, "{\"n\":3}");
  expect_no_children();
}

TEST(ExternalTool, FailuresAreErrorObservations) {
  struct Case {
    std::string command, fragment;
  };
  const std::vector<Case> cases = {
      {"echo oops >&2; exit 3", "tool t exited with status 3: oops"},
      {"echo not json", "tool t printed something that is not a JSON object: \"not json"},
      {"echo '[1, 2]'", "not a JSON object"},
      {"echo '{\"result\": 1}'", "without \"output\""},
      {"echo '{\"error\": \"no such city\"}'", "tool t failed: no such city"},
      {"kill -9 $$", "tool t was killed by signal 9"},
      {"/nonexistent/tool", "exited with status 127"},
  };
  for (const auto& c : cases) {
    const auto r = run_tool(c.command);
    EXPECT_FALSE(r.ok) << c.command;
    EXPECT_TRUE(contains(r.text, c.fragment)) << c.command << " -> " << r.text;
  }
  expect_no_children();
}

TEST(ExternalTool, HugeOutputIsCutAndTheToolKilled) {
  lag::ExternalToolLimits limits;
  limits.max_output_bytes = 4096;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_tool("yes '{\"output\": 1}'", "q", limits);  // never ends by itself
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "printed more than 4096 bytes")) << r.text;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  expect_no_children();
}

TEST(ExternalTool, AHangingToolIsKilledAtTheTimeoutWithItsChildren) {
  const fs::path pid_file = ::testing::TempDir() + "/hang_" + std::to_string(::getpid());
  lag::ExternalToolLimits limits;
  limits.timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_tool("sleep 30 & echo $! > " + pid_file.string() + "; wait", "q", limits);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.text, "did not finish within 300 ms (killed)")) << r.text;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  expect_no_children();
  // The shell's own child (sleep) went with it: the process group was killed.
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  const fs::path stat = "/proc/" + std::to_string(grandchild) + "/stat";
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::string line;
    std::getline(std::ifstream(stat), line);
    const auto close = line.rfind(')');
    gone = line.empty() || (close != std::string::npos && line.substr(close + 2, 1) == "Z");
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "sleep " << grandchild << " still runs";
  fs::remove(pid_file);
}

TEST(ExternalTool, AToolThatNeverReadsItsInputDoesNotHurtTheHost) {
  // A megabyte of input to a tool that exits at once: writing to it fails quietly (no SIGPIPE).
  const auto r = run_tool("echo '{\"output\": \"done\"}'", std::string(1 << 20, 'x'));
  EXPECT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "done");
  expect_no_children();
}

TEST(ExternalTool, SpecsAreNameEqualsCommand) {
  const auto s = lag::parse_external_tool_spec("wiki=python3 wiki.py --x=1");
  EXPECT_EQ(s.name, "wiki");
  EXPECT_EQ(s.command, "python3 wiki.py --x=1");
  for (const std::string bad : {"wiki", "=cmd", "wi ki=cmd", "wiki="}) {
    try {
      (void)lag::parse_external_tool_spec(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument);
      EXPECT_TRUE(contains(e.what(), "give NAME=COMMAND")) << e.what();
    }
  }
}

TEST(DocSearch, RanksThePassageWithTheQueryTermsFirst) {
  const auto docs = lag::DocCollection::load(kFixture + "/passages.jsonl");
  ASSERT_EQ(docs.passages().size(), 8u);
  auto best = [&](const std::string& q) { return docs.passages().at(docs.search(q, 3).at(0).index).id; };
  EXPECT_EQ(best("governor of Ostrand"), "p2");
  EXPECT_EQ(best("who designed the Brannock Bridge"), "p5");
  EXPECT_EQ(best("Oren Vasht born"), "p6");  // the title counts as much as the text
  EXPECT_EQ(best("Kessing lighthouse"), "p4");
  const auto hits = docs.search("Ostrand", 10);
  ASSERT_EQ(hits.size(), 3u);  // p1, p2 and p7 hold the word; no passage without it is listed
  EXPECT_EQ(docs.passages().at(hits[0].index).id, "p2");  // in its title and text twice
  for (std::size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  EXPECT_TRUE(docs.search("zebra quantum", 3).empty());
  EXPECT_TRUE(contains(docs.search_text("zebra", 3), "no passage matches"));
  EXPECT_EQ(docs.search_text("Kessing lighthouse", 1),
            "[Kessing] Kessing is a fishing village on the Grey Coast. Its lighthouse was built in 1874.");
}

TEST(DocSearch, BadFilesNameTheLine) {
  const fs::path path = ::testing::TempDir() + "/docs_" + std::to_string(::getpid()) + ".jsonl";
  std::ofstream(path) << "{\"id\": 1, \"text\": \"fine\"}\n{\"id\": 2, \"title\": \"no text\"}\n";
  try {
    (void)lag::DocCollection::load(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::bad_input);
    EXPECT_TRUE(contains(e.what(), "line 2: needs a string field 'text'")) << e.what();
  }
  fs::remove(path);
  EXPECT_THROW((void)lag::DocCollection::load(path), Error);
}

TEST(ReactSteps, ActionsAnswersAndCuts) {
  auto action = lag::parse_react_action("Thought: find the town.\nAction: search[Oren Vasht birthplace]");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->name, "search");
  EXPECT_EQ(action->input, "Oren Vasht birthplace");
  action = lag::parse_react_action("Action: lookup(born_in, \"Ilse Tarrow\")");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->input, "born_in, \"Ilse Tarrow");  // quotes trimmed at the ends only
  action = lag::parse_react_action("Action: search\nAction Input: \"Dallow\"");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->name, "search");
  EXPECT_EQ(action->input, "Dallow");
  EXPECT_FALSE(lag::parse_react_action("Thought: nothing to do"));
  EXPECT_FALSE(lag::parse_react_action("Action: [x]"));

  EXPECT_EQ(lag::parse_react_answer("Thought: known.\nFinal Answer: the Sule\nmore").value(), "the Sule");
  EXPECT_FALSE(lag::parse_react_answer("Action: search[x] Answer: y"));  // an action first: not an answer

  EXPECT_EQ(lag::cut_react_step("Thought: a\nAction: search[x]\nObservation: made up\nAction: search[y]"),
            "Thought: a\nAction: search[x]");
  EXPECT_EQ(lag::cut_react_step("Thought: a\nAction: search\nAction Input: x\nThought: more"),
            "Thought: a\nAction: search\nAction Input: x");
  EXPECT_EQ(lag::cut_react_step(" Thought: b\nFinal Answer: Dallow\nThought: again\n"),
            "Thought: b\nFinal Answer: Dallow");
  EXPECT_EQ(lag::cut_react_step("just text\n"), "just text");
}

TEST(ReactSteps, ObservationsForEveryKindOfAction) {
  const auto docs = lag::DocCollection::load(kFixture + "/passages.jsonl");
  const std::vector<lag::AgentTool> tools = {lag::search_tool(docs, 1),
                                             lag::external_tool({"broken", "exit 2"}, {})};
  EXPECT_TRUE(contains(lag::react_observation(tools, lag::ReactAction{"search", "Dallow wool fair"}),
                       "[Dallow] Dallow is a market town"));
  EXPECT_EQ(lag::react_observation(tools, lag::ReactAction{"search", " "}),
            "error: search needs a query: search[WORDS]");
  EXPECT_EQ(lag::react_observation(tools, lag::ReactAction{"broken", "x"}),
            "error: tool broken exited with status 2");
  EXPECT_EQ(lag::react_observation(tools, lag::ReactAction{"calc", "1+1"}),
            "error: unknown tool 'calc' (the tools: search, broken)");
  EXPECT_TRUE(contains(lag::react_observation(tools, std::nullopt), "no action"));
  const auto prompt = lag::react_system_prompt(tools);
  EXPECT_TRUE(contains(prompt, "- search[QUERY] finds the passages")) << prompt;
  EXPECT_TRUE(contains(prompt, "Final Answer:"));
  expect_no_children();
}

TEST(QaMetrics, SquadNormalisationExactMatchAndF1) {
  EXPECT_EQ(lag::normalise_answer("  The Sule-River!  "), "suleriver");
  EXPECT_EQ(lag::normalise_answer("An apple, a pear and THE plum."), "apple pear and plum");
  EXPECT_EQ(lag::normalise_answer("Theodore's theatre"), "theodores theatre");  // "the" only as a word
  EXPECT_TRUE(lag::qa_exact_match("the Sule", {"Sule"}));
  EXPECT_TRUE(lag::qa_exact_match("Kessing.", {"Dallow", "kessing"}));
  EXPECT_FALSE(lag::qa_exact_match("Sule River", {"Sule"}));
  EXPECT_FALSE(lag::qa_exact_match("", {"Sule"}));
  // F1 over words: "sule river" against "sule": precision 1/2, recall 1 -> 2/3.
  EXPECT_NEAR(lag::qa_f1("Sule River", {"Sule"}), 2.0 / 3.0, 1e-12);
  // "ilse tarrow born" against "tarrow ilse": 2 common, p 2/3, r 1 -> 0.8.
  EXPECT_NEAR(lag::qa_f1("Ilse Tarrow, born", {"Tarrow Ilse"}), 0.8, 1e-12);
  // A repeated word counts once per occurrence in the gold: "sule sule" vs "sule": p 1/2, r 1.
  EXPECT_NEAR(lag::qa_f1("the sule sule", {"Sule"}), 2.0 / 3.0, 1e-12);
  // The best gold answer counts: "town of dallow" against "dallow": p 1/3, r 1 -> 1/2.
  EXPECT_NEAR(lag::qa_f1("the town of Dallow", {"Velmora", "Dallow"}), 0.5, 1e-12);
  EXPECT_EQ(lag::qa_f1("Velmora", {"Dallow"}), 0.0);
  EXPECT_EQ(lag::qa_f1("", {"Dallow"}), 0.0);
}

class EvalRunner : public GpuTest {
 protected:
  static void SetUpTestSuite() {
    path_ = ::testing::TempDir() + "/react_runner_" + std::to_string(::getpid()) + ".gguf";
    auto spec = small_model_spec(GgmlType::f16, 23);
    spec.n_ctx = 2048;
    make_random_model(spec).write(path_);
    LoadOptions o;
    o.context = 2048;
    engine_ = load_engine(path_, o);
  }
  static void TearDownTestSuite() {
    engine_.reset();
    fs::remove(path_);
  }
  static inline std::string path_;
  static inline std::unique_ptr<Engine> engine_;
};

lag::AgentResult scripted(const std::string& question, std::optional<std::string> answer,
                          std::uint32_t steps) {
  lag::AgentResult r;
  r.trace.task = question;
  r.trace.messages = {{"user", question},
                      {"assistant", answer ? "Final Answer: " + *answer : "Thought: no idea"}};
  r.answer = std::move(answer);
  r.steps.resize(steps);
  return r;
}

TEST_F(EvalRunner, SeenTasksBecomeLogsAndTheSemanticCacheAnswersWithTheirAnswers) {
  const std::vector<lag::EvalQuestion> seen = {{"s1", "Who is the governor of Ostrand?", {"Ilse Tarrow"}},
                                               {"s2", "Who designed the Brannock Bridge?", {"Oren Vasht"}},
                                               {"s3", "Which lighthouse is oldest?", {"Kessing"}}};
  // The scripted agent answers the first two seen tasks (the second wrongly) and gives up on the third.
  const std::map<std::string, std::optional<std::string>> seen_answers = {
      {seen[0].question, "Ilse Tarrow"}, {seen[1].question, "Oren Vasht"}, {seen[2].question, std::nullopt}};
  const lag::EvalScorer score = [](const std::string& a, const std::vector<std::string>& g) {
    return std::pair<bool, double>(lag::qa_exact_match(a, g), lag::qa_f1(a, g));
  };
  const auto modes = lag::parse_eval_modes("none,kv-last,cache");
  lag::EvalStores stores(*engine_, seen,
                         [&](const std::string& q, lag::LogLibrary* library) {
                           EXPECT_EQ(library, nullptr) << "seen tasks run without logs";
                           return scripted(q, seen_answers.at(q), 2);
                         },
                         score, modes, ::testing::TempDir(), std::nullopt, logstore::IndexText::task, {});
  EXPECT_EQ(stores.tasks, 3u);
  EXPECT_EQ(stores.answered, 2u);
  EXPECT_EQ(stores.correct, 2u);

  const std::vector<lag::EvalQuestion> unseen = {
      {"u1", "Who is the governor of Ostrand now?", {"Ilse Tarrow"}},             // cache: exact
      {"u2", "Who designed the bridge called Brannock?", {"Oren Vasht Senior"}},  // cache: F1 0.8
      {"u3", "xyzzy plugh", {"Dallow"}}};                                         // nothing retrieved
  const auto cache = lag::run_eval_mode("unseen", modes[2], unseen, &stores, {}, score, {});
  ASSERT_EQ(cache.details.size(), 3u);
  EXPECT_EQ(cache.details[0].answer, "Ilse Tarrow");
  EXPECT_EQ(cache.details[1].answer, "Oren Vasht");
  EXPECT_EQ(cache.details[2].answer, "");
  EXPECT_EQ(cache.answered, 2u);
  EXPECT_NEAR(cache.exact_match, 100.0 / 3.0, 1e-9);
  EXPECT_NEAR(cache.f1, 100.0 * (1.0 + 0.8 + 0.0) / 3.0, 1e-9);
  EXPECT_EQ(cache.mean_steps, 0.0) << "the cache runs no agent";

  // kv-last: the agent gets the store of the answered seen tasks; none: no library at all.
  std::vector<std::string> retrieved;
  const auto kv = lag::run_eval_mode(
      "unseen", modes[1], unseen, &stores,
      [&](const std::string& q, lag::LogLibrary* library) {
        EXPECT_NE(library, nullptr);
        for (const auto& l : library->retrieve(q, 5, {})) retrieved.push_back(l.task);
        return scripted(
            q, q == unseen[0].question ? std::optional<std::string>("ilse tarrow.") : std::nullopt, 3);
      },
      score, {});
  // u1 finds its seen task first; the unanswered seen task left no log; u3 shares no word with any.
  EXPECT_EQ(retrieved, (std::vector<std::string>{seen[0].question, seen[1].question, seen[1].question,
                                                 seen[0].question}));
  EXPECT_NEAR(kv.exact_match, 100.0 / 3.0, 1e-9);
  EXPECT_EQ(kv.mean_steps, 3.0);
  const auto none = lag::run_eval_mode("unseen", modes[0], unseen, &stores,
                                       [&](const std::string& q, lag::LogLibrary* library) {
                                         EXPECT_EQ(library, nullptr);
                                         return scripted(q, std::nullopt, 1);
                                       },
                                       score, {});
  EXPECT_EQ(none.exact_match, 0.0);
  EXPECT_EQ(none.answered, 0u);
}

TEST_F(EvalRunner, TheAgentLoopKeepsItsLimitsWhateverTheModelWrites) {
  const auto docs = lag::DocCollection::load(kFixture + "/passages.jsonl");
  lag::ReactOptions o;
  o.max_steps = 2;
  o.max_step_tokens = 6;
  o.mode = lag::LogMode::none;
  o.system_prompt = "Use search.";
  const auto r = lag::run_react_agent(*engine_, nullptr, "Who designed the Brannock Bridge?",
                                      {lag::search_tool(docs)}, o);
  ASSERT_FALSE(r.steps.empty());
  EXPECT_LE(r.steps.size(), 2u);
  EXPECT_EQ(r.trace.messages.at(0).role, "system");
  EXPECT_EQ(r.trace.messages.at(0).content, "Use search.");
  EXPECT_EQ(r.trace.messages.at(1).content, "Who designed the Brannock Bridge?");
  for (const auto& s : r.steps) {
    if (r.answer && &s == &r.steps.back()) continue;
    EXPECT_FALSE(s.observation.empty());  // a random model's text gets the format reminder or a tool reply
  }
}

}  // namespace
}  // namespace lagvk::test
