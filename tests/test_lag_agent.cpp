// LAG host side without the store: traces (parsing, rendering, selections), tool-call parsing and the
// knowledge-base tool, and the kv/text/none context modes through an in-memory log library, including
// the equivalence of kv and text logs for full-trace logs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/agent.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tools/eval/knowledge_base.hpp"

namespace lagvk::test {
namespace {

using lag::LogId;

TEST(LagTrace, ParsesObjectArrayAndJsonLines) {
  const std::string one = R"({"task": "q1", "messages": [{"role": "user", "content": "hi"}], "tags": ["a"]})";
  EXPECT_EQ(lag::parse_traces(one, "t").size(), 1u);
  EXPECT_EQ(lag::parse_traces("[" + one + "," + one + "]", "t").size(), 2u);
  const auto lines = lag::parse_traces(one + "\n\n" + one + "\n" + one + "\n", "t");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].tags, std::vector<std::string>{"a"});
  EXPECT_THROW((void)lag::parse_traces(R"({"task": "q", "messages": []})", "t"), Error);
  EXPECT_THROW(
      (void)lag::parse_traces(R"({"task": "q", "messages": [{"role": "bot", "content": "x"}]})", "t"), Error);
  try {
    (void)lag::parse_traces(one + "\nnot json\n", "file.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(LagTools, ParsesActionsAndAnswers) {
  const auto call = lag::parse_tool_call("Thought: need the city. Action: lookup(born_in, Mara Ellison)");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->name, "lookup");
  EXPECT_EQ(call->args, (std::vector<std::string>{"born_in", "Mara Ellison"}));
  EXPECT_FALSE(lag::parse_tool_call("no action here"));
  EXPECT_EQ(lag::parse_answer("Thought: done. Answer: Port Alden\nmore").value(), "Port Alden");
  EXPECT_FALSE(lag::parse_answer("Action: lookup(a, b)"));
}

TEST(LagTools, KnowledgeBaseLookup) {
  const auto kb = lag::KnowledgeBaseLookup::load(std::string(LAGVK_SOURCE_DIR) + "/assets/kb/demo.json");
  EXPECT_EQ(kb->call({"born_in", "mara ellison"}), "mara ellison born_in Port Alden");
  EXPECT_NE(kb->call({"born_in", "Nobody"}).find("no fact"), std::string::npos);
  EXPECT_NE(kb->call({"born_in"}).find("two arguments"), std::string::npos);
  EXPECT_THROW((void)lag::KnowledgeBaseLookup::load("/nonexistent.json"), Error);
}

// The model learnt the tool's answers from Python's traces (tools/train/world.py); the agent gets them
// from this C++ tool. Every call of the seen split's gold traces must get the answer those traces hold.
TEST(LagTools, LookupAnswersAsTheTrainingTracesSpellThem) {
  const std::string dir = std::string(LAGVK_SOURCE_DIR) + "/assets/multihop/";
  const auto kb = lag::KnowledgeBaseLookup::load(dir + "world.json");
  std::ifstream in(dir + "seen-gold-traces.jsonl");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t calls = 0;
  for (const auto& trace : lag::parse_traces(text, "seen-gold-traces.jsonl")) {
    for (size_t i = 0; i + 1 < trace.messages.size(); ++i) {
      const auto call = lag::parse_tool_call(trace.messages[i].content);
      if (trace.messages[i].role != "assistant" || !call) continue;
      ASSERT_EQ(trace.messages[i + 1].role, "tool") << trace.task;
      EXPECT_EQ(kb->call(call->args), trace.messages[i + 1].content) << trace.task;
      ++calls;
    }
  }
  EXPECT_GE(calls, 200u);  // 100 tasks of 2 to 4 hops
}

/// Logs held in memory: KV captured from the engine, retrieval by shared words.
class MemoryLibrary : public lag::LogLibrary {
 public:
  struct Entry {
    std::string task;
    std::vector<std::int32_t> tokens;
    HostLogKv kv;
  };
  MemoryLibrary(const KvShape& shape) : shape_(shape) {}
  LogId add(Entry e) {
    entries_[next_] = std::move(e);
    return next_++;
  }
  std::vector<lag::RetrievedLog> retrieve(const std::string& query, std::uint32_t k,
                                          const std::set<LogId>& exclude) override {
    queries_.push_back(query);
    std::vector<lag::RetrievedLog> all;
    for (const auto& [id, e] : entries_) {
      if (exclude.count(id)) continue;
      double score = 0;
      for (std::size_t i = 0; i + 3 <= query.size(); ++i)
        if (e.task.find(query.substr(i, 3)) != std::string::npos) score += 1;
      all.push_back({id, score, e.task});
    }
    std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.score > b.score; });
    if (all.size() > k) all.resize(k);
    return all;
  }
  std::vector<std::int32_t> tokens(LogId id) override { return entries_.at(id).tokens; }
  LogKvSource kv(LogId id) override { return source_of(entries_.at(id).kv, shape_); }
  /// Every query retrieve() was called with, in order.
  const std::vector<std::string>& queries() const { return queries_; }

 private:
  KvShape shape_;
  std::vector<std::string> queries_;
  std::map<LogId, Entry> entries_;
  LogId next_ = 1;
};

