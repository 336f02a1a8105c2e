// Cache-augmentation coprocessors as files (engine/augment): a file's latents and the decoder's logits
// after them against the CPU reference, a coprocessor for another decoder refused, files with missing or
// malformed parts refused with a clear error, and an augmented log through a store. The commands:
// tests/test_cli_coprocessor.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/augment/coprocessor.hpp"
#include "engine/augment/coprocessor_file.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/ask.hpp"
#include "engine/lag/context_builder.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/lag/stored_log_augmentation.hpp"
#include "engine/lag/trace.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/synthetic_logs.hpp"
#include "tests/support/thrown_error.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::int32_t> kPrompt = {1, 17, 260, 261, 5, 99, 123, 45, 200, 201, 202, 7, 259};

class Coprocessor : public GpuTest {
 protected:
  void SetUp() override {
    decoder_path_ = (dir_.path() / "decoder.gguf").string();
    other_path_ = (dir_.path() / "other.gguf").string();
    make_random_model(small_model_spec(GgmlType::f16, 1)).write(decoder_path_);
    make_random_model(small_model_spec(GgmlType::f16, 2)).write(other_path_);
  }

  /// A coprocessor file with `weights`' tensors that names `decoder` as its decoder; `edit` may change the
  /// writer before it writes (to make a malformed file).
  std::string write_file(const std::string& name, const std::string& weights, const std::string& decoder,
                         std::span<const float> soft,
                         const std::function<void(GgufWriter&)>& edit = {}) const {
    const std::string path = (dir_.path() / name).string();
    const GgufFile w = GgufFile::open(weights), d = GgufFile::open(decoder);
    augment::write_coprocessor(w, lag::weights_hash(d), soft, path);
    if (!edit) return path;
    const GgufFile written = GgufFile::open(path);
    GgufWriter writer;
    for (const auto& [key, value] : written.metadata()) writer.set(key, value);
    for (const auto& t : written.tensors()) {
      if (t.name == augment::kSoftTokensTensor) continue;
      const auto data = written.tensor_data(t);
      writer.add_tensor(t.name, t.dims, t.type, std::vector<std::uint8_t>(data.begin(), data.end()));
    }
    edit(writer);
    writer.write(path);
    return path;
  }

  static std::vector<std::uint8_t> bytes_of(std::span<const float> v) {
    std::vector<std::uint8_t> b(v.size() * sizeof(float));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
  }

  ScratchDir dir_{"coprocessor"};
  std::string decoder_path_, other_path_;
};

// A coprocessor whose weights are another model's (as a trained one's differ from its decoder's): the
// file's soft tokens through its weights over the decoder's cache, then the decoder over the latents,
// match the CPU reference; decoding goes on after them.
TEST_F(Coprocessor, AFilesLatentsAndTheLogitsAfterThemMatchTheCpuReference) {
  constexpr std::uint32_t kLatents = 5;
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(kLatents) * engine->config().dim, 3, -0.5f, 0.5f);
  const std::string file = write_file("trained.gguf", other_path_, decoder_path_, soft);
  const auto coprocessor = augment::Coprocessor::load(*engine, file);
  EXPECT_EQ(coprocessor->latents(), kLatents);

  auto seq = engine->new_sequence();
  std::vector<std::int32_t> positions(kPrompt.size());
  std::iota(positions.begin(), positions.end(), 0);
  (void)engine->forward().eval(*seq, kPrompt, positions);
  const Augmentation got = coprocessor->augment(*seq, std::int32_t(kPrompt.size()));

  const Model decoder_model = Model::from_gguf(GgufFile::open(decoder_path_));
  const Model copro_model = Model::from_gguf(GgufFile::open(file));
  ref::RefModel ref_decoder(decoder_model), ref_copro(copro_model);
  (void)ref_decoder.forward(kPrompt);
  ref_copro.share_cache(ref_decoder);
  const auto latents = ref_copro.hidden_states(soft);
  const auto logits = ref_decoder.forward_embeddings(latents);
  const std::size_t V = engine->config().vocab;
  EXPECT_LE(compare(got.latents, latents).max_rel, 1e-3);
  EXPECT_LE(compare(got.logits, std::span<const float>(logits).subspan(logits.size() - V)).max_rel, 1e-3);
  EXPECT_EQ(seq->length(), kPrompt.size() + kLatents);

  // Fewer latents: the first soft tokens only.
  auto short_seq = engine->new_sequence();
  (void)engine->forward().eval(*short_seq, kPrompt, positions);
  const Augmentation two = coprocessor->augment(*short_seq, std::int32_t(kPrompt.size()), 2);
  EXPECT_EQ(two.latents.size(), 2 * engine->config().dim);
  EXPECT_LE(compare(two.latents, std::span<const float>(latents).first(two.latents.size())).max_rel, 1e-3);
  const auto [code, message] = error_of([&] { (void)coprocessor->augment(*short_seq, 20, kLatents + 1); });
  EXPECT_EQ(code, Errc::invalid_argument) << message;
}

