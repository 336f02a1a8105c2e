// lagvk log: manage a store of logs (add traces, list, show, remove, stats, verify).
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "logstore/archive.hpp"
#include "logstore/store.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/embed_model_flag.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/human_text.hpp"
#include "tools/lagvk/index_text_flag.hpp"
#include "tools/lagvk/log_augment.hpp"
#include "tools/lagvk/progress.hpp"
#include "tools/lagvk/store_guard.hpp"

namespace lagvk::cli {

namespace {

const OptionSpec kStore{"--store", "-s", "DIR", "the log store directory (required)", ""};
const OptionSpec kJson{"--json", "", "", "print JSON for scripts", ""};

std::string store_dir(const Args& args) {
  const auto dir = args.get("--store");
  if (!dir) fail("log: --store DIR is required");
  return *dir;
}

/// Opens an existing store for reading only: ls, show, stats, verify and export also work on a read-only
/// file system or without write permission.
std::unique_ptr<logstore::Store> open_for_reading(const std::string& dir) {
  logstore::StoreOptions options;
  options.read_only = true;
  return logstore::Store::open(dir, options);
}

std::string when(std::int64_t t) {
  char buf[32];
  const std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

int log_add(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  Args args(
      "log add", "--store DIR -m MODEL --trace FILE [--select last|all|answer|full] [--json]",
      "Re-encodes finished tasks and stores them as logs: each trace is rendered, run through the model,\n"
      "and the KV of the selected tokens (computed with the whole trace as context) is stored with its keys\n"
      "un-rotated. FILE holds one trace, a JSON array of traces, or JSON Lines:\n"
      "  {\"task\": \"...\", \"messages\": [{\"role\": \"user|assistant|tool|system\", \"content\": "
      "\"...\"}], "
      "\"tags\": [...]}\n"
      "The store is created if missing, bound to this model (another model's store is refused).",
      {kStore,
       {"--model", "-m", "FILE", "GGUF model (required)", ""},
       {"--trace", "-t", "FILE", "traces to add (required)", ""},
       {"--select", "", "S", "tokens to keep: last (last assistant response), all, answer, full", "last"},
       {"--codec", "", "C", "page codec of a new store: f16, or q8_0 (about half the size)", "f16"},
       index_text_option(),
       {"--embed", "", "",
        "also store each task's dense vector (for 'ask --retrieval dense'): the model's own, or "
        "--embed-model's; a store with vectors always gets them",
        ""},
       embed_model_option("that makes each log's dense vector (implies --embed)"),
       coprocessor_options()[0],
       coprocessor_options()[1],
       kJson,
       load_option_specs()[0],
       load_option_specs()[1]});
  if (!args.parse(argc, argv)) return 0;
  const auto model = args.get("--model");
  const auto trace_file = args.get("--trace");
  if (!model || !trace_file) fail("log add: -m MODEL and --trace FILE are required");
  const lag::Selection selection = lag::parse_selection(args.get_or("--select", "last"));
  // A directory or a FIFO is refused up front (it read as an empty file, or blocked forever).
  const auto traces = lag::parse_traces(read_regular_file(*trace_file), *trace_file);
  LoadOptions load = load_options_from(args, vulkan);
  const std::string dir = store_dir(args);
  const std::string codec = args.get_or("--codec", "f16");
  if (codec != "f16" && codec != "q8_0") fail("log add: --codec must be f16 or q8_0");
  const logstore::IndexText index_text = index_text_from(args, "log add");
  std::unique_ptr<Engine> engine;
  {
    ProgressBar loading("loading " + *model, ProgressUnit::bytes());
    load.progress = [&](std::uint64_t done, std::uint64_t total) { loading.update(done, total); };
    engine = Engine::load(*model, load);
  }
  const EmbedModel embed_model = load_embed_model(args, load);
  // With a coprocessor each log keeps its latents after its tokens (the latents attended to the whole
  // trace, as the kept response did).
  const auto coprocessor = coprocessor_from(args, *engine, "log add");
  const lag::LogAugmentation augmentation{coprocessor.get(), latents_from(args)};
  logstore::StoreOptions so{true, lag::model_fingerprint(*engine)};
  so.codec = codec == "q8_0" ? logstore::PageCodec::q8_0 : logstore::PageCodec::f16;
  so.index_text = index_text;
  std::unique_ptr<logstore::Store> store;
  {
    const StoreFaultGuard guard(dir);
    store = logstore::Store::open(dir, so);
  }
  if (args.has("--codec") && store->codec() != so.codec)
    fail("log add: the store '{}' keeps its page codec {}; --codec {} applies only to a new store", dir,
         logstore::page_codec_name(store->codec()), codec);
  check_index_text(args, *store, "log add");
  std::optional<lag::TextEmbedder> vectors;
  try {
    vectors = lag::embedder_for_new_logs(*store, *engine, embed_model.embedder, args.has("--embed"));
  } catch (const Error&) {
    logstore::Store::discard_if_new_and_empty(std::move(store));
    throw;
  }
  ProgressBar bar("encoding traces", ProgressUnit::items("logs"));
  bar.update(0, traces.size());
  nlohmann::json added = nlohmann::json::array();
  const auto print_json = [&](nlohmann::json j) {
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  };
  try {
    for (std::size_t i = 0; i < traces.size(); ++i) {
      auto log = lag::encode_trace(*engine, traces[i], selection, augmentation);
      lag::index_log(*store, log, vectors);
      const StoreFaultGuard guard(dir);
      const auto id = lag::store_log(*store, log);
      const auto tokens = log.record.token_ids.size();
      added.push_back(
          {{"id", id}, {"task", traces[i].task}, {"tokens", tokens}, {"latents", log.record.latents}});
      if (!args.has("--json")) {
        bar.clear();  // the line goes above the bar, not into it
        fmt::print("added log {} ({} tokens{}): {}\n", id, tokens,
                   log.record.latents ? fmt::format(" + {} latents", log.record.latents) : std::string(),
                   printable(traces[i].task, true));
        std::fflush(stdout);
      }
      bar.update(i + 1, traces.size());
    }
  } catch (const std::exception& e) {
    // A store this command created and could not add anything to is not left behind.
    if (added.empty()) logstore::Store::discard_if_new_and_empty(std::move(store));
    // The logs added before the failure are committed: a script must learn their ids.
    if (!args.has("--json")) throw;
    bar.finish();
    print_json({{"added", added}, {"error", e.what()}});
    if (dynamic_cast<const Error*>(&e) == nullptr) throw;  // an internal error keeps its exit code
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  bar.finish();
  if (args.has("--json")) print_json({{"added", added}});
  return 0;
}

int log_ls(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log ls", "--store DIR [--json]", "Lists the logs of a store.", {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  const StoreFaultGuard guard(store_dir(args));
  auto store = open_for_reading(store_dir(args));
  auto r = store->read();
  nlohmann::json rows = nlohmann::json::array();
  bool damaged = false;
  for (auto id : r.ids()) {
    std::optional<logstore::LogRecord> rec;
    try {
      rec = r.log(id);
    } catch (const Error& e) {
      // One damaged record must not hide the other logs: flag it and go on.
      damaged = true;
      if (args.has("--json"))
        rows.push_back({{"id", id}, {"damaged", e.what()}});
      else
        fmt::print("{:>6}  DAMAGED: {}\n", id, e.what());
      continue;
    }
    if (!rec) continue;  // removed since the listing began
    if (args.has("--json")) {
      rows.push_back({{"id", id},
                      {"task", rec->task},
                      {"tokens", rec->token_ids.size()},
                      {"latents", rec->latents},
                      {"selection", rec->selection},
                      {"tags", rec->tags},
                      {"created", rec->created}});
    } else {
      fmt::print("{:>6}  {:>5} tokens{}  {:<6}  {}  {}\n", id, rec->token_ids.size(),
                 rec->latents ? fmt::format(" + {} latents", rec->latents) : std::string(),
                 printable(rec->selection, true), when(rec->created), printable(rec->task, true));
    }
  }
  if (args.has("--json"))
    std::printf("%s\n", rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  if (damaged) fmt::print(stderr, "some logs are damaged; 'lagvk log verify' lists them\n");
  return 0;
}

int log_show(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log show", "--store DIR [--json] ID", "Shows one log: task, trace, selected tokens, tags.",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log show: give one log id");
  const std::uint64_t id = parse_log_id(args.positional()[0], "log show");
  const StoreFaultGuard guard(store_dir(args));
  auto store = open_for_reading(store_dir(args));
  const auto rec = store->read().log(id);
  if (!rec) fail("no log {} in '{}'", id, store->dir());
  if (args.has("--json")) {
    nlohmann::json j = *rec;
    j["id"] = id;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  fmt::print(
      "log {}: {}\nselection: {} ({} tokens{})  tags: {}  created: {}\n", id, printable(rec->task, true),
      printable(rec->selection, true), rec->token_ids.size(),
      rec->latents ? fmt::format(" + {} cache-augmentation latents", rec->latents) : std::string(),
      printable(nlohmann::json(rec->tags).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
      when(rec->created));
  for (const auto& m : rec->trace)
    fmt::print("  {}: {}\n", printable(m.value("role", "?"), true), printable(m.value("content", "")));
  return 0;
}

int log_rm(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log rm", "--store DIR [--json] ID [ID...]",
            "Removes logs and their pages (the space is reused). Give several ids as separate arguments\n"
            "(lagvk log rm --store DIR 12 13); every id is parsed before any log is removed, and ids the\n"
            "store does not hold are reported after the others are removed (exit 1).",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().empty()) fail("log rm: give at least one log id");
  std::vector<std::uint64_t> ids;
  for (const auto& s : args.positional()) ids.push_back(parse_log_id(s, "log rm"));
  const StoreFaultGuard guard(store_dir(args));
  auto store = logstore::Store::open(store_dir(args), {});
  nlohmann::json removed = nlohmann::json::array(), missing = nlohmann::json::array();
  for (const std::uint64_t id : ids) {
    if (store->remove(id)) {
      removed.push_back(id);
      if (!args.has("--json")) fmt::print("removed log {}\n", id);
    } else {
      missing.push_back(id);
      if (!args.has("--json")) fmt::print(stderr, "no log {}\n", id);
    }
  }
  if (args.has("--json"))
    std::printf("%s\n", nlohmann::json{{"removed", removed}, {"missing", missing}}.dump(2).c_str());
  return missing.empty() ? 0 : 1;
}

int log_stats(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log stats", "--store DIR [--json]",
            "Logs, pages, bytes, bytes per stored token, free map space.", {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  const StoreFaultGuard guard(store_dir(args));
  auto store = open_for_reading(store_dir(args));
  const auto s = store->stats();
  const auto embedder = store->embedder();
  const double per_token = s.stored_tokens ? double(s.page_bytes) / double(s.stored_tokens) : 0;
  if (args.has("--json")) {
    std::printf("%s\n", nlohmann::json{{"logs", s.logs},
                                       {"pages", s.pages},
                                       {"stored_tokens", s.stored_tokens},
                                       {"page_bytes", s.page_bytes},
                                       {"page_codec", logstore::page_codec_name(store->codec())},
                                       {"bytes_per_stored_token", per_token},
                                       {"file_bytes", s.file_bytes},
                                       {"map_size", s.map_size},
                                       {"map_free", s.map_size - std::min(s.map_size, s.map_used)},
                                       {"fingerprint", store->fingerprint()},
                                       {"dense_vectors", store->dense_vector_count()},
                                       {"embedder", embedder ? nlohmann::json(*embedder) : nlohmann::json()}}
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  } else {
    fmt::print(
        "store {}\n  model: {}\n  logs: {}  pages: {}  stored tokens: {}\n  page bytes: {:.1f} MB ({:.0f} "
        "bytes per stored token, page codec {})\n  file: {:.1f} MB, map {:.1f} MB of which {:.1f} MB free\n",
        store->dir(), store->fingerprint().describe(logstore::page_codec_name(store->codec())), s.logs,
        s.pages, s.stored_tokens, s.page_bytes / 1e6, per_token, logstore::page_codec_name(store->codec()),
        s.file_bytes / 1e6, s.map_size / 1e6, (s.map_size - std::min(s.map_size, s.map_used)) / 1e6);
    if (embedder)
      fmt::print("  dense vectors: {}, made by {}\n", store->dense_vector_count(), embedder->describe());
  }
  return 0;
}

int log_verify(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log verify", "--store DIR [--json]",
            "Checks every page's checksum and every cross-reference; exits 1 on any problem.",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  const StoreFaultGuard guard(store_dir(args));
  auto store = open_for_reading(store_dir(args));
  const auto r = store->verify();
  if (args.has("--json")) {
    std::printf("%s\n", nlohmann::json{{"ok", r.ok()},
                                       {"logs", r.logs},
                                       {"pages", r.pages},
                                       {"problems", r.problems},
                                       {"notes", r.notes}}
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  } else {
    for (const auto& p : r.problems) fmt::print("problem: {}\n", p);
    for (const auto& n : r.notes) fmt::print("note: {}\n", n);
    fmt::print("{}: {} logs, {} pages checked, {} problems\n", r.ok() ? "ok" : "DAMAGED", r.logs, r.pages,
               r.problems.size());
  }
  return r.ok() ? 0 : 1;
}

int log_export(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args(
      "log export", "--store DIR FILE",
      "Writes every log to FILE in the portable JSON Lines format (pages as base64 fp16; see docs/LAG.md).",
      {kStore});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log export: give the output file");
  const StoreFaultGuard guard(store_dir(args));
  auto store = open_for_reading(store_dir(args));
  const auto n = logstore::export_logs_to_path(*store, args.positional()[0]);
  // FILE may be /dev/stdout: the status line must not land in the archive.
  fmt::print(stderr, "exported {} logs to {}\n", n, args.positional()[0]);
  return 0;
}

int log_import(int argc, char** argv, const vk::InstanceOptions& /*vulkan*/) {
  Args args("log import", "--store DIR FILE",
            "Adds the logs of an export to a store made with the same model (created when missing).",
            {kStore});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log import: give the export file");
  const std::string& path = args.positional()[0];
  // The import reads its input twice (validated, then written): a regular file from disk, a pipe
  // (`log export ... /dev/stdout | log import ... /dev/stdin`) once into memory. Directories, devices
  // and the like are refused; a FIFO without a writer reads as empty rather than blocking.
  std::ifstream file;
  std::istringstream buffered;
  std::istream* in = &file;
  {
    const FileDescriptor fd = open_regular_file(path, AlsoAccept::pipe);
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      buffered.str(read_all(fd, path));
      if (buffered.str().empty())
        fail(
            "'{}' is a pipe with nothing written to it; a FIFO is read only while its writer is there (start "
            "the writer first), or give a regular file",
            path);
      in = &buffered;
    } else {
      file.open(path, std::ios::binary);
      if (!file) fail("cannot read '{}': {}", path, std::strerror(errno));
    }
  }
  // Every line is validated before the store is created or touched: a bad archive changes nothing.
  const auto summary = logstore::check_export(*in, path);
  const StoreFaultGuard guard(store_dir(args));
  auto store = logstore::Store::open(store_dir(args), {true, summary.fingerprint});
  const auto landed = logstore::import_checked_export(*store, *in, path, summary);
  fmt::print("imported {} logs into {}\n", landed.size(), store->dir());
  return 0;
}

}  // namespace

int cmd_log(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  struct Verb {
    const char* name;
    const char* help;
    int (*run)(int, char**, const vk::InstanceOptions&);  // only add and augment use Vulkan
  };
  static constexpr Verb verbs[] = {
      {"add", "encode traces with a model and store them as logs", log_add},
      {"augment", "append a coprocessor's latents to stored logs (cache augmentation)", log_augment},
      {"ls", "list logs", log_ls},
      {"show", "show one log", log_show},
      {"rm", "remove logs", log_rm},
      {"stats", "sizes and free space", log_stats},
      {"verify", "check checksums and cross-references", log_verify},
      {"export", "write all logs to a portable file", log_export},
      {"import", "add the logs of an exported file", log_import},
  };
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::printf("usage: lagvk log <verb> --store DIR [options]   (lagvk log <verb> --help)\n\nverbs:\n");
    for (const auto& v : verbs) std::printf("  %-8s %s\n", v.name, v.help);
    return argc < 1 ? 2 : 0;
  }
  for (const auto& v : verbs)
    if (std::string(argv[0]) == v.name) return v.run(argc - 1, argv + 1, vulkan);
  fail("log: unknown verb '{}' (see 'lagvk log --help')", argv[0]);
}

}  // namespace lagvk::cli
