#include "tools/bench/lag_speed.hpp"

#include <algorithm>
#include <filesystem>
#include <random>

#include "engine/lag/context_builder.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/trace.hpp"
#include "tools/bench/timing.hpp"

namespace lagvk::bench {

LagBench::LagBench(Engine& engine, std::string dir) : engine_(engine), dir_(std::move(dir)) {
  std::filesystem::remove_all(dir_);
  store_ = logstore::Store::open(dir_, {true, lag::model_fingerprint(engine_)});
  library_ = std::make_unique<lag::StoreLibrary>(*store_);
  prompt_ =
      lag::render_prompt({{"user", "where was the director of the glass harbor born?"}}, engine_.tokenizer());
  // Warm up pipelines (first use compiles shaders on some drivers).
  const auto id = add_log(16, 1, "warm up");
  (void)lag::build_context(engine_, library_.get(), {id}, lag::LogMode::kv, prompt_);
  (void)lag::build_context(engine_, library_.get(), {id}, lag::LogMode::text, prompt_);
  (void)store_->remove(id);
}

LagBench::~LagBench() {
  library_.reset();
  store_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

logstore::LogId LagBench::add_log(std::uint32_t tokens, std::uint32_t seed, const std::string& task) {
  const auto& f = store_->fingerprint();
  std::mt19937 rng(seed);
  const std::uint32_t vocab = engine_.config().vocab, first = vocab > 520 ? 300 : 3;
  logstore::LogRecord rec;
  rec.task = rec.retrieval_text = task;
  rec.selection = "last";
  for (std::uint32_t t = 0; t < tokens; ++t) {
    rec.token_ids.push_back(std::int32_t(first + rng() % (vocab - first)));
    rec.positions.push_back(std::int32_t(t));
  }
  const std::size_t n = std::size_t(tokens) * f.kv_heads * f.head_dim;
  std::vector<std::vector<std::uint16_t>> k(f.layers, std::vector<std::uint16_t>(n)), v = k;
  for (auto& layer : k)
    for (auto& x : layer) x = std::uint16_t(0x2000 + rng() % 0x1000);
  for (auto& layer : v)
    for (auto& x : layer) x = std::uint16_t(0x2000 + rng() % 0x1000);
  logstore::LogKvInput in{tokens, {}, {}};
  for (std::uint32_t l = 0; l < f.layers; ++l) {
    in.k.emplace_back(k[l]);
    in.v.emplace_back(v[l]);
  }
  return store_->put_log(rec, in);
}

std::vector<LagTtft> LagBench::ttft_table(const std::vector<std::uint32_t>& tokens_per_log,
                                          const std::vector<std::uint32_t>& ks,
                                          const std::function<void(const LagTtft&)>& on_row) {
  std::vector<LagTtft> rows;
  const std::uint32_t most = ks.empty() ? 0 : *std::max_element(ks.begin(), ks.end());
  for (std::uint32_t tokens : tokens_per_log) {
    std::vector<lag::LogId> ids;
    for (std::uint32_t i = 0; i < most; ++i)
      ids.push_back(add_log(tokens, 100 * tokens + i, "log " + std::to_string(i)));
    for (std::uint32_t k : ks) {
      const std::vector<lag::LogId> use(ids.begin(), ids.begin() + k);
      for (lag::LogMode mode : {lag::LogMode::kv, lag::LogMode::text, lag::LogMode::none}) {
        const auto t0 = Clock::now();
        const auto built = lag::build_context(engine_, library_.get(), use, mode, prompt_);
        (void)std::max_element(built.logits.begin(), built.logits.end());  // the first token is chosen here
        LagTtft row{tokens,
                    k,
                    std::string(lag::log_mode_name(mode)),
                    built.logs_ms,
                    built.suffix_ms,
                    seconds_since(t0) * 1e3};
        if (on_row) on_row(row);
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

}  // namespace lagvk::bench