TEST_F(Coprocessor, OneTrainedForAnotherDecoderIsRefused) {
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(4 * engine->config().dim, 4);
  const std::string file = write_file("for_other.gguf", other_path_, other_path_, soft);
  const auto [code, message] = error_of([&] { (void)augment::Coprocessor::load(*engine, file); });
  EXPECT_EQ(code, Errc::store_model_mismatch);
  EXPECT_NE(message.find("trained for the decoder"), std::string::npos) << message;
  EXPECT_NE(message.find(lag::weights_hash(GgufFile::open(other_path_))), std::string::npos) << message;
}

TEST_F(Coprocessor, MalformedFilesAreRefusedWithWhatIsWrong) {
  auto engine = Engine::load(decoder_path_);
  const std::uint32_t dim = engine->config().dim;
  const auto soft = random_floats(4 * dim, 5);
  struct Bad {
    std::string name;
    std::function<void(GgufWriter&)> edit;
    std::string says;
  };
  std::vector<float> with_nan(soft);
  with_nan[7] = std::numeric_limits<float>::infinity();
  const std::vector<Bad> bad = {
      {"no_soft_tokens", [](GgufWriter&) {}, "lacks the tensor lagvk.soft_tokens"},
      {"wrong_width",
       [&](GgufWriter& w) {
         w.add_tensor(augment::kSoftTokensTensor, {dim / 2, 8}, GgmlType::f32, bytes_of(soft));
       },
       "needs F32 [128, 4]"},
      {"wrong_count",
       [&](GgufWriter& w) {
         w.add_tensor(augment::kSoftTokensTensor, {dim, 4}, GgmlType::f32, bytes_of(soft));
         w.set_u32(augment::kLatentsKey, 3);
       },
       "needs F32 [128, 3]"},
      {"no_latents",
       [&](GgufWriter& w) {
         w.add_tensor(augment::kSoftTokensTensor, {dim, 4}, GgmlType::f32, bytes_of(soft));
         w.set_u32(augment::kLatentsKey, 0);
       },
       "1 to 4096 latents"},
      {"no_hash",
       [&](GgufWriter& w) {
         w.add_tensor(augment::kSoftTokensTensor, {dim, 4}, GgmlType::f32, bytes_of(soft));
         w.erase(augment::kDecoderHashKey);
       },
       "lacks lagvk.coprocessor.decoder_hash"},
      {"not_finite",
       [&](GgufWriter& w) {
         w.add_tensor(augment::kSoftTokensTensor, {dim, 4}, GgmlType::f32, bytes_of(with_nan));
       },
       "not finite"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.name);
    const std::string file = write_file(b.name + ".gguf", decoder_path_, decoder_path_, soft, b.edit);
    const auto [code, message] = error_of([&] { (void)augment::Coprocessor::load(*engine, file); });
    EXPECT_EQ(code, Errc::bad_model_file) << message;
    EXPECT_NE(message.find(b.says), std::string::npos) << message;
  }
  // A plain model is not a coprocessor; one of another architecture cannot read this decoder's cache.
  const auto [plain, plain_message] =
      error_of([&] { (void)augment::Coprocessor::load(*engine, other_path_); });
  EXPECT_EQ(plain, Errc::bad_model_file);
  EXPECT_NE(plain_message.find("is not a cache-augmentation coprocessor"), std::string::npos)
      << plain_message;
  auto wide = small_model_spec(GgmlType::f16, 3);
  wide.n_layers = 3;
  const std::string wide_path = (dir_.path() / "three_layers.gguf").string();
  make_random_model(wide).write(wide_path);
  const std::string file = write_file("wrong_arch.gguf", wide_path, decoder_path_, soft);
  const auto [arch, arch_message] = error_of([&] { (void)augment::Coprocessor::load(*engine, file); });
  EXPECT_EQ(arch, Errc::bad_model_file);
  EXPECT_NE(arch_message.find("a coprocessor has its decoder's architecture"), std::string::npos)
      << arch_message;
}