class LagAgent : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    const RandomModelSpec spec = small_model_spec(GgmlType::f16, 9);
    // Each test is a process of its own under ctest -j: a shared file name would let one test rewrite
    // the model while another loads it.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = ::testing::TempDir() + "/lag_agent_model_" + std::to_string(::getpid()) + "_" + info->name() +
            ".gguf";
    make_random_model(spec).write(path_);
    LoadOptions o;
    o.context = 512;
    o.sequences = 4;
    engine_ = load_engine(path_, o);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove(path_);
    GpuTest::TearDown();
  }

  /// Renders and evaluates a trace, capturing its selected tokens (positions from 0).
  MemoryLibrary::Entry capture(const lag::Trace& trace, lag::Selection selection) {
    const auto r = lag::render_trace(trace, engine_->tokenizer(), selection);
    auto seq = engine_->new_sequence();
    std::vector<std::int32_t> pos(r.tokens.size());
    std::iota(pos.begin(), pos.end(), 0);
    (void)engine_->forward().eval(*seq, r.tokens, pos);
    std::vector<std::int32_t> sel_tokens;
    for (auto i : r.selected) sel_tokens.push_back(r.tokens[std::size_t(i)]);
    return {trace.task, sel_tokens,
            capture_log_kv(engine_->context(), *seq, r.selected, r.selected,
                           rope_args(engine_->forward().weights()), engine_->config().layers)};
  }

  std::string path_;
  std::unique_ptr<Engine> engine_;
};

const lag::Trace kTrace{"who directed the glass harbor",
                        {{"user", "who directed the glass harbor"},
                         {"assistant", "Action: lookup(director, The Glass Harbor)"},
                         {"tool", "director(The Glass Harbor) = Mara Ellison"},
                         {"assistant", "Answer: Mara Ellison"}},
                        {}};

TEST_F(LagAgent, SelectionsKeepTheDocumentedSpans) {
  const Tokenizer& tok = engine_->tokenizer();
  auto decode_selected = [&](lag::Selection s) {
    const auto r = lag::render_trace(kTrace, tok, s);
    std::vector<std::int32_t> sel;
    for (auto i : r.selected) sel.push_back(r.tokens[std::size_t(i)]);
    std::string text = tok.decode(sel);
    // Content is tokenized as " <content>" (the space after the role label).
    text.erase(0, text.find_first_not_of(' '));
    return std::make_pair(text, r);
  };
  EXPECT_EQ(decode_selected(lag::Selection::last).first, "Answer: Mara Ellison");
  EXPECT_EQ(decode_selected(lag::Selection::answer).first, "Mara Ellison");
  const auto [all_text, all] = decode_selected(lag::Selection::all);
  EXPECT_NE(all_text.find("lookup(director"), std::string::npos);
  EXPECT_NE(all_text.find("Mara Ellison"), std::string::npos);
  EXPECT_EQ(all_text.find("User"), std::string::npos);
  const auto full = lag::render_trace(kTrace, tok, lag::Selection::full);
  EXPECT_EQ(full.selected.size(), full.tokens.size());
}

