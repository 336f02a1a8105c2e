// Cache augmentation through lagvk serve (--coprocessor, the `augment` request field) on the shipped
// multihop model with an untrained coprocessor: a chat with "augment" answers as `lagvk ask --coprocessor`
// does (without logs, and with `lag`'s logs) and otherwise than without it, reports the latents and their
// time, streamed too; a chat without the field is unchanged; a log added with "augment" is the one
// `lagvk log add --coprocessor` stores; malformed fields, latents beyond the file's and a server without a
// coprocessor are OpenAI-shaped errors. The multihop model's tokens all print (answers compare exactly as
// text) and it has no space prefix, so `lagvk ask` and a chat encode the same prompt tokens.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kModel = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf";
// A seen task of the multihop suite (its gold trace) and an unseen question whose chain begins like it.
const char* const kTrace =
    R"x({"task": "What is the capital of the country of Vorvek?", "messages": [{"role": "user", "content": )x"
    R"x("What is the capital of the country of Vorvek?"}, {"role": "assistant", "content": "Vorvek country ? )x"
    R"x(Action: lookup(country, Vorvek)"}, {"role": "tool", "content": "Vorvek country Bravek"}, {"role": )x"
    R"x("assistant", "content": "Vorvek country Bravek. Bravek capital ? Action: lookup(capital, Bravek)"}, )x"
    R"x({"role": "tool", "content": "Bravek capital Calxar"}, {"role": "assistant", "content": "Vorvek )x"
    R"x(country Bravek. Bravek capital Calxar. Answer: Calxar"}]})x";
const std::string kQuestion = "What is the mayor of the capital of the country of Vorvek?";

json post(httplib::Client& c, const std::string& path, const json& body, int* status = nullptr) {
  const auto r = c.Post(path, body.dump(), "application/json");
  if (!r) return json{{"transport_error", int(r.error())}};
  if (status) *status = r->status;
  return json::parse(r->body);
}

json chat(const json& extra) {
  json body = {{"messages", json::array({{{"role", "user"}, {"content", kQuestion}}})},
               {"temperature", 0},
               {"max_tokens", 8}};
  if (extra.is_object()) body.update(extra);
  return body;
}

class ServerAugment : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_.emplace("server_augment");
    const auto& d = scratch_->path();
    model_ = kModel;
    made_ = (d / "c.gguf").string();
    trace_ = (d / "trace.json").string();
    const auto r = test::run_lagvk("coprocessor make -m '" + model_ + "' --latents 4 -o '" + made_ + "'");
    ASSERT_EQ(r.status, 0) << r.out;
    std::ofstream(trace_) << kTrace;
  }
  static void TearDownTestSuite() { scratch_.reset(); }

  /// `lagvk ask ... --json` on `store` with extra flags.
  static json ask(const std::string& store, const std::string& flags) {
    const auto r = test::run_lagvk(
        "ask -m '" + model_ + "' -s '" + store + "' -n 8 --temp 0 --json " + flags + " '" + kQuestion + "'",
        false);
    EXPECT_EQ(r.status, 0) << r.out;
    return r.status == 0 ? json::parse(r.out) : json();
  }

  static inline std::optional<test::ScratchDir> scratch_;
  static inline std::string model_, made_, trace_;
};

