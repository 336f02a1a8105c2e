// A model freed while stores are open stays loaded until the last store closes (include/lagvk/lagvk.h,
// "Ownership"): lagvk_model_free unregisters the handle at once and api::release_model, which
// lagvk_store_close calls, deletes the model with the last store. The API's sources are compiled into
// this test (tests/CMakeLists.txt) because api::retain_model / api::release_model are internal to
// liblagvk; stores themselves are tested with the LAG half of the API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "api/handles.hpp"
#include "engine/model/random_model.hpp"
#include "lagvk/lagvk.h"
#include "tests/support/models.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

class CApiLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::path(::testing::TempDir()) / ("c_api_lifetime_" + std::to_string(::getpid()) + ".gguf"))
                .string();
    make_random_model(small_model_spec(GgmlType::q8_0, 51)).write(path_);
  }
  void TearDown() override { fs::remove(path_); }

  lagvk_model* load() {
    lagvk_model_params p = lagvk_model_params_default();
    p.context_tokens = 64;
    lagvk_model* m = nullptr;
    EXPECT_EQ(lagvk_model_load(path_.c_str(), &p, &m), LAGVK_OK) << lagvk_last_error();
    return m;
  }
  /// What a store open does to its model.
  static void open_store(lagvk_model* m) {
    const std::lock_guard guard(m->lock);
    api::retain_model(m);
  }

  std::string path_;
};

TEST_F(CApiLifetime, AModelFreedWithOpenStoresLivesUntilTheLastCloses) {
  lagvk_model* m = load();
  ASSERT_NE(m, nullptr);
  open_store(m);
  open_store(m);
  lagvk_model_free(m);
  // The handle is gone for the API at once...
  EXPECT_EQ(lagvk_model_get_info(m), nullptr);
  const lagvk_generate_params g = lagvk_generate_params_default();
  lagvk_completion* c = nullptr;
  EXPECT_EQ(lagvk_generate(m, "hi", &g, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  // ... but the model is loaded for the stores: its engine still runs (a deleted one would crash, or
  // fail the sanitizer build with a use after free).
  api::release_model(m);
  {
    const std::lock_guard guard(m->lock);
    EXPECT_EQ(m->open_stores, 1);
    const auto ids = m->engine->tokenizer().encode("hi", true, false);
    auto seq = m->engine->new_sequence();
    GenerateOptions o;
    o.max_tokens = 2;
    EXPECT_EQ(generate(*m->engine, *seq, ids, o).tokens.size(), 2u);
  }
  api::release_model(m);  // the last store: deletes the model
}

TEST_F(CApiLifetime, StoresClosingAfterAnUnfreedModelLeaveItLoaded) {
  lagvk_model* m = load();
  ASSERT_NE(m, nullptr);
  open_store(m);
  api::release_model(m);
  EXPECT_NE(lagvk_model_get_info(m), nullptr) << "closing a store does not free its model";
  lagvk_model_free(m);
  EXPECT_EQ(lagvk_model_get_info(m), nullptr);
}

TEST_F(CApiLifetime, FreeAndTheLastCloseRacingDeleteTheModelOnce) {
  // lagvk_model_free in one thread, the last store's close in another: exactly one deletes (a double
  // delete aborts in glibc or the sanitizer build).
  for (int i = 0; i < 8; ++i) {
    lagvk_model* m = load();
    ASSERT_NE(m, nullptr);
    open_store(m);
    std::thread closer([m] { api::release_model(m); });
    lagvk_model_free(m);
    closer.join();
  }
}

}  // namespace
}  // namespace lagvk::test