// Every template family renders logs with its own template (the families whose rendering of a shorter
// conversation is not a prefix of the longer one, qwen3 and mistral v3, are rendered whole), and every
// prompt starts with BOS, after logs too: the paper's layout [logs][BOS + prompt], token by token.
TEST_F(LagAgent, ChatTemplatesKeepExactMessageSpans) {
  const Tokenizer& tok = engine_->tokenizer();
  for (ChatFormat format :
       {ChatFormat::llama3, ChatFormat::llama31, ChatFormat::chatml, ChatFormat::qwen3, ChatFormat::llama2,
        ChatFormat::mistral_v1, ChatFormat::mistral_v3, ChatFormat::mistral_v3_tekken, ChatFormat::gemma,
        ChatFormat::phi3, ChatFormat::plain}) {
    ChatTemplate chat;
    chat.format = format;
    auto selected_text = [&](lag::Selection s) {
      const auto r = lag::render_trace(kTrace, tok, s, &chat);
      std::vector<std::int32_t> sel;
      for (auto i : r.selected) sel.push_back(r.tokens[std::size_t(i)]);
      std::string text = tok.decode(sel);
      text.erase(0, text.find_first_not_of(' '));
      return text;
    };
    const std::string name(chat_format_name(format));
    EXPECT_EQ(selected_text(lag::Selection::last), "Answer: Mara Ellison") << name;
    EXPECT_EQ(selected_text(lag::Selection::answer), "Mara Ellison") << name;
    const std::string all = selected_text(lag::Selection::all);
    EXPECT_NE(all.find("lookup(director"), std::string::npos) << name;
    EXPECT_EQ(all.find("directed the glass"), std::string::npos)
        << name << ": the user's message is not kept";
    std::vector<ChatMessage> messages;
    for (const auto& m : kTrace.messages) messages.push_back({m.role, m.content});
    const auto full = lag::render_trace(kTrace, tok, lag::Selection::full, &chat);
    if (format != ChatFormat::plain) {
      // The log's tokens are the template's whole rendering (markers as text: the random vocabulary has
      // no special tokens for them), not the plain format.
      // Compared as text without whitespace (the random vocabulary's pieces add spaces) and without BOS
      // and EOS (decoded as nothing).
      const auto squeezed = [](std::string t) {
        for (const char* special : {"</s>", "<s>"})
          for (auto at = t.find(special); at != std::string::npos; at = t.find(special))
            t.erase(at, std::strlen(special));
        std::erase_if(t, [](unsigned char c) { return std::isspace(c); });
        return t;
      };
      EXPECT_EQ(squeezed(tok.decode(full.tokens)), squeezed(render_chat(chat, messages, false))) << name;
    }
    // The prompt after logs: BOS, then the template's prompt (the plain format: "User: ...").
    const std::vector<lag::Message> question = {{"user", "who directed silent orchard"}};
    const auto prompt = lag::render_prompt(question, tok, &chat);
    ASSERT_GE(tok.bos(), 0);
    ASSERT_FALSE(prompt.empty());
    EXPECT_EQ(prompt.front(), tok.bos()) << name;
    const std::vector<std::int32_t> after_bos(prompt.begin() + 1, prompt.end());
    if (format == ChatFormat::plain) {
      std::vector<std::int32_t> expected = tok.encode("User:", false, false);
      for (const char* piece : {" who directed silent orchard", "\nAssistant:"})
        for (auto t : tok.encode(piece, false, false)) expected.push_back(t);
      EXPECT_EQ(after_bos, expected) << name;
    } else {
      EXPECT_EQ(
          after_bos,
          encode_chat(tok,
                      render_chat_segments(
                          chat, std::vector<ChatMessage>{{"user", "who directed silent orchard"}}, true),
                      false))
          << name;
    }
  }
}

TEST_F(LagAgent, FullTraceLogsGiveTheSameGreedyTokensInKvAndTextModes) {
  MemoryLibrary library(engine_->pool().shape());
  const LogId id = library.add(capture(kTrace, lag::Selection::full));
  // Splice == prefill with the prompt's BOS after the logs (the paper's layout).
  const auto prompt = lag::render_prompt({{"user", "who directed silent orchard"}}, engine_->tokenizer());
  ASSERT_EQ(prompt.front(), engine_->tokenizer().bos());
  GenerateOptions g;
  g.max_tokens = 12;
  g.sampling.temperature = 0;
  g.stop_at_end_of_generation = false;
  auto kv = lag::build_context(*engine_, &library, {id}, lag::LogMode::kv, prompt);
  auto text = lag::build_context(*engine_, &library, {id}, lag::LogMode::text, prompt);
  EXPECT_LE(compare(kv.logits, text.logits).max_rel, 1e-3);
  const auto a = generate_from(*engine_, *kv.sequence, kv.logits, kv.next_position, g);
  const auto b = generate_from(*engine_, *text.sequence, text.logits, text.next_position, g);
  EXPECT_EQ(a.tokens, b.tokens);
  // And the logs matter: without them the continuation's logits differ.
  auto none = lag::build_context(*engine_, &library, {id}, lag::LogMode::none, prompt);
  EXPECT_GT(compare(none.logits, kv.logits).max_rel, 1e-2);
}