// An augmented log (selection full: the whole trace, then the latents) round-trips through a store with
// its latents counted, and splicing it gives what running the trace, augmenting and prompting live gives:
// the latents' keys were un-rotated and re-rotated like any token's. Text mode uses its tokens alone.
TEST_F(Coprocessor, AnAugmentedLogRoundTripsThroughTheStoreAndSplicesAsItWasComputed) {
  constexpr std::uint32_t kLatents = 6;
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(kLatents) * engine->config().dim, 8, -0.5f, 0.5f);
  const auto coprocessor =
      augment::Coprocessor::load(*engine, write_file("trained.gguf", other_path_, decoder_path_, soft));
  const lag::Trace trace{"who directed the glass harbor",
                         {{"user", "who directed the glass harbor"},
                          {"assistant", "Action: lookup(director, The Glass Harbor)"},
                          {"tool", "director(The Glass Harbor) = Mara Ellison"},
                          {"assistant", "Answer: Mara Ellison"}},
                         {}};
  const lag::EncodedLog log = lag::encode_trace(*engine, trace, lag::Selection::full, {coprocessor.get(), 0});
  ASSERT_EQ(log.record.latents, kLatents);
  ASSERT_EQ(log.kv.tokens, log.record.token_ids.size() + kLatents);

  auto store = logstore::Store::open((dir_.path() / "store").string(),
                                     logstore::StoreOptions{true, lag::model_fingerprint(*engine)});
  const auto id = lag::store_log(*store, log);
  const auto back = store->read().log(id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->latents, kLatents);
  EXPECT_EQ(back->token_ids, log.record.token_ids);
  EXPECT_EQ(store->stats().stored_tokens, log.kv.tokens);
  EXPECT_TRUE(store->verify().problems.empty());

  // A record whose latents disagree with its KV is refused before anything is written.
  lag::EncodedLog wrong = log;
  wrong.record.latents = kLatents - 1;
  wrong.record.positions.pop_back();
  EXPECT_EQ(error_of([&] { (void)lag::store_log(*store, wrong); }).first, Errc::invalid_argument);

  lag::StoreLibrary library(*store);
  const auto prompt = lag::render_prompt({{"user", "who directed silent orchard"}}, engine->tokenizer());
  auto spliced = lag::build_context(*engine, &library, {id}, lag::LogMode::kv, prompt);
  EXPECT_EQ(spliced.logs.at(0).tokens, log.kv.tokens);

  // Live: the whole trace, the latents after it, then the prompt.
  const auto rendered = lag::render_trace(trace, engine->tokenizer(), lag::Selection::full);
  auto live = engine->new_sequence();
  std::vector<std::int32_t> positions(rendered.tokens.size());
  std::iota(positions.begin(), positions.end(), 0);
  (void)engine->forward().eval(*live, rendered.tokens, positions);
  const auto end = std::int32_t(rendered.tokens.size());
  (void)coprocessor->augment(*live, end);
  std::vector<std::int32_t> prompt_positions(prompt.size());
  std::iota(prompt_positions.begin(), prompt_positions.end(), end + std::int32_t(kLatents));
  const auto live_logits = engine->forward().eval(*live, prompt, prompt_positions);
  EXPECT_EQ(spliced.next_position, end + std::int32_t(kLatents + prompt.size()));
  EXPECT_LE(compare(spliced.logits, live_logits).max_rel, 2e-3);

  // Text mode places the log's tokens only (latents have no text).
  auto text = lag::build_context(*engine, &library, {id}, lag::LogMode::text, prompt);
  EXPECT_EQ(text.logs.at(0).tokens, log.record.token_ids.size());
  // And the latents matter: the same log without them splices to other logits.
  EXPECT_GT(compare(text.logits, spliced.logits).max_rel, 1e-2);
}

