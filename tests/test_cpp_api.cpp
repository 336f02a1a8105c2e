// The C++ header lagvk/lagvk.hpp over the shared library: owning handles (move-only, freed once), errors
// as lagvk::cpp::Error carrying the lagvk_status, and a token callback whose exception is rethrown after
// the C call instead of crossing it. This file also includes lagvk's internal headers: the public
// header's names (lagvk::cpp::Error, lagvk::cpp::Model) must not collide with the engine's (lagvk::Error,
// lagvk::Model, lagvk::Engine) in one translation unit. tests/cpp_api_cxx17.cpp compiles the header
// as C++17.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "lagvk/lagvk.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

static_assert(!std::is_same_v<lagvk::Error, lagvk::cpp::Error>);
static_assert(!std::is_same_v<lagvk::Model, lagvk::cpp::Model>);
static_assert(!std::is_copy_constructible_v<cpp::Model> && std::is_nothrow_move_constructible_v<cpp::Model>);
static_assert(!std::is_copy_constructible_v<cpp::Store> && std::is_nothrow_move_constructible_v<cpp::Store>);
static_assert(!std::is_copy_constructible_v<cpp::Completion> &&
              std::is_nothrow_move_constructible_v<cpp::Completion>);

const std::string kTrace =
    R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the )"
    R"(glass harbor"}, {"role": "assistant", "content": "mara ellison"}]})";

class CppApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_.emplace("cpp_api");
    dir_ = scratch_->path();
    model_path_ = (dir_ / "m.gguf").string();
    const auto r = run_lagvk(
        "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 --ctx 256 -o '" +
        model_path_ + "'");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() { scratch_.reset(); }
  void SetUp() override { store_dir_ = (dir_ / ("store_" + std::to_string(++stores_))).string(); }

  /// A store of model with the trace added.
  cpp::Store filled_store(cpp::Model& model) {
    cpp::Store store(model, store_dir_, cpp::Store::create_params());
    (void)store.add_trace(kTrace);
    return store;
  }

  static cpp::AskOptions short_ask() {
    cpp::AskOptions o;
    o.params.generate.max_tokens = 6;
    o.params.generate.ignore_eos = 1;
    return o;
  }

  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline std::string model_path_;
  static inline int stores_ = 0;
  std::string store_dir_;
};