// The random-weight model never writes "Answer:", so the loop must run exactly to its step limit; it
// retrieves once for the question and once after each step whose line is not empty (k = 1 each time,
// from a library with more logs than that), never the same log twice, and stops adding logs at max_logs.
TEST_F(LagAgent, LoopRunsToTheStepLimitAndRetrievesOncePerLog) {
  auto entry = capture(kTrace, lag::Selection::last);
  const auto kb = lag::KnowledgeBaseLookup::load(std::string(LAGVK_SOURCE_DIR) + "/assets/kb/demo.json");
  // Each step adds about 100 tokens (a 4-token line and the "no action" reply): room for 8 steps.
  LoadOptions o;
  o.context = 2048;
  auto engine = load_engine(path_, o);
  for (const std::uint32_t limit : {1u, 3u, 8u}) {
    for (const std::uint32_t max_logs : {0u, 3u}) {
      if (max_logs && limit != 3) continue;  // the cap once, where it binds (4 retrievals)
      MemoryLibrary library(engine_->pool().shape());
      library.add(entry);  // kTrace's own task: the question's best match
      for (int i = 0; i < 12; ++i) {
        auto other = entry;
        other.task = "other task " + std::to_string(i);
        library.add(std::move(other));
      }
      lag::AgentOptions options;
      options.max_steps = limit;
      options.max_step_tokens = 4;
      options.logs_per_query = 1;
      options.max_logs = max_logs;
      const auto r = lag::run_agent(*engine, &library, kTrace.task, {kb.get()}, options);
      const std::string what = "limit " + std::to_string(limit) + ", max_logs " + std::to_string(max_logs);
      ASSERT_FALSE(r.answer) << what << ": the random model answered '" << *r.answer << "'";
      EXPECT_EQ(r.steps.size(), limit) << what;
      // The queries: the question, then each non-empty line in order.
      std::vector<std::string> expect_queries = {kTrace.task};
      for (const auto& step : r.steps)
        if (!step.output.empty()) expect_queries.push_back(step.output);
      const std::size_t expect_logs =
          max_logs ? std::min<std::size_t>(max_logs, expect_queries.size()) : expect_queries.size();
      if (max_logs == 0) {
        EXPECT_EQ(library.queries(), expect_queries) << what;
      }
      EXPECT_EQ(r.logs.size(), expect_logs) << what;
      std::printf("%s: %zu non-empty lines, %zu logs, %u context tokens\n", what.c_str(),
                  expect_queries.size() - 1, r.logs.size(), r.context_tokens);
      std::size_t added = 0;
      for (const auto& step : r.steps) added += step.new_logs.size();
      EXPECT_EQ(added + 1, r.logs.size()) << what << ": logs after the first come from the steps";
      std::set<LogId> seen;
      for (const auto& l : r.logs)
        EXPECT_TRUE(seen.insert(l.id).second) << what << ": log " << l.id << " retrieved twice";
      ASSERT_FALSE(r.logs.empty());
      EXPECT_EQ(r.logs.front().task, kTrace.task) << what;  // the question's best match comes first
      EXPECT_EQ(r.trace.messages.front().role, "user");
      EXPECT_EQ(r.trace.messages.size(), 1 + 2 * limit)
          << what << ": the question, then line and reply per step";
    }
  }
}

// A transcript that outgrows the context ends the task unanswered after the steps that fitted (it used to
// throw context_full out of the loop, which aborted a whole `lagvk eval`).
TEST_F(LagAgent, ATaskThatOutgrowsTheContextEndsUnanswered) {
  const auto kb = lag::KnowledgeBaseLookup::load(std::string(LAGVK_SOURCE_DIR) + "/assets/kb/demo.json");
  LoadOptions o;
  o.context = 256;  // each step adds about 100 tokens: two or three steps fit, not eight
  auto engine = load_engine(path_, o);
  lag::AgentOptions options;
  options.max_steps = 8;
  options.max_step_tokens = 4;
  lag::AgentResult r;
  ASSERT_NO_THROW(r = lag::run_agent(*engine, nullptr, kTrace.task, {kb.get()}, options));
  EXPECT_FALSE(r.answer);
  EXPECT_GE(r.steps.size(), 1u);
  EXPECT_LT(r.steps.size(), 8u);
}

}  // namespace
}  // namespace lagvk::test