// One answer augmented (lag::ask with AskOptions::augmentation): its logs and prompt placed, the latents
// after the prompt, decoding from the decoder's logits after the last latent at the positions after it;
// exactly the tokens of those steps taken one by one. A saved answer is a log without latents.
TEST_F(Coprocessor, AnAugmentedAnswerDecodesAfterItsLatents) {
  constexpr std::uint32_t kLatents = 4;
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(6) * engine->config().dim, 9, -0.5f, 0.5f);
  const auto coprocessor =
      augment::Coprocessor::load(*engine, write_file("trained.gguf", other_path_, decoder_path_, soft));
  auto store = logstore::Store::open((dir_.path() / "store").string(),
                                     logstore::StoreOptions{true, lag::model_fingerprint(*engine)});
  const lag::Trace trace{"who directed the glass harbor",
                         {{"user", "who directed the glass harbor"}, {"assistant", "Answer: Mara Ellison"}},
                         {}};
  const auto id = lag::store_log(*store, lag::encode_trace(*engine, trace, lag::Selection::last));
  lag::StoreLibrary library(*store);

  lag::AskOptions options;
  options.k = 1;
  options.generate.max_tokens = 6;
  options.generate.stop_at_end_of_generation = false;
  options.save = true;
  options.augmentation = {coprocessor.get(), kLatents, lag::AugmentAt::prompt};
  const std::string question = "who directed the glass harbor again";
  const lag::AskResult asked = lag::ask(*engine, *store, library, question, options);
  EXPECT_EQ(asked.augmentation.latents, kLatents);
  ASSERT_EQ(asked.placed.size(), 1u);
  ASSERT_TRUE(asked.saved.has_value());
  const auto saved = store->read().log(*asked.saved);
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->latents, 0u);

  const auto prompt = lag::render_prompt({{"user", question}}, engine->tokenizer(), &engine->chat_template());
  auto ctx = lag::build_context(*engine, &library, {id}, lag::LogMode::kv, prompt);
  Augmentation a = coprocessor->augment(*ctx.sequence, ctx.next_position, kLatents);
  const GenerateResult by_steps = generate_from(*engine, *ctx.sequence, std::move(a.logits),
                                                ctx.next_position + std::int32_t(kLatents), options.generate);
  EXPECT_EQ(asked.generation.tokens, by_steps.tokens);
  ctx.sequence.reset();
  // The latents matter: the logits after them are not those after the prompt.
  const auto plain = lag::build_context(*engine, &library, {id}, lag::LogMode::kv, prompt).logits;
  auto again = lag::build_context(*engine, &library, {id}, lag::LogMode::kv, prompt);
  const Augmentation b = coprocessor->augment(*again.sequence, again.next_position, kLatents);
  EXPECT_GT(compare(plain, b.logits).max_rel, 1e-2);
}

/// The trace the tests below store and augment.
const lag::Trace kFilmTrace{
    "who directed the glass harbor",
    {{"user", "who directed the glass harbor"}, {"assistant", "Answer: Mara Ellison"}},
    {}};

// log augment's decision ("already augmented?") is made from the record it read; the write is made only if
// the log is still that record: a log another writer augmented in between is skipped, not overwritten.
TEST_F(Coprocessor, AStoredLogChangedBetweenTheReadAndTheWriteIsSkipped) {
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(4) * engine->config().dim, 10, -0.5f, 0.5f);
  const auto coprocessor =
      augment::Coprocessor::load(*engine, write_file("trained.gguf", other_path_, decoder_path_, soft));
  auto store = logstore::Store::open((dir_.path() / "store").string(),
                                     logstore::StoreOptions{true, lag::model_fingerprint(*engine)});
  const auto id = lag::store_log(*store, lag::encode_trace(*engine, kFilmTrace, lag::Selection::last));
  lag::EncodedLog theirs =
      lag::encode_trace(*engine, kFilmTrace, lag::Selection::last, {coprocessor.get(), 2});
  theirs.record.created = store->read().log(id)->created;
  int calls = 0;
  const lag::StoreCallWrapper another_writer_first = [&](const std::function<void()>& call) {
    if (++calls == 2) {  // between the read and the write
      ASSERT_EQ(lag::replace_stored_log(*store, id, theirs), logstore::Store::Replacement::replaced);
    }
    call();
  };
  const auto r =
      lag::augment_stored_log(*engine, *store, id, {coprocessor.get(), 0}, false, another_writer_first);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(r.outcome, lag::StoredLogAugmentation::Outcome::skipped);
  EXPECT_NE(r.reason.find("changed meanwhile"), std::string::npos) << r.reason;
  EXPECT_EQ(store->read().log(id)->latents, 2u) << "the other writer's log stays";
  // Without a writer in between it is augmented (with --force, over the two latents).
  const auto forced = lag::augment_stored_log(*engine, *store, id, {coprocessor.get(), 0}, true);
  EXPECT_EQ(forced.outcome, lag::StoredLogAugmentation::Outcome::augmented);
  EXPECT_EQ(store->read().log(id)->latents, 4u);
}