TEST_F(CppApi, HandlesOwnTheirObjects) {
  cpp::Model model(model_path_);
  cpp::Store store = filled_store(model);
  EXPECT_EQ(store.count(), 1u);
  const auto found = store.retrieve("who directed it");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].task, "who directed the glass harbor");

  cpp::AskOptions ask = short_ask();
  ask.params.save = 1;
  std::string streamed;
  ask.on_token = [&](std::int32_t, std::string_view text) {
    streamed += text;
    return true;
  };
  cpp::Completion answer = store.ask("who directed the glass harbor", ask);
  EXPECT_EQ(answer.text(), streamed);
  EXPECT_EQ(answer.tokens().size(), 6u);
  ASSERT_EQ(answer.logs().size(), 1u);
  EXPECT_EQ(answer.logs()[0].task, "who directed the glass harbor");
  ASSERT_TRUE(answer.saved_log());
  EXPECT_EQ(store.count(), 2u);

  // Moves hand the handle over: the moved-from object is empty and frees nothing.
  lagvk_completion* raw = answer.get();
  cpp::Completion moved = std::move(answer);
  EXPECT_EQ(moved.get(), raw);
  EXPECT_EQ(answer.get(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  cpp::Store other = std::move(store);
  EXPECT_EQ(other.count(), 2u);
  EXPECT_EQ(store.get(), nullptr);  // NOLINT(bugprone-use-after-move)

  // Given log ids, including none at all (not "retrieve").
  ask = short_ask();
  ask.log_ids = std::vector<std::uint64_t>{};
  EXPECT_TRUE(other.ask("who directed the glass harbor", ask).logs().empty());
  ask.log_ids = std::vector<std::uint64_t>{*moved.saved_log()};
  const auto given = other.ask("anything", ask);
  ASSERT_EQ(given.logs().size(), 1u);
  EXPECT_EQ(given.logs()[0].id, *moved.saved_log());
}

TEST_F(CppApi, ErrorsCarryTheStatus) {
  cpp::Model model(model_path_);
  try {
    cpp::Store missing(model, store_dir_);
    FAIL() << "a missing store without create must throw";
  } catch (const cpp::Error& e) {
    EXPECT_EQ(e.status(), LAGVK_ERROR_FILE_NOT_FOUND);
    EXPECT_STREQ(e.status_name(), "LAGVK_ERROR_FILE_NOT_FOUND");
    EXPECT_NE(std::string(e.what()).find(store_dir_), std::string::npos) << e.what();
  }
  cpp::Store store = filled_store(model);
  try {
    (void)store.add_trace("{not json");
    FAIL() << "bad JSON must throw";
  } catch (const cpp::Error& e) {
    EXPECT_EQ(e.status(), LAGVK_ERROR_BAD_INPUT);
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  cpp::AskOptions ask = short_ask();
  ask.log_ids = std::vector<std::uint64_t>{77};
  try {
    (void)store.ask("q", ask);
    FAIL() << "an unknown log id must throw";
  } catch (const cpp::Error& e) {
    EXPECT_EQ(e.status(), LAGVK_ERROR_NOT_FOUND) << e.what();
  }
}

TEST_F(CppApi, ACallbackExceptionIsRethrownAfterTheCall) {
  cpp::Model model(model_path_);
  cpp::Store store = filled_store(model);
  struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  cpp::AskOptions ask = short_ask();
  ask.params.save = 1;
  int calls = 0;
  ask.on_token = [&](std::int32_t, std::string_view) -> bool {
    if (++calls == 2) throw Boom("boom");
    return true;
  };
  EXPECT_THROW((void)store.ask("who directed the glass harbor", ask), Boom);
  EXPECT_EQ(calls, 2) << "the generation stopped at the throwing token";
  EXPECT_EQ(store.count(), 1u) << "a cancelled task is not saved";
  // Returning false stops too, as a cancellation.
  ask.on_token = [](std::int32_t, std::string_view) { return false; };
  try {
    (void)store.ask("who directed the glass harbor", ask);
    FAIL() << "a callback returning false must cancel";
  } catch (const cpp::Error& e) {
    EXPECT_EQ(e.status(), LAGVK_ERROR_CANCELLED) << e.what();
  }
  // The model goes on working.
  ask.on_token = nullptr;
  EXPECT_EQ(store.ask("who directed the glass harbor", ask).tokens().size(), 6u);
}

TEST_F(CppApi, AStoreOutlivesItsModelObject) {
  auto model = std::make_unique<cpp::Model>(model_path_);
  cpp::Store store = filled_store(*model);
  model.reset();  // the C model is freed; the store keeps it loaded
  EXPECT_EQ(store.ask("who directed the glass harbor", short_ask()).tokens().size(), 6u);
  EXPECT_EQ(store.count(), 1u);
}

TEST_F(CppApi, InternalAndPublicErrorsCoexist) {
  // Both error types in one function: the internal one is what the engine throws, the public one what the
  // wrapper throws; neither catches the other.
  const lagvk::Error internal(Errc::not_found, "internal");
  const cpp::Error public_error(LAGVK_ERROR_NOT_FOUND, "public");
  EXPECT_EQ(internal.code(), Errc::not_found);
  EXPECT_EQ(public_error.status(), LAGVK_ERROR_NOT_FOUND);
  EXPECT_EQ(cpp::version(), LAGVK_VERSION_STRING);
}

}  // namespace
}  // namespace lagvk::test