TEST_F(ServerAugment, AugmentedChatsAnswerAsAskWithTheCoprocessor) {
  const std::string store = (scratch_->path() / "store").string();
  ASSERT_EQ(test::run_lagvk("log add -s '" + store + "' -m '" + model_ + "' -t '" + trace_ + "'").status, 0);
  test::ServerProcess server("-m '" + model_ + "' --port 0 --store '" + store + "' --coprocessor '" + made_ +
                             "' --latents 2");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  int status = 0;

  // Without logs: the server's --latents.
  const json plain_augmented = post(c, "/v1/chat/completions", chat({{"augment", true}}), &status);
  ASSERT_EQ(status, 200) << plain_augmented.dump();
  EXPECT_EQ(plain_augmented["augment"]["latents"], 2);
  EXPECT_GT(plain_augmented["augment"]["ms"].get<double>(), 0.0);
  EXPECT_FALSE(plain_augmented.contains("lag")) << "no logs were asked for";
  const json cli_plain = ask(store, "--logs none --coprocessor '" + made_ + "' --latents 2");
  EXPECT_EQ(plain_augmented["choices"][0]["message"]["content"], cli_plain["answer"]);
  EXPECT_EQ(plain_augmented["usage"]["completion_tokens"], cli_plain["tokens"].size());

  // With logs: the request's latents after the log and the prompt.
  const json with_logs =
      post(c, "/v1/chat/completions", chat({{"augment", {{"latents", 4}}}, {"lag", {{"k", 1}}}}), &status);
  ASSERT_EQ(status, 200) << with_logs.dump();
  EXPECT_EQ(with_logs["augment"]["latents"], 4);
  ASSERT_EQ(with_logs["lag"]["logs"].size(), 1u) << with_logs.dump();
  const json cli_logs = ask(store, "-k 1 --coprocessor '" + made_ + "' --latents 4");
  EXPECT_EQ(with_logs["choices"][0]["message"]["content"], cli_logs["answer"]);
  EXPECT_EQ(cli_logs["augmentation"]["latents"], 4);

  // Without the field (or with false) nothing changes: no augmentation, the answer of a plain chat.
  const json unaugmented = post(c, "/v1/chat/completions", chat({}), &status);
  ASSERT_EQ(status, 200);
  EXPECT_FALSE(unaugmented.contains("augment"));
  EXPECT_FALSE(unaugmented.contains("lag"));
  const json off = post(c, "/v1/chat/completions", chat({{"augment", false}}), &status);
  EXPECT_EQ(off["choices"][0]["message"]["content"], unaugmented["choices"][0]["message"]["content"]);
  EXPECT_FALSE(off.contains("augment"));

  // Streamed: the last chunk carries the object.
  std::string streamed;
  const auto r =
      c.Post("/v1/chat/completions", chat({{"augment", true}, {"stream", true}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(R"("augment":{"latents":2)"), std::string::npos) << r->body;

  // Malformed fields and latents beyond the file's.
  const json bad_type = post(c, "/v1/chat/completions", chat({{"augment", "yes"}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(bad_type["error"]["param"], "augment") << bad_type.dump();
  const json bad_latents = post(c, "/v1/chat/completions", chat({{"augment", {{"latents", -1}}}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(bad_latents["error"]["param"], "augment.latents") << bad_latents.dump();
  const json too_many = post(c, "/v1/chat/completions", chat({{"augment", {{"latents", 9}}}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(too_many["error"]["param"], "augment.latents") << too_many.dump();
  const std::string message = too_many["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("'augment.latents': latents 9 exceeds the 4 soft tokens"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("lagvk_ask"), std::string::npos) << "the request's field, not a call: " << message;
  // Beyond any coprocessor file's count (the engine's bound, 4096): refused as the request is read.
  const json beyond = post(c, "/v1/chat/completions", chat({{"augment", {{"latents", 4097}}}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(beyond["error"]["param"], "augment.latents") << beyond.dump();
  EXPECT_NE(beyond["error"]["message"].get<std::string>().find("to 4096"), std::string::npos)
      << beyond.dump();
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

TEST_F(ServerAugment, EveryLatentCountAnswersAsAskAndOtherwiseThanWithout) {
  const std::string store = (scratch_->path() / "counts").string();
  ASSERT_EQ(test::run_lagvk("log add -s '" + store + "' -m '" + model_ + "' -t '" + trace_ + "'").status, 0);
  test::ServerProcess server("-m '" + model_ + "' --port 0 --store '" + store + "' --coprocessor '" + made_ +
                             "'");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  int status = 0;
  const json plain = post(c, "/v1/chat/completions", chat({}), &status);
  ASSERT_EQ(status, 200) << plain.dump();
  EXPECT_EQ(plain["choices"][0]["message"]["content"], ask(store, "--logs none")["answer"]);
  for (int latents = 1; latents <= 4; ++latents) {
    const json r = post(c, "/v1/chat/completions", chat({{"augment", {{"latents", latents}}}}), &status);
    ASSERT_EQ(status, 200) << r.dump();
    EXPECT_EQ(r["augment"]["latents"], latents);
    EXPECT_EQ(r["choices"][0]["message"]["content"],
              ask(store,
                  "--logs none --coprocessor '" + made_ + "' --latents " + std::to_string(latents))["answer"])
        << latents << " latents";
    EXPECT_NE(r["choices"][0]["message"]["content"], plain["choices"][0]["message"]["content"])
        << latents << " untrained latents leave the answer as it was without them";
  }
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

TEST_F(ServerAugment, ALogAddedWithAugmentIsTheOneLogAddMakes) {
  const std::string store = (scratch_->path() / "logs").string(),
                    direct = (scratch_->path() / "direct").string();
  test::ServerProcess server("-m '" + model_ + "' --port 0 --store '" + store + "' --coprocessor '" + made_ +
                             "'");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  int status = 0;
  json body = json::parse(kTrace);
  body["augment"] = {{"latents", 3}};
  const json added = post(c, "/v1/logs", body, &status);
  ASSERT_EQ(status, 200) << added.dump();
  EXPECT_EQ(added["latents"], 3);
  const auto shown = c.Get("/v1/logs/" + std::to_string(added["id"].get<std::uint64_t>()));
  ASSERT_TRUE(shown);
  const json record = json::parse(shown->body);
  body["augment"] = {{"latents", 99}};
  const json refused = post(c, "/v1/logs", body, &status);
  EXPECT_EQ(status, 400) << refused.dump();
  EXPECT_EQ(refused["error"]["param"], "augment.latents") << refused.dump();
  EXPECT_EQ(json::parse(c.Get("/v1/logs")->body)["data"].size(), 1u) << "a refused log is not left behind";
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);

  ASSERT_EQ(test::run_lagvk("log add -s '" + direct + "' -m '" + model_ + "' -t '" + trace_ +
                            "' --coprocessor '" + made_ + "' --latents 3")
                .status,
            0);
  const auto shown_direct = test::run_lagvk("log show -s '" + direct + "' --json 1", false);
  ASSERT_EQ(shown_direct.status, 0) << shown_direct.out;
  const json want = json::parse(shown_direct.out);
  for (const char* same : {"latents", "token_ids", "positions", "tags", "task"})
    EXPECT_EQ(record[same], want[same]) << same;
}

TEST(ServerAugmentWithoutCoprocessor, AugmentIsRefusedAndTheRestServed) {
  const test::ScratchDir dir("server_augment_none");
  const std::string model = (dir.path() / "m.gguf").string();
  ASSERT_EQ(
      test::run_lagvk("make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o '" +
                      model + "'")
          .status,
      0);
  test::ServerProcess server("-m '" + model + "' --port 0 --store '" + (dir.path() / "s").string() + "'");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  int status = 0;
  const json r = post(c, "/v1/chat/completions", chat({{"augment", true}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["error"]["code"], "no_coprocessor") << r.dump();
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--coprocessor"), std::string::npos);
  post(c, "/v1/chat/completions", chat({}), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);

  // Without a store either: the request asked for augmentation, and that is what is refused (not the log
  // store, whose `lag` field it never sent).
  test::ServerProcess bare("-m '" + model + "' --port 0");
  ASSERT_GT(bare.port(), 0) << bare.output();
  auto b = test::server_client(bare.port(), "");
  const json none = post(b, "/v1/chat/completions", chat({{"augment", true}}), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(none["error"]["code"], "no_coprocessor") << none.dump();
  EXPECT_EQ(none["error"]["param"], "augment") << none.dump();
  EXPECT_EQ(bare.stop(SIGTERM, 20s), 0);
}

}  // namespace
}  // namespace lagvk