// Only the log's own problems skip it: a damaged record does; a failure of the store itself while reading
// (no free reader slot, a map grown badly by another process) is thrown.
TEST_F(Coprocessor, AStoredLogIsSkippedForADamagedRecordButStoreFailuresAreThrown) {
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(4) * engine->config().dim, 11, -0.5f, 0.5f);
  const auto coprocessor =
      augment::Coprocessor::load(*engine, write_file("trained.gguf", other_path_, decoder_path_, soft));
  const std::string dir = (dir_.path() / "store").string();
  logstore::LogId id = 0;
  {
    auto store = logstore::Store::open(dir, logstore::StoreOptions{true, lag::model_fingerprint(*engine)});
    id = lag::store_log(*store, lag::encode_trace(*engine, kFilmTrace, lag::Selection::last));
    const lag::StoreCallWrapper failing_reader = [](const std::function<void()>&) {
      fail(Errc::store, "the log store has no free reader slot");
    };
    const auto [code, message] = error_of([&] {
      (void)lag::augment_stored_log(*engine, *store, id, {coprocessor.get(), 0}, false, failing_reader);
    });
    EXPECT_EQ(code, Errc::store);
    EXPECT_NE(message.find("no free reader slot"), std::string::npos) << message;
    EXPECT_EQ(store->read().log(id)->latents, 0u);
  }
  put_raw_record(dir, id, "LGRC not a record");
  auto store = logstore::Store::open(dir, logstore::StoreOptions{false, lag::model_fingerprint(*engine)});
  const auto r = lag::augment_stored_log(*engine, *store, id, {coprocessor.get(), 0});
  EXPECT_EQ(r.outcome, lag::StoredLogAugmentation::Outcome::skipped);
  EXPECT_EQ(r.code, Errc::store);
  EXPECT_NE(r.reason.find("damaged record"), std::string::npos) << r.reason;
}

// A context kept for prefix reuse holds its logs' KV: a log replaced in place under the same id (log
// augment, here or in another process) must not be served from it. The next ask places the new log, as
// an ask without a kept context does.
TEST_F(Coprocessor, AKeptContextIsNotReusedAfterItsLogIsReplacedInPlace) {
  constexpr std::uint32_t kLatents = 4;
  auto engine = Engine::load(decoder_path_);
  const auto soft = random_floats(std::size_t(kLatents) * engine->config().dim, 12, -0.5f, 0.5f);
  const auto coprocessor =
      augment::Coprocessor::load(*engine, write_file("trained.gguf", other_path_, decoder_path_, soft));
  auto store = logstore::Store::open((dir_.path() / "store").string(),
                                     logstore::StoreOptions{true, lag::model_fingerprint(*engine)});
  const auto id = lag::store_log(*store, lag::encode_trace(*engine, kFilmTrace, lag::Selection::last));
  lag::EncodedLog augmented =
      lag::encode_trace(*engine, kFilmTrace, lag::Selection::last, {coprocessor.get(), kLatents});
  augmented.record.created = store->read().log(id)->created;
  lag::StoreLibrary library(*store);
  lag::AskOptions options;
  options.log_ids = std::vector<lag::LogId>{id};
  options.generate.max_tokens = 4;
  options.generate.stop_at_end_of_generation = false;
  options.reuse_context = true;
  const std::string question = "who directed the glass harbor again";
  const lag::AskResult first = lag::ask(*engine, *store, library, question, options);
  ASSERT_EQ(first.placed.size(), 1u);
  const std::uint32_t plain_tokens = first.placed[0].tokens;
  // The kept context serves the same question while the log is unchanged.
  const lag::AskResult again = lag::ask(*engine, *store, library, question, options);
  EXPECT_GT(again.generation.timings.cached_tokens, 0u);

  ASSERT_EQ(lag::replace_stored_log(*store, id, augmented), logstore::Store::Replacement::replaced);
  const lag::AskResult after = lag::ask(*engine, *store, library, question, options);
  ASSERT_EQ(after.placed.size(), 1u);
  EXPECT_EQ(after.placed[0].tokens, plain_tokens + kLatents) << "the augmented log is spliced";
  EXPECT_EQ(after.generation.timings.cached_tokens, 0u);
  // The context kept after it serves the next ask again.
  const lag::AskResult next = lag::ask(*engine, *store, library, question, options);
  EXPECT_GT(next.generation.timings.cached_tokens, 0u);
  EXPECT_EQ(next.generation.tokens, after.generation.tokens);
  lag::AskOptions fresh_options = options;
  fresh_options.reuse_context = false;
  const lag::AskResult fresh = lag::ask(*engine, *store, library, question, fresh_options);
  EXPECT_EQ(after.generation.tokens, fresh.generation.tokens);
}

}  // namespace
}  // namespace lagvk::test
